"""Publicação sem rede: o site do curso (MkDocs Material) e o HTML dos notebooks executados.

As equações viram MathML na hora de construir (latex2mathml): o navegador as desenha sozinho, sem
MathJax, sem CDN e até com JavaScript desligado. Os widgets saem da cópia publicada (o estado e as
visões), porque sem kernel eles não rodam; cada controle interativo do relatório é seguido de uma
figura estática equivalente, que fica.

As páginas de referência do site são fontes em Markdown em docs/site/. A dos parâmetros
(docs/site/parametros.md) é gerada das células `parameters` dos notebooks, e um teste confere que a
página guardada é a que sai delas.

Uso: python -m vae_tools.publish site      (prepara build/site-src para o `mkdocs build`)
     python -m vae_tools.publish parametros   (reescreve docs/site/parametros.md das células de parâmetros)
     python -m vae_tools.publish html NOTEBOOK.ipynb   (NOTEBOOK.html ao lado, equações em MathML)
"""

from __future__ import annotations

import ast
import html
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

from vae_tools.figures import figure_description

REPO_ROOT = Path(__file__).resolve().parents[1]  # sem importar vae_tools.parameters (e o torch) para o site
SITE_SOURCE = REPO_ROOT / "build" / "site-src"
SITE_PAGES = REPO_ROOT / "docs" / "site"  # as páginas de referência, fontes guardadas
PARAMETERS_PAGE = SITE_PAGES / "parametros.md"
NOTEBOOKS = ("vae_mnist", "avaliacao", "experimentos")  # a ordem do curso (e a do menu do site)
NOTEBOOK_TITLES = {
    "vae_mnist": "O capítulo: `vae_mnist`",
    "avaliacao": "A avaliação avançada: `avaliacao`",
    "experimentos": "O laboratório: `experimentos`",
}
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
FIGURE_CALL = re.compile(r"show_figure\(\s*\w+\s*,\s*[\"']([^\"']+)[\"']")  # o nome da figura de uma célula
TABLE = re.compile(r"<table\b.*?</table>", re.S)
# $$…$$ (em bloco) ou $…$ (no texto), sem pegar "\$" nem cifrões soltos
MATH = re.compile(r"(?<!\\)\$\$(.+?)(?<!\\)\$\$|(?<![\\$])\$(?!\s)(.+?)(?<![\\\s])\$(?!\d)", re.S)


def to_mathml(text: str) -> str:
    """Troca cada fórmula LaTeX de um texto Markdown (`$…$`, `$$…$$`) pelo seu MathML."""
    from latex2mathml.converter import convert

    def replace(match: re.Match) -> str:
        block, inline = match.group(1), match.group(2)
        display = "block" if block is not None else "inline"
        return convert((block if block is not None else inline).strip(), display=display)

    return MATH.sub(replace, text)


def figure_alt(cell, output) -> str | None:
    """O texto alternativo de uma figura: o dos metadados da saída (`show_figure` o grava), ou, num notebook
    executado antes disso, o da figura que a célula mostra (`show_figure(fig, "nome", …)`)."""
    alt = output.get("metadata", {}).get("image/png", {}).get("alt")
    names = FIGURE_CALL.findall(cell.source)
    return alt or (figure_description(names[0]) if len(names) == 1 else None)


def with_alt(data: dict, alt: str) -> dict:
    """A figura como `<img>` com o texto alternativo (o modelo "lab" do nbconvert não usa o `alt` dos
    metadados e põe no lugar uma frase em inglês)."""
    return {"text/html": f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data["image/png"].strip()}">'}


def web_copy(nb):
    """Cópia de um notebook executado para a web: equações em MathML (células e saídas Markdown), cada
    figura com o seu texto alternativo em português e sem widgets (estado e visões; a representação em
    texto de cada um fica)."""
    nb = nbformat.from_dict(nb)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = to_mathml(cell.source)
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            data.pop(WIDGET_VIEW, None)
            if "text/markdown" in data:
                data["text/markdown"] = to_mathml(data["text/markdown"])
            if "image/png" in data and (alt := figure_alt(cell, output)):
                output.data = with_alt(data, alt)
    return nb


