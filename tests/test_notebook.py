"""Testes do relatório: par jupytext sincronizado, execução headless com papermill e o notebook guardado."""

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import papermill as pm
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "vae_mnist.ipynb"
SCRIPT = NOTEBOOK.with_suffix(".py")
TINY = {"NUM_EPOCHS": 1, "TRAIN_SIZE": 2000, "VAL_SIZE": 500, "TSNE_SAMPLES": 300, "PROGRESS": False}


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
    assert "treino:  55000 imagens" in text
    assert "Dentro da tolerância: True" in text
    n_images = sum("image/png" in o.get("data", {}) for c in code for o in c.outputs)
    assert n_images >= 6, f"esperava as seis figuras do relatório, há {n_images}"
    assert "widgets" in nb.metadata, "estado dos widgets não foi guardado"


@pytest.mark.usefixtures("mnist_dir")
def test_report_runs_headless_with_tiny_parameters(tmp_path):
    """O relatório inteiro roda com papermill num subconjunto e 1 época, com os parâmetros injetados."""
    output = tmp_path / "vae_mnist.ipynb"
    pm.execute_notebook(str(NOTEBOOK), str(output), parameters=TINY, cwd=str(ROOT), progress_bar=False)
    nb = nbformat.read(output, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in code)
    text = "".join(outputs_text(c) for c in code)
    assert "treino:   2000 imagens" in text and "validação:    500 imagens" in text
    assert "t-SNE de 300 pontos" in text
    assert "Perda de teste" in text and "Parâmetros treináveis: 652.824" in text
