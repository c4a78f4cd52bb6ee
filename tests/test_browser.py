"""Ponta a ponta: os controles deslizantes num JupyterLab de verdade, em Chromium headless.

Sobe um JupyterLab em 127.0.0.1 (porta livre, token do teste), abre nele uma cópia do relatório com
parâmetros mínimos e só até a exploração interativa, executa as células, move um controle e confere
que a imagem decodificada mudou. As capturas ficam em tests/artifacts/. Sem Chromium ou Playwright,
o teste é pulado com o motivo (o CI instala os dois).
"""

import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip
KERNEL_IDLE = "window.jupyterapp?.shell.currentWidget?.sessionContext?.session?.kernel?.status === 'idle'"
TINY = "NUM_EPOCHS = 1\nTRAIN_SIZE = 2000\nVAL_SIZE = 500\nTSNE_SAMPLES = 300\nPROGRESS = False\nEPOCHS_2D = 1\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tiny_notebook(folder: Path, checkpoint: Path) -> str:
    """Cópia do relatório sem saídas, com parâmetros mínimos, até a célula dos controles deslizantes."""
    nb = nbformat.read(ROOT / "notebooks" / "vae_mnist.ipynb", as_version=4)
    last = next(i for i, c in enumerate(nb.cells) if "latent_explorer" in c.source)
    nb.cells = nb.cells[: last + 1]
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        if "parameters" in cell.metadata.get("tags", []):
            cell.source += f"\n{TINY}CHECKPOINT_PATH = {str(checkpoint)!r}\n"
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, folder / "explorar.ipynb")
    return "explorar.ipynb"


@pytest.fixture
def jupyterlab(tmp_path, mnist_dir):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium não encontrado ({CHROMIUM}); instale com `apt-get install -y chromium`")
    pytest.importorskip("playwright.sync_api", reason="Playwright ausente; instale com `pip install playwright`")
    name = tiny_notebook(tmp_path, tmp_path / "vae.pt")
    port, token = free_port(), secrets.token_hex(16)
    command = [
        str(Path(sys.executable).with_name("jupyter")), "lab", "--no-browser", "--allow-root",
        "--ip=127.0.0.1", f"--port={port}", f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={tmp_path}", "--LabApp.expose_app_in_browser=True",
    ]  # fmt: skip
    log = open(tmp_path / "jupyterlab.log", "w")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
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


def test_moving_a_slider_redraws_the_decoded_image(jupyterlab):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(jupyterlab)
            page.wait_for_selector(".jp-Notebook", timeout=60_000)
            page.wait_for_function(KERNEL_IDLE, timeout=60_000)
            page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
            slider = page.locator(".widget-slider").first
            slider.wait_for(timeout=180_000)
            image = page.locator(".widget-interact img.widget-image").first
            image.wait_for(timeout=30_000)
            image.scroll_into_view_if_needed()
            before = image.screenshot(path=ARTIFACTS / "slider_antes.png")
            handle = slider.locator(".noUi-handle")
            handle.focus()
            for _ in range(10):
                handle.press("ArrowRight")
            after, deadline = before, time.monotonic() + 30
            while after == before and time.monotonic() < deadline:
                page.wait_for_timeout(500)
                after = page.locator(".widget-interact img.widget-image").first.screenshot()
            page.locator(".widget-interact").first.screenshot(path=ARTIFACTS / "controles_deslizantes.png")
            (ARTIFACTS / "slider_depois.png").write_bytes(after)
            assert after != before, "a imagem decodificada não mudou depois de mover o controle"
        except Exception:
            page.screenshot(path=ARTIFACTS / "falha.png", full_page=True)
            (ARTIFACTS / "falha.html").write_text(page.content())
            raise
        finally:
            browser.close()
