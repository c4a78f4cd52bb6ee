"""vae_tools.explorer: os dois modos, a imagem de partida, os controles, o botão de voltar e a figura estática."""

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA

import vae_core as vc
from vae_tools.explorer import LatentExplorer, LatentSpace, traversal


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
