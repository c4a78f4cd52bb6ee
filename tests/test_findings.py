"""Os veredictos do `vae_tools.findings`, cada um virado por entradas construídas à mão."""

import numpy as np
import pytest

from vae_tools import findings
from vae_tools.findings import Compared, Density, Fit, Information, Ink

RNG = np.random.default_rng(0)


def elbos(mean: float, n: int = 4000, spread: float = 10.0) -> np.ndarray:
    return -(mean + spread * RNG.standard_normal(n))


def test_overfitting_verdicts_flip_with_the_validation_curve_and_the_gap():
    falling = [120, 110, 106, 105, 104.5, 104.2]
    gap = findings.overfitting(falling, elbos(100.0), elbos(104.0))
    assert gap.verdict is Fit.GAP_STILL_IMPROVING
    assert gap.gap == pytest.approx(4.0, abs=1.0) and gap.gap_se == pytest.approx(10 * np.sqrt(2 / 4000), rel=0.1)
    assert gap.best_epoch == 6 and gap.improving_epochs == 5

    stalled = findings.overfitting([120, 110, 106, 105, 104.2, 104.5], elbos(100.0), elbos(104.0))
    assert stalled.verdict is Fit.GAP_STALLED and stalled.improving_epochs == 0
    same = findings.overfitting(falling, elbos(100.0), elbos(100.0))
    assert same.verdict is Fit.NO_GAP

    rising = [120, 110, 106, 107, 108, 109]  # a melhor época (3) ficou 3 épocas para trás
    worse = findings.overfitting(rising, elbos(100.0), elbos(100.0))
    assert worse.verdict is Fit.OVERFITTING and worse.best_epoch == 3 and worse.improving_epochs == 0
    two_back = findings.overfitting([120, 110, 106, 107, 108], elbos(100.0), elbos(100.0))
    assert two_back.verdict is Fit.NO_GAP  # duas épocas sem melhorar ainda não bastam (PATIENCE = 3)


def test_reconstruction_error_separates_the_floor_and_reads_ink_within_each_digit():
    labels = np.repeat(np.arange(10), 200)
    ink = RNG.uniform(50, 150, len(labels)) + 30 * labels  # a tinta varia entre e dentro dos dígitos
    floor = 0.3 * ink
    excess = 5 + labels + RNG.normal(0, 1, len(labels))  # o erro de fato só depende do dígito
    weak = findings.reconstruction_error(floor + excess, floor, ink, labels)
    assert weak.floor == pytest.approx(floor.mean()) and weak.excess == pytest.approx(excess.mean())
    assert weak.floor_share == pytest.approx(floor.mean() / (floor + excess).mean())
    assert (weak.easiest, weak.hardest) == (0, 9)
    assert weak.ink is Ink.WEAK and weak.pooled_ink_correlation > 0.9  # junto, a tinta "explica" tudo

    grows = findings.reconstruction_error(floor + excess + 0.1 * ink, floor, ink, labels)
    assert grows.ink is Ink.GROWS and grows.within_ink_correlation > findings.INK_CORRELATION
    shrinks = findings.reconstruction_error(floor + excess + 20 - 0.1 * ink, floor, ink, labels)
    assert shrinks.ink is Ink.SHRINKS


def test_final_test_says_whether_the_posterior_noise_costs():
    facts = findings.final_test({"loss": 104.1, "bce": 78.9, "kl": 25.2}, bce_mu=70.0)
    assert facts.noise_costs and facts.noise_cost == pytest.approx(8.9)
    assert not findings.final_test({"loss": 104.1, "bce": 69.0, "kl": 25.2}, bce_mu=70.0).noise_costs


def test_blur_measures_the_gray_share_of_the_ink_and_flips():
    crisp = np.zeros((50, 784))
    crisp[:, :100] = 1.0
    soft = crisp * 0.5  # a mesma tinta, toda cinza
    draws = np.zeros((50, 784))
    facts = findings.blur(soft, draws, crisp, crisp)
    assert facts.gray_means == 1.0 and facts.gray_reconstructions == 0.0 and facts.gray_real == 0.0
    assert facts.blurrier is Compared.BETTER and facts.flips == 0  # 0,5 arredonda para 0, e o sorteio é 0
    assert findings.blur(crisp, np.ones((50, 784)), crisp, crisp).flips == 684
    assert findings.blur(crisp, draws, crisp, crisp).blurrier is Compared.TIE
    assert findings.gray_share(np.concatenate([crisp[:1], 3 * soft[:1] / 2])).tolist() == [0.0, 1.0]


