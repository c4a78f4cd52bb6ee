"""vae_tools.explorer: os controles deslizantes redesenham a imagem decodificada."""

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA

import vae_core as vc
from vae_tools.explorer import latent_explorer


@pytest.fixture
def model():
    torch.manual_seed(0)
    return vc.VAE(hidden_dim=32, latent_dim=4)


def test_slider_callback_redraws_a_different_image(model):
    mu = vc.encode_dataset(model, torch.rand(50, vc.INPUT_DIM))[0].numpy()
    pca = PCA().fit(mu)
    explorer = latent_explorer(model, pca, mu[0], n_components=3)
    sliders = explorer.children[:3]
    assert [s.description for s in sliders] == ["CP 1", "CP 2", "CP 3"]
    first = explorer.result.copy()
    np.testing.assert_allclose(first, vc.decode_latent(model, mu[0])[0], atol=0.02)
    picture = explorer.children[-1]
    shown = bytes(picture.value)
    assert shown.startswith(b"\x89PNG")
    sliders[0].value = sliders[0].max
    assert explorer.result.shape == (28, 28)
    assert np.abs(explorer.result - first).max() > 1e-3
    assert bytes(picture.value) != shown, "a imagem mostrada não mudou"
