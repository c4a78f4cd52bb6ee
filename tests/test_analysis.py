"""Funções de análise do relatório: erros de reconstrução, interpolação, dimensões latentes,
unidades ativas, grade da variedade 2-D e o limite de importância (IWAE)."""

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA

import vae_core as vc
from vae_tools import analysis
from vae_tools.parameters import seed_everything


@pytest.fixture(scope="module")
def trained():
    """Um VAE pequeno treinado alguns segundos em dados sintéticos com estrutura (4 protótipos)."""
    seed_everything(0, num_threads=1)
    prototypes = (torch.rand(4, vc.INPUT_DIM) > 0.6).float()
    x = (prototypes.repeat(64, 1) + 0.1 * torch.rand(256, vc.INPUT_DIM)).clamp(0, 1)
    model = vc.VAE(hidden_dim=64, latent_dim=4)
    optimizer = vc.make_optimizer(model, 3e-3)
    for _ in range(30):
        vc.train_epoch(model, optimizer, x, 32, torch.Generator().manual_seed(0))
    return model, x


def test_reconstruction_errors_are_per_image_bce_of_the_mean_code(trained):
    model, x = trained
    mu = vc.encode_dataset(model, x)[0]
    errors = analysis.reconstruction_errors(model, x, mu, batch_size=50)
    with torch.inference_mode():
        expected = vc.reconstruction_bce(model.decode_logits(model.encode(x)[0]), x).numpy()
    assert errors.shape == (256,)
    np.testing.assert_allclose(errors, expected, rtol=1e-5)


def test_interpolation_starts_and_ends_at_the_endpoints(trained):
    model, _ = trained
    z_a, z_b = np.zeros(4), np.ones(4)
    path = analysis.latent_path(z_a, z_b, steps=5)
    assert path.shape == (5, 4)
    np.testing.assert_allclose(path[[0, 2, 4]], [z_a, (z_a + z_b) / 2, z_b])
    images = vc.decode_latent(model, path)
    np.testing.assert_allclose(images[-1], vc.decode_latent(model, z_b)[0], atol=1e-6)


def test_kl_per_dimension_sums_to_the_total_kl():
    mu, logvar = torch.randn(50, 6), torch.randn(50, 6) * 0.3
    per_dim = analysis.kl_per_dimension(mu, logvar)
    assert per_dim.shape == (6,) and (per_dim >= 0).all()
    assert per_dim.sum() == pytest.approx(vc.kl_divergence(mu, logvar).mean().item(), rel=1e-5)
    assert analysis.kl_per_dimension(torch.zeros(5, 3), torch.zeros(5, 3)).tolist() == [0, 0, 0]


def test_active_units_on_a_constructed_case():
    g = torch.Generator().manual_seed(0)
    mu = torch.cat(
        [
            torch.randn(2000, 3, generator=g),  # variância ≈ 1: ativas
            0.05 * torch.randn(2000, 2, generator=g),  # variância ≈ 0,0025: inativas
            torch.full((2000, 1), 3.0),  # constante: inativa
        ],
        dim=1,
    )
    assert analysis.active_units(mu).tolist() == [True, True, True, False, False, False]
    assert analysis.active_units(mu, threshold=0.001).sum() == 5


def test_normal_quantiles_and_manifold_grid_axes():
    values = analysis.normal_quantiles(5)
    np.testing.assert_allclose(values, -values[::-1], atol=1e-12)
    assert values[0] == pytest.approx(-1.6449, abs=1e-4) and values[2] == 0
    torch.manual_seed(0)
    model = vc.VAE(hidden_dim=16, latent_dim=2)
    z1, z2 = np.linspace(-3, 1, 5), np.linspace(-1, 2, 4)
    grid = analysis.manifold_grid(model, z1, z2)
    assert grid.shape == (4, 5, 28, 28)
    # canto inferior esquerdo: z = (menor z₁, menor z₂); canto superior direito: (maior z₁, maior z₂)
    np.testing.assert_allclose(grid[-1, 0], vc.decode_latent(model, [z1[0], z2[0]])[0], atol=1e-6)
    np.testing.assert_allclose(grid[0, -1], vc.decode_latent(model, [z1[-1], z2[-1]])[0], atol=1e-6)


