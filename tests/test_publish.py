"""vae_tools.publish: equações em MathML na hora de construir, widgets fora da cópia publicada e um HTML
que não busca nada na rede."""

import html as html_module
import re
from pathlib import Path

import nbformat
import pytest
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
    assert "Antes do treino a perda de validação é" in text
    assert 'f"Antes do treino' not in text and "Markdown(" not in text


# ---------------------------------------------------------------- as páginas de referência


def test_committed_parameters_page_is_the_one_the_parameter_cells_give():
    """docs/site/parametros.md não pode ficar diferente das células de parâmetros dos notebooks."""
    assert publish.PARAMETERS_PAGE.read_text() == publish.parameters_page(), (
        "docs/site/parametros.md está desatualizada: rode `python -m vae_tools.publish parametros`"
    )


def test_parameters_page_has_a_table_for_each_notebook_with_every_parameter_of_its_cell():
    page = publish.parameters_page()
    scripts = [ROOT / "notebooks" / f"{name}.py" for name in publish.NOTEBOOKS]
    assert {"vae_mnist", "experimentos"} <= {s.stem for s in scripts if s.exists()}
    for script in filter(Path.exists, scripts):
        table = publish.parameter_table(script)
        assert table in page and f"`{script.stem}`" in page
        names = re.findall(r"^\| `(\w+)` \|", table, re.M)
        assert names == [p.name for p in publish.notebook_parameters(script)] and len(names) >= 10


def test_parameter_table_reads_name_default_and_help_from_the_cell(tmp_path):
    script = tmp_path / "caderno.py"
    script.write_text(
        '# %% [markdown]\n# # Título\n\n# %% tags=["parameters"]\n'
        'NUM_EPOCHS: int = 20  # épocas de treino\n'
        'SIZES: list[int] = [2, 20]  # tamanhos | comparados\n'
        'DATA_DIR: "str or None" = None  # None: data/ na raiz\n'
        'RATE = 1e-3  # taxa\n\n# %%\nprint(NUM_EPOCHS)\n'
    )  # fmt: skip
    assert publish.parameter_table(script).splitlines() == [
        "| parâmetro | padrão | significado |",
        "|---|---|---|",
        "| `NUM_EPOCHS` | `20` | épocas de treino |",
        "| `SIZES` | `[2, 20]` | tamanhos \\| comparados |",
        "| `DATA_DIR` | `None` | None: data/ na raiz |",
        "| `RATE` | `1e-3` | taxa |",
    ]
    script.write_text('# %% tags=["parameters"]\nNUM_EPOCHS: int = 20\n')
    with pytest.raises(ValueError, match="NUM_EPOCHS não tem um comentário de ajuda"):
        publish.parameter_table(script)
    script.write_text("# %%\nNUM_EPOCHS = 20  # épocas\n")
    with pytest.raises(ValueError, match="etiqueta parameters"):
        publish.parameter_table(script)


def test_site_links_point_to_the_site_pages():
    readme = "[c](notebooks/vae_mnist.ipynb) [p](docs/site/parametros.md) ![f](docs/10_espaco_latente.png)"
    assert publish.site_links(readme) == "[c](vae_mnist.ipynb) [p](parametros.md) ![f](docs/10_espaco_latente.png)"
    page = "[c](../../notebooks/experimentos.ipynb) [i](../../README.md) [r](recursos.md)"
    assert publish.site_links(page, "../../") == "[c](experimentos.ipynb) [i](index.md) [r](recursos.md)"


def test_site_sources_have_the_reference_pages_listed_in_the_menu_after_the_notebooks(tmp_path):
    target = publish.prepare_site(tmp_path / "site-src")
    pages = sorted(p.name for p in publish.SITE_PAGES.glob("*.md"))
    assert {"parametros.md", "checkpoints.md", "recursos.md", "desempenho.md", "testes.md"} <= set(pages)
    assert all((target / name).exists() for name in pages)
    assert all((target / f"{name}.ipynb").exists() for name in publish.NOTEBOOKS)
    home = (target / "index.md").read_text()
    assert "](docs/site/" not in home and "](notebooks/" not in home and "](parametros.md)" in home
    nav = re.findall(r"^\s+- [^:]+: (\S+)$", (ROOT / "mkdocs.yml").read_text().split("\nnav:", 1)[1], re.M)
    expected = ["index.md", *(f"{name}.ipynb" for name in publish.NOTEBOOKS)]
    assert nav[: len(expected)] == expected and sorted(nav[len(expected) :]) == pages


def test_web_copy_gives_every_figure_its_portuguese_alt_text_old_outputs_included():
    from vae_tools.figures import FIGURE_DESCRIPTIONS

    png = {"image/png": "iVBORw0KGgo=\n", "text/plain": "<Figure size 640x480 with 1 Axes>"}
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell('show_figure(fig, "05_reconstrucoes", FIGURES_DIR)', outputs=[  # sem metadados
            nbformat.v4.new_output("display_data", data=dict(png))]),
        nbformat.v4.new_code_cell('show_figure(fig, "07_amostras", FIGURES_DIR)', outputs=[
            nbformat.v4.new_output("display_data", data=dict(png), metadata={"image/png": {"alt": "Um <teste>."}})]),
        nbformat.v4.new_code_cell("plt.imshow(x)", outputs=[nbformat.v4.new_output("display_data", data=dict(png))]),
    ]  # fmt: skip
    old, new, unknown = (cell.outputs[0].data for cell in publish.web_copy(nb).cells)
    alt = html_module.escape(FIGURE_DESCRIPTIONS["05_reconstrucoes"])
    assert old == {"text/html": f'<img alt="{alt}" src="data:image/png;base64,iVBORw0KGgo=">'}
    assert new["text/html"].startswith('<img alt="Um &lt;teste&gt;."')
    assert unknown == png, "sem descrição conhecida, a figura fica como está (e o teste do site a acusa)"


def test_accessible_html_names_the_search_dialog_and_makes_code_and_tables_focusable_regions():
    page = (
        '<div class="md-search" data-md-component="search" role="dialog"><div class="highlight-ipynb hl-python">'
        "<pre>x = 1</pre></div><table><tr><td>1</td></tr></table>"
    )
    fixed = publish.accessible_html(page)
    assert 'role="dialog" aria-label="Busca no site"' in fixed
    assert '<div class="highlight-ipynb hl-python" tabindex="0" role="region" aria-label="Código da célula">' in fixed
    assert '<div class="rolavel" tabindex="0" role="region" aria-label="Tabela"><table>' in fixed
    assert fixed.endswith("</table></div>")
