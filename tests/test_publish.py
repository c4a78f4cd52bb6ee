"""vae_tools.publish: equações em MathML na hora de construir, widgets fora da cópia publicada e um HTML
que não busca nada na rede."""

import html as html_module
import re

import nbformat
from conftest import ROOT

from vae_tools import publish


def test_inline_and_block_latex_become_mathml_and_dollars_that_are_not_math_stay():
    text = publish.to_mathml(r"Seja $z \sim \mathcal{N}(0, I)$ e $$\log p(x) \ge \mathcal{L}(x).$$ Custa \$5 ou 5 $.")
    assert text.count("<math") == 2 and 'display="block"' in text and 'display="inline"' in text
    assert "\\mathcal" not in text and r"\$5" in text and "5 $." in text


def test_web_copy_converts_markdown_cells_and_outputs_and_drops_widgets():
    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {"estado": 1}
    view = {"application/vnd.jupyter.widget-view+json": {"model_id": "x"}, "text/plain": "VBox(...)"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("A KL: $D_{KL}$"),
        nbformat.v4.new_code_cell(outputs=[
            nbformat.v4.new_output("display_data", data=view),
            nbformat.v4.new_output("display_data", data={"text/markdown": "custa $784 \\ln 2$ nats"}),
        ]),
    ]  # fmt: skip
    web = publish.web_copy(nb)
    assert "widgets" not in web.metadata and "widgets" in nb.metadata, "o original não pode mudar"
    assert web.cells[0].source.startswith("A KL: <math")
    widget, markdown = web.cells[1].outputs
    assert set(widget["data"]) == {"text/plain"} and "<math" in markdown["data"]["text/markdown"]


def test_exported_html_has_mathml_and_no_outside_script(tmp_path):
    notebook = tmp_path / "relatorio.ipynb"
    nbformat.write(nbformat.read(ROOT / "notebooks" / "vae_mnist.ipynb", as_version=4), notebook)
    html = publish.export_html(notebook).read_text()
    assert html.count("<math") > 20 and "$\\mathcal" not in html
    assert not re.findall(r'<script[^>]*src="https?://', html)
    assert html.count("<img") + html.count("data:image/png") >= 12


def test_exported_html_shows_the_model_source_and_hides_interpretation_code(tmp_path):
    """O HTML mostra o código do VAE (lido de vae_core) e o texto que as células de interpretação calculam,
    mas não o f-string que o calcula (etiqueta remove-input)."""
    notebook = tmp_path / "relatorio.ipynb"
    nbformat.write(nbformat.read(ROOT / "notebooks" / "vae_mnist.ipynb", as_version=4), notebook)
    text = html_module.unescape(re.sub(r"<[^>]+>", "", publish.export_html(notebook).read_text()))
    assert "class VAE(nn.Module)" in text and "def reparameterize" in text and "def train_epoch" in text
    assert "Antes do treino, a perda média de validação é" in text
    assert 'f"Antes do treino' not in text and "Markdown(" not in text
