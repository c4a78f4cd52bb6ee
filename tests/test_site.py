"""O site do curso, como um leitor sem rede o vê: construído dos notebooks guardados, servido em
127.0.0.1 e aberto em Chromium headless com toda requisição para fora bloqueada. Capturas em
tests/artifacts/site_*.png."""

import functools
import http.server
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import ARTIFACTS, free_port

ROOT = Path(__file__).resolve().parents[1]
PAGES = {"inicio": "", "capitulo": "vae_mnist/", "avaliacao": "avaliacao/", "laboratorio": "experimentos/"}
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Constrói o site (como `make site`, numa pasta temporária) e o serve em 127.0.0.1."""
    folder = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "vae_tools.publish", "site"], cwd=ROOT, check=True)
    subprocess.run([BIN / "mkdocs", "build", "--strict", "-d", folder], cwd=ROOT, check=True, capture_output=True)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()


def offline_page(chromium, base: str):
    """Uma página que só alcança `base`; devolve (página, erros do console, requisições bloqueadas)."""
    page = chromium.new_page(viewport={"width": 1300, "height": 900})
    errors, blocked = [], []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))

    def route(request_route):
        if request_route.request.url.startswith(base):
            request_route.continue_()
        else:
            blocked.append(request_route.request.url)
            request_route.abort()

    page.route("**/*", route)
    return page, errors, blocked


@pytest.mark.parametrize("name", PAGES)
def test_every_page_renders_offline_with_images_and_math(site, chromium, name):
    page, errors, blocked = offline_page(chromium, site)
    try:
        page.goto(site + PAGES[name], wait_until="networkidle")
        images = page.evaluate("[...document.images].map(i => [i.currentSrc, i.complete && i.naturalWidth > 0])")
        assert images and all(ok for _, ok in images), [src for src, ok in images if not ok]
        if name != "inicio":
            assert page.locator("math").count() > 5, "as equações não viraram MathML"
            text = page.inner_text("article")
            assert "\\mathcal" not in text and "$\\" not in text, "há LaTeX cru na página"
            assert page.locator("math").first.bounding_box()["width"] > 0
        if name == "capitulo":  # o código do modelo na página; o das células de interpretação, não
            assert "class VAE(nn.Module)" in text and "def reparameterize" in text
            assert "Antes do treino a perda de validação é" in text and '"Antes do treino' not in text
            assert "say(" not in text
        page.screenshot(path=ARTIFACTS / f"site_{name}.png")
        assert not errors, errors
        assert not blocked, f"a página tentou ir à rede: {blocked}"
    finally:
        page.close()


def test_offline_search_finds_reparametrization(site, chromium):
    page, errors, _ = offline_page(chromium, site)
    try:
        page.goto(site, wait_until="networkidle")
        search = page.locator("input.md-search__input")
        search.click()
        search.press_sequentially("reparametrização", delay=50)  # teclas de verdade, como um leitor
        results = page.locator(".md-search-result__item")
        results.first.wait_for(timeout=15_000)
        page.screenshot(path=ARTIFACTS / "site_busca.png")
        links = page.eval_on_selector_all(".md-search-result__link", "links => links.map(a => a.href)")
        assert any("vae_mnist" in link for link in links), links  # a página do relatório
        assert not errors, errors
    finally:
        page.close()


def test_no_broken_internal_link(site):
    checker = BIN / "linkchecker"
    if not checker.exists():
        pytest.skip("linkchecker ausente (pip install linkchecker)")
    result = subprocess.run([checker, "--no-status", "--no-warnings", site], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]
