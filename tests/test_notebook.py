"""Testes do capítulo (`vae_mnist`) e da prosa dos notebooks: pares jupytext sincronizados, execução headless
com papermill, os notebooks guardados e as regras da prosa (modelos curtos, sem decisões, contagem de palavras)."""

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import CHAPTER_TINY as TINY
from conftest import run_notebook

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "vae_mnist.ipynb"
SCRIPT = NOTEBOOK.with_suffix(".py")
NOTEBOOKS = ["vae_mnist", "avaliacao", "experimentos"]
FIGURE_NAMES = [
    "01_exemplos_treino", "02_variancia_gradientes", "03_curvas_aprendizado", "04_progresso_treino",
    "05_reconstrucoes", "06_erro_reconstrucao", "07_amostras", "08_espaco_latente", "09_varredura_explorador",
]  # fmt: skip
TOLERANCE = (103.3, 104.5)  # perda de teste da execução padrão: a referência clássica 103,9 ± 0,6
# a prosa que o leitor vê: meia hora com as figuras (o laboratório, mais longo, é lido por partes)
MAX_WORDS = {"vae_mnist": 2500, "avaliacao": 3000, "experimentos": 4000}
MAX_PROSE_LINES = 12


def outputs_text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        parts.append(output.get("data", {}).get("text/plain", ""))
        parts.append(output.get("data", {}).get("text/markdown", ""))
    return "".join(parts)


def test_jupytext_pairs_are_in_sync(tmp_path):
    """`jupytext --sync` numa cópia dos pares não pode mudar nenhum dos arquivos."""
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks", copy_function=shutil.copy2)
    shutil.copy2(ROOT / "jupytext.toml", tmp_path)
    jupytext = Path(sys.executable).with_name("jupytext")
    subprocess.run([jupytext, "--sync", *(f"notebooks/{n}.ipynb" for n in NOTEBOOKS)], cwd=tmp_path, check=True)
    for name in NOTEBOOKS:
        for suffix in (".ipynb", ".py"):
            copy, original = tmp_path / "notebooks" / f"{name}{suffix}", ROOT / "notebooks" / f"{name}{suffix}"
            assert copy.read_text() == original.read_text(), f"{original.name} muda com jupytext --sync"


def test_committed_notebook_is_an_executed_default_run():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "há células sem executar no notebook guardado"
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not any("injected-parameters" in c.metadata.get("tags", []) for c in code)
    text = "".join(outputs_text(c) for c in code)
    assert "treino: 55.000 imagens" in text
    loss = float(re.search(r"Perda de teste \(−ELBO\): (\d+,\d+)", text)[1].replace(",", "."))
    assert TOLERANCE[0] <= loss <= TOLERANCE[1], f"perda de teste {loss} fora de {TOLERANCE}"
    assert "Épocas: 100%|██████████| 20/20" in text and not re.search(r"(?<!10)0%\|", text), "barra congelada"
    n_images = sum("image/png" in o.get("data", {}) for c in code for o in c.outputs)
    assert n_images == len(FIGURE_NAMES), f"esperava {len(FIGURE_NAMES)} figuras, há {n_images}"
    assert "widgets" in nb.metadata, "estado dos widgets não foi guardado"