def test_prior_mass_of_a_box():
    assert analysis.prior_mass([-np.inf, -np.inf], [np.inf, np.inf]) == pytest.approx(1.0)
    five_to_95 = analysis.normal_quantiles(2)  # [−1,645, 1,645]: 90 % em cada eixo
    assert analysis.prior_mass([five_to_95[0]] * 2, [five_to_95[1]] * 2) == pytest.approx(0.81, abs=1e-6)
    assert analysis.prior_mass([0.0], [np.inf]) == pytest.approx(0.5)


def test_paired_standard_error_matches_a_hand_computation():
    a = np.array([10.0, 12.0, 9.0, 15.0])
    b = np.array([9.5, 11.0, 9.0, 13.5])
    d = a - b  # 0,5; 1,0; 0,0; 1,5 → média 0,75
    mean, stderr = analysis.paired_difference(a, b)
    assert mean == pytest.approx(0.75)
    assert stderr == pytest.approx(np.sqrt(((d - 0.75) ** 2).sum() / 3) / 2)
    # o erro pareado é muito menor que o de cada estimativa, que carrega a variação entre imagens
    assert stderr == pytest.approx(np.sqrt(1.25 / 3) / 2)
    assert stderr < a.std(ddof=1) / 2 / 4


def test_elbo_per_image_averages_to_evaluate(trained):
    model, x = trained
    torch.manual_seed(3)
    per_image = analysis.elbo_per_image(model, x)
    torch.manual_seed(3)
    assert per_image.shape == (len(x),)
    assert -per_image.mean() == pytest.approx(vc.evaluate(model, x)["loss"], rel=1e-5)


def test_gradient_estimators_agree_on_the_mean_and_reparametrization_has_less_variance(trained):
    model, x = trained
    grads = analysis.gradient_estimators(model, x[:4], draws=4000, seed=0)
    assert set(grads) == {"reparameterization", "score", "score_baseline"}
    reparam = grads["reparameterization"]
    assert reparam.shape == (4000, 4, model.latent_dim)
    # os três estimam o mesmo gradiente: médias iguais dentro de 4 erros padrão do escore
    for name in ("score", "score_baseline"):
        stderr = grads[name].std(0) / np.sqrt(len(grads[name]))
        assert (np.abs(grads[name].mean(0) - reparam.mean(0)) < 4 * stderr + 1e-3).mean() > 0.95
    variance = {name: g.var(0).mean() for name, g in grads.items()}
    assert variance["reparameterization"] < variance["score_baseline"] < variance["score"]


def test_dimension_traversal_moves_only_the_chosen_dimension(trained):
    model, _ = trained
    z0 = np.array([0.1, -0.2, 0.3, 0.0])
    grid = analysis.dimension_traversal(model, z0, dims=[2, 0], values=np.array([-1.0, 1.0]))
    assert grid.shape == (2, 2, 28, 28)
    np.testing.assert_allclose(grid[0, 1], vc.decode_latent(model, [0.1, -0.2, 1.0, 0.0])[0], atol=1e-6)
    np.testing.assert_allclose(grid[1, 0], vc.decode_latent(model, [-1.0, -0.2, 0.3, 0.0])[0], atol=1e-6)


def test_iwae_with_one_sample_agrees_with_the_elbo(trained):
    model, x = trained
    torch.manual_seed(1)
    repeated = x.repeat(40, 1)  # muitas amostras por imagem: o erro de Monte Carlo cai
    k1 = analysis.iwae_bound(model, repeated, k=1).mean()
    elbo = -np.mean([vc.evaluate(model, repeated)["loss"] for _ in range(3)])
    assert k1 == pytest.approx(elbo, abs=0.3)


