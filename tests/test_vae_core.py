"""vae_core: o modelo (formas, reparametrização), a perda (KL, BCE, β) e o treino (épocas, fit, callbacks)."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import losses
from torch.distributions import Normal

import vae_core as vc
from vae_tools.mnist import binarize_fixed
from vae_tools.parameters import seed_everything


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


def fit(model, x, val_x, num_epochs, seed=0, **kwargs):
    optimizer = vc.make_optimizer(model, 1e-3)
    return vc.fit(model, optimizer, x, val_x, num_epochs, 16, torch.Generator().manual_seed(seed), **kwargs)


def test_fit_records_one_value_per_epoch_and_metric(model):
    x = torch.rand(40, vc.INPUT_DIM)
    history = fit(model, x, x[:10], 3)
    metrics = {f"{s}_{m}" for s in ("train", "val") for m in vc.METRICS}
    assert set(history) == metrics | {"seconds"}
    assert all(len(history[key]) == 3 for key in metrics)
    assert len(history["seconds"]) == 3 and all(s > 0 for s in history["seconds"])


def test_fit_calls_each_callback_after_every_epoch_with_the_history_so_far(model):
    x, calls = torch.rand(40, vc.INPUT_DIM), []
    fit(model, x, x[:10], 3, callbacks=[lambda epoch, history: calls.append((epoch, len(history["val_loss"])))])
    assert calls == [(1, 1), (2, 2), (3, 3)]


def test_fit_continues_a_history_from_the_next_epoch_in_place(model):
    x = torch.rand(40, vc.INPUT_DIM)
    history = fit(model, x, x[:10], 2)
    epochs = []
    same = fit(model, x, x[:10], 4, history=history, callbacks=[lambda epoch, h: epochs.append(epoch)])
    assert same is history and len(history["train_loss"]) == 4 and epochs == [3, 4]


def test_fit_tells_the_epoch_where_the_loss_diverged(model):
    x = torch.rand(40, vc.INPUT_DIM)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e12)
    with pytest.raises(vc.TrainingDiverged) as error:
        vc.fit(model, optimizer, x, x[:10], 3, 16, torch.Generator().manual_seed(0))
    assert error.value.epoch >= 1 and error.value.batch >= 1


def test_dynamic_binarization_trains_on_fresh_binary_samples(model):
    seen = []
    real_forward = model.forward
    model.forward = lambda batch: seen.append(batch.clone()) or real_forward(batch)
    x = torch.full((32, vc.INPUT_DIM), 0.5)
    vc.train_epoch(model, vc.make_optimizer(model, 1e-3), x, 16, binarize=True)
    assert all(set(b.unique().tolist()) == {0.0, 1.0} for b in seen)
    assert not torch.equal(seen[0], seen[1])
    fixed = binarize_fixed(x, seed=3)
    assert torch.equal(fixed, binarize_fixed(x, seed=3)) and set(fixed.unique().tolist()) == {0.0, 1.0}


def test_same_seed_same_losses_different_seed_different_losses():
    x = torch.rand(64, vc.INPUT_DIM)

    def run(seed):
        seed_everything(seed, num_threads=1)
        model = vc.VAE(hidden_dim=16, latent_dim=3)
        return fit(model, x, x[:16], 2, seed)

    assert losses(run(5)) == losses(run(5))
    assert losses(run(5)) != losses(run(6))


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


def test_beta_one_is_the_classic_loss_and_beta_scales_only_the_kl_gradient(model):
    torch.manual_seed(5)
    x = torch.rand(8, vc.INPUT_DIM)
    logits, mu, logvar = model(x)
    bce, kl = vc.loss_terms(logits, x, mu, logvar)
    assert torch.equal(vc.training_loss(bce, kl), bce + kl)
    params = list(model.parameters())

    def grads(loss):
        return torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)

    g_bce, g_kl, g_beta = grads(bce), grads(kl), grads(vc.training_loss(bce, kl, beta=4.0))
    for gb, gk, g in zip(g_bce, g_kl, g_beta):
        expected = (0 if gb is None else gb) + 4.0 * (0 if gk is None else gk)
        torch.testing.assert_close(g, expected, rtol=1e-4, atol=1e-4)
    assert any(gk is not None and gk.abs().sum() > 0 for gk in g_kl), "a KL não tem gradiente"


def test_beta_changes_training_but_the_reported_loss_stays_the_true_elbo():
    x = torch.rand(48, vc.INPUT_DIM, generator=torch.Generator().manual_seed(0))

    def one_epoch(beta):
        torch.manual_seed(0)
        model = vc.VAE(hidden_dim=16, latent_dim=3)
        stats = vc.train_epoch(
            model, vc.make_optimizer(model, 1e-2), x, 16, torch.Generator().manual_seed(1), beta=beta
        )
        return stats

    classic, heavy = one_epoch(1.0), one_epoch(8.0)
    assert heavy["loss"] == pytest.approx(heavy["bce"] + heavy["kl"])  # o −ELBO, não BCE + 8·KL
    assert heavy["kl"] < classic["kl"]


def test_conv_vae_has_the_same_latent_interface_and_learns():
    torch.manual_seed(6)
    model = vc.build_model("conv", latent_dim=5)
    x = (torch.rand(4, vc.INPUT_DIM) > 0.7).float().repeat(8, 1)
    logits, mu, logvar = model(x)
    assert logits.shape == (32, vc.INPUT_DIM) and mu.shape == logvar.shape == (32, 5)
    assert model.decode_logits(torch.randn(3, 2, 5)).shape == (3, 2, vc.INPUT_DIM)
    assert vc.decode_latent(model, torch.zeros(2, 5)).shape == (2, 28, 28)
    optimizer = vc.make_optimizer(model, 3e-3)
    before = vc.evaluate(model, x)["loss"]
    for _ in range(15):
        vc.train_epoch(model, optimizer, x, batch_size=16, generator=torch.Generator().manual_seed(0))
    assert vc.evaluate(model, x)["loss"] < 0.8 * before


def test_conv_parameter_count_and_unknown_architecture():
    c, d = vc.CONV_CHANNELS, 20
    flat = 2 * c * 7 * 7
    expected = (16 * c + c) + (16 * c * 2 * c + 2 * c) + 2 * (flat * d + d) + (d * flat + flat)
    expected += (16 * 2 * c * c + c) + (16 * c + 1)
    assert vc.count_parameters(vc.build_model("conv", d)) == expected
    assert vc.count_parameters(vc.build_model("mlp", d, 400)) == 652_824
    with pytest.raises(ValueError, match="Arquitetura desconhecida"):
        vc.build_model("rnn")


# ---------------------------------------------------------------- o VAE condicional


@pytest.fixture
def cvae():
    torch.manual_seed(0)
    return vc.build_model("cvae", latent_dim=3, hidden_dim=32)


def test_cvae_shapes_and_one_hot_label_input(cvae):
    x, y = torch.rand(5, vc.INPUT_DIM), torch.tensor([0, 3, 9, 3, 1])
    logits, mu, logvar = cvae(x, y)
    assert logits.shape == (5, vc.INPUT_DIM) and mu.shape == logvar.shape == (5, 3)
    assert cvae.fc1.in_features == vc.INPUT_DIM + 10 and cvae.fc3.in_features == 3 + 10
    one_hot = vc.CVAE.one_hot(y, torch.Size([2, 5]))  # com dimensões à frente, como no limite de importância
    assert one_hot.shape == (2, 5, 10) and torch.equal(one_hot[1].argmax(-1), y)
    assert torch.all(one_hot.sum(-1) == vc.LABEL_SCALE) and torch.all((one_hot == 0).sum(-1) == 9)
    # o rótulo muda a imagem: o mesmo z decodificado como 3 e como 7
    z = torch.randn(1, 3)
    assert not torch.allclose(cvae.decode(z, torch.tensor([3])), cvae.decode(z, torch.tensor([7])))
    images = cvae.decode(torch.randn(4, 3), torch.tensor([0, 1, 2, 3]))
    assert images.shape == (4, vc.INPUT_DIM) and images.min() >= 0 and images.max() <= 1


@pytest.mark.parametrize(
    ("z", "y", "message"),
    [
        (torch.randn(2, 3), torch.tensor([1, 10]), "Rótulo fora de 0–9 em y: [10]"),
        (torch.randn(2, 3), torch.tensor([-1, 2]), "Rótulo fora de 0–9 em y: [-1]"),
        (torch.randn(2, 3), torch.tensor([1.0, 2.0]), "y deve ser um tensor de inteiros de forma (2,)"),
        (torch.randn(2, 3), torch.tensor([1, 2, 3]), "recebido torch.int64 de forma (3,)"),
        (torch.randn(2, 3), [1, 2], "recebido list"),
        (torch.randn(2, 4), torch.tensor([1, 2]), "z deve ser um tensor float de forma (n, 3); recebido (2, 4)"),
        (torch.randn(3), torch.tensor([1, 2, 3]), "z deve ser um tensor float de forma (n, 3); recebido (3,)"),
        (torch.ones(2, 3, dtype=torch.long), torch.tensor([1, 2]), "z deve ser um tensor float"),
    ],
)
def test_cvae_decode_rejects_bad_shapes_and_labels_in_portuguese(cvae, z, y, message):
    with pytest.raises(ValueError) as error:
        cvae.decode(z, y)
    assert message in str(error.value)


def test_cvae_needs_labels_and_a_short_training_lowers_its_loss(cvae):
    seed_everything(0, num_threads=1)
    y = torch.randint(0, 10, (256,))
    x = (torch.rand(10, vc.INPUT_DIM) > 0.7).float()[y]  # cada rótulo, um protótipo
    with pytest.raises(TypeError):
        cvae(x)  # sem rótulo, o condicional não roda
    optimizer = vc.make_optimizer(cvae, 3e-3)
    before = vc.evaluate(cvae, x, y=y)["loss"]
    for _ in range(5):
        vc.train_epoch(cvae, optimizer, x, 32, torch.Generator().manual_seed(0), y=y)
    assert vc.evaluate(cvae, x, y=y)["loss"] < before - 20
    mu, _ = vc.encode_dataset(cvae, x, y=y)
    assert mu.shape == (256, 3) and vc.reconstruct(cvae, x[:4], y[:4]).shape == (4, 28, 28)
    assert vc.sample_images(cvae, 6, seed=0, y=[7] * 6).shape == (6, 28, 28)


# ---------------------------------------------------------------- o laboratório: sem KL, colapso e curas


def test_free_bits_charge_each_dimension_at_least_lambda():
    mu, logvar = torch.tensor([[2.0, 0.0], [0.0, 0.0]]), torch.zeros(2, 2)  # KL média por dimensão: 1 e 0
    assert vc.free_bits_kl(mu, logvar, 0.0).item() == pytest.approx(vc.kl_divergence(mu, logvar).sum().item())
    assert vc.free_bits_kl(mu, logvar, 0.5).item() == pytest.approx(2 * (1.0 + 0.5))
    mu.requires_grad_(True)
    vc.free_bits_kl(mu, logvar, 1.5).backward()  # as duas dimensões abaixo de λ: nada as empurra para o prior
    assert torch.count_nonzero(mu.grad) == 0


def test_warmup_raises_the_kl_weight_linearly_then_holds():
    assert [vc.warmup_beta(784.0, epoch, 4) for epoch in (1, 2, 5, 9)] == [0.0, 196.0, 784.0, 784.0]
    assert vc.warmup_beta(2.0, 1, 0) == 2.0


def test_pixel_mean_loss_is_a_hidden_beta_of_784_for_adam():
    """BCE média nos pixels + KL somada = (BCE + 784·KL)/784: com o Adam, cujo passo não depende da escala do
    gradiente, treina como o β-VAE com β = 784."""
    x = torch.rand(16, vc.INPUT_DIM, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    start = torch.cat([p.detach().ravel() for p in vc.VAE(hidden_dim=32, latent_dim=4).parameters()])
    models = []
    for scale in ("mean", "beta"):
        torch.manual_seed(0)
        model = vc.VAE(hidden_dim=32, latent_dim=4)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        for step in range(5):
            torch.manual_seed(step)
            logits, mu, logvar = model(x)
            bce, kl = vc.loss_terms(logits, x, mu, logvar)
            loss = bce / vc.INPUT_DIM + kl if scale == "mean" else vc.training_loss(bce, kl, beta=vc.INPUT_DIM)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        models.append(torch.cat([p.detach().ravel() for p in model.parameters()]))
    mean_steps, beta_steps = models[0] - start, models[1] - start
    assert (mean_steps - beta_steps).norm() < 0.01 * beta_steps.norm()  # só o ε do Adam os separa


def test_autoencoder_code_is_deterministic_and_has_no_variance_head():
    model = vc.build_model("ae", latent_dim=4, hidden_dim=32)
    x = torch.rand(3, vc.INPUT_DIM)
    assert not hasattr(model, "fc_logvar") and torch.equal(model(x)[0], model(x)[0])
    mu, logvar = model.encode(x)
    assert torch.equal(logvar, torch.zeros_like(mu))


def test_pixelcnn_logit_of_a_pixel_depends_only_on_earlier_pixels():
    model = vc.build_model("pixelcnn", latent_dim=4, hidden_dim=32)
    x, z = torch.rand(1, vc.INPUT_DIM, requires_grad=True), torch.randn(1, 4)
    pixel = 14 * vc.IMAGE_SIDE + 14
    model.decode_logits(z, x)[0, pixel].backward()
    seen = torch.nonzero(x.grad[0]).ravel()
    assert len(seen) > 0 and seen.max() < pixel  # nada do próprio pixel nem dos seguintes
    images = vc.decode_latent(model, torch.randn(2, 4))
    assert set(np.unique(images)) <= {0.0, 1.0}  # a geração sorteia pixel a pixel
