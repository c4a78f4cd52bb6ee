"""Parâmetros e ambiente: validação dos parâmetros dos notebooks, dispositivo, semente e threads."""

from __future__ import annotations

import math
import os
import random
from pathlib import Path

import numpy as np
import torch
import yaml

import vae_core as vc
from vae_tools.figures import br_number

REPO_ROOT = Path(__file__).resolve().parents[1]
MNIST_TRAIN_SIZE = 60_000
MNIST_TEST_SIZE = 10_000
TSNE_MIN_SAMPLES = 50  # o t-SNE precisa de mais pontos que a perplexidade (30)
QUALITY_MIN_SAMPLES = 100  # as medidas de qualidade: covariâncias de 128 atributos e vizinhos (k = 3)
DEVICES = ("auto", "cpu", "cuda", "mps")


class ParameterError(ValueError):
    """Parâmetro inválido; a mensagem diz qual, o valor recebido e o que é permitido."""


def reject(name: str, value, allowed: str):
    raise ParameterError(
        f"Parâmetro {name} inválido: recebido {value!r} ({type(value).__name__}); permitido: {allowed}."
    )


# ---------------------------------------------------------------- ambiente


def available_devices() -> list[str]:
    """Dispositivos que esta máquina tem de fato."""
    found = ["cpu"]
    if torch.cuda.is_available():
        found.append("cuda")
    if torch.backends.mps.is_available():
        found.append("mps")
    return found


def resolve_device(name: str = "auto") -> torch.device:
    """Traduz "auto"/"cpu"/"cuda"/"mps" em um `torch.device`; "auto" escolhe o mais rápido disponível."""
    found = available_devices()
    if name == "auto":
        return torch.device(found[-1] if len(found) > 1 else "cpu")
    if name not in found:
        raise ParameterError(
            f"Parâmetro DEVICE inválido: recebido {name!r}, mas não há {name.upper()} disponível nesta máquina; "
            f"permitido aqui: {', '.join(['auto', *found])}."
        )
    return torch.device(name)


