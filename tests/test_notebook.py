"""Testes do relatório: par jupytext sincronizado, execução headless com papermill e o notebook guardado."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import run_notebook

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "vae_mnist.ipynb"
SCRIPT = NOTEBOOK.with_suffix(".py")
FIGURE_NAMES = [
    "01_exemplos_treino", "02_variancia_gradientes", "03_curvas_aprendizado", "04_progresso_treino",
    "05_reconstrucoes", "06_qualidade_reconstrucao", "07_amostras_prior", "08_qualidade_amostras", "09_interpolacao",
    "10_espaco_latente", "11_kl_por_dimensao", "12_varredura_dimensoes", "13_varredura_componentes",
    "14_variedade_2d",
]  # fmt: skip
TOLERANCE = (103.3, 104.5)  # perda de teste da execução padrão: a referência clássica 103,9 ± 0,6
TINY = {"NUM_EPOCHS": 1, "TRAIN_SIZE": 2000, "VAL_SIZE": 500, "TSNE_SAMPLES": 300, "PROGRESS": False,
        "IWAE_SIZE": 200, "IWAE_LARGE_K": 50, "IWAE_LARGE_SIZE": 20, "EPOCHS_2D": 1,
        "QUALITY_SAMPLES": 500}  # fmt: skip


def outputs_text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        parts.append(output.get("data", {}).get("text/plain", ""))
        parts.append(output.get("data", {}).get("text/markdown", ""))
    return "".join(parts)


def test_jupytext_pair_is_in_sync(tmp_path):
    """`jupytext --sync` numa cópia do par não pode mudar nenhum dos dois arquivos."""
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks", copy_function=shutil.copy2)
    shutil.copy2(ROOT / "jupytext.toml", tmp_path)
    jupytext = Path(sys.executable).with_name("jupytext")
    subprocess.run([jupytext, "--sync", "notebooks/vae_mnist.ipynb"], cwd=tmp_path, check=True)
    for original in (NOTEBOOK, SCRIPT):
        copy = tmp_path / "notebooks" / original.name
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
    prose = [c for c in code if "display(\n    Markdown(" in c.source]
    assert len(prose) >= 10
    for cell in prose:
        assert "remove-input" in cell.metadata.get("tags", []), cell.source[:80]
        assert cell.metadata.get("jupyter", {}).get("source_hidden") is True, cell.source[:80]
    text = report_text(nb)
    assert not re.search(r"(/work/|/tmp/|/home/|build/checkpoints)", text), "caminho da máquina numa saída"
    assert not re.search(r"\d\.\d\d nats", text), "número com ponto decimal numa saída"
    assert "class VAE(nn.Module)" in text and "def reparameterize" in text, "o código do modelo não está na página"


def run_report(tmp_path, name, **parameters):
    """Executa o relatório com papermill (checkpoints em `tmp_path/ck`, salvo outra pasta ou arquivo);
    devolve (notebook executado, erro ou None)."""
    parameters.setdefault("CHECKPOINT_DIR", str(tmp_path / "ck"))
    return run_notebook(NOTEBOOK, tmp_path / f"{name}.ipynb", **parameters)


def report_text(nb) -> str:
    return "".join(outputs_text(c) for c in nb.cells if c.cell_type == "code")


@pytest.mark.usefixtures("mnist_dir")
def test_report_runs_headless_then_reuses_its_checkpoint(tmp_path):
    """O relatório roda com papermill em 1 época num subconjunto e diz que checkpoint gravou; depois, com
    SKIP_TRAINING, reaproveita o checkpoint da mesma configuração e chega à mesma perda de teste sem treinar."""
    figures = tmp_path / "figuras"
    nb, error = run_report(tmp_path, "curto", **TINY, FIGURES_DIR=str(figures))
    assert error is None, error
    saved = sorted(p.name for p in figures.glob("*.png"))
    assert saved == [f"{name}.png" for name in FIGURE_NAMES]
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in nb.cells)
    text = report_text(nb)
    assert "treino:  2.000 imagens" in text and "validação:    500 imagens" in text
    assert "t-SNE de 300 pontos" in text and "Parâmetros treináveis: 652.824" in text
    assert "não** são log-verossimilhanças" in text  # pixels cinza: o aviso, não a comparação com artigos
    test_line = re.search(r"Perda de teste \(−ELBO\): .*", text).group()
    name = "mlp400-z20-beta1-lr0.001-b128-seed42-val500-n2000-e1.pt"
    assert f"Treino do zero até a época 1; checkpoint em {name}" in text
    vaes = {p.name for p in (tmp_path / "ck").glob("*.pt") if not p.name.startswith("classificador-")}
    assert vaes == {name, name.replace("z20", "z2")}  # e o VAE 2-D

    reused, error = run_report(tmp_path, "reuso", **TINY, SKIP_TRAINING=True)
    assert error is None, error
    assert f"Checkpoint {name} reutilizado" in report_text(reused)
    assert re.search(r"Perda de teste \(−ELBO\): .*", report_text(reused)).group() == test_line


@pytest.mark.usefixtures("mnist_dir")
def test_binarized_run_compares_with_the_literature(tmp_path):
    """Com BINARIZE=True o relatório treina em MNIST binarizado e põe o limite ao lado de Burda et al."""
    nb, error = run_report(tmp_path, "binarizado", **TINY, BINARIZE=True)
    assert error is None, error
    text = report_text(nb)
    assert "−86,76 nats" in text and "Burda et al. (2015) com k = 5.000" in text
    assert "não** são log-verossimilhanças" not in text


@pytest.mark.usefixtures("mnist_dir")
def test_checkpoint_of_another_architecture_is_refused_before_work(tmp_path):
    checkpoint = tmp_path / "vae.pt"
    nb, error = run_report(tmp_path, "curto", **TINY, CHECKPOINT_PATH=str(checkpoint))
    assert error is None, error
    nb, error = run_report(
        tmp_path, "outro", **TINY, LATENT_DIM=10, CHECKPOINT_PATH=str(checkpoint), SKIP_TRAINING=True
    )
    assert error is not None and error.ename == "CheckpointError"
    assert "LATENT_DIM: checkpoint 20, parâmetro 10" in error.evalue
    assert_stopped_at_validation(nb)


@pytest.mark.parametrize(("name", "value"), [("NUM_EPOCHS", "abc"), ("LEARNING_RATE", -1), ("DEVICE", "tpu")])
def test_bad_parameter_stops_the_report_in_its_first_cell(tmp_path, name, value):
    nb, error = run_report(tmp_path, "ruim", **{name: value})
    assert error is not None and error.ename == "ParameterError"
    assert error.evalue.startswith(f"Parâmetro {name} inválido: recebido {value!r}")
    assert_stopped_at_validation(nb)


def assert_stopped_at_validation(nb):
    code = [c for c in nb.cells if c.cell_type == "code"]
    failed = next(i for i, c in enumerate(code) if any(o.output_type == "error" for o in c.outputs))
    assert "validate_params" in code[failed].source
    assert not any(c.execution_count for c in code[failed + 1 :]), "o relatório seguiu depois do erro"
