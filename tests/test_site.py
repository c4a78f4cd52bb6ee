"""O site do curso, como um leitor sem rede o vê: construído dos notebooks guardados, servido em
127.0.0.1 e aberto em Chromium headless com toda requisição para fora bloqueada; cada página passa pelo
axe-core (acessibilidade) e o explorador ao vivo é conferido contra o `decode` do PyTorch. Capturas em
tests/artifacts/site_*.png."""

import functools
import http.server
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import ARTIFACTS, free_port

import vae_core as vc
from vae_tools import webexport

ROOT = Path(__file__).resolve().parents[1]
PAGES = {"inicio": "", "capitulo": "vae_mnist/", "avaliacao": "avaliacao/", "laboratorio": "experimentos/"}
REFERENCE = ["explorador", *sorted(p.stem for p in (ROOT / "docs" / "site").glob("*.md") if p.stem != "explorador")]
EVERY_PAGE = PAGES | {name: f"{name}/" for name in REFERENCE}  # o menu inteiro
PLACEHOLDER = "No description has been provided for this image"  # o texto alternativo padrão do nbconvert
SERIOUS = ("serious", "critical")
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def built_site(tmp_path_factory) -> Path:
    """Constrói o site (como `make site`) numa pasta temporária."""
    folder = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "vae_tools.publish", "site"], cwd=ROOT, check=True)
    subprocess.run([BIN / "mkdocs", "build", "--strict", "-d", folder], cwd=ROOT, check=True, capture_output=True)
    return folder


