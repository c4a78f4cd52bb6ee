"""O que cada seção dos notebooks conclui: fatos com nome e veredictos, calculados aqui e testados.

Cada função recebe números já medidos (arrays, históricos) e devolve uma dataclass imutável; um veredicto é
um `Enum` cujo valor nunca é mostrado ao leitor — o notebook escolhe, por ele, uma frase inteira já
escrita. Os limiares são constantes com nome e com a razão de existirem.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, auto

import numpy as np
from scipy import stats

from vae_tools.analysis import paired_difference, within_group_correlation

TWO_SE = 2.0  # uma diferença conta quando passa de dois erros padrão (≈ 95 % sob normalidade)
PATIENCE = 3  # épocas sem melhorar a validação que contam como "piorou" (a paciência usual do early stopping)
INK_CORRELATION = 0.3  # |r| abaixo disso: a tinta explica menos de 10 % da variância do erro dentro do dígito
SATURATED = 0.9  # informação acima de 90 % do teto log N: o código quase identifica cada imagem
SIGNIFICANCE = 0.05  # nível de uma correlação de Spearman chamada de tendência


# ---------------------------------------------------------------- o capítulo


class Fit(Enum):
    OVERFITTING = auto()  # a validação piorou nas últimas épocas
    GAP_STILL_IMPROVING = auto()  # treino melhor que validação, mas a validação ainda melhora
    GAP_STALLED = auto()  # treino melhor que validação, e a validação não caiu na última época
    NO_GAP = auto()  # treino e validação iguais dentro do ruído


@dataclass(frozen=True)
class Overfitting:
    gap: float  # −ELBO de validação − de treino, com os pesos finais (nats por imagem)
    gap_se: float
    best_epoch: int  # a época de menor perda de validação
    epochs: int
    improving_epochs: int  # épocas finais seguidas em que a validação caiu
    verdict: Fit


def overfitting(val_losses, train_elbo: np.ndarray, val_elbo: np.ndarray) -> Overfitting:
    """A pergunta "sobreajusta?" respondida pelo que se mediu: a validação piorou (por `PATIENCE` épocas)?
    E, com os pesos finais, as imagens não vistas custam mais que as de treino (a lacuna, com o erro padrão
    de duas amostras independentes)?"""
    val = np.asarray(val_losses, dtype=np.float64)
    gap = float(np.mean(-val_elbo) - np.mean(-train_elbo))
    gap_se = float(np.sqrt(np.var(val_elbo, ddof=1) / len(val_elbo) + np.var(train_elbo, ddof=1) / len(train_elbo)))
    best = int(np.argmin(val)) + 1
    falling = np.diff(val) < 0
    improving = len(falling) - (int(np.flatnonzero(~falling)[-1]) + 1 if (~falling).any() else 0)
    if len(val) - best >= PATIENCE:
        verdict = Fit.OVERFITTING
    elif gap > TWO_SE * gap_se:
        verdict = Fit.GAP_STILL_IMPROVING if improving else Fit.GAP_STALLED
    else:
        verdict = Fit.NO_GAP
    return Overfitting(gap, gap_se, best, len(val), improving, verdict)


@dataclass(frozen=True)
class Progress:
    epoch: int  # a época medida
    covered: float  # fração do caminho (distância média dos pixels) da época 1 às reconstruções finais
    pace: float  # a fração das épocas entre a 1ª e a última que já passou: o caminho num ritmo constante
    front_loaded: bool  # o caminho andou mais depressa que o ritmo constante


def progress(snapshots: np.ndarray, epochs: list[int], at: int) -> Progress:
    """Quanto do caminho até as reconstruções finais as da época `at` (ou a mais próxima antes) já fizeram."""
    distance = np.abs(snapshots - snapshots[-1]).reshape(len(snapshots), -1).mean(1)
    i = max(j for j, e in enumerate(epochs) if e <= at) if epochs[0] <= at else 0
    covered = float(1 - distance[i] / distance[0]) if distance[0] > 0 else 1.0
    pace = (epochs[i] - epochs[0]) / max(epochs[-1] - epochs[0], 1)
    return Progress(epochs[i], covered, pace, covered > pace)


@dataclass(frozen=True)
class Estimators:
    score_ratio: float  # variância mediana da função escore ÷ a da reparametrização
    baseline_ratio: float  # o mesmo, com linha de base


def estimators(variances: dict[str, np.ndarray]) -> Estimators:
    """Quantas vezes mais ruidosa (variância mediana entre as coordenadas) é a função escore, sem e com
    linha de base, que a reparametrização (`analysis.gradient_estimators`)."""
    median = {name: float(np.median(v)) for name, v in variances.items()}
    reparam = median["reparameterization"]
    return Estimators(median["score"] / reparam, median["score_baseline"] / reparam)


class Ink(Enum):
    GROWS = auto()  # dentro de um dígito, mais tinta, mais erro
    SHRINKS = auto()  # dentro de um dígito, mais tinta, menos erro
    WEAK = auto()  # dentro de um dígito, a tinta quase não explica o erro


@dataclass(frozen=True)
class ReconstructionError:
    bce: float  # BCE média da reconstrução de μ (nats por imagem)
    floor: float  # média do piso H(x) dos pixels cinza
    excess: float  # média de BCE − H(x): o erro de fato
    floor_share: float  # fração da BCE que é piso
    easiest: int  # dígito de menor erro de fato
    hardest: int
    easiest_excess: float
    hardest_excess: float
    pooled_ink_correlation: float  # tinta × BCE (com o piso), todas as imagens juntas
    pooled_ink_excess_correlation: float  # tinta × erro de fato, todas as imagens juntas
    within_ink_correlation: float  # tinta × erro de fato, dentro de cada dígito (média)
    ink: Ink


def reconstruction_error(bce: np.ndarray, floor: np.ndarray, ink: np.ndarray, labels: np.ndarray):
    """De onde vem o erro de reconstrução: quanto é o piso da entropia dos pixels cinza (que nenhum modelo
    baixa) e quanto é erro de fato, por dígito e, dentro de cada dígito, contra a quantidade de tinta."""
    excess = bce - floor
    per_digit = np.bincount(labels, weights=excess) / np.bincount(labels)
    within = within_group_correlation(ink, excess, labels)
    return ReconstructionError(
        float(bce.mean()), float(floor.mean()), float(excess.mean()), float(floor.mean() / bce.mean()),
        int(per_digit.argmin()), int(per_digit.argmax()), float(per_digit.min()), float(per_digit.max()),
        float(np.corrcoef(ink, bce)[0, 1]), float(np.corrcoef(ink, excess)[0, 1]), within, _ink(within),
    )  # fmt: skip


def _ink(correlation: float) -> Ink:
    if correlation >= INK_CORRELATION:
        return Ink.GROWS
    return Ink.SHRINKS if correlation <= -INK_CORRELATION else Ink.WEAK


@dataclass(frozen=True)
class FinalTest:
    loss: float  # −ELBO de teste, com um z sorteado por imagem
    bce: float  # a BCE desse −ELBO
    kl: float
    bce_mu: float  # a BCE decodificando a média μ
    noise_cost: float  # bce − bce_mu
    noise_costs: bool  # o z sorteado custa mais que o próprio código


def final_test(test: dict[str, float], bce_mu: float) -> FinalTest:
    cost = test["bce"] - bce_mu
    return FinalTest(test["loss"], test["bce"], test["kl"], bce_mu, cost, cost > 0)


@dataclass(frozen=True)
class Blur:
    gray_means: float  # fração cinza da tinta nas médias do decodificador em z do prior (média por imagem)
    gray_means_se: float
    gray_reconstructions: float  # nas reconstruções, também médias do decodificador
    gray_reconstructions_se: float
    gray_real: float  # nas imagens de teste
    flips: float  # pixels em que um sorteio difere, em média, do arredondamento da sua média (por imagem)
    blurrier: Compared  # BETTER: as médias do prior têm mais cinza na tinta que as reconstruções


def gray_share(images: np.ndarray) -> np.ndarray:
    """De cada imagem, a fração da tinta (pixels acima de 0,1) que é cinza (abaixo de 0,9): o borrado sem
    contar quanta tinta a imagem tem."""
    images = np.asarray(images).reshape(len(images), -1)
    inked = images > 0.1
    return ((inked & (images < 0.9)).sum(1) / np.maximum(inked.sum(1), 1)).astype(np.float64)


def blur(means: np.ndarray, draws: np.ndarray, real: np.ndarray, reconstructions: np.ndarray) -> Blur:
    """As médias do decodificador em z do *prior* contra as reconstruções (médias também) e as imagens reais,
    pela fração cinza da tinta; `draws`: um sorteio de Bernoulli de cada média (a forma de `means`)."""
    flat_means, flat_draws = np.asarray(means).reshape(len(means), -1), np.asarray(draws).reshape(len(means), -1)
    flips = (flat_draws != (flat_means > 0.5)).sum(1)
    prior, rebuilt = gray_share(means), gray_share(reconstructions)
    diff = prior.mean() - rebuilt.mean()
    se = (prior.std(ddof=1) / np.sqrt(len(prior)), rebuilt.std(ddof=1) / np.sqrt(len(rebuilt)))
    return Blur(float(prior.mean()), float(se[0]), float(rebuilt.mean()), float(se[1]), float(gray_share(real).mean()),
                float(flips.mean()), compare(diff, float(np.hypot(*se))))  # fmt: skip


class Information(Enum):
    SATURATED = auto()  # I perto do teto log N: o código identifica quase cada imagem
    BELOW_CAP = auto()


@dataclass(frozen=True)
class KLSplit:
    kl: float  # E_x KL(q(z|x) ‖ p(z)), forma fechada (nats por imagem)
    information: float  # I_q(x; z), estimado
    information_se: float
    mismatch: float  # KL(q(z) ‖ p(z)), estimado
    mismatch_se: float
    cap: float  # log N: o máximo de informação sobre qual das N imagens
    images: int
    information_share: float  # fração da KL que é informação
    mismatch_share: float
    verdict: Information


def kl_split(parts: dict[str, np.ndarray]) -> KLSplit:
    """A KL do ELBO = informação + desencontro da posterior agregada com o *prior* (`analysis.kl_split`)."""
    info, mismatch, n = parts["information"], parts["prior_mismatch"], len(parts["kl"])
    cap = float(np.log(n))
    verdict = Information.SATURATED if info.mean() >= SATURATED * cap else Information.BELOW_CAP
    se = lambda v: float(v.std(ddof=1) / np.sqrt(len(v)))  # noqa: E731
    kl = float(parts["kl"].mean())
    return KLSplit(kl, float(info.mean()), se(info), float(mismatch.mean()), se(mismatch), cap, n,
                   float(info.mean() / kl), float(mismatch.mean() / kl), verdict)  # fmt: skip


class Compared(Enum):
    BETTER = auto()
    TIE = auto()
    WORSE = auto()


def compare(difference: float, se: float) -> Compared:
    """Melhor, empate ou pior: a diferença conta só além de `TWO_SE` erros padrão."""
    if difference > TWO_SE * se:
        return Compared.BETTER
    return Compared.WORSE if difference < -TWO_SE * se else Compared.TIE


@dataclass(frozen=True)
class Separation:
    mu: float  # acerto de 5 vizinhos nos μ (todas as imagens de teste)
    pixels: float  # o mesmo nos 784 pixels das mesmas imagens
    difference: float
    difference_se: float  # erro pareado (as mesmas imagens)
    pca: float  # no plano das duas primeiras componentes
    tsne: float  # no plano do t-SNE
    mu_tsne_images: float  # nos μ das mesmas imagens do t-SNE
    versus_pixels: Compared
    tsne_versus_mu: Compared


def separation(correct: dict[str, np.ndarray]) -> Separation:
    """Os códigos separam os dígitos? Sempre contra uma linha de base: os pixels, nas mesmas imagens."""
    acc = {name: float(c.mean()) for name, c in correct.items()}
    diff, se = paired_difference(correct["mu"], correct["pixels"])
    tsne_diff, tsne_se = paired_difference(correct["tsne"], correct["mu_tsne_images"])
    return Separation(acc["mu"], acc["pixels"], diff, se, acc["pca"], acc["tsne"], acc["mu_tsne_images"],
                      compare(diff, se), compare(tsne_diff, tsne_se))  # fmt: skip


# ---------------------------------------------------------------- a avaliação


@dataclass(frozen=True)
class Sampling:
    n: int  # imagens de cada conjunto
    real: float  # distância de Fréchet das imagens reais de validação às de teste: a âncora da escala
    reconstructions: float
    mixture: float
    prior: float
    blurred: float
    prior_confident: float  # fração lida com confiança ≥ 0,9
    mixture_confident: float
    reconstructions_confident: float
    test_confident: float  # das próprias imagens de teste
    blurred_confident: float
    prior_recall: float
    mixture_recall: float
    blurred_recall: float
    gain: float  # mistura − prior, em fração lida com confiança
    gain_se: float
    mixture_vs_prior: Compared


def sampling(scores: dict[str, dict], test_confident: float) -> Sampling:
    """O que as medidas de qualidade dizem das médias decodificadas, com `scores` de `quality.measure_images`
    nas chaves real, reconstructions, mixture, prior, blurred."""
    frechet = {name: m["frechet_distance"] for name, m in scores.items()}
    confident = {name: m["confident_fraction"] for name, m in scores.items()}
    recall = {name: m["recall"] for name, m in scores.items()}
    gain = confident["mixture"] - confident["prior"]
    se = float(np.sqrt(sum(confident[s] * (1 - confident[s]) / scores[s]["n"] for s in ("mixture", "prior"))))
    return Sampling(scores["real"]["n"], frechet["real"], frechet["reconstructions"], frechet["mixture"],
                    frechet["prior"], frechet["blurred"], confident["prior"], confident["mixture"],
                    confident["reconstructions"], test_confident, confident["blurred"], recall["prior"],
                    recall["mixture"], recall["blurred"], gain, se, compare(gain, se))  # fmt: skip


MIN_BIN = 20  # amostras de cada fonte para comparar as duas numa faixa (erro padrão de até 11 pontos)
POINTS_PER_BIN = 1000  # amostras das duas fontes juntas por faixa de densidade, até 10 faixas (decis)


class Density(Enum):
    NOT_EXPLAINED = auto()  # na mesma densidade de q(z), a mistura é mais legível em toda faixa comparável
    EXPLAINED = auto()  # em nenhuma faixa comparável a mistura é mais legível: a densidade explica a vantagem
    PARTLY = auto()  # em algumas faixas sim, em outras não
    DISJOINT = auto()  # as duas fontes não dividem nenhuma faixa de densidade: não há como comparar


@dataclass(frozen=True)
class Holes:
    bins: int  # faixas (decis de log q(z) das duas fontes juntas) com amostras bastantes das duas
    better_bins: int  # delas, as em que a mistura é mais legível além de dois erros padrão
    prior_low: float  # legibilidade do prior na faixa comparável de menor densidade
    mixture_low: float
    prior_high: float  # e na de maior
    mixture_high: float
    prior_median: float  # mediana de log q(z) nos z do prior
    mixture_median: float  # e nos da mistura
    verdict: Density


def density_edges(prior_log_q: np.ndarray, mixture_log_q: np.ndarray) -> np.ndarray:
    """As faixas de densidade: quantis de log q(z) das duas fontes juntas, decis quando há amostras para
    isso (`POINTS_PER_BIN` por faixa), ao menos duas."""
    pooled = np.concatenate([prior_log_q, mixture_log_q])
    bins = int(np.clip(len(pooled) // POINTS_PER_BIN, 2, 10))
    return np.quantile(pooled, np.linspace(0, 1, bins + 1))


def holes(prior: tuple[np.ndarray, np.ndarray], mixture: tuple[np.ndarray, np.ndarray]) -> Holes:
    """A densidade da posterior agregada explica por que a mistura dá médias mais legíveis que o *prior*?
    `prior`, `mixture`: (log q(z), lida com confiança) de cada amostra. Compara as duas fontes na mesma
    densidade: por faixas de log q(z) das duas juntas (`density_edges`), onde cada uma tem ao menos `MIN_BIN`
    amostras."""
    from vae_tools.analysis import binned

    edges = density_edges(prior[0], mixture[0])
    (pm, ps, pn), (mm, ms, mn) = binned(*prior, edges), binned(*mixture, edges)
    ok = np.flatnonzero((pn >= MIN_BIN) & (mn >= MIN_BIN))
    medians = float(np.median(prior[0])), float(np.median(mixture[0]))
    if not len(ok):
        return Holes(0, 0, *[float("nan")] * 4, *medians, Density.DISJOINT)
    better = [compare(mm[i] - pm[i], float(np.hypot(ps[i], ms[i]))) is Compared.BETTER for i in ok]
    verdict = Density.NOT_EXPLAINED if all(better) else Density.EXPLAINED if not any(better) else Density.PARTLY
    low, high = ok[0], ok[-1]
    return Holes(len(ok), sum(better), float(pm[low]), float(mm[low]), float(pm[high]), float(mm[high]), *medians,
                 verdict)  # fmt: skip


@dataclass(frozen=True)
class Bound:
    k1_minus_elbo: float  # limite com k = 1 − ELBO (KL fechada), pareado
    k1_minus_elbo_se: float
    gain_10: float  # k = 10 − k = 1, pareado
    gain_100: float  # k = 100 − k = 10
    gain_large: float  # k grande − k = 100, no subconjunto menor
    gain_large_se: float
    gap: float  # k grande − k = 1 (no subconjunto menor): um limite inferior da folga do ELBO
    gap_se: float
    shrinking: bool  # cada década de k rende menos que a anterior
    k: int  # o k grande
    images: int  # imagens das estimativas com k até 100
    large_images: int  # imagens do k grande
    large_bound: float  # o limite médio com o k grande


def bound(elbo: np.ndarray, iwae: dict[int, np.ndarray], iwae_large: dict[int, np.ndarray], large_k: int) -> Bound:
    """O limite de importância: quanto cada década de k rende acima do ELBO (erros pareados). Um limite
    inferior que para de subir não mostra quanto ainda falta até log p(x): só que a folga é pelo menos o gap."""
    k1 = paired_difference(iwae[1], elbo)
    gains = [paired_difference(iwae[10], iwae[1])[0], paired_difference(iwae[100], iwae[10])[0]]
    large = paired_difference(iwae_large[large_k], iwae_large[100])
    gap = paired_difference(iwae_large[large_k], iwae_large[1])
    shrinking = gains[0] > gains[1] > large[0]
    top = iwae_large[large_k]
    return Bound(*k1, *gains, *large, *gap, shrinking, large_k, len(elbo), len(top), float(top.mean()))


@dataclass(frozen=True)
class Units:
    active: int
    dims: int
    top5_share: float  # fração da KL nas 5 dimensões de mais KL
    even_share: float  # a mesma fração se a KL fosse igual em todas (5/d)
    inactive_kl: float  # KL somada das inativas
    any_inactive: bool


def units(kl_dims: np.ndarray, active: np.ndarray) -> Units:
    top5 = np.sort(kl_dims)[::-1][:5].sum() / kl_dims.sum()
    even = min(5, len(active)) / len(active)
    return Units(
        int(active.sum()), len(active), float(top5), even, float(kl_dims[~active].sum()), bool((~active).any())
    )


@dataclass(frozen=True)
class Sweep:
    rho: float  # Spearman entre a KL de cada dimensão e quanto varrê-la muda a imagem
    p_value: float
    starts: int  # imagens de partida da medida
    most: float  # a maior mudança média (níveis de cinza por pixel) entre as dimensões
    least: float
    orders: bool  # a KL ordena a mudança (ρ > 0 com p < SIGNIFICANCE)


def sweep(kl_dims: np.ndarray, change: np.ndarray, starts: int) -> Sweep:
    """`change`: a mudança média de ponta a ponta da varredura de cada dimensão, sobre `starts` imagens; a KL
    ordena a mudança se a correlação de postos é positiva com p < `SIGNIFICANCE`."""
    from scipy.stats import spearmanr

    result = spearmanr(kl_dims, change)
    rho, p = float(result.statistic), float(result.pvalue)
    return Sweep(rho, p, starts, float(change.max()), float(change.min()), rho > 0 and p < SIGNIFICANCE)


@dataclass(frozen=True)
class Interpolation:
    pairs: int
    latent_ghost: float  # tinta fantasma média (`analysis.ghost_ink`) do caminho latente
    pixel_ghost: float  # da mistura de pixels entre as mesmas pontas
    ghost_difference: float  # pixels − latente
    ghost_se: float  # pareado por par de pontas
    latent_real: float  # fração dos pontos intermediários com cara de dígito real (`quality.realistic`)
    pixel_real: float
    real_difference: float  # latente − pixels, pareado por par
    real_se: float
    verdict: Compared  # BETTER: o caminho latente tem menos tinta fantasma


def interpolation(ghosts: tuple[np.ndarray, np.ndarray], real: tuple[np.ndarray, np.ndarray]) -> Interpolation:
    """`ghosts`: a tinta fantasma de cada par (latente, pixels); `real`: (pares, pontos) booleanos (idem)."""
    diff, se = paired_difference(ghosts[1], ghosts[0])
    real_diff = paired_difference(real[0].mean(1), real[1].mean(1))
    return Interpolation(len(ghosts[0]), float(ghosts[0].mean()), float(ghosts[1].mean()), diff, se,
                         float(real[0].mean()), float(real[1].mean()), *real_diff, compare(diff, se))  # fmt: skip


@dataclass(frozen=True)
class Latent2D:
    central: float  # meia largura do quadrado central de 90 % por eixo da N(0, 1)
    in_central: float  # fração dos μ nesse quadrado
    prior_central: float  # a massa do prior nele
    var1: float  # variância da posterior agregada em cada eixo
    var2: float
    loss_2d: float
    loss_main: float
    extra: float
    knn_2d: float
    knn_main: float  # o mesmo classificador de vizinhos nos μ do modelo principal
    dims: int  # as dimensões do modelo principal
    spread_wider: bool  # μ mais espalhados que o prior


def latent_2d(mu: np.ndarray, logvar: np.ndarray, losses: tuple, knn: tuple, dims: int) -> Latent2D:
    """O VAE 2-D contra o *prior* e contra o modelo principal: `losses` e `knn` são (2-D, principal)."""
    from vae_tools.analysis import normal_quantiles, prior_mass

    central = float(normal_quantiles(2)[1])  # o intervalo central de 90 % da N(0, 1) em cada eixo
    in_central = float((np.abs(mu) <= central).all(axis=1).mean())
    prior_central = prior_mass([-central] * 2, [central] * 2)
    var = mu.var(axis=0) + np.exp(logvar).mean(axis=0)  # Var[z] = Var(μ) + E σ² (lei da variância total)
    return Latent2D(central, in_central, prior_central, float(var[0]), float(var[1]), losses[0], losses[1],
                    losses[0] - losses[1], knn[0], knn[1], dims, in_central < prior_central)  # fmt: skip


# ---------------------------------------------------------------- o laboratório

CONFIDENCE_LEVEL = 0.95  # o nível dos limiares e dos intervalos do laboratório
COLLAPSED_KL = 1.0  # nats: a taxa limita I(X; Z) por cima, e menos de 1 nat não distingue nem três imagens
LABEL_FIXES = 0.9  # nove em cada dez imagens lidas como o dígito pedido: o rótulo fixa o dígito


@dataclass(frozen=True)
class Yardstick:
    """A régua do ruído: o desvio-padrão `sd` de uma medida entre execuções que só mudam a semente (`seeds`
    delas, `df` = seeds − 1 graus de liberdade) e o limiar t · sd · √2 para a diferença entre duas execuções
    de uma semente cada — supondo que toda configuração varie com a semente como a referência."""

    seeds: int
    sd: float
    df: int
    t: float
    threshold: float


def yardstick(values) -> Yardstick:
    values = np.asarray(values, dtype=np.float64)
    if len(values) < 2:
        raise ValueError("A régua do ruído precisa de pelo menos duas sementes (SEEDS).")
    sd, df = float(values.std(ddof=1)), len(values) - 1
    t = float(stats.t.ppf(0.5 + CONFIDENCE_LEVEL / 2, df))
    return Yardstick(len(values), sd, df, t, float(t * sd * np.sqrt(2)))


def versus(value: float, reference: float, stick: Yardstick, lower_is_better: bool = True) -> Compared:
    """Uma execução contra outra numa medida: melhor ou pior só além do limiar da régua; senão, empate."""
    difference = value - reference
    if abs(difference) <= stick.threshold:
        return Compared.TIE
    return Compared.BETTER if (difference < 0) == lower_is_better else Compared.WORSE


@dataclass(frozen=True)
class TwoConfigurations:
    """Duas configurações com as mesmas sementes: a diferença das médias (a − b), o seu intervalo de 95 %
    (Welch) e o veredicto (empate quando o intervalo contém o zero)."""

    difference: float
    low: float
    high: float
    verdict: Compared


def two_configurations(a, b, lower_is_better: bool = True) -> TwoConfigurations:
    test = stats.ttest_ind(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), equal_var=False)
    interval = test.confidence_interval(CONFIDENCE_LEVEL)
    difference = float(np.mean(a) - np.mean(b))
    if interval.low <= 0 <= interval.high:
        verdict = Compared.TIE
    else:
        verdict = Compared.BETTER if (difference < 0) == lower_is_better else Compared.WORSE
    return TwoConfigurations(difference, float(interval.low), float(interval.high), verdict)


@dataclass(frozen=True)
class LatentSizes:
    best: int  # o z de menor −ELBO de teste
    best_loss: float
    tied: int  # quantos outros z empatam com ele (dentro do limiar)
    bce_best: int  # o z de menor BCE
    largest: int
    bce_rise: float  # BCE do maior z − a menor BCE
    bce_reversal: bool  # a BCE volta a subir além do limiar depois do mínimo
    active_largest: int  # dimensões ativas do maior z
    inactive_dims: bool  # o maior z tem dimensões inativas
    gap_change: float  # lacuna teste − treino do maior z − a do z de menor −ELBO
    gap: Compared  # a lacuna do maior z contra a do melhor (régua da lacuna)


def latent_sizes(sizes, loss, bce, gap, active, sticks: dict[str, Yardstick]) -> LatentSizes:
    sizes, loss, bce, gap = (np.asarray(v) for v in (sizes, loss, bce, gap))
    best, low, top = int(np.argmin(loss)), int(np.argmin(bce)), int(np.argmax(sizes))
    tied = sum(versus(value, loss[best], sticks["test_loss"]) is Compared.TIE for value in loss) - 1
    rise = float(bce[top] - bce[low])
    return LatentSizes(
        int(sizes[best]), float(loss[best]), tied, int(sizes[low]), int(sizes[top]), rise,
        top != low and rise > sticks["test_bce"].threshold, int(active[top]), int(active[top]) < int(sizes[top]),
        float(gap[top] - gap[best]),
        versus(gap[top], gap[best], sticks["gap"]),
    )  # fmt: skip


@dataclass(frozen=True)
class RateDistortion:
    pairs: int  # pares de β vizinhos
    consistent: int  # pares cujo −ΔD/ΔR fica entre os seus dois β, como a inclinação −β da fronteira prevê
    best_beta: float  # o β de menor −ELBO
    one: Compared  # o β = 1: o melhor (BETTER), empatado com o melhor (TIE) ou atrás dele (WORSE)
    gap_low: float  # folga do limite de importância no menor e no maior β
    gap_high: float
    gap_rho: float  # Spearman entre β e a folga
    gap_p: float
    on_frontier: bool  # todos os pares de acordo com a inclinação −β
    gap_grows: bool  # a folga cresce com β (Spearman positivo e significativo)


def rate_distortion(betas, rate, distortion, loss, iwae_gap, stick: Yardstick) -> RateDistortion:
    order = np.argsort(betas)
    betas, rate, distortion, loss, iwae_gap = (np.asarray(v, dtype=np.float64)[order] for v in
                                               (betas, rate, distortion, loss, iwae_gap))  # fmt: skip
    slopes = -np.diff(distortion) / np.diff(rate)
    consistent = int(((slopes >= betas[:-1]) & (slopes <= betas[1:])).sum())
    best = int(np.argmin(loss))
    one = np.flatnonzero(betas == 1.0)
    if len(one) and one[0] == best:
        where_one = Compared.BETTER
    else:
        where_one = (
            Compared.TIE if len(one) and versus(loss[one[0]], loss[best], stick) is Compared.TIE else Compared.WORSE
        )
    rho = stats.spearmanr(betas, iwae_gap)
    grows = bool(rho.statistic > 0 and rho.pvalue < SIGNIFICANCE)
    gaps = float(iwae_gap[0]), float(iwae_gap[-1])
    return RateDistortion(len(slopes), consistent, float(betas[best]), where_one, *gaps, float(rho.statistic),
                          float(rho.pvalue), consistent == len(slopes), grows)  # fmt: skip


@dataclass(frozen=True)
class Collapse:
    kl: float  # a KL de teste (a taxa, nats por imagem)
    active: int  # dimensões ativas
    collapsed: bool  # a taxa abaixo de `COLLAPSED_KL`


def collapse(kl: float, active: int) -> Collapse:
    return Collapse(float(kl), int(active), kl < COLLAPSED_KL)


def collapse_epoch(rates) -> int:
    """A primeira época (1, 2, …) com a taxa abaixo de `COLLAPSED_KL`; 0 se nunca caiu."""
    below = np.flatnonzero(np.asarray(rates) < COLLAPSED_KL)
    return int(below[0]) + 1 if len(below) else 0


@dataclass(frozen=True)
class Conditional:
    kl_drop: float  # KL do sem rótulo − do condicional (médias das sementes)
    kl_low: float  # intervalo de 95 % da queda
    kl_high: float
    label_entropy: float  # H(Y): o teto de I(Z; Y), o que o código podia guardar sobre o dígito
    beyond_label: float  # quanto o limite inferior da queda passa do teto (≥ 0): não pode ser o dígito
    knn_conditional: float  # acerto de 5 vizinhos lendo o dígito em μ, do condicional e do sem rótulo
    knn_plain: float
    chance: float  # o acerto de quem chuta a classe mais frequente
    still_carries: Compared  # o acerto do condicional contra o chute (dois erros padrão binomiais)


def conditional(kl_plain, kl_cond, labels: np.ndarray, knn: tuple[np.ndarray, np.ndarray]) -> Conditional:
    """`knn`: acerto (booleano por imagem de teste) dos 5 vizinhos nos μ do condicional e do sem rótulo."""
    drop = two_configurations(kl_plain, kl_cond, lower_is_better=False)
    frequencies = np.bincount(labels) / len(labels)
    entropy, chance, hits = float(-(frequencies * np.log(frequencies)).sum()), float(frequencies.max()), knn[0].mean()
    carries = compare(hits - chance, float(np.sqrt(chance * (1 - chance) / len(knn[0]))))
    return Conditional(drop.difference, drop.low, drop.high, entropy, max(0.0, drop.low - entropy),
                       float(hits), float(knn[1].mean()), chance, carries)  # fmt: skip


@dataclass(frozen=True)
class WhatKLBuys:
    bce_ae: float  # BCE de teste decodificando o código (μ), do autoencoder e do VAE
    bce_vae: float
    fd_real: float  # distâncias de Fréchet: imagens reais de validação (a âncora) e médias do decodificador
    fd_vae_prior: float
    fd_ae_prior: float
    fd_ae_mixture: float
    fd_vae_mixture: float
    reconstruction: Compared  # a BCE do autoencoder contra a do VAE (régua da BCE de μ)
    ae_prior: Compared  # o autoencoder com z ~ N(0, I) contra o VAE com z ~ N(0, I) (régua da Fréchet)
    ae_mixture: Compared  # o autoencoder com z da mistura contra o VAE com z da mesma mistura


def what_kl_buys(bce: tuple[float, float], frechet: dict[str, float], sticks: dict[str, Yardstick]) -> WhatKLBuys:
    """`bce`: a de μ do autoencoder e a do VAE; `frechet`: as distâncias de "real", "vae_prior", "ae_prior",
    "ae_mixture" e "vae_mixture"; `sticks`: as réguas "bce_mu" e "fd"."""
    f, fd = frechet, sticks["fd"]
    return WhatKLBuys(bce[0], bce[1], f["real"], f["vae_prior"], f["ae_prior"], f["ae_mixture"], f["vae_mixture"],
                      versus(bce[0], bce[1], sticks["bce_mu"]), versus(f["ae_prior"], f["vae_prior"], fd),
                      versus(f["ae_mixture"], f["vae_mixture"], fd))  # fmt: skip


@dataclass(frozen=True)
class Style:
    read: float  # fração das imagens geradas lida como o rótulo pedido
    slant_correlation: float  # inclinação da original × inclinação das geradas com outros rótulos (Pearson)
    transfers: bool  # correlação positiva e significativa: o estilo passa para os outros dígitos
    label_fixes: bool  # o rótulo pedido é lido em pelo menos `LABEL_FIXES` das imagens


def style(read, asked, source_slant: np.ndarray, generated_slant: np.ndarray, other: np.ndarray) -> Style:
    """`generated_slant`: (n, rótulos), cada linha gerada do z de uma original de inclinação `source_slant`;
    `other`: (n, rótulos), verdadeiro nos rótulos diferentes do da original (a correlação só usa esses: com o
    próprio rótulo, a imagem gerada é uma reconstrução)."""
    sources = np.broadcast_to(np.asarray(source_slant)[:, None], generated_slant.shape)
    test = stats.pearsonr(sources[other], generated_slant[other])
    fraction = float((read == asked).mean())
    return Style(fraction, float(test.statistic), bool(test.statistic > 0 and test.pvalue < SIGNIFICANCE),
                 fraction >= LABEL_FIXES)  # fmt: skip


@dataclass(frozen=True)
class Ranking:
    configurations: int
    rho: float  # Spearman entre −ELBO e a distância de Fréchet, sobre configurações distintas
    low: float  # intervalo de 95 % por reamostragem (bootstrap das configurações)
    high: float
    agrees: bool  # o intervalo inteiro acima de zero


def ranking(elbo, frechet, seed: int) -> Ranking:
    pairs = (np.asarray(elbo, dtype=np.float64), np.asarray(frechet, dtype=np.float64))
    rho = stats.spearmanr(*pairs).statistic
    interval = stats.bootstrap(pairs, lambda a, b: stats.spearmanr(a, b).statistic, paired=True, vectorized=False,
                               n_resamples=2000, method="percentile", rng=seed).confidence_interval  # fmt: skip
    return Ranking(len(pairs[0]), float(rho), float(interval.low), float(interval.high), bool(interval.low > 0))


@dataclass(frozen=True)
class Curves:
    steepest: float  # a maior queda média da validação por época nas 5 últimas épocas, entre os modelos
    flattest: float
    still_falling: int  # modelos cuja validação ainda cai nas 5 últimas épocas
    models: int


def curves(val_losses: list, window: int = 5) -> Curves:
    """A queda média por época da validação nas últimas `window` épocas (menos, se o treino for mais curto)."""
    falls = np.array([(v[-1 - w] - v[-1]) / w if (w := min(window, len(v) - 1)) else 0.0 for v in val_losses])
    return Curves(float(falls.max()), float(falls.min()), int((falls > 0).sum()), len(falls))
