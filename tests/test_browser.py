"""Ponta a ponta: os exploradores interativos num JupyterLab de verdade, em Chromium headless.

Sobe um JupyterLab em 127.0.0.1 (porta livre, token do teste, sem o aviso de notícias), abre nele uma
cópia do notebook com parâmetros mínimos e só até a célula do explorador, executa as células e mexe nos
controles: no capítulo, o explorador do espaço latente (modo, dígito, controle); no laboratório, o do
VAE condicional (dígito, controle de estilo). Confere que as imagens mudaram; capturas em tests/artifacts/.
"""

import contextlib
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from conftest import ARTIFACTS, free_port

ROOT = Path(__file__).resolve().parents[1]
KERNEL_IDLE = "window.jupyterapp?.shell.currentWidget?.sessionContext?.session?.kernel?.status === 'idle'"
NOTEBOOKS = {  # notebook: (o texto da célula do explorador, onde a cópia termina; os parâmetros mínimos)
    "vae_mnist": (
        "LatentExplorer(",
        "NUM_EPOCHS = 1\nTRAIN_SIZE = 2000\nVAL_SIZE = 500\nTSNE_SAMPLES = 300\nPROGRESS = False\n",
    ),
    "experimentos": (
        "ConditionalExplorer(",
        'LATENT_SIZES = [2, 4]\nBETAS = [0.5, 1]\nBETA_LATENT_DIM = 4\nARCH_LATENT_DIM = 4\nARCHS = ["mlp"]\n'
        "NUM_EPOCHS = 1\nTRAIN_SIZE = 1000\nVAL_SIZE = 200\nIWAE_SIZE = 50\nIWAE_K = 10\nPROGRESS = False\n"
        "SEEDS = [43]\nCONDITIONAL_LATENT_SIZES = [4]\nQUALITY_SAMPLES = 200\nPIXELCNN_TRAIN_SIZE = 300\n",
    ),
}
NOTEBOOK_DIR = ROOT / "notebooks"
NO_NEWS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False}
}


def tiny_notebook(folder: Path, name: str) -> str:
    """Cópia de `name` sem saídas, com parâmetros mínimos, até a célula do explorador."""
    marker, tiny = NOTEBOOKS[name]
    nb = nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)
    last = next((i for i, c in enumerate(nb.cells) if marker in c.source), None)
    assert last is not None, f"{name}.ipynb não tem a célula do explorador ({marker}…)"
    nb.cells = nb.cells[: last + 1]
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        if "parameters" in cell.metadata.get("tags", []):
            cell.source += f"\n{tiny}CHECKPOINT_DIR = {str(folder / 'ck')!r}\n"
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, folder / f"explorar_{name}.ipynb")
    return f"explorar_{name}.ipynb"


@pytest.fixture
def jupyterlab(request, tmp_path, mnist_dir, chromium):
    """O endereço da cópia mínima do notebook `request.param` num JupyterLab que só vive durante o teste."""
    name = tiny_notebook(tmp_path, request.param)
    settings = tmp_path / "settings"
    for path, values in NO_NEWS.items():
        (settings / path).parent.mkdir(parents=True, exist_ok=True)
        (settings / path).write_text(json.dumps(values))
    port, token = free_port(), secrets.token_hex(16)
    command = [
        str(Path(sys.executable).with_name("jupyter")), "lab", "--no-browser", "--allow-root",
        "--ip=127.0.0.1", f"--port={port}", f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={tmp_path}", "--LabApp.expose_app_in_browser=True",
    ]  # fmt: skip
    log = open(tmp_path / "jupyterlab.log", "w")
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(settings)}
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 60
        while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
            assert server.poll() is None, (tmp_path / "jupyterlab.log").read_text()
            assert time.monotonic() < deadline, "o JupyterLab não abriu a porta em 60 s"
            time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/lab/tree/{name}?token={token}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def changed(locator, before: bytes, timeout: float = 30) -> bytes:
    """Espera a captura de `locator` ficar diferente de `before`; devolve a última."""
    after, deadline = before, time.monotonic() + timeout
    while after == before and time.monotonic() < deadline:
        time.sleep(0.5)
        after = locator.screenshot()
    return after


