"""Análises de um VAE treinado: erros de reconstrução (e o piso da entropia dos pixels cinza),
interpolação, componentes principais, KL por dimensão e unidades ativas, a KL dividida em informação e
desencontro com o *prior*, a densidade da posterior agregada, varreduras, a variedade 2-D, o limite de
importância (IWAE), t-SNE e acurácia de vizinhos."""

from __future__ import annotations

import math

import numpy as np
import torch

import vae_core as vc

GRAY = (0.1, 0.9)  # um pixel "cinza": nem fundo nem traço


@torch.inference_mode()
def reconstruction_errors(
    model: vc.VAE, x: torch.Tensor, mu: torch.Tensor, batch_size: int = vc.EVAL_BATCH_SIZE
) -> np.ndarray:
    """BCE por imagem (nats) da reconstrução determinística de `x` a partir dos seus códigos `mu`
    (já calculados com `encode_dataset`; nada é codificado de novo): um vetor (n,)."""
    model.eval()
    mu = mu.to(x.device)
    parts = [
        vc.reconstruction_bce(model.decode_logits(m), b) for m, b in zip(mu.split(batch_size), x.split(batch_size))
    ]
    return torch.cat(parts).cpu().numpy()


def bernoulli_entropy(x: torch.Tensor | np.ndarray) -> np.ndarray:
    """O piso da BCE de cada imagem, H(x) = Σᵢ −xᵢ ln xᵢ − (1−xᵢ) ln(1−xᵢ) (nats; 0 · ln 0 = 0): com pixels
    cinza, BCE(x, x̂) ≥ H(x), com igualdade só em x̂ = x. O que passa do piso, BCE − H(x), é
    Σᵢ KL(Bern(xᵢ) ‖ Bern(x̂ᵢ)): o erro de fato do modelo."""
    x = torch.as_tensor(x, dtype=torch.float64).reshape(len(x), -1)
    return (torch.special.entr(x) + torch.special.entr(1 - x)).sum(1).numpy()


def bernoulli_draws(means: np.ndarray, seed: int, draws: int = 1) -> np.ndarray:
    """`draws` sorteios de Bernoulli de cada pixel, com as médias do decodificador como probabilidades:
    imagens binárias (draws, *means.shape) — amostras de p(x|z) de verdade, não a sua média."""
    generator = torch.Generator().manual_seed(seed)
    p = torch.as_tensor(np.asarray(means), dtype=torch.float32)
    return torch.stack([torch.bernoulli(p, generator=generator) for _ in range(draws)]).numpy()


def gray_fraction(images: np.ndarray, axis=None):
    """Fração de pixels cinza (entre `GRAY`), no todo ou ao longo de `axis`."""
    images = np.asarray(images)
    return ((images > GRAY[0]) & (images < GRAY[1])).mean(axis=axis)


def ghost_ink(paths: np.ndarray) -> np.ndarray:
    """A tinta fantasma de cada caminho (caminhos, passos, 784): quanto a fração de pixels cinza dos pontos
    intermediários passa da média das duas pontas. Uma dupla exposição imprime cada dígito pela metade, e os
    seus traços viram cinza; um caminho que passa por dígitos inteiros fica perto das pontas."""
    gray = gray_fraction(paths, axis=-1)
    return gray[:, 1:-1].mean(1) - (gray[:, 0] + gray[:, -1]) / 2


def within_group_correlation(a: np.ndarray, b: np.ndarray, groups: np.ndarray) -> float:
    """Correlação de Pearson de `a` com `b` dentro de cada grupo (por exemplo, cada dígito), na média dos
    grupos: o que sobra quando as diferenças entre os grupos saem da conta."""
    return float(np.mean([np.corrcoef(a[groups == g], b[groups == g])[0, 1] for g in np.unique(groups)]))


