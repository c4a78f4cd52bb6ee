"""vae_tools.quality: distância de Fréchet contra a forma fechada, precisão e revocação em conjuntos construídos,
medidas de classe em casos extremos, degradações de calibração e a medida completa com um classificador."""

import math

import pytest
import torch

import vae_core as vc
from vae_tools import classifier, mnist, quality


def gaussian(n: int, mean, cov, seed: int) -> torch.Tensor:
    mean, cov = torch.as_tensor(mean, dtype=torch.float64), torch.as_tensor(cov, dtype=torch.float64)
    z = torch.randn(n, len(mean), generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return mean + z @ torch.linalg.cholesky(cov).T


def sqrt_psd(matrix: torch.Tensor) -> torch.Tensor:
    values, vectors = torch.linalg.eigh(matrix)
    return vectors @ torch.diag(values.clamp_min(0).sqrt()) @ vectors.T


def closed_form(mu1, sigma1, mu2, sigma2) -> float:
    """‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂) − 2 Tr((Σ₁^½ Σ₂ Σ₁^½)^½): a forma simétrica, com raízes por `eigh` — outro
    caminho que o do torchmetrics (autovalores de Σ₁ Σ₂)."""
    root1 = sqrt_psd(sigma1)
    cross = sqrt_psd(root1 @ sigma2 @ root1).trace()
    return ((mu1 - mu2) ** 2).sum().item() + (sigma1.trace() + sigma2.trace() - 2 * cross).item()


def rotation(d: int, seed: int) -> torch.Tensor:
    q, _ = torch.linalg.qr(torch.randn(d, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64))
    return q


# ---------------------------------------------------------------- distância de Fréchet


def test_frechet_distance_of_a_set_with_itself_is_zero():
    x = gaussian(2000, torch.zeros(16), torch.eye(16), seed=0).float()
    assert quality.frechet_distance(x, x) == pytest.approx(0, abs=1e-6)


def test_frechet_distance_equals_the_formula_on_the_sample_moments():
    """Covariâncias que não comutam: o resultado é a fórmula com as médias e covariâncias das próprias amostras."""
    d = 6
    a = gaussian(3000, torch.arange(d) / 3, torch.eye(d) + 0.5, seed=1)
    cov_b = rotation(d, 2) @ torch.diag(torch.linspace(0.2, 3, d, dtype=torch.float64)) @ rotation(d, 2).T
    b = gaussian(2500, torch.zeros(d), cov_b, seed=3)
    expected = closed_form(a.mean(0), torch.cov(a.T), b.mean(0), torch.cov(b.T))
    assert quality.frechet_distance(a, b) == pytest.approx(expected, rel=1e-6)
    assert quality.frechet_distance(b, a) == pytest.approx(expected, rel=1e-6)  # simétrica


def test_frechet_distance_of_large_gaussian_samples_approaches_the_population_value():
    """Σ₁ = Q D₁ Qᵀ e Σ₂ = Q D₂ Qᵀ comutam: a forma fechada é ‖Δμ‖² + Σᵢ (√d₁ᵢ − √d₂ᵢ)² = 1 + 1 + 0,25 = 2,25.
    Com 200.000 pontos por conjunto o erro de estimação fica bem abaixo da tolerância de 0,03."""
    q = rotation(4, 5)
    d1, d2 = torch.tensor([1.0, 1.0, 1.0, 1.0]), torch.tensor([4.0, 1.0, 0.25, 1.0])
    mu2 = q @ torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=torch.float64)
    a = gaussian(200_000, torch.zeros(4), q @ torch.diag(d1).double() @ q.T, seed=6)
    b = gaussian(200_000, mu2, q @ torch.diag(d2).double() @ q.T, seed=7)
    exact = 1.0 + ((d1.sqrt() - d2.sqrt()) ** 2).sum().item()
    assert exact == pytest.approx(2.25)
    assert quality.frechet_distance(a, b) == pytest.approx(exact, abs=0.03)


def test_frechet_distance_refuses_mismatched_or_too_small_sets():
    with pytest.raises(ValueError, match="dimensões"):
        quality.frechet_distance(torch.zeros(5, 3), torch.zeros(5, 4))
    with pytest.raises(ValueError, match="N ≥ 2"):
        quality.frechet_distance(torch.zeros(1, 3), torch.zeros(5, 3))


# ---------------------------------------------------------------- precisão e revocação


def brute_force_radii(x: torch.Tensor, k: int) -> torch.Tensor:
    d = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1).sqrt()
    return d.sort(dim=1).values[:, k]  # a coluna 0 é o próprio ponto


