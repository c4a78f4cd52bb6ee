"""vae_tools.explorer: os dois modos, a imagem de partida, os controles, o botão de voltar e a figura estática;
o explorador do VAE condicional (dígito, controles de estilo, a fileira dos dez dígitos) e a sua figura."""

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA

import vae_core as vc
from vae_tools.explorer import ConditionalExplorer, LatentExplorer, LatentSpace, conditional_traversal, traversal


@pytest.fixture
def setup():
    torch.manual_seed(0)
    model = vc.VAE(hidden_dim=32, latent_dim=6)
    images = torch.rand(60, vc.INPUT_DIM)
    mu = vc.encode_dataset(model, images)[0].numpy() * np.array([3, 2, 1, 0.5, 0.2, 0.1])
    labels = np.arange(60) % 10
    kl = np.array([0.1, 2.0, 0.5, 3.0, 0.2, 1.0])
    return model, LatentSpace(PCA().fit(mu), mu, kl, n_sliders=3), mu, labels, images.numpy()


def test_dims_mode_moves_the_dimensions_with_most_kl_and_pca_mode_the_components(setup):
    model, space, mu, labels, images = setup
    assert space.dims.tolist() == [3, 1, 5]
    assert space.labels("dims")[0] == "z3 (3,0 nats)" and space.labels("pca") == ["CP 1", "CP 2", "CP 3"]
    z0 = mu[7]
    for mode in ("pca", "dims"):
        np.testing.assert_allclose(space.point(mode, z0, space.coordinates(mode, z0)), z0, atol=1e-9)
    moved = space.point("dims", z0, [9.0, 8.0, 7.0])
    assert moved[[3, 1, 5]].tolist() == [9.0, 8.0, 7.0] and np.array_equal(
        np.delete(moved, [3, 1, 5]), np.delete(z0, [3, 1, 5])
    )
    start = space.coordinates("pca", z0)
    shifted = space.pca.transform(space.point("pca", z0, start + [1.0, 0, 0])[None])[0]
    np.testing.assert_allclose(shifted - space.pca.transform(z0[None])[0], [1, 0, 0, 0, 0, 0], atol=1e-9)


def test_panel_starts_at_the_chosen_example_and_sliders_redraw(setup):
    model, space, mu, labels, images = setup
    explorer = LatentExplorer(model, space, mu, labels, images, mode="pca", digit=3, index=2)
    start = np.flatnonzero(labels == 3)[2]
    np.testing.assert_allclose(explorer.result, vc.decode_latent(model, mu[start])[0], atol=1e-5)
    assert bytes(explorer.original.value).startswith(b"\x89PNG")
    first, shown = explorer.result.copy(), bytes(explorer.decoded.value)
    explorer.sliders[0].value = explorer.sliders[0].max
    assert np.abs(explorer.result - first).max() > 1e-3
    assert bytes(explorer.decoded.value) != shown, "a imagem mostrada não mudou"
    explorer.reset.click()
    np.testing.assert_allclose(explorer.result, first, atol=1e-5)


def test_changing_mode_digit_and_example_restarts_from_the_new_image(setup):
    model, space, mu, labels, images = setup
    explorer = LatentExplorer(model, space, mu, labels, images)
    original = bytes(explorer.original.value)
    explorer.mode.value = "dims"
    assert [s.description for s in explorer.sliders] == space.labels("dims")
    low, high = space.ranges("dims")[0]
    assert explorer.sliders[0].min == pytest.approx(low, abs=0.01) and explorer.sliders[0].max == pytest.approx(
        high, abs=0.01
    )
    explorer.digit.value = 7
    assert explorer.index.max == (labels == 7).sum() - 1
    assert bytes(explorer.original.value) != original
    explorer.index.value = 4
    start = np.flatnonzero(labels == 7)[4]
    np.testing.assert_allclose(explorer.result, vc.decode_latent(model, mu[start])[0], atol=1e-5)


def test_static_traversal_follows_the_mode_and_spans_each_slider(setup):
    model, space, mu, _, _ = setup
    for mode in ("pca", "dims"):
        grid = traversal(model, space, mode, mu[0], steps=5)
        assert grid.shape == (3, 5, 28, 28) and not np.allclose(grid[0, 0], grid[0, -1])
    low, high = space.ranges("dims")[1]
    expected = space.point("dims", mu[0], [mu[0][3], high, mu[0][5]])
    np.testing.assert_allclose(
        traversal(model, space, "dims", mu[0], steps=5)[1, -1], vc.decode_latent(model, expected)[0], atol=1e-5
    )