def latent_path(z_start: np.ndarray, z_end: np.ndarray, steps: int) -> np.ndarray:
    """`steps` pontos igualmente espaçados no segmento de z_start a z_end: (steps, d)."""
    t = np.linspace(0, 1, steps)[:, None]
    return (1 - t) * np.asarray(z_start) + t * np.asarray(z_end)


def move_along_components(pca, z0: np.ndarray, coords) -> np.ndarray:
    """Ponto latente cujas coordenadas nas primeiras componentes principais de μ são `coords`,
    mantendo as demais componentes de `z0`. É a função que os controles deslizantes chamam."""
    coords = np.asarray(coords, dtype=np.float64)
    k = len(coords)
    start = pca.transform(np.asarray(z0, dtype=np.float64).reshape(1, -1))[0, :k]
    return np.asarray(z0) + (coords - start) @ pca.components_[:k]


def kl_per_dimension(mu: torch.Tensor, logvar: torch.Tensor) -> np.ndarray:
    """KL média (nats) de cada dimensão latente: −½ E_x[1 + log σ²_j − μ²_j − σ²_j], vetor (d,)."""
    return (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).mean(0).cpu().numpy()


def active_units(mu: torch.Tensor, threshold: float = 0.01) -> np.ndarray:
    """Dimensões ativas (Burda et al., 2015): Var_x(E_q[z_j]) > `threshold`; máscara booleana (d,)."""
    return (mu.var(0, unbiased=True) > threshold).cpu().numpy()


def normal_quantiles(n: int, low: float = 0.05, high: float = 0.95) -> np.ndarray:
    """`n` quantis da N(0, 1) igualmente espaçados em probabilidade, de `low` a `high`."""
    return torch.distributions.Normal(0.0, 1.0).icdf(torch.linspace(low, high, n, dtype=torch.float64)).numpy()


def dimension_traversal(model: vc.VAE, z0: np.ndarray, dims, values: np.ndarray) -> np.ndarray:
    """Varre cada dimensão de `dims` pelos `values` (as demais fixas em z0): (len(dims), len(values), 28, 28)."""
    z = np.tile(np.asarray(z0, dtype=np.float32), (len(dims), len(values), 1))
    for row, dim in enumerate(dims):
        z[row, :, dim] = values
    return vc.decode_latent(model, z).reshape(len(dims), len(values), vc.IMAGE_SIDE, vc.IMAGE_SIDE)


def manifold_grid(model: vc.VAE, z1_values: np.ndarray, z2_values: np.ndarray, digit: int | None = None) -> np.ndarray:
    """Grade de decodificações de um VAE com z 2-D (Kingma & Welling, fig. 4): linha i tem
    z₂ = z2_values[−1−i] (o maior em cima), coluna j tem z₁ = z1_values[j]; imagens (n₂, n₁, 28, 28).
    Com o VAE condicional, `digit` é o rótulo de todas."""
    z1, z2 = np.meshgrid(z1_values, z2_values[::-1])
    labels = None if digit is None else np.full(z1.size, digit)
    images = vc.decode_latent(model, np.stack([z1, z2], axis=-1).reshape(-1, 2), labels)
    return images.reshape(len(z2_values), len(z1_values), vc.IMAGE_SIDE, vc.IMAGE_SIDE)


def prior_mass(low: np.ndarray, high: np.ndarray) -> float:
    """Probabilidade que o prior N(0, I) dá à caixa [low, high] (um intervalo por dimensão)."""
    normal = torch.distributions.Normal(0.0, 1.0)
    low, high = torch.as_tensor(low, dtype=torch.float64), torch.as_tensor(high, dtype=torch.float64)
    return float((normal.cdf(high) - normal.cdf(low)).prod())