def test_knn_radii_are_the_distance_to_the_kth_other_point_in_any_block_size():
    x = gaussian(300, torch.zeros(5), torch.eye(5), seed=8).float()
    expected = brute_force_radii(x.double(), 3).float()
    torch.testing.assert_close(quality.knn_radii(x, 3), expected, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(quality.knn_radii(x, 3, block=7), expected, atol=1e-4, rtol=1e-4)
    with pytest.raises(ValueError, match="vizinhos"):
        quality.knn_radii(x[:3], 3)


def test_identical_sets_have_precision_and_recall_one():
    x = gaussian(1000, torch.zeros(8), torch.eye(8), seed=9).float()
    assert quality.precision_recall(x, x.clone()) == (1.0, 1.0)


def test_far_apart_clusters_have_precision_and_recall_zero():
    real = gaussian(500, torch.zeros(8), torch.eye(8), seed=10).float()
    fake = gaussian(500, torch.full((8,), 100.0), torch.eye(8), seed=11).float()
    assert quality.precision_recall(real, fake) == (0.0, 0.0)


def test_a_subset_is_precise_but_recalls_only_what_it_holds():
    """Reais em dois aglomerados distantes; as amostras são exatamente o primeiro: precisão 1, revocação 1/2."""
    first = gaussian(400, torch.zeros(4), torch.eye(4), seed=12).float()
    second = gaussian(400, torch.full((4,), 50.0), torch.eye(4), seed=13).float()
    precision, recall = quality.precision_recall(torch.cat([first, second]), first)
    assert precision == 1.0 and recall == 0.5


def test_precision_and_recall_are_not_swapped():
    """Amostras concentradas no centro dos reais (colapso): precisas, mas cobrem pouco; amostras espalhadas
    demais: o contrário (a troca das duas é um erro conhecido de outra biblioteca, torch-fidelity #58)."""
    real = gaussian(2000, torch.zeros(2), torch.eye(2), seed=14).float()
    collapsed = gaussian(2000, torch.zeros(2), 0.01 * torch.eye(2), seed=15).float()
    spread = gaussian(2000, torch.zeros(2), 25 * torch.eye(2), seed=16).float()
    precision, recall = quality.precision_recall(real, collapsed)
    assert precision > 0.99 and recall < 0.2
    precision, recall = quality.precision_recall(real, spread)
    assert precision < 0.3 and recall > 0.9


def test_precision_recall_do_not_depend_on_the_block_size_or_on_precomputed_radii():
    real = gaussian(700, torch.zeros(3), torch.eye(3), seed=17).float()
    fake = gaussian(600, torch.full((3,), 0.5), 1.5 * torch.eye(3), seed=18).float()
    reference = quality.precision_recall(real, fake)
    assert 0 < reference[0] < 1 and 0 < reference[1] < 1
    assert quality.precision_recall(real, fake, block=64) == reference
    assert quality.precision_recall(real, fake, real_radii=quality.knn_radii(real, 3)) == reference


# ---------------------------------------------------------------- medidas de classe


UNIFORM = torch.full((10,), 0.1)


def test_one_class_set_has_minimal_coverage():
    logits = torch.full((500, 10), -10.0)
    logits[:, 3] = 10.0  # todas lidas como 3, com certeza
    measures = quality.label_coverage(logits, UNIFORM)
    assert measures["classifier_score"] == pytest.approx(1.0, abs=1e-6)
    assert measures["label_kl"] == pytest.approx(math.log(10))  # o máximo contra a referência uniforme
    assert measures["label_entropy"] == 0.0
    assert measures["histogram"] == [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    assert measures["confident_fraction"] == 1.0


def test_confident_balanced_set_has_maximal_coverage():
    logits = -20.0 + 40.0 * torch.nn.functional.one_hot(torch.arange(1000) % 10, 10).float()
    measures = quality.label_coverage(logits, UNIFORM)
    assert measures["classifier_score"] == pytest.approx(10.0, rel=1e-6)
    assert measures["label_kl"] == pytest.approx(0.0, abs=1e-6)  # 0,1 em float32 ≠ 0,1 em float64
    assert measures["label_entropy"] == pytest.approx(math.log(10))
    assert measures["confident_fraction"] == 1.0


def test_unreadable_set_is_never_confident_and_scores_one():
    measures = quality.label_coverage(torch.zeros(100, 10), UNIFORM)  # p(y|x) uniforme
    assert measures["confident_fraction"] == 0.0
    assert measures["classifier_score"] == pytest.approx(1.0)


def test_label_kl_is_measured_against_the_reference_frequencies():
    labels = torch.tensor([0] * 60 + [1] * 40)
    logits = 30.0 * torch.nn.functional.one_hot(labels, 10).float()
    reference = torch.zeros(10)
    reference[:2] = torch.tensor([0.6, 0.4])
    assert quality.label_coverage(logits, reference)["label_kl"] == pytest.approx(0.0, abs=1e-6)
    expected = 0.6 * math.log(0.6 / 0.1) + 0.4 * math.log(0.4 / 0.1)
    assert quality.label_coverage(logits, UNIFORM)["label_kl"] == pytest.approx(expected)


# ---------------------------------------------------------------- degradações


def test_blur_keeps_shape_range_and_ink_but_spreads_it():
    x = torch.zeros(3, vc.INPUT_DIM)
    x.view(3, 28, 28)[:, 10:18, 12:16] = 1.0
    blurred = quality.gaussian_blur(x, 1.0)
    assert blurred.shape == x.shape and blurred.dtype == torch.float32
    assert blurred.min() >= 0 and blurred.max() <= 1
    torch.testing.assert_close(blurred.sum(1), x.sum(1), rtol=1e-4, atol=1e-3)  # longe da borda: tinta conservada
    assert (blurred > 0).sum() > (x > 0).sum() and blurred.max() < 1
    uint8 = quality.gaussian_blur((x * 255).to(torch.uint8), 1.0)  # pixels uint8 também servem
    torch.testing.assert_close(uint8, blurred)
    assert quality.gaussian_blur(x, 2.0).max() < blurred.max()  # mais desfoque, pico mais baixo


def test_noise_is_seeded_clipped_and_of_the_given_strength():
    x = torch.full((200, vc.INPUT_DIM), 0.5)
    noisy = quality.add_gaussian_noise(x, 0.1, seed=1)
    assert noisy.min() >= 0 and noisy.max() <= 1
    assert (noisy - x).std().item() == pytest.approx(0.1, rel=0.02)
    assert torch.equal(quality.add_gaussian_noise(x, 0.1, seed=1), noisy)
    assert not torch.equal(quality.add_gaussian_noise(x, 0.1, seed=2), noisy)
    strong = quality.add_gaussian_noise(x, 2.0, seed=1)
    assert strong.min() == 0 and strong.max() == 1  # recortado
    assert torch.equal(x, torch.full((200, vc.INPUT_DIM), 0.5))  # a entrada fica intacta


# ---------------------------------------------------------------- a medida completa


def test_measure_images_of_the_reference_itself_is_perfect():
    model = classifier.build_classifier(0)  # pesos aleatórios bastam para a identidade
    images = torch.rand(300, vc.INPUT_DIM, generator=torch.Generator().manual_seed(0))
    reference = quality.make_reference(model, images)  # sem rótulos: as frequências previstas
    measures = quality.measure_images(model, images, reference)
    assert set(measures) == {
        "n", "frechet_distance", "precision", "recall", "histogram", "label_kl", "label_entropy",
        "confident_fraction", "classifier_score",
    }  # fmt: skip
    assert measures["n"] == 300 and len(reference) == 300
    assert measures["frechet_distance"] == pytest.approx(0.0, abs=1e-6)
    assert measures["precision"] == measures["recall"] == 1.0
    assert measures["label_kl"] == pytest.approx(0.0, abs=1e-12)
    assert sum(measures["histogram"]) == pytest.approx(1.0)


def test_worse_images_score_worse_with_a_small_trained_classifier(mnist_dir):
    """Com dígitos de verdade e um classificador minúsculo (2.000 imagens, 2 épocas): referência = 1.000 imagens
    de teste; as linhas degradam 1.000 imagens de treino (outras imagens, como as amostras de um modelo). A
    distância cresce com o ruído e com o desfoque, e precisão e revocação caem."""
    data = mnist.load_mnist(mnist_dir, val_size=500, train_size=2000, seed=0)
    config = classifier.classifier_config(data, seed=3, num_epochs=2, learning_rate=3e-3)
    model, _ = classifier.train_classifier(config, data)
    reference = quality.make_reference(model, mnist.flatten_images(data.test_x[:1000]), data.test_y[:1000])
    train = mnist.flatten_images(data.train_x[:1000])
    rows = {
        "treino": train,
        "ruído 0,1": quality.add_gaussian_noise(train, 0.1, seed=0),
        "ruído 0,5": quality.add_gaussian_noise(train, 0.5, seed=0),
        "desfoque 1": quality.gaussian_blur(train, 1.0),
        "desfoque 2": quality.gaussian_blur(train, 2.0),
    }
    m = {name: quality.measure_images(model, images, reference) for name, images in rows.items()}
    fd = {name: values["frechet_distance"] for name, values in m.items()}
    assert fd["treino"] < fd["ruído 0,1"] < fd["ruído 0,5"]
    assert fd["treino"] < fd["desfoque 1"] < fd["desfoque 2"]
    for worse in ("ruído 0,5", "desfoque 2"):
        assert m[worse]["precision"] < m["treino"]["precision"]
        assert m[worse]["recall"] < m["treino"]["recall"]
        assert m[worse]["label_kl"] > m["treino"]["label_kl"]


def test_score_table_names_each_set_and_formats_the_numbers():
    m = {"n": 5000, "frechet_distance": 1234.56, "precision": 0.8591, "recall": 0.879, "confident_fraction": 0.9753}
    table = quality.score_table({"real": m}, {"real": "imagens reais"})
    assert table.splitlines()[0].startswith("| conjunto (5.000 imagens cada) | Fréchet |")
    assert table.splitlines()[2] == "| imagens reais | 1.234,6 | 0,859 | 0,879 | 97,5% |"