def default_num_threads() -> int:
    """Número de núcleos que este processo pode usar."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


MMAP_THRESHOLD = 4 * 2**20  # blocos a partir de 4 MiB vêm do mmap e voltam ao sistema quando liberados


def return_big_blocks_to_the_system():
    """Fixa o limiar de mmap do alocador do C (glibc) em 4 MiB. Sem isso o limiar cresce sozinho até 32 MiB
    e os tensores grandes liberados ficam retidos no heap: medido no relatório, o pico de memória cai de
    1,44 para 1,16 GB. Os lotes do treino (menores) não mudam de caminho. Fora da glibc, não faz nada."""
    import ctypes
    import ctypes.util

    try:
        ctypes.CDLL(ctypes.util.find_library("c")).mallopt(-3, MMAP_THRESHOLD)  # -3: M_MMAP_THRESHOLD
    except (OSError, AttributeError, TypeError):
        pass


def seed_everything(seed: int, num_threads: int | None = None) -> int:
    """Semeia Python, NumPy e torch, fixa o número de threads (necessário para reprodutibilidade) e faz os
    blocos grandes de memória voltarem ao sistema quando liberados (`return_big_blocks_to_the_system`).

    Devolve o número de threads usado.
    """
    return_big_blocks_to_the_system()
    num_threads = num_threads or default_num_threads()
    torch.set_num_threads(num_threads)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return num_threads


# ---------------------------------------------------------------- conversões


def integer(name: str, value, low: int, high: int | None = None) -> int:
    """Inteiro em [low, high]; aceita texto com um inteiro (como o papermill pode passar)."""
    allowed = f"inteiro ≥ {low}" if high is None else f"inteiro entre {br_number(low)} e {br_number(high)}"
    number = None
    if isinstance(value, str):
        number = int(value.strip()) if value.strip().lstrip("+-").isdigit() else None
    elif isinstance(value, int | np.integer) and not isinstance(value, bool):
        number = int(value)
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    if number is None or number < low or (high is not None and number > high):
        reject(name, value, allowed)
    return number


def positive_float(name: str, value) -> float:
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        number = float("nan")
    if isinstance(value, bool) or not math.isfinite(number) or number <= 0:
        reject(name, value, "número finito > 0 (por exemplo 1e-3)")
    return number


def boolean(name: str, value) -> bool:
    if isinstance(value, bool):
        return value
    words = {"true": True, "sim": True, "yes": True, "false": False, "não": False, "nao": False, "no": False}
    if isinstance(value, str) and value.strip().lower() in words:
        return words[value.strip().lower()]
    reject(name, value, "True ou False (também 'sim'/'não', 'true'/'false')")


def parse_list(name: str, value, convert, allowed: str) -> list:
    """Lista não vazia e sem repetições, convertida elemento a elemento por `convert(name, item)`;
    aceita o texto de uma lista (`"[2, 20]"`, como `-p` do papermill entrega) além da lista do `-y`."""
    parsed = value
    if isinstance(value, str):
        try:
            parsed = yaml.safe_load(value)
        except yaml.YAMLError:
            pass
    if not isinstance(parsed, list | tuple) or not parsed:
        reject(name, value, f'uma lista não vazia de {allowed} (papermill: -y "{name}: [2, 20]")')
    items = []
    for item in parsed:
        try:
            items.append(convert(name, item))
        except ParameterError:
            reject(name, value, f"uma lista não vazia de {allowed}; o elemento {item!r} não é")
    if len(set(items)) < len(items):
        reject(name, value, f"uma lista de {allowed} sem repetições")
    return items


def optional_path(name: str, value):
    if value is not None and not isinstance(value, str | os.PathLike):
        reject(name, value, "None ou um caminho de pasta/arquivo")
    return value


# ---------------------------------------------------------------- os parâmetros do relatório


PARAMETER_NAMES = (
    "BATCH_SIZE", "NUM_EPOCHS", "LATENT_DIM", "HIDDEN_DIM", "ARCH", "BETA", "LEARNING_RATE", "SEED",
    "VAL_SIZE", "TRAIN_SIZE", "BINARIZE", "DATA_DIR", "DEVICE", "NUM_THREADS", "PROGRESS", "CHECKPOINT_DIR",
    "CHECKPOINT_PATH", "RESUME", "SKIP_TRAINING", "FIGURES_DIR", "SNAPSHOT_EVERY", "TSNE_SAMPLES", "N_SLIDERS",
    "EXPLORE_DIGIT", "EXPLORE_INDEX", "EXPLORE_MODE",
)  # fmt: skip


def validate_training(p: dict) -> dict:
    """Confere os parâmetros que definem um treino (modelo, dados, otimização, dispositivo)."""
    for name in ("BATCH_SIZE", "NUM_EPOCHS", "LATENT_DIM", "HIDDEN_DIM"):
        p[name] = integer(name, p[name], 1)
    if p["ARCH"] not in vc.ARCHITECTURES:
        reject("ARCH", p["ARCH"], " ou ".join(f'"{a}"' for a in vc.ARCHITECTURES))
    p["BETA"] = positive_float("BETA", p["BETA"])
    p["LEARNING_RATE"] = positive_float("LEARNING_RATE", p["LEARNING_RATE"])
    p["SEED"] = integer("SEED", p["SEED"], 0)
    p["VAL_SIZE"] = integer("VAL_SIZE", p["VAL_SIZE"], 1, MNIST_TRAIN_SIZE - 1)
    if p["TRAIN_SIZE"] is not None:
        p["TRAIN_SIZE"] = integer("TRAIN_SIZE", p["TRAIN_SIZE"], 1, MNIST_TRAIN_SIZE - p["VAL_SIZE"])
    if p["NUM_THREADS"] is not None:
        p["NUM_THREADS"] = integer("NUM_THREADS", p["NUM_THREADS"], 1)
    for name in ("PROGRESS", "RESUME", "SKIP_TRAINING", "BINARIZE"):
        p[name] = boolean(name, p[name])
    if p["RESUME"] and p["SKIP_TRAINING"]:
        reject("SKIP_TRAINING", True, "False quando RESUME=True (retomar treina; pular não treina)")
    if p["DEVICE"] not in DEVICES:
        reject("DEVICE", p["DEVICE"], ", ".join(DEVICES))
    resolve_device(p["DEVICE"])
    for name in ("DATA_DIR", "CHECKPOINT_DIR", "CHECKPOINT_PATH"):
        optional_path(name, p[name])
    return p


def unconditional(p: dict) -> dict:
    """O capítulo e a avaliação: só os VAEs "mlp" e "conv"; os outros modelos são do laboratório."""
    if p["ARCH"] not in ("mlp", "conv"):
        lab_only = ('"mlp" ou "conv" (o VAE condicional, "cvae", o autoencoder, "ae", e o decodificador '
                    'autorregressivo, "pixelcnn", ficam no laboratório)')  # fmt: skip
        reject("ARCH", p["ARCH"], lab_only)
    return p


def explore(p: dict) -> dict:
    """O ponto de partida das explorações: um exemplo de um dígito do teste."""
    p["EXPLORE_DIGIT"] = integer("EXPLORE_DIGIT", p["EXPLORE_DIGIT"], 0, 9)
    p["EXPLORE_INDEX"] = integer("EXPLORE_INDEX", p["EXPLORE_INDEX"], 0, MNIST_TEST_SIZE - 1)
    return p


def validate_params(params: dict) -> dict:
    """Confere e normaliza os parâmetros do capítulo (`vae_mnist`) antes de qualquer trabalho demorado.

    Aceita os valores como o papermill os entrega (inclusive texto) e devolve-os com os tipos
    certos. Um valor inválido levanta `ParameterError` com o nome, o valor e o que é permitido.
    """
    p = explore(unconditional(validate_training(dict(params))))
    p["TSNE_SAMPLES"] = integer("TSNE_SAMPLES", p["TSNE_SAMPLES"], TSNE_MIN_SAMPLES, MNIST_TEST_SIZE)
    p["N_SLIDERS"] = integer("N_SLIDERS", p["N_SLIDERS"], 1, p["LATENT_DIM"])
    if p["EXPLORE_MODE"] not in ("pca", "dims"):
        reject(
            "EXPLORE_MODE", p["EXPLORE_MODE"], '"pca" (componentes principais de μ) ou "dims" (dimensões de z por KL)'
        )
    p["SNAPSHOT_EVERY"] = integer("SNAPSHOT_EVERY", p["SNAPSHOT_EVERY"], 1)
    optional_path("FIGURES_DIR", p["FIGURES_DIR"])
    return p


# ---------------------------------------------------------------- os parâmetros da avaliação


EVALUATION_PARAMETER_NAMES = (
    "BATCH_SIZE", "NUM_EPOCHS", "LATENT_DIM", "HIDDEN_DIM", "ARCH", "BETA", "LEARNING_RATE", "SEED",
    "VAL_SIZE", "TRAIN_SIZE", "BINARIZE", "DATA_DIR", "DEVICE", "NUM_THREADS", "PROGRESS", "CHECKPOINT_DIR",
    "CHECKPOINT_PATH", "FIGURES_DIR", "QUALITY_SAMPLES", "MIXTURE_COMPONENTS", "IWAE_SIZE", "IWAE_LARGE_K",
    "IWAE_LARGE_SIZE", "EPOCHS_2D", "EXPLORE_DIGIT", "EXPLORE_INDEX",
)  # fmt: skip


def validate_evaluation_params(params: dict) -> dict:
    """Confere os parâmetros da avaliação (`avaliacao`): os do treino identificam o checkpoint do capítulo,
    que ela só lê (`SKIP_TRAINING`); `QUALITY_SAMPLES=None` segue o número de imagens de validação (a âncora
    real das medidas de qualidade: imagens que nem o VAE nem o classificador viram no treino)."""
    p = explore(unconditional(validate_training(dict(params) | {"RESUME": False, "SKIP_TRAINING": True})))
    p["IWAE_LARGE_K"] = integer("IWAE_LARGE_K", p["IWAE_LARGE_K"], 101)  # comparado com k = 100
    p["EPOCHS_2D"] = p["NUM_EPOCHS"] if p["EPOCHS_2D"] is None else integer("EPOCHS_2D", p["EPOCHS_2D"], 1)
    for name in ("IWAE_SIZE", "IWAE_LARGE_SIZE"):
        p[name] = integer(name, p[name], 1, MNIST_TEST_SIZE)
    most = min(MNIST_TEST_SIZE, p["VAL_SIZE"])  # a âncora são as imagens de validação
    if p["QUALITY_SAMPLES"] is None:
        p["QUALITY_SAMPLES"] = most
    p["QUALITY_SAMPLES"] = integer("QUALITY_SAMPLES", p["QUALITY_SAMPLES"], QUALITY_MIN_SAMPLES, most)
    p["MIXTURE_COMPONENTS"] = integer("MIXTURE_COMPONENTS", p["MIXTURE_COMPONENTS"], 1, 100)
    optional_path("FIGURES_DIR", p["FIGURES_DIR"])
    return p


# ---------------------------------------------------------------- os parâmetros do laboratório


LAB_PARAMETER_NAMES = (
    "LATENT_SIZES", "BETAS", "BETA_LATENT_DIM", "ARCHS", "ARCH_LATENT_DIM", "SEEDS", "CONDITIONAL_LATENT_SIZES",
    "CONDITIONAL_DIGIT", "NUM_EPOCHS", "BATCH_SIZE", "HIDDEN_DIM", "LEARNING_RATE", "SEED", "VAL_SIZE", "TRAIN_SIZE",
    "IWAE_K", "IWAE_SIZE", "QUALITY_SAMPLES", "COLLAPSE_BETA", "WARMUP_EPOCHS", "FREE_BITS", "PIXELCNN_TRAIN_SIZE",
    "DATA_DIR", "CHECKPOINT_DIR", "DEVICE", "NUM_THREADS", "PROGRESS", "FIGURES_DIR",
)  # fmt: skip


def validate_lab_params(params: dict) -> dict:
    """Confere os parâmetros do laboratório (as listas inclusive) antes de qualquer treino."""
    fixed = {"ARCH": "mlp", "BETA": 1.0, "LATENT_DIM": 1, "CHECKPOINT_PATH": None, "RESUME": False,
             "SKIP_TRAINING": False, "BINARIZE": False}  # fmt: skip
    p = validate_training(fixed | dict(params))
    p["LATENT_SIZES"] = parse_list("LATENT_SIZES", p["LATENT_SIZES"], lambda n, v: integer(n, v, 1), "inteiros ≥ 1")
    p["BETAS"] = parse_list("BETAS", p["BETAS"], positive_float, "números finitos > 0")

    def architecture(name, value):  # o condicional ("cvae") tem a sua seção, CONDITIONAL_LATENT_SIZES
        if value not in ("mlp", "conv"):
            reject(name, value, '"mlp" ou "conv"')
        return value

    p["ARCHS"] = parse_list("ARCHS", p["ARCHS"], architecture, '"mlp" e/ou "conv"')
    p["SEEDS"] = parse_list("SEEDS", p["SEEDS"], lambda n, v: integer(n, v, 0), "inteiros ≥ 0")
    p["CONDITIONAL_LATENT_SIZES"] = parse_list(
        "CONDITIONAL_LATENT_SIZES", p["CONDITIONAL_LATENT_SIZES"], lambda n, v: integer(n, v, 1), "inteiros ≥ 1"
    )
    for name in ("BETA_LATENT_DIM", "ARCH_LATENT_DIM", "IWAE_K"):
        p[name] = integer(name, p[name], 1)
    p["IWAE_SIZE"] = integer("IWAE_SIZE", p["IWAE_SIZE"], 1, MNIST_TEST_SIZE)
    most = min(MNIST_TEST_SIZE, p["VAL_SIZE"])  # a âncora de cada tabela de qualidade são imagens de validação
    p["QUALITY_SAMPLES"] = most if p["QUALITY_SAMPLES"] is None else p["QUALITY_SAMPLES"]
    p["QUALITY_SAMPLES"] = integer("QUALITY_SAMPLES", p["QUALITY_SAMPLES"], QUALITY_MIN_SAMPLES, most)
    p["CONDITIONAL_DIGIT"] = integer("CONDITIONAL_DIGIT", p["CONDITIONAL_DIGIT"], 0, 9)
    for name in ("COLLAPSE_BETA", "FREE_BITS"):
        p[name] = positive_float(name, p[name])
    p["WARMUP_EPOCHS"] = integer("WARMUP_EPOCHS", p["WARMUP_EPOCHS"], 1)
    largest = MNIST_TRAIN_SIZE - p["VAL_SIZE"]
    p["PIXELCNN_TRAIN_SIZE"] = integer("PIXELCNN_TRAIN_SIZE", p["PIXELCNN_TRAIN_SIZE"], 1, largest)
    optional_path("FIGURES_DIR", p["FIGURES_DIR"])
    return {name: p[name] for name in LAB_PARAMETER_NAMES}
