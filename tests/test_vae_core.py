"""Testes unitários de vae_core: forma, matemática da perda, treino e funções de análise."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.decomposition import PCA
from torch.distributions import Normal

import vae_core as vc


@pytest.fixture
def model():
    torch.manual_seed(0)
    return vc.VAE(hidden_dim=32, latent_dim=4)


def test_forward_shapes(model):
    x = torch.rand(7, vc.INPUT_DIM)
    logits, mu, logvar = model(x)
    assert logits.shape == (7, vc.INPUT_DIM)
    assert mu.shape == logvar.shape == (7, 4)


def test_parameter_count_of_classic_architecture():
    d, h, k = vc.INPUT_DIM, 400, 20
    expected = (d * h + h) + 2 * (h * k + k) + (k * h + h) + (h * d + d)
    assert vc.count_parameters(vc.VAE(d, h, k)) == expected == 652_824


def test_kl_of_standard_normal_is_zero():
    mu, logvar = torch.zeros(3, 5), torch.zeros(3, 5)
    assert torch.equal(vc.kl_divergence(mu, logvar), torch.zeros(3))


def test_kl_matches_monte_carlo_estimate():
    torch.manual_seed(1)
    mu, logvar = torch.randn(4, 3), torch.randn(4, 3) * 0.5
    q = Normal(mu, torch.exp(0.5 * logvar))
    z = q.sample((200_000,))
    monte_carlo = (q.log_prob(z) - Normal(0.0, 1.0).log_prob(z)).sum(-1).mean(0)
    torch.testing.assert_close(vc.kl_divergence(mu, logvar), monte_carlo, atol=0.02, rtol=0.01)
    assert (vc.kl_divergence(mu, logvar) > 0).all()


def test_bce_from_logits_equals_bce_of_sigmoid():
    torch.manual_seed(2)
    logits, x = torch.randn(5, vc.INPUT_DIM) * 3, torch.rand(5, vc.INPUT_DIM)
    expected = F.binary_cross_entropy(torch.sigmoid(logits), x, reduction="none").sum(-1)
    torch.testing.assert_close(vc.reconstruction_bce(logits, x), expected, rtol=1e-5, atol=1e-3)
    bce, _ = vc.loss_terms(logits, x, torch.zeros(5, 2), torch.zeros(5, 2))
    torch.testing.assert_close(bce, expected.sum(), rtol=1e-5, atol=1e-2)


def test_bce_from_logits_is_finite_where_sigmoid_saturates():
    logits, x = torch.tensor([[200.0, -200.0]]), torch.tensor([[0.0, 1.0]])
    assert torch.isfinite(vc.reconstruction_bce(logits, x)).all()
    assert vc.reconstruction_bce(logits, x).item() == pytest.approx(400.0)


def test_reparameterized_samples_carry_gradients_and_have_right_moments():
    torch.manual_seed(3)
    mu = torch.full((100_000, 2), 1.5, requires_grad=True)
    logvar = torch.full((100_000, 2), math.log(0.25), requires_grad=True)
    z = vc.VAE.reparameterize(mu, logvar)
    z.sum().backward()
    assert mu.grad is not None and logvar.grad is not None
    assert torch.all(mu.grad == 1)
    assert z.mean().item() == pytest.approx(1.5, abs=0.01)
    assert z.std().item() == pytest.approx(0.5, abs=0.01)


def test_a_few_training_steps_lower_the_loss(model):
    torch.manual_seed(4)
    prototypes = (torch.rand(4, vc.INPUT_DIM) > 0.7).float()
    x = prototypes.repeat(16, 1)  # 4 "dígitos" repetidos: há estrutura para aprender
    optimizer = vc.make_optimizer(model, 1e-2)
    before = vc.evaluate(model, x)["loss"]
    for _ in range(20):
        vc.train_epoch(model, optimizer, x, batch_size=16, generator=torch.Generator().manual_seed(0))
    after = vc.evaluate(model, x)
    assert after["loss"] < 0.8 * before
    assert after["loss"] == pytest.approx(after["bce"] + after["kl"])


def test_uint8_training_images_train_exactly_like_floats():
    images = torch.randint(0, 256, (48, vc.INPUT_DIM), dtype=torch.uint8)

    def one_epoch(x):
        torch.manual_seed(0)
        model = vc.VAE(hidden_dim=16, latent_dim=3)
        stats = vc.train_epoch(model, vc.make_optimizer(model, 1e-3), x, 16, torch.Generator().manual_seed(1))
        return stats, model.fc1.weight.detach().clone()

    (stats_u8, weights_u8), (stats_f, weights_f) = one_epoch(images), one_epoch(vc.to_float(images))
    assert stats_u8 == stats_f and torch.equal(weights_u8, weights_f)


def test_fit_records_one_value_per_epoch_and_metric(model):
    x = torch.rand(40, vc.INPUT_DIM)
    history = vc.fit(model, vc.make_optimizer(model, 1e-3), x, x[:10], 3, 16, seed=0, progress=False)
    metrics = {f"{s}_{m}" for s in ("train", "val") for m in vc.METRICS}
    assert set(history) == metrics | {"snapshot_epochs", "snapshots"}
    assert all(len(history[key]) == 3 for key in metrics)
    assert history["snapshots"] == []


def test_fit_keeps_reconstructions_every_k_epochs_and_at_the_end(model):
    x = torch.rand(40, vc.INPUT_DIM)
    history = vc.fit(model, vc.make_optimizer(model, 1e-3), x, x[:10], 5, 16, seed=0, progress=False,
                     snapshot_x=x[:4], snapshot_every=2)  # fmt: skip
    assert history["snapshot_epochs"] == [2, 4, 5]
    last = np.array(history["snapshots"][-1], dtype=np.uint8)
    assert last.shape == (4, 28, 28)
    np.testing.assert_allclose(last / 255, vc.reconstruct(model, x[:4]), atol=0.5 / 255 + 1e-6)


def test_dynamic_binarization_trains_on_fresh_binary_samples(model):
    seen = []
    real_forward = model.forward
    model.forward = lambda batch: seen.append(batch.clone()) or real_forward(batch)
    x = torch.full((32, vc.INPUT_DIM), 0.5)
    vc.train_epoch(model, vc.make_optimizer(model, 1e-3), x, 16, binarize=True)
    assert all(set(b.unique().tolist()) == {0.0, 1.0} for b in seen)
    assert not torch.equal(seen[0], seen[1])
    fixed = vc.binarize_fixed(x, seed=3)
    assert torch.equal(fixed, vc.binarize_fixed(x, seed=3)) and set(fixed.unique().tolist()) == {0.0, 1.0}


def test_same_seed_same_losses_different_seed_different_losses():
    x = torch.rand(64, vc.INPUT_DIM)

    def run(seed):
        vc.seed_everything(seed, num_threads=1)
        model = vc.VAE(hidden_dim=16, latent_dim=3)
        return vc.fit(model, vc.make_optimizer(model, 1e-3), x, x[:16], 2, 16, seed, progress=False)

    assert run(5) == run(5)
    assert run(5) != run(6)


def test_encode_decode_and_sample_shapes(model):
    x = torch.rand(25, vc.INPUT_DIM)
    mu, logvar = vc.encode_dataset(model, x, batch_size=10)
    assert mu.shape == logvar.shape == (25, 4)
    torch.testing.assert_close(mu, model.encode(x)[0].detach())
    images = vc.decode_latent(model, mu[:3])
    assert images.shape == (3, 28, 28) and images.min() >= 0 and images.max() <= 1
    samples = vc.sample_images(model, 6, seed=0)
    assert samples.shape == (6, 28, 28)
    np.testing.assert_array_equal(samples, vc.sample_images(model, 6, seed=0))


def test_image_grid_places_images_row_by_row():
    images = np.arange(5 * 2 * 3).reshape(5, 2, 3)
    grid = vc.image_grid(images, ncols=3)
    assert grid.shape == (4, 9)
    np.testing.assert_array_equal(grid[0:2, 3:6], images[1])
    np.testing.assert_array_equal(grid[2:4, 3:6], images[4])
    assert not grid[2:4, 6:9].any()


def test_moving_along_components_changes_only_that_component():
    rng = np.random.default_rng(0)
    mu = rng.normal(size=(300, 6)) * np.array([3, 2, 1, 0.5, 0.2, 0.1])
    pca = PCA().fit(mu)
    z0 = mu[0]
    start = pca.transform(z0[None])[0]
    np.testing.assert_allclose(vc.move_along_components(pca, z0, start[:2]), z0)
    moved = pca.transform(vc.move_along_components(pca, z0, [start[0] + 1.0, start[1]])[None])[0]
    np.testing.assert_allclose(moved - start, [1, 0, 0, 0, 0, 0], atol=1e-9)


def test_component_traversal_shape_and_center(model):
    mu = vc.encode_dataset(model, torch.rand(50, vc.INPUT_DIM))[0].numpy()
    pca = PCA().fit(mu)
    traversal = vc.component_traversal(model, pca, mu[0], n_components=2, steps=5, span=2.0)
    assert traversal.shape == (2, 5, 28, 28)
    assert not np.allclose(traversal[0, 0], traversal[0, -1])


def test_slider_callback_redraws_a_different_image(model):
    mu = vc.encode_dataset(model, torch.rand(50, vc.INPUT_DIM))[0].numpy()
    pca = PCA().fit(mu)
    explorer = vc.latent_explorer(model, pca, mu[0], n_components=3)
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


def test_tsne_2d_gives_one_point_per_code():
    points = vc.tsne_2d(np.random.default_rng(0).normal(size=(120, 5)), seed=0)
    assert points.shape == (120, 2) and np.isfinite(points).all()


def test_br_number():
    assert vc.br_number(652824) == "652.824"
    assert vc.br_number(103.914, 2) == "103,91"
    assert vc.br_number(-0.5, 1) == "-0,5"