def test_kl_split_verdict_follows_the_log_n_cap():
    n = 1000
    kl = np.full(n, 25.0)
    saturated = findings.kl_split(
        {"information": np.full(n, 0.95 * np.log(n)), "prior_mismatch": 25 - np.full(n, 0.95 * np.log(n)), "kl": kl}
    )
    assert saturated.verdict is Information.SATURATED and saturated.cap == pytest.approx(np.log(n))
    assert saturated.information + saturated.mismatch == pytest.approx(25.0)
    below = findings.kl_split({"information": np.full(n, 2.0), "prior_mismatch": np.full(n, 23.0), "kl": kl})
    assert below.verdict is Information.BELOW_CAP and below.information_share == pytest.approx(2 / 25)


def test_compare_calls_a_difference_only_beyond_two_standard_errors():
    assert findings.compare(0.3, 0.1) is Compared.BETTER
    assert findings.compare(0.19, 0.1) is Compared.TIE
    assert findings.compare(-0.3, 0.1) is Compared.WORSE


def test_separation_compares_codes_with_pixels_on_the_same_images():
    n = 3000
    pixels = RNG.random(n) < 0.90
    better = pixels | (RNG.random(n) < 0.5)  # acerta tudo o que os pixels acertam, e mais
    facts = findings.separation(
        {"mu": better, "pixels": pixels, "pca": pixels, "tsne": better, "mu_tsne_images": better}
    )
    assert facts.versus_pixels is Compared.BETTER and facts.tsne_versus_mu is Compared.TIE
    assert facts.difference == pytest.approx(better.mean() - pixels.mean())
    tie = findings.separation({"mu": pixels, "pixels": pixels, "pca": pixels, "tsne": pixels, "mu_tsne_images": pixels})
    assert tie.versus_pixels is Compared.TIE and tie.difference_se == 0


def test_sampling_verdicts():
    def score(frechet, confident, recall=0.5, n=10000):
        return {"frechet_distance": frechet, "confident_fraction": confident, "recall": recall, "n": n}

    scores = {"real": score(2, 0.95), "reconstructions": score(30, 0.9), "mixture": score(80, 0.8, 0.46),
              "prior": score(230, 0.42, 0.49), "blurred": score(330, 0.89, 0.004)}  # fmt: skip
    facts = findings.sampling(scores, 0.96)
    assert facts.mixture_vs_prior is Compared.BETTER and facts.gain == pytest.approx(0.38)
    assert (facts.mixture_recall, facts.prior_recall, facts.reconstructions_confident) == (0.46, 0.49, 0.9)
    scores["mixture"] = score(220, 0.425)
    assert findings.sampling(scores, 0.96).mixture_vs_prior is Compared.TIE


def test_holes_compare_prior_and_mixture_at_the_same_density():
    prior_q, mixture_q = RNG.normal(0, 1, 5000), RNG.normal(1, 1, 5000)  # a mistura cai onde q(z) é maior

    def legible(log_q, base):
        return RNG.random(len(log_q)) < np.clip(base + 0.1 * log_q, 0, 1)

    apart = findings.holes((prior_q, legible(prior_q, 0.4)), (mixture_q, legible(mixture_q, 0.7)))
    assert apart.verdict is Density.NOT_EXPLAINED and apart.better_bins == apart.bins >= 5
    assert apart.mixture_median > apart.prior_median and apart.mixture_low > apart.prior_low
    assert len(findings.density_edges(prior_q, mixture_q)) == 11
    small = findings.holes(
        (prior_q[:300], legible(prior_q[:300], 0.4)), (mixture_q[:300], legible(mixture_q[:300], 0.7))
    )
    assert small.bins == 2  # poucas amostras: duas faixas, não dez
    apart_30 = findings.holes((prior_q[:30] - 10, np.ones(30, bool)), (mixture_q[:30] + 10, np.ones(30, bool)))
    assert apart_30.verdict is Density.DISJOINT and apart_30.bins == 0
    flat = (RNG.random(5000) < 0.4, RNG.random(5000) < 0.4)  # a mesma legibilidade nas duas fontes
    same = findings.holes((prior_q, flat[0]), (mixture_q, flat[1]))
    assert same.verdict is not Density.NOT_EXPLAINED and same.better_bins < same.bins / 2


