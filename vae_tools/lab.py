"""O laboratório: as execuções que comparam tamanho latente, β e arquitetura, cada uma treinada uma
vez só (os checkpoints por configuração são o cache) e medida do mesmo jeito."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

import vae_core as vc
from vae_tools import analysis, checkpoints, quality, training
from vae_tools import classifier as digits
from vae_tools.checkpoints import RunPlan
from vae_tools.figures import br_number

# o que todas as execuções do laboratório compartilham (as comparações mudam só LATENT_DIM, BETA e ARCH)
SHARED = ("NUM_EPOCHS", "BATCH_SIZE", "HIDDEN_DIM", "LEARNING_RATE", "SEED", "VAL_SIZE", "TRAIN_SIZE", "CHECKPOINT_DIR")
FIXED = {"CHECKPOINT_PATH": None, "RESUME": False, "SKIP_TRAINING": False, "BINARIZE": False}


@dataclass
class Run:
    """Uma execução do laboratório: os parâmetros do treino, o seu plano e, depois, modelo e resultados."""

    params: dict
    plan: RunPlan
    model: vc.VAE | None = None
    history: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    details: dict = field(default_factory=dict)  # vetores: por imagem ("elbo", "iwae") e por dimensão ("kl_dims")

    @property
    def name(self) -> str:
        return self.plan.path.stem

    @property
    def conditional(self) -> bool:
        """O VAE condicional recebe o rótulo de cada imagem (no treino, na avaliação e para gerar)."""
        return self.params["ARCH"] == "cvae"


@dataclass
class Split:
    """A partição de uma semente: imagens e rótulos de treino e de validação (o teste é o mesmo para todas)."""

    train_x: torch.Tensor
    val_x: torch.Tensor
    train_y: torch.Tensor
    val_y: torch.Tensor


def plan_lab(p: dict) -> tuple[dict[str, Run], dict[str, list[str]]]:
    """As execuções (sem repetição: o modelo clássico com z = 20 e β = 1 entra nas três comparações)
    e, para cada comparação ("latente", "beta", "arquitetura"; "sementes": a configuração de referência,
    z = `BETA_LATENT_DIM`, β = 1, "mlp", com `SEED` e cada semente de `SEEDS`; "condicional": para cada z de
    `CONDITIONAL_LATENT_SIZES`, o VAE condicional e o "mlp" sem rótulo), os nomes das suas execuções.
    Cada plano é decidido aqui, antes de qualquer treino: um checkpoint ilegível ou uma pasta que não
    pode ser gravada param o laboratório já na primeira célula."""
    base = {key: p[key] for key in SHARED} | FIXED | {"ARCH": "mlp", "BETA": 1.0}
    variants = {
        "latente": [{"LATENT_DIM": z} for z in p["LATENT_SIZES"]],
        "beta": [{"LATENT_DIM": p["BETA_LATENT_DIM"], "BETA": b} for b in p["BETAS"]],
        "arquitetura": [{"LATENT_DIM": p["ARCH_LATENT_DIM"], "ARCH": a} for a in p["ARCHS"]],
        "sementes": [{"LATENT_DIM": p["BETA_LATENT_DIM"], "SEED": s} for s in dict.fromkeys([p["SEED"], *p["SEEDS"]])],
        "condicional": [{"LATENT_DIM": z, "ARCH": a} for z in p["CONDITIONAL_LATENT_SIZES"] for a in ("cvae", "mlp")],
    }
    runs, groups = {}, {}
    for group, changes in variants.items():
        groups[group] = []
        for change in changes:
            params = base | change
            plan = checkpoints.plan_run(params)
            runs.setdefault(plan.path.stem, Run(params, plan))
            groups[group].append(plan.path.stem)
    return runs, groups


def train_all(runs: dict[str, Run], splits: dict[int, Split], device, progress: bool = True):
    """Treina (ou continua, ou só carrega) cada execução, uma depois da outra, com uma barra sobre as
    execuções. `splits[semente]` é a partição daquela semente: como no relatório, a semente de uma
    configuração decide a partição, os pesos iniciais e os lotes. Um Ctrl+C para o laboratório depois de
    salvar a época em curso: rodar de novo continua."""
    bar = training.Progress(len(runs), enabled=progress, description="Execuções")
    try:
        for run in runs.values():
            split = splits[run.params["SEED"]]
            labels = (split.train_y, split.val_y) if run.conditional else None
            run.model, optimizer = training.build(run.params, device)
            run.history = training.train(
                run.plan, run.model, optimizer, split.train_x, split.val_x, progress=False, labels=labels
            )
            if len(run.history["train_loss"]) < run.plan.num_epochs:
                raise KeyboardInterrupt(f"laboratório interrompido em {run.name}; rode de novo para continuar")
            bar.advance(run.name)
    finally:
        bar.close()


def measure(run: Run, split: Split, test_x, test_y, iwae_k: int, iwae_size: int, seed: int) -> dict:
    """As medidas de uma execução treinada, todas com a mesma semente: −ELBO, BCE e KL no teste, −ELBO no
    treino e a diferença teste − treino, unidades ativas, KL por dimensão, e nas `iwae_size` primeiras
    imagens de teste o limite de importância com `iwae_k` amostras, o ELBO e a folga entre os dois (média
    e erro pareado; os vetores por imagem e por dimensão ficam em `run.details`); parâmetros e custo. O VAE
    condicional é medido com os rótulos verdadeiros (limites de log p(x|y))."""
    model, history = run.model, run.history
    y_test, y_train = (test_y, split.train_y) if run.conditional else (None, None)
    torch.manual_seed(seed)
    test, train = vc.evaluate(model, test_x, y=y_test), vc.evaluate(model, split.train_x, y=y_train)
    mu, logvar = vc.encode_dataset(model, test_x, y=y_test)
    subset = None if y_test is None else y_test[:iwae_size]
    elbo = analysis.elbo_per_image(model, test_x[:iwae_size], subset)
    iwae = analysis.iwae_bound(model, test_x[:iwae_size], iwae_k, y=subset)
    iwae_gap, iwae_gap_se = analysis.paired_difference(iwae, elbo)
    run.details = {"elbo": elbo, "iwae": iwae, "kl_dims": analysis.kl_per_dimension(mu, logvar)}
    seconds = history["seconds"]
    run.metrics = {
        "test_loss": test["loss"],
        "test_bce": test["bce"],
        "test_kl": test["kl"],
        "train_loss": train["loss"],
        "gap": test["loss"] - train["loss"],
        "active": int(analysis.active_units(mu).sum()),
        "iwae": float(iwae.mean()),
        "elbo_subset": float(elbo.mean()),
        "iwae_gap": iwae_gap,
        "iwae_gap_se": iwae_gap_se,
        "parameters": vc.count_parameters(model),
        "epochs": len(history["train_loss"]),
        "seconds": sum(seconds),
        "seconds_per_epoch": sum(seconds) / len(seconds),
    }
    return run.metrics


def compare(runs: dict[str, Run], names: list[str], parameter: str) -> tuple[list[Run], list, dict[str, np.ndarray]]:
    """Uma comparação: as suas execuções em ordem, o valor do parâmetro que muda entre elas e cada
    medida que todas têm como um vetor (uma posição por execução)."""
    chosen = [runs[name] for name in names]
    common = [key for key in chosen[0].metrics if all(key in run.metrics for run in chosen)]
    metrics = {key: np.array([run.metrics[key] for run in chosen]) for key in common}
    return chosen, [run.params[parameter] for run in chosen], metrics


def noise_band(runs: dict[str, Run], names: list[str], metric: str) -> float:
    """A faixa de ruído de uma medida: máximo − mínimo entre as execuções que só mudam a semente.
    Uma diferença menor que ela entre duas configurações é um empate, não uma classificação."""
    values = [runs[name].metrics[metric] for name in names]
    return float(max(values) - min(values))


def ties(values: np.ndarray, band: float, best: int) -> list[int]:
    """As posições cujo valor fica a até `band` do valor da posição `best` (ela inclusive)."""
    return [i for i, value in enumerate(values) if abs(value - values[best]) <= band]


def measure_samples(run: Run, classifier, reference, n: int, seed: int, labels: torch.Tensor) -> dict:
    """A qualidade das amostras de uma execução (`n` imagens de z ~ N(0, I), com a semente), medida pelo
    classificador contra a referência das imagens de teste: distância de Fréchet, precisão, revocação e
    fração lida com confiança. O VAE condicional gera cada amostra do rótulo de `labels` (os do teste: as
    mesmas proporções)."""
    asked = labels[:n].cpu().numpy() if run.conditional else None
    images = torch.as_tensor(vc.sample_images(run.model, n, seed, asked)).reshape(n, -1)
    scores = quality.measure_images(classifier, images, reference)
    run.metrics |= {
        "fd": scores["frechet_distance"],
        "precision": scores["precision"],
        "recall": scores["recall"],
        "confident": scores["confident_fraction"],
    }
    return run.metrics


def conditional_quality(model, classifier, test_x, test_y, per_class: int, seed: int) -> dict:
    """`per_class` amostras de cada dígito pedido ao VAE condicional: a fração que o classificador lê como o
    dígito pedido (`accuracy`, e por dígito, `per_digit`) e a distância de Fréchet das amostras de cada
    dígito às primeiras `per_class` imagens de teste dele (`fd_per_digit`)."""
    asked = np.repeat(np.arange(vc.NUM_CLASSES), per_class)
    images = torch.as_tensor(vc.sample_images(model, len(asked), seed, asked)).reshape(len(asked), -1)
    features, logits = digits.embed(classifier, images)
    read, real, real_y = logits.argmax(1).numpy(), digits.embed(classifier, test_x)[0], test_y.cpu().numpy()
    return {
        "samples": len(asked),
        "accuracy": float((read == asked).mean()),
        "per_digit": np.array([(read[asked == d] == d).mean() for d in range(vc.NUM_CLASSES)]),
        "fd_per_digit": np.array(
            [
                quality.frechet_distance(real[real_y == d][:per_class], features[asked == d])
                for d in range(vc.NUM_CLASSES)
            ]
        ),
    }


def verdict(
    values, labels: list[str], band: float, lower_is_better: bool = True, decimals: int = 2, unit: str = ""
) -> str:
    """A melhor execução numa medida e as que empatam com ela dentro da faixa de ruído `band`, numa frase."""
    values = np.asarray(values)
    best = int(np.argmin(values) if lower_is_better else np.argmax(values))
    tied = [labels[i] for i in ties(values, band, best) if i != best]
    others = [label for i, label in enumerate(labels) if i != best]
    faixa = f"a faixa das sementes ({br_number(band, decimals)}{unit})"
    if tied:
        return f"{labels[best]}, empatada com {', '.join(tied)} dentro d{faixa}"
    return f"{labels[best]}, à frente de {', '.join(others)} por mais que {faixa}"
