"""vae_tools.webexport: os arquivos do explorador ao vivo do site (decodificadores e dados dos controles) e os
que estão guardados no repositório."""

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA

import vae_core as vc
from vae_tools import analysis, checkpoints, mnist, webexport
from vae_tools.explorer import LatentSpace

PARAMS = {"N_SLIDERS": 3, "SEED": 0, "EXPLORE_DIGIT": 3, "EXPLORE_INDEX": 2, "EXPLORE_MODE": "dims"}


def tiny_export():
    """Dois VAEs minúsculos (z = 4 e z = 2), 150 imagens uint8 com 15 de cada dígito e os seus arrays."""
    torch.manual_seed(0)
    model, model_2d = vc.VAE(hidden_dim=16, latent_dim=4), vc.VAE(hidden_dim=16, latent_dim=2)
    images = torch.randint(0, 256, (150, 28, 28), generator=torch.Generator().manual_seed(1), dtype=torch.uint8)
    labels = np.arange(150) % 10
    arrays, meta = webexport.explorer_assets(model, model_2d, images.numpy(), labels, PARAMS)
    return model, model_2d, images, labels, arrays, meta


def test_export_round_trips_exactly_with_the_notebook_codes_and_controls(tmp_path):
    model, model_2d, images, labels, arrays, meta = tiny_export()
    webexport.write_assets(tmp_path, arrays, meta)
    back, manifest = webexport.read_assets(tmp_path)
    assert back.keys() == arrays.keys()
    for name, array in arrays.items():
        assert back[name].dtype == array.dtype and back[name].shape == array.shape, name
        np.testing.assert_array_equal(back[name], array)
    np.testing.assert_array_equal(back["z20.fc4.weight"], model.fc4.weight.detach().numpy())
    np.testing.assert_array_equal(back["z2.fc3.bias"], model_2d.fc3.bias.detach().numpy())
    assert not any(".fc1." in name or "fc_mu" in name for name in back), "só o decodificador vai para a página"

    chosen = back["exemplos.indices"]  # os primeiros exemplos de cada dígito, como o EXPLORE_INDEX do notebook
    assert chosen.shape == (10, webexport.EXAMPLES) and (labels[chosen] == np.arange(10)[:, None]).all()
    assert chosen[3, 2] == np.flatnonzero(labels == 3)[2]
    mu, logvar = vc.encode_dataset(model, mnist.to_model_input(images))
    np.testing.assert_array_equal(back["exemplos.mu"], mu.numpy()[chosen])
    np.testing.assert_array_equal(back["exemplos.imagens"][3, 2], images[chosen[3, 2]].numpy().ravel())
    np.testing.assert_array_equal(back["mapa.mu"], vc.encode_dataset(model_2d, mnist.to_model_input(images))[0])

    pca = PCA(random_state=0).fit(mu.numpy())
    space = LatentSpace(pca, mu.numpy(), analysis.kl_per_dimension(mu, logvar), PARAMS["N_SLIDERS"])
    np.testing.assert_array_equal(back["dims.indices"], space.dims)
    np.testing.assert_allclose(back["pca.componentes"], pca.components_[:3], rtol=1e-6)
    for mode in ("pca", "dims"):
        assert manifest["modos"][mode]["controles"] == [list(s) for s in space.sliders(mode)]
        assert manifest["modos"][mode]["rotulos"] == space.labels(mode)
    assert manifest["inicio"] == {"explore_digit": 3, "explore_index": 2, "explore_mode": "dims"}


def test_a_binary_that_differs_from_the_manifest_is_refused_by_name(tmp_path):
    *_, arrays, meta = tiny_export()
    webexport.write_assets(tmp_path, arrays, meta)
    (tmp_path / "pca_media.bin").write_bytes(bytes(16))
    with pytest.raises(ValueError, match="pca_media.bin"):
        webexport.read_assets(tmp_path)


def test_a_starting_example_beyond_the_exported_ones_is_refused():
    model, model_2d = vc.VAE(hidden_dim=4, latent_dim=3), vc.VAE(hidden_dim=4, latent_dim=2)
    images, labels = np.zeros((150, 28, 28), np.uint8), np.arange(150) % 10
    with pytest.raises(ValueError, match="EXPLORE_INDEX=10.*entre 0 e 9"):
        webexport.explorer_assets(model, model_2d, images, labels, PARAMS | {"EXPLORE_INDEX": 10})


def test_only_the_fully_connected_decoder_can_be_exported():
    with pytest.raises(ValueError, match="totalmente conectado.*ConvVAE"):
        webexport.decoder_arrays(vc.ConvVAE(latent_dim=2), "z2")


def test_committed_explorer_comes_from_the_default_models_and_matches_its_hashes():
    """Os arquivos guardados em docs/site/explorador/ batem com o manifesto (SHA-256) e vêm dos modelos de
    registro: a configuração e as épocas dos padrões dos notebooks, o ponto de partida e os controles do
    capítulo. Se um padrão mudar, `make notebook` (que chama `make explorador`) os regrava."""
    arrays, manifest = webexport.read_assets()
    params, params_2d = webexport.default_params()
    for key, p in (("z20", params), ("z2", params_2d)):
        config = checkpoints.run_config(p)
        assert manifest["modelos"][key] == {"checkpoint": checkpoints.run_name(config, p["NUM_EPOCHS"]),
                                            "configuracao": config}  # fmt: skip
        assert arrays[f"{key}.fc3.weight"].shape == (p["HIDDEN_DIM"], p["LATENT_DIM"])
    assert manifest["inicio"] == {
        key.lower(): params[key] for key in ("EXPLORE_DIGIT", "EXPLORE_INDEX", "EXPLORE_MODE")
    }
    assert arrays["exemplos.mu"].shape == (10, webexport.EXAMPLES, params["LATENT_DIM"])
    assert arrays["dims.indices"].shape == arrays["pca.componentes"].shape[:1] == (params["N_SLIDERS"],)
    assert arrays["mapa.mu"].shape == (10_000, 2) and np.bincount(arrays["mapa.rotulos"]).tolist()[3] == 1010


def test_explorer_assets_fit_the_size_budget():
    """Tudo o que a página do explorador baixa (dados, pesos, script e estilo) cabe em `SIZE_BUDGET`."""
    total = sum(path.stat().st_size for path in webexport.EXPORT_DIR.iterdir())
    assert total <= webexport.SIZE_BUDGET, f"{total / 1e6:.2f} MB"