def test_bound_gains_shrink_per_decade_of_k():
    base = RNG.normal(-100, 10, 500)
    iwae = {1: base, 10: base + 2, 100: base + 3}
    large = {1: base, 100: base + 3, 1000: base + 3.5}
    facts = findings.bound(base - 0.01, iwae, large, 1000)
    assert facts.shrinking and (facts.gain_10, facts.gain_100, facts.gain_large) == pytest.approx((2, 1, 0.5))
    assert facts.gap == pytest.approx(3.5) and (facts.k, facts.images, facts.large_images) == (1000, 500, 500)
    assert facts.large_bound == pytest.approx(base.mean() + 3.5)
    assert not findings.bound(base, iwae, large | {1000: base + 5}, 1000).shrinking


def test_units_and_sweep():
    kl = np.array([5.0, 4.0, 3.0, 2.0, 1.0, 0.001])
    facts = findings.units(kl, kl > 0.01)
    assert facts.active == 5 and facts.any_inactive and facts.inactive_kl == pytest.approx(0.001)
    assert facts.top5_share == pytest.approx(15 / 15.001) and facts.even_share == pytest.approx(5 / 6)
    kl = np.linspace(2, 0.1, 20)
    ordered = findings.sweep(kl, 10 + 20 * kl + RNG.normal(0, 1, 20), starts=100)
    assert ordered.orders and ordered.rho > 0.9 and ordered.starts == 100
    assert not findings.sweep(kl, RNG.normal(20, 5, 20), starts=100).orders
    assert not findings.sweep(kl, 40 - 20 * kl, starts=100).orders  # ordena ao contrário


def test_interpolation_is_paired_by_pair_of_endpoints():
    latent, pixels = RNG.normal(0.04, 0.02, 200), RNG.normal(0.10, 0.02, 200)
    real = (RNG.random((200, 9)) < 0.8, RNG.random((200, 9)) < 0.8)
    facts = findings.interpolation((latent, pixels), real)
    assert facts.verdict is Compared.BETTER and facts.pairs == 200
    assert facts.ghost_difference == pytest.approx(pixels.mean() - latent.mean())
    assert facts.real_difference == pytest.approx(real[0].mean() - real[1].mean())
    assert findings.interpolation((pixels, latent), real).verdict is Compared.WORSE
    assert findings.interpolation((latent, latent), real).verdict is Compared.TIE


def test_latent_2d_compares_the_codes_with_the_prior():
    mu = RNG.normal(0, 1.5, (5000, 2))
    facts = findings.latent_2d(mu, np.full((5000, 2), np.log(0.1)), (150.0, 104.0), (0.7, 0.95), 20)
    assert facts.spread_wider and facts.extra == pytest.approx(46.0) and facts.central == pytest.approx(1.645, abs=1e-3)
    assert facts.prior_central == pytest.approx(0.81, abs=1e-3) and facts.var1 == pytest.approx(2.25 + 0.1, rel=0.1)
    assert not findings.latent_2d(mu / 3, np.zeros((5000, 2)), (150.0, 104.0), (0.7, 0.95), 20).spread_wider


def test_progress_measures_the_fraction_of_the_path_to_the_final_reconstructions():
    snapshots = np.stack([np.full((8, 28, 28), v) for v in (0.0, 0.5, 0.9, 1.0)])
    facts = findings.progress(snapshots, [1, 2, 3, 4], at=3)
    assert facts.epoch == 3 and facts.covered == pytest.approx(0.9) and facts.pace == pytest.approx(2 / 3)
    assert facts.front_loaded
    assert findings.progress(snapshots, [1, 5, 10, 20], at=3) == findings.Progress(1, 0.0, 0.0, False)
    steady = np.stack([np.full((8, 28, 28), v) for v in (0.0, 0.2, 0.6, 1.0)])
    assert not findings.progress(steady, [1, 2, 3, 4], at=3).front_loaded


