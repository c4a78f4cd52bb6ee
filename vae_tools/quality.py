"""Qualidade das imagens geradas, medida nos atributos do classificador do projeto (`vae_tools.classifier`).

- Distância de Fréchet entre as gaussianas ajustadas aos atributos reais e aos gerados (a "FID", mas
  no espaço de 128 atributos de uma LeNet treinada no MNIST: outra escala que a FID das Inception do
  ImageNet — nunca compare as duas).
- Precisão e revocação (*recall*) de Kynkäänniemi et al. (2019): uma amostra é precisa se cai na bola
  dos k vizinhos mais próximos de alguma imagem real; uma imagem real é revocada se cai na bola de alguma
  amostra. (Cobertura, *coverage*, é outra medida, de Naeem et al., 2020.)
- Como o classificador lê as amostras: histograma dos rótulos previstos, sua divergência KL para as
  frequências do conjunto de referência, a fração lida com confiança ≥ 0,9 e o escore do classificador
  exp(E_x KL(p(y|x) ‖ p(y))) (o "Inception score" com a nossa rede; 1 a 10).
- Degradações de calibração: desfoque gaussiano e ruído gaussiano aditivo nas imagens de teste.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torchmetrics.image.fid import FrechetInceptionDistance

import vae_core as vc
from vae_tools.classifier import NUM_CLASSES, DigitClassifier, embed
from vae_tools.figures import br_number, markdown_table

CONFIDENCE = 0.9  # limiar de "lida com confiança"
DISTANCE_BLOCK = 256  # linhas por bloco de torch.cdist: 256 × 10.000 distâncias ≈ 10 MB (e as cópias internas)


# ---------------------------------------------------------------- distância de Fréchet


class _GivenFeatures(nn.Module):
    """Identidade com `num_features`: o torchmetrics recebe atributos já calculados (o classificador roda uma
    vez só por conjunto, e os mesmos atributos servem à precisão e à revocação)."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features


def frechet_distance(real_features: torch.Tensor, fake_features: torch.Tensor) -> float:
    """Distância de Fréchet entre as gaussianas ajustadas a dois conjuntos de atributos (N, d):
    ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2 (Σ₁ Σ₂)^½).

    Calculada pelo `FrechetInceptionDistance` do torchmetrics 1.9 com um módulo de atributos próprio (a
    identidade): médias e covariâncias acumuladas em float64, e o traço da raiz pelos autovalores de Σ₁ Σ₂,
    sem raiz de matriz escrita à mão."""
    for name, features in (("reais", real_features), ("gerados", fake_features)):
        if features.ndim != 2 or len(features) < 2:
            raise ValueError(f"Atributos {name}: esperado um tensor (N, d) com N ≥ 2, veio {tuple(features.shape)}.")
    if real_features.shape[1] != fake_features.shape[1]:
        raise ValueError(
            f"Os atributos reais têm {real_features.shape[1]} dimensões e os gerados {fake_features.shape[1]}."
        )
    metric = FrechetInceptionDistance(feature=_GivenFeatures(real_features.shape[1]))
    metric.update(real_features.double().cpu(), real=True)
    metric.update(fake_features.double().cpu(), real=False)
    return max(metric.compute().item(), 0.0)  # ≥ 0; arredondamentos podem dar −1e-12 para conjuntos iguais


# ---------------------------------------------------------------- precisão e revocação (k vizinhos)


def knn_radii(features: torch.Tensor, k: int = 3, block: int = DISTANCE_BLOCK) -> torch.Tensor:
    """Raio da bola de cada ponto: a distância ao seu k-ésimo vizinho mais próximo no próprio conjunto
    (o ponto mesmo, a distância 0, não conta). Em blocos de linhas: memória O(block × N)."""
    if not 1 <= k < len(features):
        raise ValueError(f"k = {k} vizinhos pede um conjunto com mais de k pontos e k ≥ 1 (há {len(features)}).")
    features = features.float()
    radii = [
        torch.cdist(features[start : start + block], features).topk(k + 1, dim=1, largest=False).values[:, -1]
        for start in range(0, len(features), block)
    ]
    return torch.cat(radii)


