"""Ponta a ponta: o explorador do espaço latente num JupyterLab de verdade, em Chromium headless.

Sobe um JupyterLab em 127.0.0.1 (porta livre, token do teste, sem o aviso de notícias), abre nele uma
cópia do relatório com parâmetros mínimos e só até o explorador, executa as células, troca o modo e o
dígito, move um controle e confere que as imagens mudaram. Capturas em tests/artifacts/.
"""

import json
import os
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
TINY = "NUM_EPOCHS = 1\nTRAIN_SIZE = 2000\nVAL_SIZE = 500\nTSNE_SAMPLES = 300\nPROGRESS = False\nEPOCHS_2D = 1\n"
NO_NEWS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False}
}


def tiny_notebook(folder: Path) -> str:
    """Cópia do relatório sem saídas, com parâmetros mínimos, até a célula do explorador."""
    nb = nbformat.read(ROOT / "notebooks" / "vae_mnist.ipynb", as_version=4)
    last = next(i for i, c in enumerate(nb.cells) if "LatentExplorer(" in c.source)
    nb.cells = nb.cells[: last + 1]
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        if "parameters" in cell.metadata.get("tags", []):
            cell.source += f"\n{TINY}CHECKPOINT_DIR = {str(folder / 'ck')!r}\n"
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, folder / "explorar.ipynb")
    return "explorar.ipynb"


@pytest.fixture
def jupyterlab(tmp_path, mnist_dir, chromium):
    name = tiny_notebook(tmp_path)
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


def test_explorer_mode_digit_and_slider_redraw_the_images(jupyterlab, chromium):
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(jupyterlab)
        page.wait_for_selector(".jp-Notebook", timeout=60_000)
        page.wait_for_function(KERNEL_IDLE, timeout=60_000)
        assert page.locator(".jp-toast-container, .Toastify__toast").count() == 0, "o aviso de notícias apareceu"
        page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
        panel = page.locator(".explorador-latente").first
        panel.wait_for(timeout=180_000)
        panel.scroll_into_view_if_needed()
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
        handle = panel.locator(".widget-slider .noUi-handle").first
        handle.focus()
        for _ in range(10):
            handle.press("ArrowRight")
        after = changed(decoded, before)
        panel.screenshot(path=ARTIFACTS / "explorador_depois.png")
        (ARTIFACTS / "slider_antes.png").write_bytes(before)
        (ARTIFACTS / "slider_depois.png").write_bytes(after)
        assert after != before, "a imagem decodificada não mudou depois de mover o controle"
    except Exception:
        page.screenshot(path=ARTIFACTS / "falha.png", full_page=True)
        (ARTIFACTS / "falha.html").write_text(page.content())
        raise
    finally:
        page.close()
