"""vae_tools.figures: a grade de imagens e os números à brasileira."""

import numpy as np

from vae_tools.figures import br_number, image_grid


def test_image_grid_places_images_row_by_row():
    images = np.arange(5 * 2 * 3).reshape(5, 2, 3)
    grid = image_grid(images, ncols=3)
    assert grid.shape == (4, 9)
    np.testing.assert_array_equal(grid[0:2, 3:6], images[1])
    np.testing.assert_array_equal(grid[2:4, 3:6], images[4])
    assert not grid[2:4, 6:9].any()


def test_br_number():
    assert br_number(652824) == "652.824"
    assert br_number(103.914, 2) == "103,91"
    assert br_number(-0.5, 1) == "−0,5" and br_number(-12345.6, 1) == "−12.345,6"
    assert br_number(0.25, None) == "0,25" and br_number(8.0, None) == "8" and br_number(12000, None) == "12.000"
    assert br_number(-0.04, 1) == "0,0" and br_number(-0.4) == "0"  # nunca "-0"


def test_say_templates_format_numbers_the_brazilian_way():
    from vae_tools.figures import _BrazilianFormatter

    text = _BrazilianFormatter().format(
        "{a:.2f} {b:,} {c:.1%} {d:.1p} {e} {f:,.0f}", a=-0.004, b=55000, c=0.4271, d=0.3634, e="texto", f=4650.2
    )
    assert text == "0,00 55.000 42,7% 36,3 p.p. texto 4.650"


def test_every_figure_of_the_notebooks_has_a_portuguese_description():
    """Cada `show_figure(fig, "nome", …)` dos notebooks tem o seu texto alternativo, e não sobra nenhum."""
    import re
    from pathlib import Path

    from vae_tools.figures import FIGURE_DESCRIPTIONS

    root = Path(__file__).resolve().parents[1]
    scripts = [*(root / "notebooks").glob("*.py"), root / "vae_tools" / "exercises.py"]  # e a versão do aluno
    names = {n for script in scripts for n in re.findall(r'show_figure\(fig, "([^"]+)"', script.read_text())}
    assert names == set(FIGURE_DESCRIPTIONS)
    assert all(text.endswith(".") and "description" not in text for text in FIGURE_DESCRIPTIONS.values())


def test_show_figure_puts_the_description_in_the_output_metadata_and_saves_the_png(tmp_path, monkeypatch):
    import IPython.display
    import matplotlib.pyplot as plt
    import pytest

    from vae_tools.figures import FIGURE_DESCRIPTIONS, show_figure

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj, metadata=None: shown.append((obj, metadata)))
    fig = plt.figure()
    show_figure(fig, "05_reconstrucoes", tmp_path)
    assert shown == [(fig, {"image/png": {"alt": FIGURE_DESCRIPTIONS["05_reconstrucoes"]}})]
    assert (tmp_path / "05_reconstrucoes.png").exists() and not plt.fignum_exists(fig.number)
    with pytest.raises(ValueError, match="'figura_nova'.*FIGURE_DESCRIPTIONS"):
        show_figure(plt.figure(), "figura_nova")


def test_scatter_digits_gives_each_digit_its_colour_blind_safe_colour_and_marker():
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_hex

    from vae_tools.figures import DIGIT_COLORS, scatter_digits

    fig, ax = plt.subplots()
    scatter_digits(ax, np.random.default_rng(0).normal(size=(50, 2)), np.arange(50) % 10)
    colours = [to_hex(c.get_facecolor()[0]).upper() for c in ax.collections]
    shapes = {c.get_paths()[0].vertices.round(3).tobytes() for c in ax.collections}
    assert colours == list(DIGIT_COLORS) and len(shapes) == 10
    assert list(DIGIT_COLORS) == plt.style.library["tableau-colorblind10"]["axes.prop_cycle"].by_key()["color"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [str(d) for d in range(10)]
    plt.close(fig)