def test_iwae_bound_grows_with_k_beyond_monte_carlo_error(trained):
    model, x = trained
    torch.manual_seed(2)
    bounds = {k: analysis.iwae_bound(model, x, k, rows_per_chunk=5000) for k in (1, 10, 100)}
    means = {k: b.mean() for k, b in bounds.items()}
    stderr = {k: b.std() / np.sqrt(len(b)) for k, b in bounds.items()}
    assert all(b.shape == (256,) for b in bounds.values())
    # nunca diminui além do erro de Monte Carlo...
    assert means[10] >= means[1] - 2 * stderr[1]
    assert means[100] >= means[10] - 2 * stderr[10]
    # ...e de fato fica mais apertado que o ELBO (k = 1)
    assert means[100] > means[1] + 2 * stderr[1]


def test_knn_accuracy_separates_clusters_and_not_noise():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 60)
    clusters = rng.normal(size=(180, 2)) * 0.1 + labels[:, None] * 5.0
    assert analysis.knn_accuracy(clusters, labels) == 1.0
    assert analysis.knn_accuracy(rng.normal(size=(180, 2)), labels) < 0.6


def test_moving_along_components_changes_only_that_component():
    rng = np.random.default_rng(0)
    mu = rng.normal(size=(300, 6)) * np.array([3, 2, 1, 0.5, 0.2, 0.1])
    pca = PCA().fit(mu)
    z0 = mu[0]
    start = pca.transform(z0[None])[0]
    np.testing.assert_allclose(analysis.move_along_components(pca, z0, start[:2]), z0)
    moved = pca.transform(analysis.move_along_components(pca, z0, [start[0] + 1.0, start[1]])[None])[0]
    np.testing.assert_allclose(moved - start, [1, 0, 0, 0, 0, 0], atol=1e-9)


def test_tsne_2d_gives_one_point_per_code():
    points = analysis.tsne_2d(np.random.default_rng(0).normal(size=(120, 5)), seed=0)
    assert points.shape == (120, 2) and np.isfinite(points).all()


def test_stroke_geometry_reads_slant_and_width_from_constructed_strokes():
    vertical, leaning, wide = np.zeros((3, 28, 28))
    vertical[4:24, 13:15] = 1
    for row in range(4, 24):  # "/": quanto mais alto, mais à direita
        leaning[row, 24 - row : 26 - row] = 1
    wide[10:18, 4:24] = 1
    slant, width = analysis.stroke_geometry(np.stack([vertical, leaning, wide]))
    assert slant[0] == pytest.approx(0, abs=1e-9) and slant[1] == pytest.approx(1.0, rel=0.05)
    assert width[2] > 3 * width[0]
    mirrored = analysis.stroke_geometry(leaning[None, :, ::-1])[0]
    assert mirrored[0] == pytest.approx(-slant[1])


def test_sample_mixture_follows_the_fitted_mixture_and_repeats_with_the_seed():
    from sklearn.mixture import GaussianMixture

    rng = np.random.default_rng(0)
    points = np.concatenate([rng.normal([-5, 0], [1, 0.5], (3000, 2)), rng.normal([5, 2], [0.5, 2], (1000, 2))])
    mixture = GaussianMixture(2, covariance_type="full", random_state=0).fit(points)
    samples = analysis.sample_mixture(mixture, 8000, seed=1)
    assert samples.shape == (8000, 2) and np.array_equal(samples, analysis.sample_mixture(mixture, 8000, seed=1))
    left = samples[:, 0] < 0
    assert left.mean() == pytest.approx(0.75, abs=0.02)
    np.testing.assert_allclose(samples[left].std(0), [1, 0.5], rtol=0.05)
    np.testing.assert_allclose(samples[~left].mean(0), [5, 2], atol=0.1)


def test_bernoulli_entropy_is_the_floor_of_the_bce():
    x = torch.rand(6, vc.INPUT_DIM, generator=torch.Generator().manual_seed(1))
    x[0] = (x[0] > 0.5).float()  # uma imagem binária: piso zero
    floor = analysis.bernoulli_entropy(x)
    assert floor[0] == 0 and (floor[1:] > 0).all()
    exact = vc.reconstruction_bce(torch.logit(x.clamp(1e-6, 1 - 1e-6)), x).numpy()
    assert exact == pytest.approx(floor, abs=1e-2)  # x̂ = x atinge o piso
    worse = vc.reconstruction_bce(torch.zeros_like(x), x).numpy()  # x̂ = 0,5
    assert (worse > floor + 1).all()