def test_committed_notebook_keeps_engineering_out_of_the_readers_way():
    """Marcadores do nbval como etiquetas, sem pragmas de formatação, células de interpretação com o código
    escondido (etiqueta remove-input e recolhidas no JupyterLab), nenhum caminho da máquina nas saídas e
    números à brasileira."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert not [c.source for c in code if "NBVAL" in c.source or "fmt: skip" in c.source]
    tags = [t for c in code for t in c.metadata.get("tags", [])]
    assert tags.count("nbval-check-output") >= 4
    text = report_text(nb)
    assert not re.search(r"(/work/|/tmp/|/home/|build/checkpoints)", text), "caminho da máquina numa saída"
    assert not re.search(r"\d\.\d\d nats", text), "número com ponto decimal numa saída"
    assert "class VAE(nn.Module)" in text and "def reparameterize" in text, "o código do modelo não está na página"


def prose_cells(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code" and re.search(r"^say\(", c.source, re.M)]


def reader_words(nb) -> int:
    """Palavras que o leitor vê: células Markdown e o Markdown gerado; só fichas com uma letra, sem
    matemática ($…$, $$…$$), código (`…` e blocos) nem marcação HTML."""
    texts = [c.source for c in nb.cells if c.cell_type == "markdown"]
    texts += [o.get("data", {}).get("text/markdown", "") for c in nb.cells for o in c.get("outputs", [])]
    text = re.sub(r"\$\$.+?\$\$|\$.+?\$|```.+?```|`[^`]*`|<[^>]+>", " ", "\n".join(texts), flags=re.S)
    return sum(bool(re.search(r"[^\W\d_]", token)) for token in text.split())


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_prose_is_written_as_prose_and_fits_half_an_hour(name):
    """Cada parágrafo gerado é um modelo curto de texto: no máximo 12 linhas, sem expressões condicionais,
    sem f-strings nem junções (nenhuma gramática montada por código), com o código escondido; o notebook
    inteiro cabe no limite de palavras."""
    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    prose = prose_cells(nb)
    assert len(prose) >= 6
    for cell in prose:
        source = cell.source
        assert len(source.splitlines()) <= MAX_PROSE_LINES, source[:80]
        tree = ast.parse(source)
        assert not [n for n in ast.walk(tree) if isinstance(n, ast.IfExp | ast.If | ast.JoinedStr)], source[:80]
        assert ".join(" not in source and "display(" not in source, source[:80]
        assert "remove-input" in cell.metadata.get("tags", []), source[:80]
        assert cell.metadata.get("jupyter", {}).get("source_hidden") is True, source[:80]
    words = reader_words(nb)
    assert words <= MAX_WORDS[name], f"{name}: {words} palavras de prosa, mais que {MAX_WORDS[name]}"


def test_reader_words_leave_math_and_code_out():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("Duas palavras $x + y = z$ e `código` 104,1 <br>")]
    assert reader_words(nb) == 3  # "Duas", "palavras", "e"


def run_report(tmp_path, name, **parameters):
    """Executa o relatório com papermill (checkpoints em `tmp_path/ck`, salvo outra pasta ou arquivo);
    devolve (notebook executado, erro ou None)."""
    parameters.setdefault("CHECKPOINT_DIR", str(tmp_path / "ck"))
    return run_notebook(NOTEBOOK, tmp_path / f"{name}.ipynb", **parameters)


def report_text(nb) -> str:
    return "".join(outputs_text(c) for c in nb.cells if c.cell_type == "code")


def test_tiny_chapter_runs_headless_and_says_which_checkpoint_it_wrote(tiny_chapter):
    """O capítulo roda com papermill em 1 época num subconjunto, salva cada figura com o nome fixo e diz que
    checkpoint gravou (o único arquivo da pasta)."""
    nb, folder = tiny_chapter
    saved = sorted(p.name for p in (folder / "figuras").glob("*.png"))
    assert saved == [f"{name}.png" for name in FIGURE_NAMES]
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in nb.cells)
    text = report_text(nb)
    assert "treino:  2.000 imagens" in text and "validação:    500 imagens" in text
    assert "t-SNE de 300 pontos" in text and "Parâmetros treináveis: 652.824" in text
    assert re.search(r"Perda de teste \(−ELBO\): \d+,\d\d nats", text)
    name = "mlp400-z20-beta1-lr0.001-b128-seed42-val500-n2000-bin-e1.pt"
    assert f"Treino do zero até a época 1; checkpoint em {name}" in text
    assert (folder / "ck" / name).exists()  # (a avaliação, que usa a mesma pasta, pode ter posto o VAE 2-D ao lado)


def test_checkpoint_of_another_configuration_is_refused_before_work(tiny_chapter, tmp_path):
    _, folder = tiny_chapter
    checkpoint = next((folder / "ck").glob("*-z20-*.pt"))
    nb, error = run_report(
        tmp_path, "outro", **TINY, LATENT_DIM=10, CHECKPOINT_PATH=str(checkpoint), SKIP_TRAINING=True
    )
    assert error is not None and error.ename == "CheckpointError"
    assert "LATENT_DIM: checkpoint 20, parâmetro 10" in error.evalue
    assert_stopped_at_validation(nb)


def test_bad_parameter_stops_the_report_in_its_first_cell(tmp_path):
    """Cada parâmetro inválido tem o seu teste em test_parameters.py; aqui, que o notebook para na primeira
    célula, antes de qualquer trabalho."""
    nb, error = run_report(tmp_path, "ruim", NUM_EPOCHS="abc")
    assert error is not None and error.ename == "ParameterError"
    assert error.evalue.startswith("Parâmetro NUM_EPOCHS inválido: recebido 'abc'")
    assert_stopped_at_validation(nb)


def assert_stopped_at_validation(nb):
    code = [c for c in nb.cells if c.cell_type == "code"]
    failed = next(i for i, c in enumerate(code) if any(o.output_type == "error" for o in c.outputs))
    assert "validate_params" in code[failed].source
    assert not any(c.execution_count for c in code[failed + 1 :]), "o relatório seguiu depois do erro"
