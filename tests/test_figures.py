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