# ---------------------------------------------------------------- o laboratório


def test_yardstick_is_t_times_the_between_seed_sd_times_root_two():
    values = [104.0, 104.5, 103.5, 104.2, 103.8]
    stick = findings.yardstick(values)
    assert (stick.seeds, stick.df) == (5, 4) and stick.sd == pytest.approx(np.std(values, ddof=1))
    assert stick.t == pytest.approx(2.776, abs=1e-3)  # t(0,975; 4 g.l.), da tabela
    assert stick.threshold == pytest.approx(2.776 * stick.sd * np.sqrt(2), rel=1e-3)
    assert findings.versus(104.0 - 0.99 * stick.threshold, 104.0, stick) is Compared.TIE
    assert findings.versus(104.0 - 1.01 * stick.threshold, 104.0, stick) is Compared.BETTER
    assert findings.versus(104.0 + 1.01 * stick.threshold, 104.0, stick) is Compared.WORSE
    assert findings.versus(105.0, 100.0, stick, lower_is_better=False) is Compared.BETTER
    with pytest.raises(ValueError, match="pelo menos duas sementes"):
        findings.yardstick([104.0])


def test_two_configurations_tie_when_the_interval_holds_zero():
    a, b = np.array([1.0, 1.1, 0.9, 1.05, 0.95]), np.array([2.0, 2.1, 1.9, 2.0, 2.05])
    apart = findings.two_configurations(a, b)
    assert apart.verdict is Compared.BETTER and apart.low < apart.difference < apart.high < 0
    assert findings.two_configurations(b, a).verdict is Compared.WORSE
    assert findings.two_configurations(a, a[::-1] + 0.01).verdict is Compared.TIE


def stick(threshold: float) -> findings.Yardstick:
    return findings.Yardstick(5, threshold / (2.776 * np.sqrt(2)), 4, 2.776, threshold)


def test_latent_sizes_finds_the_plateau_and_the_bce_reversal():
    sizes, loss = [2, 10, 20, 50, 200], [150.0, 110.0, 104.0, 104.3, 105.5]
    bce, gap = [140.0, 85.0, 79.0, 77.7, 79.1], [0.5, 0.8, 1.0, 1.1, 1.2]
    sticks = {"test_loss": stick(0.5), "test_bce": stick(0.5), "gap": stick(0.5)}
    facts = findings.latent_sizes(sizes, loss, bce, gap, [2, 10, 18, 19, 20], sticks)
    assert (facts.best, facts.tied, facts.bce_best, facts.largest) == (20, 1, 50, 200)
    assert facts.bce_reversal and facts.bce_rise == pytest.approx(1.4) and facts.gap is Compared.TIE
    assert facts.inactive_dims and facts.active_largest == 20  # 20 de 200
    assert not findings.latent_sizes([2, 4], [150.0, 140.0], [140.0, 130.0], [0.5, 0.5], [2, 4], sticks).inactive_dims
    flat = findings.latent_sizes(sizes, loss, [140.0, 85.0, 79.0, 77.7, 77.9], gap, [2] * 5, sticks)
    assert not flat.bce_reversal


def test_rate_distortion_checks_the_frontier_slope_against_beta():
    betas, rate = [0.5, 1.0, 2.0, 4.0], np.array([40.0, 30.0, 20.0, 12.0])
    distortion = np.array([60.0, 67.0, 82.0, 120.0])  # −ΔD/ΔR: 0,7 ∈ [0,5; 1], 1,5 ∈ [1; 2], 4,75 ∉ [2; 4]
    facts = findings.rate_distortion(betas, rate, distortion, rate + distortion, [1.0, 2.0, 3.0, 6.0], stick(0.5))
    assert (facts.pairs, facts.consistent) == (3, 2)
    assert facts.best_beta == 1.0 and facts.one is Compared.BETTER and facts.gap_rho == pytest.approx(1.0)
    steep = findings.rate_distortion(betas, rate, [60.0, 61.0, 62.0, 63.0], rate + 60, [1, 2, 3, 6], stick(0.5))
    assert steep.consistent == 0 and steep.one is Compared.WORSE  # o melhor é β = 4 (72), β = 1 fica em 90
    near = findings.rate_distortion(betas, rate, distortion, [100.0, 97.2, 97.0, 110.0], [1, 2, 3, 6], stick(0.5))
    assert near.best_beta == 2.0 and near.one is Compared.TIE  # β = 1 a 0,2 nat do melhor, dentro do limiar