def accessible_html(page: str) -> str:
    """Uma página do site construída, acessível pelo teclado e pelo leitor de tela (axe-core, regras
    `scrollable-region-focusable` e `aria-dialog-name`): o diálogo da busca com nome; o código das células e
    as tabelas, que podem rolar na horizontal, em regiões com nome que recebem o foco."""
    page = page.replace('role="dialog">', 'role="dialog" aria-label="Busca no site">')
    page = page.replace(
        '<div class="highlight-ipynb hl-python">',
        '<div class="highlight-ipynb hl-python" tabindex="0" role="region" aria-label="Código da célula">',
    )
    return TABLE.sub(r'<div class="rolavel" tabindex="0" role="region" aria-label="Tabela">\g<0></div>', page)


def on_post_page(output: str, page, config) -> str:
    """Gancho do MkDocs (mkdocs.yml: hooks): cada página passa por `accessible_html`."""
    return accessible_html(output)


def site_links(text: str, to_root: str = "") -> str:
    """Os links de uma página do repositório (`to_root` é o caminho dela até a raiz: "" para o README,
    "../../" para docs/site/) apontados para as páginas do site, onde tudo fica numa pasta só:
    notebooks/NOME.ipynb → NOME.ipynb, docs/site/PAGINA.md → PAGINA.md, README.md → index.md."""
    for name in NOTEBOOKS:
        text = text.replace(f"]({to_root}notebooks/{name}.ipynb", f"]({name}.ipynb")
    text = text.replace(f"]({to_root}docs/site/", "](")
    return text.replace(f"]({to_root}README.md", "](index.md")


def home_page(readme: str) -> str:
    """O README como página inicial: os links para os notebooks e para as páginas de referência apontam
    para as páginas do site."""
    return site_links(readme)