def test_within_group_correlation_ignores_differences_between_groups():
    groups = np.repeat([0, 1], 500)
    a = np.random.default_rng(0).normal(size=1000) + 10 * groups
    b = np.random.default_rng(1).normal(size=1000) + 10 * groups
    assert np.corrcoef(a, b)[0, 1] > 0.9
    assert abs(analysis.within_group_correlation(a, b, groups)) < 0.1


def test_aggregate_log_density_is_the_mixture_of_the_posteriors():
    rng = np.random.default_rng(0)
    mu, logvar, z = rng.normal(size=(7, 3)), rng.normal(-1, 0.3, size=(7, 3)), rng.normal(size=(5, 3))
    per_component = torch.distributions.Normal(torch.tensor(mu), torch.tensor(np.exp(0.5 * logvar)))
    direct = torch.logsumexp(per_component.log_prob(torch.tensor(z)[:, None]).sum(-1), 1) - np.log(7)
    assert analysis.aggregate_log_density(z, mu, logvar, block=2) == pytest.approx(direct.numpy(), abs=1e-9)


def test_kl_split_adds_up_and_caps_the_information_at_log_n():
    rng = np.random.default_rng(0)
    mu = torch.tensor(rng.normal(0, 3, size=(400, 2)))
    logvar = torch.full((400, 2), np.log(0.01), dtype=torch.float64)  # códigos bem separados
    parts = analysis.kl_split(mu, logvar, seed=0)
    info, mismatch = parts["information"].mean(), parts["prior_mismatch"].mean()
    assert info <= np.log(400) + 1e-9 and info > 0.9 * np.log(400)
    assert info + mismatch == pytest.approx(parts["kl"].mean(), rel=0.05)  # Monte Carlo da mesma KL
    collapsed = analysis.kl_split(torch.zeros(400, 2), torch.zeros(400, 2), seed=0)  # q(z|x) = prior
    assert collapsed["kl"].max() == pytest.approx(0) and abs(collapsed["information"].mean()) < 1e-9


def test_knn_correct():
    points = np.concatenate([np.zeros((30, 2)), np.full((30, 2), 10.0)])
    labels = np.repeat([0, 1], 30)
    assert analysis.knn_correct(points, labels).all() and analysis.knn_accuracy(points, labels) == 1


def test_bernoulli_draws_are_binary_with_the_given_means():
    means = np.full((2000, 4), 0.25)
    draws = analysis.bernoulli_draws(means, seed=0, draws=2)
    assert draws.shape == (2, 2000, 4) and set(np.unique(draws)) == {0.0, 1.0}
    assert draws.mean() == pytest.approx(0.25, abs=0.02) and (draws[0] != draws[1]).any()


def test_ghost_ink_sees_a_double_exposure():
    a, b = np.zeros((28, 28)), np.zeros((28, 28))
    a[4:24, 8:10], b[4:24, 18:20] = 1.0, 1.0  # dois traços em lugares diferentes
    steps = np.linspace(0, 1, 5)[:, None]
    blend = ((1 - steps) * a.ravel() + steps * b.ravel())[None]  # a mistura de pixels
    jump = np.stack([a.ravel()] * 2 + [b.ravel()] * 3)[None]  # passa de um traço inteiro ao outro
    assert analysis.ghost_ink(blend)[0] == pytest.approx(2 * 40 / 784)  # os dois traços cinza no meio
    assert analysis.ghost_ink(jump)[0] == 0


def test_binned_means_count_each_point_once():
    values = np.array([0.0, 0.5, 1.0, 1.5, 2.0])
    means, ses, counts = analysis.binned(values, np.array([1, 1, 0, 0, 1]), np.array([0.0, 1.0, 2.0]))
    assert counts.tolist() == [2, 3] and means.tolist() == [1.0, 1 / 3]  # a última faixa inclui o 2,0
    assert ses[0] == 0