@contextlib.contextmanager
def explorer_panel(chromium, url: str, panel_class: str, failure: str):
    """Abre `url`, executa todas as células e entrega (página, painel `.panel_class`); numa falha, guarda
    a página em tests/artifacts/`failure`.png e .html."""
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(url)
        page.wait_for_selector(".jp-Notebook", timeout=60_000)
        page.wait_for_function(KERNEL_IDLE, timeout=60_000)
        assert page.locator(".jp-toast-container, .Toastify__toast").count() == 0, "o aviso de notícias apareceu"
        page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
        panel = page.locator(f".{panel_class}").first
        error = page.locator(
            ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']", has_text="Traceback"
        )
        panel.or_(error).first.wait_for(timeout=240_000)  # o painel, ou a primeira célula que falhou
        assert error.count() == 0, f"uma célula falhou:\n{error.first.text_content()[-3000:]}"
        panel.scroll_into_view_if_needed()
        yield page, panel
    except Exception:
        page.screenshot(path=ARTIFACTS / f"{failure}.png", full_page=True)
        (ARTIFACTS / f"{failure}.html").write_text(page.content())
        raise
    finally:
        page.close()


def move_first_slider(panel, presses: int = 10):
    """Dez passos para a direita no primeiro controle (foco na alça e a seta, como um usuário)."""
    handle = panel.locator(".widget-slider .noUi-handle").first
    handle.focus()
    for _ in range(presses):
        handle.press("ArrowRight")


@pytest.mark.parametrize("jupyterlab", ["vae_mnist"], indirect=True)
def test_explorer_mode_digit_and_slider_redraw_the_images(jupyterlab, chromium):
    with explorer_panel(chromium, jupyterlab, "explorador-latente", "falha") as (page, panel):
        original, decoded = panel.locator("img.widget-image").nth(0), panel.locator("img.widget-image").nth(1)
        decoded.wait_for(timeout=30_000)
        page.screenshot(path=ARTIFACTS / "explorador_inicio.png")

        panel.locator(".widget-toggle-buttons button", has_text="dimensões de z").click()
        page.wait_for_function(
            "document.querySelector('.explorador-latente .widget-slider .widget-label')?.textContent.startsWith('z')"
        )
        start_original = original.screenshot()
        panel.locator(".widget-dropdown select").select_option("7")
        assert changed(original, start_original) != start_original, "a imagem original não mudou com o dígito"

        before = changed(decoded, b"")  # a decodificada do novo ponto de partida
        move_first_slider(panel)
        after = changed(decoded, before)
        panel.screenshot(path=ARTIFACTS / "explorador_depois.png")
        (ARTIFACTS / "slider_antes.png").write_bytes(before)
        (ARTIFACTS / "slider_depois.png").write_bytes(after)
        assert after != before, "a imagem decodificada não mudou depois de mover o controle"


@pytest.mark.parametrize("jupyterlab", ["experimentos"], indirect=True)
def test_conditional_explorer_digit_and_style_slider_redraw_the_image(jupyterlab, chromium):
    with explorer_panel(chromium, jupyterlab, "explorador-condicional", "cvae_falha") as (page, panel):
        images = panel.locator("img.widget-image")
        decoded = images.first  # a do dígito escolhido; depois, a fileira dos dez dígitos
        decoded.wait_for(timeout=30_000)
        assert images.count() == 11, f"esperava a imagem do dígito e a fileira de dez; achei {images.count()}"
        page.screenshot(path=ARTIFACTS / "cvae_explorador_inicio.png")

        start = changed(decoded, b"")
        panel.locator(".widget-toggle-button", has_text=re.compile(r"^\s*3\s*$")).click()
        digit = changed(decoded, start)
        assert digit != start, "a imagem não mudou com o dígito"

        move_first_slider(panel)
        styled = changed(decoded, digit)
        panel.screenshot(path=ARTIFACTS / "cvae_explorador_depois.png")
        assert styled != digit, "a imagem não mudou depois de mover o controle de estilo"