def paired_difference(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Diferença média entre duas estimativas nas mesmas imagens e o seu erro padrão pareado,
    std(aᵢ − bᵢ)/√n — bem menor que o erro padrão de cada estimativa quando as duas andam juntas."""
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d)))


@torch.inference_mode()
def elbo_per_image(model: vc.VAE, x: torch.Tensor, y=None, batch_size: int = vc.EVAL_BATCH_SIZE) -> np.ndarray:
    """ELBO de cada imagem (nats; o negativo da perda), com um z amostrado e a KL em forma fechada
    (`y`: os rótulos, para o VAE condicional)."""
    model.eval()
    parts = []
    for batch, labels in vc.batches(x, y, batch_size):
        logits, mu, logvar = model(batch, *labels)
        parts.append(-(vc.reconstruction_bce(logits, batch) + vc.kl_divergence(mu, logvar)))
    return torch.cat(parts).cpu().numpy()


def gradient_estimators(
    model: vc.VAE, x: torch.Tensor, draws: int, seed: int, chunk: int = 50
) -> dict[str, np.ndarray]:
    """Amostras de dois estimadores do mesmo gradiente, ∇_μ E_{q(z|x)}[log p(x|z)], para cada imagem:

    - reparametrização: ∇_μ log p(x | μ + σ·ε), ε ~ N(0, I);
    - função escore (REINFORCE): log p(x|z) · ∇_μ log q(z|x) = log p(x|z) · (z − μ)/σ²;
    - função escore com linha de base: a mesma, com log p(x|z) menos a média das outras amostras
      (deixar a própria de fora mantém o estimador sem viés).

    Os três são não viesados; devolve cada um como (draws, n, d). As amostras são decodificadas em blocos
    de `chunk` sorteios (a memória do gradiente cresce com o bloco, não com `draws`)."""
    model.eval()
    with torch.no_grad():
        mu, logvar = model.encode(x)
    std = torch.exp(0.5 * logvar)
    eps = torch.randn((draws, *mu.shape), generator=torch.Generator().manual_seed(seed)).to(x.device)
    reparam, values = [], []
    for block in eps.split(chunk):
        mu_draws = mu.expand(len(block), *mu.shape).clone().requires_grad_(True)
        log_px_z = -vc.reconstruction_bce(model.decode_logits(mu_draws + std * block), x.expand(len(block), *x.shape))
        reparam.append(torch.autograd.grad(log_px_z.sum(), mu_draws)[0])
        values.append(log_px_z.detach())
    reparam, f = torch.cat(reparam), torch.cat(values)[..., None]
    baseline = (f.sum(0) - f) / (draws - 1)
    score = eps / std  # ∇_μ log q(z|x) = (z − μ)/σ²
    return {
        "reparameterization": reparam.cpu().numpy(),
        "score": (f * score).cpu().numpy(),
        "score_baseline": ((f - baseline) * score).cpu().numpy(),
    }


@torch.inference_mode()
def iwae_bound(model: vc.VAE, x: torch.Tensor, k: int, rows_per_chunk: int = 2048, y=None) -> np.ndarray:
    """Limite de importância (Burda et al., 2015) de log p(x) por imagem, com `k` amostras:

    log p(x) ≥ E[logsumexp_i log w_i − log k],  log w_i = log p(x|z_i) + log p(z_i) − log q(z_i|x),
    z_i ~ q(z|x). Com k = 1 é o ELBO; cresce com k. Processa ~`rows_per_chunk` decodificações por vez.
    Com o VAE condicional (`y`: os rótulos) é o limite de log p(x|y).
    """
    model.eval()
    normal = torch.distributions.Normal(0.0, 1.0)
    bounds = []
    for batch, labels in vc.batches(x, y, max(1, rows_per_chunk // k)):
        mu, logvar = model.encode(batch, *labels)
        std = torch.exp(0.5 * logvar)
        eps = torch.randn((k, *mu.shape), device=x.device)
        z = mu + std * eps  # (k, B, d)
        log_px_z = -vc.reconstruction_bce(model.decode_logits(z, *labels), batch.expand(k, *batch.shape))
        log_pz = normal.log_prob(z).sum(-1)
        log_qz_x = (normal.log_prob(eps) - torch.log(std)).sum(-1)
        bounds.append(torch.logsumexp(log_px_z + log_pz - log_qz_x, dim=0) - math.log(k))
    return torch.cat(bounds).cpu().numpy()


def tsne_2d(mu: np.ndarray, seed: int) -> np.ndarray:
    """t-SNE 2-D de μ: inicialização por PCA, taxa de aprendizado "auto", 500 iterações e
    aproximação de Barnes-Hut com `angle=0.8`. Medido em 10.000 códigos: um terço do tempo
    do padrão (1.000 iterações, `angle=0.5`), com a mesma acurácia de 5-vizinhos no plano."""
    from sklearn.manifold import TSNE

    tsne = TSNE(2, init="pca", learning_rate="auto", max_iter=500, angle=0.8, random_state=seed)
    return tsne.fit_transform(np.asarray(mu, dtype=np.float32))


def knn_correct(points: np.ndarray, labels: np.ndarray, k: int = 5, folds: int = 3) -> np.ndarray:
    """Acerto de cada ponto (booleano) de um classificador de `k` vizinhos, por validação cruzada em
    `folds` partes: quanto uma representação separa os rótulos, ponto a ponto (para erros pareados)."""
    from sklearn.model_selection import cross_val_predict
    from sklearn.neighbors import KNeighborsClassifier

    return cross_val_predict(KNeighborsClassifier(k), points, labels, cv=folds) == labels


def knn_correct_against(reference: np.ndarray, reference_labels: np.ndarray, points: np.ndarray, labels, k: int = 5):
    """Acerto de cada ponto (booleano) de um classificador de `k` vizinhos que só conhece `reference`
    (por exemplo, imagens de treino): o protocolo de sempre, com as mesmas referências para toda
    representação comparada."""
    from sklearn.neighbors import KNeighborsClassifier

    return KNeighborsClassifier(k).fit(reference, reference_labels).predict(points) == np.asarray(labels)


def knn_accuracy(points: np.ndarray, labels: np.ndarray, k: int = 5, folds: int = 3) -> float:
    """A acurácia de `knn_correct`: a fração dos pontos que os vizinhos classificam certo."""
    return float(knn_correct(points, labels, k, folds).mean())


def stroke_geometry(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inclinação e largura do traço de cada imagem (n, 28, 28), pelos momentos da tinta: inclinação =
    μ₁₁/μ₀₂ (quanto x avança por linha ao subir: positiva inclina para a direita) e largura = desvio-padrão
    horizontal da tinta, em pixels."""
    images = np.asarray(images, dtype=np.float64).reshape(-1, vc.IMAGE_SIDE, vc.IMAGE_SIDE)
    rows, cols = np.mgrid[: vc.IMAGE_SIDE, : vc.IMAGE_SIDE]
    ink = images.sum(axis=(1, 2))
    cx = (images * cols).sum(axis=(1, 2)) / ink
    cy = (images * rows).sum(axis=(1, 2)) / ink
    dx, dy = cols - cx[:, None, None], rows - cy[:, None, None]
    mu11, mu02 = (images * dx * dy).sum(axis=(1, 2)), (images * dy**2).sum(axis=(1, 2))
    return -mu11 / mu02, np.sqrt((images * dx**2).sum(axis=(1, 2)) / ink)


def sample_mixture(mixture, n: int, seed: int) -> np.ndarray:
    """`n` pontos de uma mistura de gaussianas ajustada (`sklearn.mixture.GaussianMixture`, covariâncias
    completas), com a semente: quantos de cada componente por sorteio multinomial dos pesos, e cada ponto
    como média + L·ε, com L a fatoração de Cholesky da covariância (sem os avisos de simetria do NumPy)."""
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n, mixture.weights_)
    parts = [
        mean + rng.standard_normal((count, len(mean))) @ np.linalg.cholesky(cov).T
        for count, mean, cov in zip(counts, mixture.means_, mixture.covariances_)
    ]
    return rng.permutation(np.concatenate(parts))