def test_collapse_is_a_rate_below_one_nat():
    assert findings.collapse(0.3, 0).collapsed and not findings.collapse(12.0, 20).collapsed
    assert findings.collapse_epoch([270.0, 0.4, 0.0]) == 2 and findings.collapse_epoch([25.0, 26.0]) == 0


def test_what_kl_buys_compares_each_mixture_with_the_same_mixture():
    frechet = {"real": 3.0, "vae_prior": 237.0, "ae_prior": 1457.0, "ae_mixture": 59.0, "vae_mixture": 60.0}
    facts = findings.what_kl_buys((66.0, 70.0), frechet, {"bce_mu": stick(1.0), "fd": stick(10.0)})
    assert facts.reconstruction is Compared.BETTER and facts.ae_prior is Compared.WORSE
    assert facts.ae_mixture is Compared.TIE  # 59 contra os 60 do VAE com a mesma mistura, não contra os 237 do prior


def test_style_leaves_the_originals_own_label_out():
    source = np.linspace(-1, 1, 50)
    generated = np.tile(RNG.normal(size=(50, 1)), (1, 10))  # nenhum outro rótulo segue a original
    own = np.arange(50) % 10
    generated[np.arange(50), own] = source  # só a reconstrução (o próprio rótulo) copia a inclinação
    other = np.arange(10)[None, :] != own[:, None]
    facts = findings.style(np.zeros(500), np.zeros(500), source, generated, other)
    assert not facts.transfers and abs(facts.slant_correlation) < 0.3 and facts.read == 1.0


def test_conditional_sets_the_kl_drop_against_the_label_entropy():
    labels = np.repeat(np.arange(10), 100)  # H(Y) = ln 10
    knn = (np.arange(1000) % 10 < 9, np.ones(1000, bool))  # 90 % e 100 % de acerto dos vizinhos
    facts = findings.conditional([25.0, 25.2, 24.9, 25.1, 25.0], [21.0, 21.1, 20.9, 21.2, 21.0], labels, knn)
    assert facts.label_entropy == pytest.approx(np.log(10)) and facts.chance == pytest.approx(0.1)
    assert facts.kl_drop == pytest.approx(4.0, abs=0.01)
    assert facts.kl_low < 4.0 < facts.kl_high and facts.beyond_label == pytest.approx(facts.kl_low - np.log(10))
    assert (facts.knn_conditional, facts.knn_plain) == (0.9, 1.0) and facts.still_carries is Compared.BETTER
    chance = (np.arange(1000) % 10 == 0, knn[1])  # 10 %: o mesmo que chutar
    small = findings.conditional([25.0, 25.2, 24.9], [24.0, 24.1, 23.9], labels, chance)
    assert small.beyond_label == 0.0 and small.still_carries is Compared.TIE


def test_ranking_interval_comes_from_resampling_the_configurations():
    x = np.arange(12.0)
    agree = findings.ranking(x, x + RNG.normal(0, 0.1, 12), seed=0)
    assert agree.rho == pytest.approx(1.0) and agree.agrees and agree.configurations == 12
    noise = findings.ranking(x, RNG.permutation(x), seed=0)
    assert noise.low < noise.rho < noise.high and noise.high - noise.low > 0.3


def test_curves_report_the_fall_of_the_last_five_epochs():
    facts = findings.curves([[110, 108, 107, 106, 105, 104, 103], [110, 105, 105, 105, 105, 105, 105]])
    assert facts.steepest == pytest.approx(1.0) and facts.flattest == 0.0 and facts.still_falling == 1