def precision_recall(
    real_features: torch.Tensor,
    fake_features: torch.Tensor,
    k: int = 3,
    real_radii: torch.Tensor | None = None,
    block: int = DISTANCE_BLOCK,
) -> tuple[float, float]:
    """Precisão e revocação (*recall*) de Kynkäänniemi et al. (2019) nos atributos, com bolas de k vizinhos.

    Precisão: fração das amostras dentro da bola de alguma imagem real (amostras com cara de dígito).
    Revocação: fração das imagens reais dentro da bola de alguma amostra (a parte dos reais que o gerador
    alcança). `real_radii` aceita os raios dos reais já calculados (`knn_radii`)."""
    real, fake = real_features.float().cpu(), fake_features.float().cpu()
    if real_radii is None:
        real_radii = knn_radii(real, k, block)
    inside, recalled = ball_hits(real, fake, real_radii, knn_radii(fake, k, block), block)
    return inside.double().mean().item(), recalled.double().mean().item()


def ball_hits(
    real: torch.Tensor,
    fake: torch.Tensor,
    real_radii: torch.Tensor,
    fake_radii: torch.Tensor | None = None,
    block: int = DISTANCE_BLOCK,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Quais amostras caem na bola de alguma imagem real (booleano por amostra) e, com `fake_radii`, quais
    reais caem na bola de alguma amostra (por real; senão None). Em blocos: cada distância uma vez só."""
    real, fake = real.float().cpu(), fake.float().cpu()
    inside = torch.zeros(len(fake), dtype=torch.bool)
    recalled = None if fake_radii is None else torch.zeros(len(real), dtype=torch.bool)
    for start in range(0, len(fake), block):
        distances = torch.cdist(fake[start : start + block], real)  # (bloco, N reais)
        inside[start : start + block] = (distances <= real_radii).any(dim=1)
        if recalled is not None:
            recalled |= (distances <= fake_radii[start : start + block, None]).any(dim=0)
    return inside, recalled


def realistic(classifier: DigitClassifier, images, reference: Reference) -> np.ndarray:
    """Para cada imagem, se os seus atributos caem na bola de k vizinhos de alguma imagem real da
    referência (o critério da precisão, imagem a imagem): uma dupla exposição — um 3 impresso sobre um
    8 — cai fora de todas, mesmo quando o classificador a lê como um dos dois."""
    features, _ = embed(classifier, torch.as_tensor(np.asarray(images), dtype=torch.float32).reshape(len(images), -1))
    return ball_hits(reference.features, features, reference.radii)[0].numpy()


# ---------------------------------------------------------------- como o classificador lê as amostras


def label_coverage(logits: torch.Tensor, reference_frequencies: torch.Tensor, confidence: float = CONFIDENCE) -> dict:
    """Medidas de classe a partir dos logits (N, 10) do classificador.

    - `histogram`: fração das amostras por rótulo previsto (10 números que somam 1);
    - `label_kl`: KL(histograma ‖ frequências de referência), em nats (0: as classes nas proporções certas;
      ln 10 ≈ 2,30 quando tudo vira um só dígito, com a referência uniforme);
    - `label_entropy`: entropia do histograma, em nats (máximo ln 10);
    - `confident_fraction`: fração com probabilidade máxima ≥ `confidence`;
    - `classifier_score`: exp(E_x KL(p(y|x) ‖ p(y))), de 1 (uma classe só, ou nenhuma legível) a 10
      (cada amostra lida com certeza e as dez classes igualmente representadas)."""
    log_p = torch.log_softmax(logits.double(), dim=1)
    p = log_p.exp()
    histogram = torch.bincount(logits.argmax(1), minlength=NUM_CLASSES).double() / len(logits)
    q = reference_frequencies.double()
    present = histogram > 0  # 0 · log 0 = 0
    label_kl = (histogram[present] * (histogram[present] / q[present]).log()).sum().item()
    label_entropy = -(histogram[present] * histogram[present].log()).sum().item()
    marginal = p.mean(0)
    mean_kl = (p * (log_p - marginal.clamp_min(1e-300).log())).sum(1).mean().item()
    return {
        "histogram": histogram.tolist(),
        "label_kl": label_kl,
        "label_entropy": label_entropy,
        "confident_fraction": (p.max(1).values >= confidence).double().mean().item(),
        "classifier_score": math.exp(mean_kl),
    }


# ---------------------------------------------------------------- tudo de uma vez, contra uma referência


@dataclass
class Reference:
    """Um conjunto de imagens reais já passado pelo classificador: atributos (N, d), raios dos k vizinhos
    e frequências dos rótulos. Calculado uma vez (`make_reference`) e usado para pontuar cada modelo."""

    features: torch.Tensor
    radii: torch.Tensor
    label_frequencies: torch.Tensor
    k: int = 3

    def __len__(self) -> int:
        return len(self.features)


def make_reference(
    classifier: DigitClassifier, images: torch.Tensor, labels: torch.Tensor | None = None, k: int = 3
) -> Reference:
    """A referência das imagens reais `images` (por exemplo, as 10.000 de teste e seus rótulos). Sem
    `labels`, as frequências são as dos rótulos que o classificador prevê."""
    features, logits = embed(classifier, images)
    labels = logits.argmax(1) if labels is None else labels.cpu()
    frequencies = torch.bincount(labels, minlength=NUM_CLASSES).double() / len(labels)
    return Reference(features, knn_radii(features, k), frequencies, k)


def measure_images(classifier: DigitClassifier, images: torch.Tensor, reference: Reference) -> dict:
    """Todas as medidas de um conjunto de imagens (N, 784) — floats em [0, 1] ou uint8 — contra a
    referência: `frechet_distance`, `precision`, `recall` e as de `label_coverage` (`histogram`,
    `label_kl`, `label_entropy`, `confident_fraction`, `classifier_score`), mais `n` (quantas imagens).
    O classificador roda uma vez só sobre as imagens; os atributos servem a tudo."""
    features, logits = embed(classifier, images)
    precision, recall = precision_recall(reference.features, features, reference.k, real_radii=reference.radii)
    return {
        "n": len(images),
        "frechet_distance": frechet_distance(reference.features, features),
        "precision": precision,
        "recall": recall,
        **label_coverage(logits, reference.label_frequencies),
    }


# ---------------------------------------------------------------- degradações de calibração


def gaussian_blur(images: torch.Tensor, sigma: float, block: int = 1000) -> torch.Tensor:
    """Imagens (N, 784) desfocadas por um núcleo gaussiano de desvio `sigma` pixels (largura 2⌈3σ⌉ + 1,
    bordas refletidas); floats (N, 784) em [0, 1]. Em blocos de `block` imagens: a convolução de um lote
    inteiro de 10.000 imagens chega a centenas de MB de memória de trabalho."""
    from torchvision.transforms.functional import gaussian_blur as blur

    x = vc.to_float(images).reshape(-1, 1, vc.IMAGE_SIDE, vc.IMAGE_SIDE)
    size = 2 * math.ceil(3 * sigma) + 1
    parts = [blur(part, [size, size], [sigma, sigma]) for part in x.split(block)]
    return torch.cat(parts).reshape(len(x), -1).clamp(0, 1)


def add_gaussian_noise(images: torch.Tensor, std: float, seed: int = 0) -> torch.Tensor:
    """Imagens (N, 784) com ruído gaussiano de desvio `std` somado a cada pixel (sorteado com a semente),
    recortadas a [0, 1]."""
    x = vc.to_float(images).reshape(len(images), -1)
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(seed)).to(x.device)
    return (x + std * noise).clamp(0, 1)


def score_table(scores: dict[str, dict], names: dict[str, str]) -> str:
    """A tabela (Markdown) das medidas de `measure_images` de cada conjunto, com o nome de exibição de cada chave."""
    n = next(iter(scores.values()))["n"]
    header = [f"conjunto ({br_number(n)} imagens cada)", "Fréchet", "precisão", "revocação", "confiança ≥ 0,9"]
    rows = [
        [names[key], br_number(m["frechet_distance"], 1), br_number(m["precision"], 3), br_number(m["recall"], 3),
         f"{br_number(100 * m['confident_fraction'], 1)}%"]
        for key, m in scores.items()
    ]  # fmt: skip
    return markdown_table(header, rows)
