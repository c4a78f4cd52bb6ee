"""A avaliação (`notebooks/avaliacao`): lê o modelo que o capítulo treinou, nunca o treina, e roda headless."""

import re
from pathlib import Path

import nbformat
import pytest
from conftest import run_notebook
from test_notebook import TINY as CHAPTER_TINY
from test_notebook import outputs_text

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = ROOT / "notebooks" / "vae_mnist.ipynb"
EVALUATION = ROOT / "notebooks" / "avaliacao.ipynb"
FIGURES = ["aval_01_qualidade_amostras", "aval_02_kl_por_dimensao", "aval_03_varredura_dimensoes",
           "aval_04_interpolacao", "aval_05_variedade_2d"]  # fmt: skip
TRAINING = {name: CHAPTER_TINY[name] for name in ("NUM_EPOCHS", "TRAIN_SIZE", "VAL_SIZE")}
TINY = TRAINING | {"PROGRESS": False, "IWAE_SIZE": 200, "IWAE_LARGE_K": 200, "IWAE_LARGE_SIZE": 20}


def text_of(nb) -> str:
    return "".join(outputs_text(c) for c in nb.cells if c.cell_type == "code")


def run_evaluation(tmp_path, name, **parameters):
    return run_notebook(EVALUATION, tmp_path / f"{name}.ipynb", **parameters)


@pytest.mark.usefixtures("mnist_dir")
def test_evaluation_reads_the_chapters_model_and_never_retrains_it(tmp_path):
    """Sem o checkpoint do capítulo a avaliação para na primeira célula, dizendo qual notebook rodar; depois
    de um capítulo mínimo ela roda inteira com QUALITY_SAMPLES seguindo TRAIN_SIZE, salva as figuras e
    deixa o checkpoint do capítulo intacto."""
    folder = tmp_path / "ck"
    nb, error = run_evaluation(tmp_path, "sem_modelo", **TINY, CHECKPOINT_DIR=str(folder))
    assert error is not None and error.ename == "CheckpointError"
    assert "Rode antes o capítulo (notebooks/vae_mnist)" in error.evalue
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert not any(c.execution_count for c in code[2:]), "a avaliação seguiu sem o modelo"

    _, error = run_notebook(CHAPTER, tmp_path / "capitulo.ipynb", **CHAPTER_TINY, CHECKPOINT_DIR=str(folder))
    assert error is None, error
    (chapter_file,) = folder.glob("*.pt")
    before = chapter_file.stat().st_mtime_ns
    figures = tmp_path / "figuras"
    nb, error = run_evaluation(
        tmp_path, "curta", **TINY, EPOCHS_2D=1, CHECKPOINT_DIR=str(folder), FIGURES_DIR=str(figures)
    )
    assert error is None, error
    assert sorted(p.name for p in figures.glob("*.png")) == [f"{name}.png" for name in FIGURES]
    text = text_of(nb)
    assert f"Checkpoint {chapter_file.name} reutilizado" in text
    assert "não** são log-verossimilhanças" in text  # pixels cinza: o aviso, não a comparação com artigos
    assert re.search(r"\| imagens reais de treino \(âncora\) \| \d+,\d \|", text), "a tabela perdeu a âncora real"
    assert chapter_file.stat().st_mtime_ns == before
    assert {p.name for p in folder.glob("*.pt")} == {chapter_file.name, chapter_file.name.replace("z20", "z2")}


@pytest.mark.usefixtures("mnist_dir")
def test_binarized_evaluation_compares_with_the_literature(tmp_path):
    folder = str(tmp_path / "ck")
    _, error = run_notebook(CHAPTER, tmp_path / "capitulo.ipynb", **CHAPTER_TINY, BINARIZE=True, CHECKPOINT_DIR=folder)
    assert error is None, error
    nb, error = run_evaluation(tmp_path, "binarizada", **TINY, BINARIZE=True, EPOCHS_2D=1, CHECKPOINT_DIR=folder)
    assert error is None, error
    text = text_of(nb)
    assert "−86,76 nats" in text and "Burda et al. (2015) com k = 5.000" in text
    assert "não** são log-verossimilhanças" not in text


def test_committed_evaluation_is_an_executed_default_run():
    nb = nbformat.read(EVALUATION, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code) and not [o for c in code for o in c.outputs if o.output_type == "error"]
    text = text_of(nb)
    assert "reutilizado: já treinado até a época 20" in text and "Épocas: 100%|██████████| 20/20" in text
    assert sum("image/png" in o.get("data", {}) for c in code for o in c.outputs) == len(FIGURES)