@pytest.fixture(scope="module")
def site(built_site):
    """O site construído, servido em 127.0.0.1."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(built_site))
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
def test_every_page_renders_offline_accessible_with_images_and_math(site, chromium, name):
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
        assert_accessible(page)
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


def test_no_page_has_the_english_image_placeholder(built_site):
    pages = list(built_site.rglob("*.html"))
    assert len(pages) >= len(EVERY_PAGE)
    assert not [str(p.relative_to(built_site)) for p in pages if PLACEHOLDER in p.read_text()]


def open_page(chromium, site: str, path: str):
    """A página `path`, sem rede, carregada (o explorador, com os seus arquivos)."""
    page, errors, blocked = offline_page(chromium, site)
    page.goto(site + path, wait_until="load")
    if path == "explorador/":
        page.evaluate("window.explorador.pronto")
    return page, errors, blocked


def assert_accessible(page):
    """axe-core (do pacote axe-playwright-python, servido localmente) na página: nenhuma violação de impacto
    sério ou crítico (contraste, nomes, foco do teclado, textos alternativos…) e nenhuma imagem sem texto
    alternativo em português."""
    axe = pytest.importorskip("axe_playwright_python.sync_playwright", reason="pip install axe-playwright-python")
    page.evaluate(axe.Axe().axe_script)
    violations = page.evaluate("axe.run({resultTypes: ['violations']}).then(r => r.violations)")
    serious = {v["id"]: [n["target"] for n in v["nodes"][:3]] for v in violations if v["impact"] in SERIOUS}
    assert not serious, serious
    alts = page.evaluate("[...document.images].map(i => i.alt)")
    assert all(alt and PLACEHOLDER not in alt for alt in alts), alts


@pytest.mark.parametrize("name", REFERENCE)
def test_every_reference_page_is_accessible(site, chromium, name):
    """As páginas de referência e a do explorador (as dos notebooks: no teste de cima)."""
    page, errors, blocked = open_page(chromium, site, f"{name}/")
    try:
        assert_accessible(page)
        assert not errors and not blocked, (errors, blocked)
    finally:
        page.close()


# ---------------------------------------------------------------- o explorador ao vivo


@pytest.fixture(scope="module")
def exported():
    """Os arquivos guardados do explorador e os dois decodificadores do PyTorch com os mesmos pesos."""
    arrays, manifest = webexport.read_assets()
    models = {}
    for key, entry in manifest["modelos"].items():
        config = entry["configuracao"]
        model = vc.build_model(config["ARCH"], config["LATENT_DIM"], config["HIDDEN_DIM"])
        weights = {name.removeprefix(f"{key}."): torch.from_numpy(a.copy()) for name, a in arrays.items()}
        model.load_state_dict(weights, strict=False)
        models[key] = model.eval()
    return arrays, manifest, models


def page_state(page, which: str) -> tuple[np.ndarray, np.ndarray]:
    """O ponto latente e a imagem decodificada (intensidades em [0, 1]) que a página mostra."""
    state = page.evaluate(f"(e => [Array.from(e.z), Array.from(e.decodificada)])(window.explorador.{which})")
    return np.array(state[0]), np.array(state[1])


def slider_values(page) -> list[float]:
    return page.evaluate("window.explorador.capitulo.valores")


def assert_matches_torch(page, model, which: str, canvas: str) -> np.ndarray:
    """A imagem da página é o `decode` do PyTorch no mesmo z (até 1e-5), e o canvas a desenha."""
    z, shown = page_state(page, which)
    with torch.no_grad():
        expected = model.decode(torch.tensor(z, dtype=torch.float32)[None])[0].numpy()
    assert np.abs(shown - expected).max() < 1e-5
    pixels = page.evaluate(
        f"Array.from(document.getElementById('{canvas}').getContext('2d').getImageData(0, 0, 28, 28).data)"
    )
    assert np.abs(np.array(pixels[::4]) - np.round(255 * expected)).max() <= 1
    return z


def test_live_explorer_sliders_match_torch_decode(site, chromium, exported):
    arrays, manifest, models = exported
    start = manifest["inicio"]
    examples = manifest["arquivos"]["exemplos.mu"]["forma"][1]
    mu = arrays["exemplos.mu"]
    page, errors, blocked = open_page(chromium, site, "explorador/")
    try:
        z, _ = page_state(page, "capitulo")  # o ponto de partida do notebook: o μ exportado do seu exemplo
        np.testing.assert_array_equal(z, mu[start["explore_digit"], start["explore_index"]])
        assert_matches_torch(page, models["z20"], "capitulo", "ex-decodificada")

        page.get_by_role("button", name="Voltar ao início").first.focus()
        page.keyboard.press("Tab")  # o teclado chega ao primeiro controle
        assert page.evaluate("document.activeElement.id") == "ex-controle-0"
        low, high, step = manifest["modos"]["pca"]["controles"][0]
        before = slider_values(page)
        for _ in range(10):
            page.keyboard.press("ArrowRight")
        after = slider_values(page)
        assert after[0] == pytest.approx(min(high, before[0] + 10 * step)) and after[1:] == before[1:]
        z = assert_matches_torch(page, models["z20"], "capitulo", "ex-decodificada")
        components, z0 = arrays["pca.componentes"].astype(np.float64), mu[3, 0].astype(np.float64)
        np.testing.assert_allclose(z, z0 + (after[0] - before[0]) * components[0], atol=1e-6)
        page.screenshot(path=ARTIFACTS / "site_explorador.png", full_page=True)

        page.get_by_label("dimensões de z (por KL)").check()  # o outro modo, outro dígito, outro exemplo
        page.select_option("#ex-digito", "7")
        page.select_option("#ex-exemplo", str(examples - 1))
        page.focus("#ex-controle-1")
        page.keyboard.press("ArrowLeft")
        z = assert_matches_torch(page, models["z20"], "capitulo", "ex-decodificada")
        moved = np.array(mu[7, examples - 1], dtype=np.float64)
        dim = arrays["dims.indices"][1]
        moved[dim] -= manifest["modos"]["dims"]["controles"][1][2]
        np.testing.assert_allclose(z, moved, atol=1e-6)

        page.get_by_role("button", name="Voltar ao início").first.click()
        np.testing.assert_array_equal(page_state(page, "capitulo")[0], mu[7, examples - 1])
        assert not errors and not blocked, (errors, blocked)
    finally:
        page.close()


def test_live_2d_map_drag_matches_torch_decode(site, chromium, exported):
    arrays, manifest, models = exported
    start = arrays["exemplos.indices"][manifest["inicio"]["explore_digit"], manifest["inicio"]["explore_index"]]
    page, errors, blocked = open_page(chromium, site, "explorador/")
    try:
        z, _ = page_state(page, "mapa")
        np.testing.assert_array_equal(z, arrays["mapa.mu"][start])  # o mesmo exemplo de partida, no VAE 2-D
        page.locator(".ex-mapa").scroll_into_view_if_needed()
        box = page.locator(".ex-mapa").bounding_box()
        (x0, x1), (y0, y1) = manifest["mapa"]["faixa"]
        page.mouse.move(box["x"] + 0.5 * box["width"], box["y"] + 0.5 * box["height"])
        page.mouse.down()
        page.mouse.move(box["x"] + 0.25 * box["width"], box["y"] + 0.2 * box["height"], steps=5)
        page.mouse.up()
        z = assert_matches_torch(page, models["z2"], "mapa", "ex-decodificada-2d")
        pixel = [(x1 - x0) / box["width"], (y1 - y0) / box["height"]]
        assert np.abs(z - [x0 + 0.25 * (x1 - x0), y1 - 0.2 * (y1 - y0)]).max() <= max(pixel)
        page.focus("#ex-z1")  # e pelo teclado
        page.keyboard.press("ArrowRight")
        moved = assert_matches_torch(page, models["z2"], "mapa", "ex-decodificada-2d")
        assert moved[0] == pytest.approx(z[0] + (x1 - x0) / 60) and moved[1] == z[1]
        assert not errors and not blocked, (errors, blocked)
    finally:
        page.close()
