"""A avaliação (`notebooks/avaliacao`): lê o modelo que o capítulo treinou, nunca o treina, e roda headless."""

import re
from pathlib import Path

import nbformat
import pytest
from conftest import CHAPTER_TINY, run_notebook
from test_notebook import outputs_text

ROOT = Path(__file__).resolve().parents[1]
EVALUATION = ROOT / "notebooks" / "avaliacao.ipynb"
FIGURES = ["aval_01_qualidade_amostras", "aval_02_kl_por_dimensao", "aval_03_varredura_dimensoes",
           "aval_04_interpolacao", "aval_05_variedade_2d"]  # fmt: skip
TRAINING = {name: CHAPTER_TINY[name] for name in ("NUM_EPOCHS", "TRAIN_SIZE", "VAL_SIZE", "BINARIZE")}
TINY = TRAINING | {"PROGRESS": False, "IWAE_SIZE": 200, "IWAE_LARGE_K": 200, "IWAE_LARGE_SIZE": 20, "EPOCHS_2D": 1}


def text_of(nb) -> str:
    return "".join(outputs_text(c) for c in nb.cells if c.cell_type == "code")


def run_evaluation(tmp_path, name, **parameters):
    return run_notebook(EVALUATION, tmp_path / f"{name}.ipynb", **parameters)


@pytest.mark.usefixtures("mnist_dir")
def test_without_the_chapters_model_the_evaluation_stops_in_its_first_cell(tmp_path):
    nb, error = run_evaluation(tmp_path, "sem_modelo", **TINY, CHECKPOINT_DIR=str(tmp_path / "vazia"))
    assert error is not None and error.ename == "CheckpointError"
    assert "Rode antes o capítulo (notebooks/vae_mnist)" in error.evalue
    code = [c for c in nb.cells if c.cell_type == "code"]
    failed = next(i for i, c in enumerate(code) if any(o.output_type == "error" for o in c.outputs))
    assert "trained_plan" in code[failed].source
    assert not any(c.execution_count for c in code[failed + 1 :]), "a avaliação seguiu sem o modelo"


def test_evaluation_reads_the_chapters_model_and_never_retrains_it(tiny_chapter, tmp_path):
    """Depois do capítulo mínimo (binarizado), a avaliação roda inteira, com QUALITY_SAMPLES seguindo as
    imagens de validação, salva as figuras, compara o limite com a literatura e deixa o checkpoint do
    capítulo intacto; ao lado dele fica só o VAE 2-D."""
    _, chapter = tiny_chapter
    folder, figures = chapter / "ck", tmp_path / "figuras"
    (chapter_file,) = [p for p in folder.glob("*.pt") if "-z20-" in p.name]
    before = chapter_file.read_bytes()
    nb, error = run_evaluation(tmp_path, "curta", **TINY, CHECKPOINT_DIR=str(folder), FIGURES_DIR=str(figures))
    assert error is None, error
    assert sorted(p.name for p in figures.glob("*.png")) == [f"{name}.png" for name in FIGURES]
    text = text_of(nb)
    assert f"Checkpoint {chapter_file.name} reutilizado" in text
    assert "−86,76 nats" in text and "Burda et al. (2015) com k = 5.000" in text
    assert "não** são log-verossimilhanças" not in text
    assert re.search(r"\| imagens reais de validação \(âncora\) \| \d+,\d \|", text), "a tabela perdeu a âncora"
    assert chapter_file.read_bytes() == before
    assert {p.name for p in folder.glob("*.pt")} == {chapter_file.name, chapter_file.name.replace("z20", "z2")}


def test_committed_evaluation_is_an_executed_default_run():
    nb = nbformat.read(EVALUATION, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code) and not [o for c in code for o in c.outputs if o.output_type == "error"]
    text = text_of(nb)
    assert "reutilizado: já treinado até a época 20" in text and "Épocas: 100%|██████████| 20/20" in text
    assert "não** são log-verossimilhanças" in text  # pixels cinza: o aviso, não a comparação com artigos
    assert sum("image/png" in o.get("data", {}) for c in code for o in c.outputs) == len(FIGURES)