def gaussian_log_pdf(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; μ, diag σ²) de cada linha (…, d) → (…)."""
    return -0.5 * (math.log(2 * math.pi) + logvar + (z - mu).pow(2) / logvar.exp()).sum(-1)


def aggregate_log_density(z, mu, logvar, block: int = 500) -> np.ndarray:
    """log q(z) da posterior agregada q(z) = (1/N) Σₙ N(z; μₙ, σ²ₙ) — a mistura das posteriores das N
    imagens, não um ajuste aos μ — em cada ponto de `z` (M, d); em float64 e em blocos de `block`
    pontos (memória O(block × N))."""
    z, mu, logvar = (torch.as_tensor(np.asarray(t), dtype=torch.float64) for t in (z, mu, logvar))
    w = (-logvar).exp()  # 1/σ²
    constant = -0.5 * (logvar.sum(1) + (mu.pow(2) * w).sum(1) + mu.shape[1] * math.log(2 * math.pi))
    parts = []
    for zb in z.split(block):  # Σⱼ (z − μ)² w = z² w − 2 z μ w + μ² w, como produtos de matrizes
        quadratic = zb.pow(2) @ w.T - 2 * zb @ (mu * w).T
        parts.append(torch.logsumexp(constant - 0.5 * quadratic, dim=1) - math.log(len(mu)))
    return torch.cat(parts).numpy()


def kl_split(mu: torch.Tensor, logvar: torch.Tensor, seed: int) -> dict[str, np.ndarray]:
    """A KL média dividida em duas (Hoffman & Johnson, 2016): E_x KL(q(z|x) ‖ p(z)) = I_q(x; z) +
    KL(q(z) ‖ p(z)), com x uniforme sobre as N imagens dadas e q(z) a posterior agregada delas.

    Um z por imagem, zₙ ~ q(z|xₙ) (logo zₙ ~ q(z)); devolve, por imagem, as parcelas de Monte Carlo
    `information` = log q(zₙ|xₙ) − log q(zₙ) (cuja média estima I, que nunca passa de log N) e
    `prior_mismatch` = log q(zₙ) − log p(zₙ) (a média estima KL(q(z) ‖ p(z))), e `kl`, a KL em forma
    fechada de cada imagem."""
    generator = torch.Generator().manual_seed(seed)
    mu, logvar = mu.double().cpu(), logvar.double().cpu()
    z = mu + (0.5 * logvar).exp() * torch.randn(mu.shape, generator=generator, dtype=torch.float64)
    log_q_z = torch.as_tensor(aggregate_log_density(z, mu, logvar))
    log_q_z_x = gaussian_log_pdf(z, mu, logvar)
    log_p_z = gaussian_log_pdf(z, torch.zeros_like(z), torch.zeros_like(z))
    kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)
    return {
        "information": (log_q_z_x - log_q_z).numpy(),
        "prior_mismatch": (log_q_z - log_p_z).numpy(),
        "kl": kl.numpy(),
    }


def binned(values: np.ndarray, outcome: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Média de `outcome`, o seu erro padrão e quantos pontos caem em cada faixa [edges[i], edges[i+1]) de
    `values` (a última fechada); faixas vazias dão NaN."""
    which = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, len(edges) - 2)
    outcome = np.asarray(outcome, dtype=np.float64)
    counts = np.bincount(which, minlength=len(edges) - 1)
    groups = [outcome[which == i] for i in range(len(edges) - 1)]
    means = np.array([g.mean() if len(g) else np.nan for g in groups])
    ses = np.array([g.std(ddof=1) / np.sqrt(len(g)) if len(g) > 1 else np.nan for g in groups])
    return means, ses, counts
