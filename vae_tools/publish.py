"""Publicação sem rede: o site do curso (MkDocs Material) e o HTML dos notebooks executados.

As equações viram MathML na hora de construir (latex2mathml): o navegador as desenha sozinho, sem
MathJax, sem CDN e até com JavaScript desligado. Os widgets saem da cópia publicada (o estado e as
visões), porque sem kernel eles não rodam; cada controle interativo do relatório é seguido de uma
figura estática equivalente, que fica.

Uso: python -m vae_tools.publish site      (prepara build/site-src para o `mkdocs build`)
     python -m vae_tools.publish html NOTEBOOK.ipynb   (NOTEBOOK.html ao lado, equações em MathML)
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import nbformat

from vae_tools.parameters import REPO_ROOT

SITE_SOURCE = REPO_ROOT / "build" / "site-src"
NOTEBOOKS = ("vae_mnist", "experimentos")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
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


def web_copy(nb):
    """Cópia de um notebook executado para a web: equações em MathML (células e saídas Markdown) e
    sem widgets (estado e visões; a representação em texto de cada um fica)."""
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
    return nb


def home_page(readme: str) -> str:
    """O README como página inicial: os links para os notebooks apontam para as páginas do site."""
    for name in NOTEBOOKS:
        readme = readme.replace(f"(notebooks/{name}.ipynb)", f"({name}.ipynb)")
    return readme


def prepare_site(target: Path = SITE_SOURCE) -> Path:
    """Monta a pasta de fontes do site: README (página inicial), os dois notebooks executados em cópias
    para a web e as figuras do README."""
    shutil.rmtree(target, ignore_errors=True)
    (target / "docs").mkdir(parents=True)
    (target / "index.md").write_text(home_page((REPO_ROOT / "README.md").read_text()))
    (target / "estilo.css").write_text("math { font-size: 1.2em; }\n")
    for figure in (REPO_ROOT / "docs").glob("*.png"):
        shutil.copy2(figure, target / "docs" / figure.name)
    for name in NOTEBOOKS:
        nb = nbformat.read(REPO_ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
        nbformat.write(web_copy(nb), target / f"{name}.ipynb")
    return target


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
    elif sys.argv[1:2] == ["html"] and len(sys.argv) == 3:
        print(f"HTML em {export_html(Path(sys.argv[2]))}")
    else:
        sys.exit(__doc__)