def prepare_site(target: Path = SITE_SOURCE) -> Path:
    """Monta a pasta de fontes do site: README (página inicial), os notebooks executados em cópias para
    a web, as páginas de referência de docs/site/ e as figuras do README."""
    shutil.rmtree(target, ignore_errors=True)
    (target / "docs").mkdir(parents=True)
    (target / "index.md").write_text(home_page((REPO_ROOT / "README.md").read_text()))
    shutil.copy2(SITE_PAGES / "estilo.css", target / "estilo.css")
    for figure in (REPO_ROOT / "docs").glob("*.png"):
        shutil.copy2(figure, target / "docs" / figure.name)
    for page in sorted(SITE_PAGES.glob("*.md")):
        (target / page.name).write_text(site_links(page.read_text(), "../../"))
    shutil.copytree(SITE_PAGES / "explorador", target / "explorador")  # pesos, dados e script (make explorador)
    for name in NOTEBOOKS:
        nb = nbformat.read(REPO_ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
        nbformat.write(web_copy(nb), target / f"{name}.ipynb")
    return target


# ---------------------------------------------------------------- a página dos parâmetros


@dataclass(frozen=True)
class Parameter:
    """Um parâmetro de notebook como a célula `parameters` o escreve: `NOME: tipo = padrão  # ajuda`."""

    name: str
    default: str  # o valor padrão como está escrito na célula (código Python)
    help: str


def parameters_cell(script: Path) -> str:
    """O código da célula com a etiqueta `parameters` de um notebook jupytext (formato percent)."""
    cells = re.split(r"^# %%", Path(script).read_text(), flags=re.M)
    for cell in cells[1:]:
        header, _, body = cell.partition("\n")
        if re.search(r"tags=\[[^\]]*[\"']parameters[\"']", header):
            return body
    raise ValueError(f"{script} não tem uma célula com a etiqueta parameters")


def notebook_parameters(script: Path) -> list[Parameter]:
    """Os parâmetros da célula `parameters` de `script`, na ordem da célula: nome, padrão e a ajuda do
    comentário da linha (a mesma que `papermill --help-notebook` mostra)."""
    source = parameters_cell(script)
    lines = source.splitlines()
    found = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            name = node.target.id
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
        else:
            raise ValueError(f"{script}: a célula de parâmetros só pode ter NOME = valor (linha {node.lineno})")
        rest = lines[node.end_lineno - 1][node.end_col_offset :].strip()
        if not rest.startswith("#") or not rest.lstrip("# ").strip():
            raise ValueError(f"{script}: o parâmetro {name} não tem um comentário de ajuda (`{name} = …  # o que é`)")
        found.append(Parameter(name, ast.get_source_segment(source, node.value), rest.lstrip("#").strip()))
    return found


def parameter_table(script: Path) -> str:
    """A tabela Markdown (parâmetro, padrão, significado) da célula `parameters` de `script`."""
    rows = ["| parâmetro | padrão | significado |", "|---|---|---|"]
    for p in notebook_parameters(script):
        rows.append(f"| `{p.name}` | `{p.default}` | {p.help.replace('|', chr(92) + '|')} |")
    return "\n".join(rows) + "\n"


PARAMETERS_INTRO = """\
# Parâmetros

<!-- Página gerada por `python -m vae_tools.publish parametros` a partir das células de parâmetros dos
notebooks; não a edite à mão (um teste confere que ela é a que sai das células). -->

A primeira célula de código de cada notebook, marcada com a etiqueta `parameters`, define os valores
abaixo. Troque-os com `-p NOME VALOR` no papermill (listas com `-y "NOME: [2, 20]"`), com
`PARAMS="…"` nos alvos do `make`, ou editando a célula no JupyterLab:

```bash
make report PARAMS="-p NUM_EPOCHS 5 -p LATENT_DIM 10"
make experiments PARAMS='-y "LATENT_SIZES: [2, 20]" -p NUM_EPOCHS 5'
.venv/bin/papermill --help-notebook notebooks/vae_mnist.ipynb   # os parâmetros, com o tipo e a ajuda
```

A célula seguinte confere todos os valores antes de qualquer trabalho demorado: um valor fora do
permitido para o notebook com uma mensagem que diz o parâmetro, o valor recebido e o que é aceito. Valores
em texto (como o papermill pode passar) são aceitos quando não são ambíguos: `"20"`, `"1e-3"`,
`"sim"`/`"não"`, `"[2, 20]"`. O papermill grava o notebook executado no caminho de saída que você der (os
alvos do `make` usam `reports/`), nunca no notebook pareado.

As tabelas abaixo saem das próprias células (padrão como está escrito no código, significado do comentário
de cada linha), então não podem ficar diferentes delas.
"""

PARAMETERS_NOTES = {
    "vae_mnist": "Treina (ou reutiliza, ou continua) o VAE e o guarda num checkpoint por configuração "
    "([checkpoints](checkpoints.md)).",
    "avaliacao": "Avalia o checkpoint do capítulo, sem treiná-lo de novo: os parâmetros que identificam o treino "
    "(`BATCH_SIZE`, `NUM_EPOCHS`, `LATENT_DIM`, `HIDDEN_DIM`, `ARCH`, `BETA`, `LEARNING_RATE`, `SEED`, "
    "`VAL_SIZE`, `TRAIN_SIZE`, `BINARIZE`) precisam ser os mesmos da execução do capítulo, para achar o "
    "checkpoint dela. Rode o capítulo antes.",
    "experimentos": "Cada execução do laboratório é uma configuração com o seu checkpoint; os parâmetros sem "
    "lista valem para todas.",
}


def parameters_page(notebooks_dir: Path = REPO_ROOT / "notebooks") -> str:
    """A página docs/site/parametros.md: uma tabela por notebook de `NOTEBOOKS` que exista (da célula
    `parameters` do seu script jupytext)."""
    parts = [PARAMETERS_INTRO]
    for name in NOTEBOOKS:
        script = Path(notebooks_dir) / f"{name}.py"
        if script.exists():
            section = [f"## {NOTEBOOK_TITLES.get(name, name)}", PARAMETERS_NOTES.get(name), parameter_table(script)]
            parts.append("\n\n".join(filter(None, section)))
    return "\n".join(parts)


def write_parameters_page(path: Path = PARAMETERS_PAGE) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(parameters_page())
    return path


def export_html(notebook: Path) -> Path:
    """HTML de um notebook executado, ao lado dele, com as equações em MathML e sem nenhum script de fora."""
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    config = Config()
    config.TagRemovePreprocessor.enabled = True
    config.TagRemovePreprocessor.remove_input_tags = {"remove-input"}  # só o texto das células de interpretação
    exporter = HTMLExporter(config=config, template_name="lab", mathjax_url="", embed_images=True)
    body, _ = exporter.from_notebook_node(web_copy(nbformat.read(notebook, as_version=4)))
    body = re.sub(r'<script[^>]*src="https?://[^"]*"[^>]*>\s*</script>', "", body)
    output = Path(notebook).with_suffix(".html")
    output.write_text(body)
    return output


if __name__ == "__main__":
    if sys.argv[1:2] == ["site"]:
        print(f"Fontes do site em {prepare_site()}")
    elif sys.argv[1:2] == ["parametros"]:
        print(f"Página dos parâmetros em {write_parameters_page().relative_to(REPO_ROOT)}")
    elif sys.argv[1:2] == ["html"] and len(sys.argv) == 3:
        print(f"HTML em {export_html(Path(sys.argv[2]))}")
    else:
        sys.exit(__doc__)
