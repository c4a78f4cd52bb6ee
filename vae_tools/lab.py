"""O laboratório: as execuções que comparam tamanho latente, β e arquitetura, cada uma treinada uma
vez só (os checkpoints por configuração são o cache) e medida do mesmo jeito."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import torch

import vae_core as vc
from vae_tools import analysis, checkpoints, findings, mnist, quality, training
from vae_tools import classifier as digits
from vae_tools.checkpoints import RunPlan
from vae_tools.figures import br_number, markdown_table

# o que todas as execuções do laboratório compartilham (cada comparação muda só o que ela estuda)
SHARED = ("NUM_EPOCHS", "BATCH_SIZE", "HIDDEN_DIM", "LEARNING_RATE", "SEED", "VAL_SIZE", "TRAIN_SIZE", "CHECKPOINT_DIR")
FIXED = {"CHECKPOINT_PATH": None, "RESUME": False, "SKIP_TRAINING": False, "BINARIZE": False}
MONITOR_SIZE = 2000  # imagens de validação em que a KL por dimensão é medida a cada época
CHAPTER_ARCHS = ("mlp", "conv")  # as arquiteturas que o capítulo aceita


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

    @property
    def split_key(self) -> tuple:
        """Os dados da execução: semente (a partição), imagens de treino e binarização."""
        return self.params["SEED"], self.params["TRAIN_SIZE"], self.params["BINARIZE"]


@dataclass
class Split:
    """Os dados de uma execução: treino e validação da sua partição e o teste (o mesmo para todas; binarizado
    com uma amostra fixa nas execuções binarizadas)."""

    train_x: torch.Tensor
    val_x: torch.Tensor
    train_y: torch.Tensor
    val_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor


def load_split(data_dir, key: tuple, val_size: int, device) -> Split:
    """A partição `key` (semente, imagens de treino, binarização) no dispositivo."""
    seed, train_size, binarize = key
    data = mnist.load_mnist(data_dir, val_size=val_size, train_size=train_size, seed=seed)
    val_x, test_x = mnist.to_model_input(data.val_x, device), mnist.to_model_input(data.test_x, device)
    if binarize:  # como no capítulo: uma amostra fixa na validação e no teste, uma nova a cada lote no treino
        val_x, test_x = mnist.binarize_fixed(val_x, seed), mnist.binarize_fixed(test_x, seed + 1)
    train_x = mnist.flatten_images(data.train_x, device)
    return Split(train_x, val_x, data.train_y.to(device), data.val_y.to(device), test_x, data.test_y.to(device))


def plan_lab(p: dict) -> tuple[dict[str, Run], dict[str, list[str]]]:
    """As execuções (sem repetição: o modelo clássico com z = 20 e β = 1 entra em várias comparações)
    e, para cada comparação, os nomes das suas execuções:

    - "latente", "beta", "arquitetura": cada valor de `LATENT_SIZES`, `BETAS` (z = `BETA_LATENT_DIM`), `ARCHS`;
    - "sementes": a referência (z = `BETA_LATENT_DIM`, β = 1, "mlp") com `SEED` e cada semente de `SEEDS`;
      "sementes_cvae" e "sementes_conv": as mesmas sementes no condicional (o primeiro z de
      `CONDITIONAL_LATENT_SIZES`) e no "conv" (z = `ARCH_LATENT_DIM`), porque esses veredictos comparam duas
      configurações;
    - "condicional": para cada z de `CONDITIONAL_LATENT_SIZES`, o VAE condicional e o "mlp" sem rótulo;
    - "autoencoder": o autoencoder sem KL ("ae") e a referência;
    - "colapso": a referência e o β escondido (`COLLAPSE_BETA`) sozinho, com aquecimento (`WARMUP_EPOCHS`) e
      com bits livres (`FREE_BITS`);
    - "pixelcnn": em MNIST binarizado com `PIXELCNN_TRAIN_SIZE` imagens de treino, o "mlp", o "pixelcnn" e o
      "pixelcnn" com bits livres.

    Cada plano é decidido aqui, antes de qualquer treino: um checkpoint ilegível ou uma pasta que não
    pode ser gravada param o laboratório já na primeira célula."""
    base = {key: p[key] for key in SHARED} | FIXED | {"ARCH": "mlp", "BETA": 1.0, "LATENT_DIM": p["BETA_LATENT_DIM"]}
    seeds = list(dict.fromkeys([p["SEED"], *p["SEEDS"]]))
    hidden = {"BETA": p["COLLAPSE_BETA"]}
    binarized = {"BINARIZE": True, "TRAIN_SIZE": p["PIXELCNN_TRAIN_SIZE"]}
    variants = {
        "latente": [{"LATENT_DIM": z} for z in p["LATENT_SIZES"]],
        "beta": [{"BETA": b} for b in p["BETAS"]],
        "arquitetura": [{"LATENT_DIM": p["ARCH_LATENT_DIM"], "ARCH": a} for a in p["ARCHS"]],
        "sementes": [{"SEED": s} for s in seeds],
        "condicional": [{"LATENT_DIM": z, "ARCH": a} for z in p["CONDITIONAL_LATENT_SIZES"] for a in ("cvae", "mlp")],
        "autoencoder": [{"ARCH": "ae", "BETA": 0.0}, {}],
        "colapso": [{}, hidden, hidden | {"WARMUP": p["WARMUP_EPOCHS"]}, hidden | {"FREE_BITS": p["FREE_BITS"]}],
        "pixelcnn": [
            binarized,
            binarized | {"ARCH": "pixelcnn"},
            binarized | {"ARCH": "pixelcnn", "FREE_BITS": p["FREE_BITS"]},
        ],
        "sementes_cvae": [{"LATENT_DIM": p["CONDITIONAL_LATENT_SIZES"][0], "ARCH": "cvae", "SEED": s} for s in seeds],
        "sementes_conv": [{"LATENT_DIM": p["ARCH_LATENT_DIM"], "ARCH": "conv", "SEED": s} for s in seeds],
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


def kl_monitor(run: Run, split: Split):
    """Callback que guarda, a cada época, a KL média de cada dimensão (`history["val_kl_dims"]`) e as unidades
    ativas (`history["val_active"]`) em `MONITOR_SIZE` imagens de validação: o colapso posterior visto ao longo
    do treino."""
    x, y = split.val_x[:MONITOR_SIZE], split.val_y[:MONITOR_SIZE] if run.conditional else None

    def record(epoch: int, history: dict):
        mu, logvar = vc.encode_dataset(run.model, x, y=y)
        history.setdefault("val_kl_dims", []).append(analysis.kl_per_dimension(mu, logvar).tolist())
        history.setdefault("val_active", []).append(int(analysis.active_units(mu).sum()))

    return record


def train_all(runs: dict[str, Run], splits: dict[tuple, Split], device, progress: bool = True):
    """Treina (ou continua, ou só carrega) cada execução, uma depois da outra, com uma barra sobre as
    execuções. `splits[run.split_key]` são os dados da execução: como no capítulo, a semente de uma
    configuração decide a partição, os pesos iniciais e os lotes. Um Ctrl+C para o laboratório depois de
    salvar a época em curso: rodar de novo continua."""
    bar = training.Progress(len(runs), enabled=progress, description="Execuções")
    try:
        for run in runs.values():
            split = splits[run.split_key]
            labels = (split.train_y, split.val_y) if run.conditional else None
            run.model, optimizer = training.build(run.params, device)
            # os modelos que o capítulo também treina (e pode reutilizar daqui) guardam as reconstruções por época
            # de 8 imagens de validação, como ele
            snapshot_x = split.val_x[:8] if run.params["ARCH"] in CHAPTER_ARCHS else None
            run.history = training.train(
                run.plan, run.model, optimizer, split.train_x, split.val_x, progress=False, labels=labels,
                snapshot_x=snapshot_x, monitors=[kl_monitor(run, split)],
            )  # fmt: skip
            if len(run.history["train_loss"]) < run.plan.num_epochs:
                raise KeyboardInterrupt(f"laboratório interrompido em {run.name}; rode de novo para continuar")
            bar.advance(run.name)
    finally:
        bar.close()


MEASURES_VERSION = 1  # mude quando o que `measure` ou `measure_samples` calculam mudar: os caches antigos caem
QUALITY_GROUPS = ("latente", "beta", "arquitetura", "sementes", "sementes_conv", "condicional", "autoencoder")
BOUND_GROUPS = ("latente", "beta")  # as comparações que mostram o limite de importância


def measure(run: Run, split: Split, iwae_k: int, iwae_size: int, seed: int, bound: bool) -> dict:
    """As medidas de uma execução treinada, todas com a mesma semente, no teste da sua partição: −ELBO, BCE e
    KL, −ELBO nas 10.000 primeiras imagens de treino e a diferença teste − treino, unidades ativas, KL por
    dimensão (em `run.details`) e, com `bound`, nas `iwae_size` primeiras imagens de teste a folga do limite de
    importância com `iwae_k` amostras sobre o ELBO (média e erro pareado); parâmetros e custo. O condicional é
    medido com os rótulos verdadeiros. O autoencoder não tem ELBO (só a BCE; o resto fica NaN, "—" nas tabelas)."""
    model, history = run.model, run.history
    y_test, y_train = (split.test_y, split.train_y[:10000]) if run.conditional else (None, None)
    torch.manual_seed(seed)
    test, train = vc.evaluate(model, split.test_x, y=y_test), vc.evaluate(model, split.train_x[:10000], y=y_train)
    mu, logvar = vc.encode_dataset(model, split.test_x, y=y_test)
    run.details = {"kl_dims": analysis.kl_per_dimension(mu, logvar)}
    seconds = history["seconds"]
    run.metrics = {
        "test_loss": test["loss"],
        "test_bce": test["bce"],
        "test_kl": test["kl"],
        "train_loss": train["loss"],
        "gap": test["loss"] - train["loss"],
        "active": int(analysis.active_units(mu).sum()),
        "iwae_gap": np.nan,
        "iwae_gap_se": np.nan,
        "parameters": vc.count_parameters(model),
        "epochs": len(history["train_loss"]),
        "seconds": sum(seconds),
        "seconds_per_epoch": sum(seconds) / len(seconds),
    }
    if run.params["ARCH"] == "ae":
        run.metrics |= {key: np.nan for key in ("test_loss", "test_kl", "train_loss", "gap")}
    elif bound:
        subset = None if y_test is None else y_test[:iwae_size]
        elbo = analysis.elbo_per_image(model, split.test_x[:iwae_size], subset)
        iwae = analysis.iwae_bound(model, split.test_x[:iwae_size], iwae_k, y=subset)
        run.metrics["iwae_gap"], run.metrics["iwae_gap_se"] = analysis.paired_difference(iwae, elbo)
    return run.metrics


def measure_all(runs: dict[str, Run], groups: dict, splits: dict, classifier, reference, p: dict):
    """Mede cada execução (`measure` e, nas comparações de `QUALITY_GROUPS`, `measure_samples`), ou lê as
    medidas guardadas ao lado do checkpoint (`<checkpoint>.medidas.json`, só números) quando elas vêm do mesmo
    arquivo, com os mesmos parâmetros de medida, o mesmo classificador e a mesma `MEASURES_VERSION`."""
    quality_runs = {name for group in QUALITY_GROUPS for name in groups[group]}
    bound_runs = {name for group in BOUND_GROUPS for name in groups[group]}
    fixed = {"version": MEASURES_VERSION, "classifier": digits.file_sha256(digits.CLASSIFIER_PATH)}
    fixed |= {name: p[name] for name in ("IWAE_K", "IWAE_SIZE", "QUALITY_SAMPLES", "SEED")}
    for run in runs.values():
        key = fixed | {"checkpoint": checkpoints.file_digest(run.plan.path), "bound": run.name in bound_runs,
                       "quality": run.name in quality_runs}  # fmt: skip
        cache = run.plan.path.with_suffix(".medidas.json")
        saved = json.loads(cache.read_text()) if cache.exists() else {}
        if saved.get("key") == key:
            run.metrics, run.details = saved["metrics"], {"kl_dims": np.array(saved["kl_dims"])}
            continue
        measure(run, splits[run.split_key], p["IWAE_K"], p["IWAE_SIZE"], p["SEED"], key["bound"])
        if key["quality"]:
            measure_samples(run, classifier, reference, p["QUALITY_SAMPLES"], p["SEED"], splits[run.split_key].test_y)
        record = {"key": key, "metrics": run.metrics, "kl_dims": run.details["kl_dims"].tolist()}
        checkpoints.write_text_atomically(cache, json.dumps(record, default=float))


def compare(runs: dict[str, Run], names: list[str], parameter: str) -> tuple[list[Run], list, dict[str, np.ndarray]]:
    """Uma comparação: as suas execuções em ordem, o valor do parâmetro que muda entre elas e cada
    medida que todas têm como um vetor (uma posição por execução)."""
    chosen = [runs[name] for name in names]
    common = [key for key in chosen[0].metrics if all(key in run.metrics for run in chosen)]
    metrics = {key: np.array([run.metrics[key] for run in chosen]) for key in common}
    return chosen, [run.params[parameter] for run in chosen], metrics


def yardsticks(runs: dict[str, Run], names: list[str]) -> dict[str, findings.Yardstick]:
    """A régua de cada medida, das execuções que só mudam a semente."""
    metrics = ("test_loss", "test_bce", "test_kl", "gap", "fd", "confident")
    return {key: findings.yardstick([runs[name].metrics[key] for name in names]) for key in metrics}


@torch.inference_mode()
def bce_of_means(model, x: torch.Tensor) -> float:
    """A BCE média por imagem decodificando o código μ de cada imagem (sem sortear z)."""
    mu = vc.encode_dataset(model, x)[0].to(x.device)
    return float(vc.reconstruction_bce(model.decode_logits(mu), vc.to_float(x)).mean())


def mixture_codes(model, train_x: torch.Tensor, n: int, components: int, seed: int) -> np.ndarray:
    """`n` códigos sorteados de uma mistura de `components` gaussianas ajustada aos μ de 10.000 imagens de
    treino (a estimação de densidade depois do treino de Ghosh et al., 2020)."""
    from sklearn.mixture import GaussianMixture

    mu = vc.encode_dataset(model, train_x[:10000])[0].numpy()
    mixture = GaussianMixture(components, covariance_type="full", random_state=seed).fit(mu)
    return analysis.sample_mixture(mixture, n, seed)


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


SUMMARY_HEADER = ["execução (checkpoint)", "arq.", "z", "β", "semente", "s de treino", "−ELBO teste", "BCE", "KL",
                  "ativas", "Fréchet", "precisão", "revocação", "confiança ≥ 0,9 (%)"]  # fmt: skip


def summary_table(runs: dict[str, Run], real_scores: dict) -> str:
    """A tabela (Markdown) de todas as execuções, abaixo da linha das imagens reais de validação (a âncora das
    medidas de qualidade); "—" onde a medida não se aplica ou não foi feita (o β do autoencoder, que não tem KL)."""
    real = (real_scores[key] for key in ("frechet_distance", "precision", "recall", "confident_fraction"))
    rows = [["imagens reais de validação (âncora)", *[""] * 9, *_quality_cells(*real)]]
    for run in runs.values():
        m, p = run.metrics, run.params
        beta = np.nan if p["ARCH"] == "ae" else p["BETA"]
        quality = (m.get(key, np.nan) for key in ("fd", "precision", "recall", "confident"))
        rows.append([f"`{run.name}`", p["ARCH"], p["LATENT_DIM"], br_number(beta, None), p["SEED"],
                     br_number(m["seconds"], 1), br_number(m["test_loss"], 2), br_number(m["test_bce"], 2),
                     br_number(m["test_kl"], 2), m["active"], *_quality_cells(*quality)])  # fmt: skip
    return markdown_table(SUMMARY_HEADER, rows)


def _quality_cells(frechet, precision, recall, confident) -> list[str]:
    """As quatro colunas de qualidade: Fréchet, precisão, revocação e a fração confiante em porcentagem."""
    return [br_number(frechet, 1), br_number(precision, 3), br_number(recall, 3), br_number(100 * confident, 1)]