@pytest.fixture
def conditional():
    """Um CVAE minúsculo (z de 4), os códigos μ de imagens aleatórias com os seus rótulos e uma KL por
    dimensão que põe as dimensões na ordem 2, 0, 3, 1."""
    torch.manual_seed(0)
    model = vc.build_model("cvae", latent_dim=4, hidden_dim=16)
    images, labels = torch.rand(50, vc.INPUT_DIM), torch.arange(50) % 10
    mu = vc.encode_dataset(model, images, y=labels)[0].numpy() * np.array([4, 3, 5, 2])
    return model, mu, np.array([1.0, 0.1, 2.0, 0.5])


def test_conditional_sliders_cover_mean_plus_minus_three_std_of_the_dimensions_with_most_kl(conditional):
    model, mu, kl = conditional
    explorer = ConditionalExplorer(model, mu, kl, digit=7, n_sliders=3)
    assert explorer.space.dims.tolist() == [2, 0, 3]
    assert [s.description for s in explorer.sliders] == ["z2 (2,0 nats)", "z0 (1,0 nats)", "z3 (0,5 nats)"]
    for slider, dim in zip(explorer.sliders, [2, 0, 3]):
        mean, std = mu[:, dim].mean(), mu[:, dim].std()
        assert slider.value == pytest.approx(mean) and slider.min == pytest.approx(mean - 3 * std)
        assert slider.max == pytest.approx(mean + 3 * std)
    np.testing.assert_allclose(explorer.z(), mu.mean(0), atol=1e-9)
    np.testing.assert_allclose(explorer.result, vc.decode_latent(model, mu.mean(0), [7])[0], atol=1e-6)
    assert explorer.widget._dom_classes == ("explorador-condicional",)
    assert len(ConditionalExplorer(model, mu, kl, n_sliders=9).sliders) == 4, "no máximo d controles"


def test_conditional_digit_and_sliders_redraw_and_reset_restores_the_start(conditional):
    model, mu, kl = conditional
    explorer = ConditionalExplorer(model, mu, kl, digit=7, n_sliders=3)
    start, shown = explorer.result.copy(), bytes(explorer.decoded.value)
    assert shown.startswith(b"\x89PNG")
    explorer.digit.value = 1
    assert np.abs(explorer.result - start).max() > 1e-3, "o dígito não mudou a imagem"
    np.testing.assert_allclose(explorer.z(), mu.mean(0), atol=1e-9)  # mesmo z, outro dígito
    explorer.digit.value = 7
    explorer.sliders[0].value = explorer.sliders[0].max
    moved = explorer.z()
    assert moved[2] == pytest.approx(explorer.sliders[0].max) and np.allclose(moved[[0, 1, 3]], mu.mean(0)[[0, 1, 3]])
    assert np.abs(explorer.result - start).max() > 1e-3 and bytes(explorer.decoded.value) != shown
    np.testing.assert_allclose(explorer.result, vc.decode_latent(model, moved, [7])[0], atol=1e-6)
    explorer.reset.click()
    assert explorer.digit.value == 7 and [s.value for s in explorer.sliders] == pytest.approx(mu.mean(0)[[2, 0, 3]])
    np.testing.assert_allclose(explorer.result, start, atol=1e-6)
    assert bytes(explorer.decoded.value) == shown


def test_conditional_row_shows_the_same_style_as_each_of_the_ten_digits(conditional):
    model, mu, kl = conditional
    explorer = ConditionalExplorer(model, mu, kl, digit=3, n_sliders=2)
    explorer.sliders[1].value = explorer.sliders[1].min
    assert len(explorer.row_images) == 10 and explorer.row.shape == (10, 28, 28)
    assert all(bytes(image.value).startswith(b"\x89PNG") for image in explorer.row_images)
    expected = vc.decode_latent(model, np.tile(explorer.z(), (10, 1)), np.arange(10))
    np.testing.assert_allclose(explorer.row, expected, atol=1e-6)
    np.testing.assert_allclose(explorer.result, explorer.row[3])
    assert len({bytes(image.value) for image in explorer.row_images}) == 10, "dígitos diferentes, imagens iguais"


def test_conditional_traversal_rows_sweep_each_slider_with_the_rest_at_the_mean(conditional):
    model, mu, kl = conditional
    grid = conditional_traversal(model, mu, kl, digit=5, n_sliders=2, steps=5)
    assert grid.shape == (2, 5, 28, 28)
    mean, std = mu.mean(0), mu.std(0)
    for row, dim in enumerate([2, 0]):
        z = np.tile(mean, (5, 1))
        z[:, dim] = np.linspace(mean[dim] - 3 * std[dim], mean[dim] + 3 * std[dim], 5)
        np.testing.assert_allclose(grid[row], vc.decode_latent(model, z, [5] * 5), atol=1e-6)
    other = conditional_traversal(model, mu, kl, digit=0, n_sliders=2, steps=5)
    assert not np.allclose(grid, other), "o dígito não mudou a figura"
