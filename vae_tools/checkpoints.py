"""Checkpoints: um arquivo por configuração de treino, gravado de forma atômica e lido sem executar código.

Um checkpoint guarda modelo, otimizador, histórico, configuração e estados aleatórios só como
tensores e tipos simples, e é lido com `torch.load(weights_only=True)`: um arquivo que traga
qualquer outro objeto é recusado antes de ser desempacotado. O nome do arquivo diz a configuração
que produziu os pesos (`mlp400-z20-beta1-lr0.001-b128-seed42-val5000-n55000-e20.pt`), então
execuções com parâmetros diferentes nunca se sobrescrevem.
"""

from __future__ import annotations

import os
import random
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

import vae_core as vc
from vae_tools.parameters import MNIST_TRAIN_SIZE, REPO_ROOT

FORMAT, VERSION = "vae-mnist-checkpoint", 3  # 3: pesos iniciais sorteados com a semente da configuração
CHECKPOINT_DIR_ENV = "VAE_MNIST_CHECKPOINT_DIR"
# o que define os pesos de um treino (além do número de épocas, que vai no nome do arquivo)
IDENTITY_KEYS = (
    "ARCH", "HIDDEN_DIM", "LATENT_DIM", "BETA", "LEARNING_RATE", "BATCH_SIZE", "SEED", "VAL_SIZE", "TRAIN_SIZE",
    "BINARIZE",
)  # fmt: skip
STATE_KEYS = {"format", "version", "epoch", "num_epochs", "config", "model", "optimizer", "history", "rng"}


class CheckpointError(RuntimeError):
    """Checkpoint ausente, ilegível, estranho ao projeto, incompatível ou impossível de gravar."""


# ---------------------------------------------------------------- identidade de uma execução


def run_config(params: dict) -> dict:
    """A configuração que identifica um treino, em forma canônica: `TRAIN_SIZE=None` vira o número
    de imagens que sobram; no modelo convolucional `HIDDEN_DIM` não se aplica (fica None)."""
    config = {key: params[key] for key in IDENTITY_KEYS}
    if config["TRAIN_SIZE"] is None:
        config["TRAIN_SIZE"] = MNIST_TRAIN_SIZE - config["VAL_SIZE"]
    if config["ARCH"] == "conv":
        config["HIDDEN_DIM"] = None
    return config


def run_name(config: dict, num_epochs: int | str) -> str:
    """Nome legível e único de uma execução, por exemplo `mlp400-z20-beta1-lr0.001-b128-seed42-val5000-n55000-e20`."""
    model = f"mlp{config['HIDDEN_DIM']}" if config["ARCH"] == "mlp" else f"conv{vc.CONV_CHANNELS}"
    parts = [
        model, f"z{config['LATENT_DIM']}", f"beta{config['BETA']:g}", f"lr{config['LEARNING_RATE']:g}",
        f"b{config['BATCH_SIZE']}", f"seed{config['SEED']}", f"val{config['VAL_SIZE']}", f"n{config['TRAIN_SIZE']}",
    ]  # fmt: skip
    return "-".join([*parts, *(["bin"] if config["BINARIZE"] else []), f"e{num_epochs}"])


def resolve_checkpoint_dir(folder: str | os.PathLike | None = None) -> Path:
    """Pasta dos checkpoints: o parâmetro, senão a variável de ambiente, senão `checkpoints/` na raiz."""
    chosen = folder or os.environ.get(CHECKPOINT_DIR_ENV) or REPO_ROOT / "checkpoints"
    return Path(chosen).expanduser().resolve()


# ---------------------------------------------------------------- gravar e ler


def save_checkpoint(
    path: Path, model, optimizer, generator: torch.Generator, history: dict, config: dict, num_epochs: int
):
    """Salva modelo, otimizador, época, histórico, configuração e estados dos geradores aleatórios.

    Escreve num arquivo temporário e o troca de lugar com `os.replace` (atômico): uma
    interrupção a qualquer momento deixa intacto o checkpoint anterior.
    """
    numpy_state = np.random.get_state()
    state = {
        "format": FORMAT,
        "version": VERSION,
        "epoch": len(history["train_loss"]),
        "num_epochs": num_epochs,
        "config": config,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "history": history,
        "rng": {
            "batches": generator.get_state(),
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "numpy": (numpy_state[0], torch.from_numpy(numpy_state[1].astype(np.int64)), *numpy_state[2:]),
            "python": random.getstate(),
        },
    }
    write_state(state, path)


def write_state(state: dict, path: Path):
    """Grava `state` (só tensores e tipos simples) em `path` de forma atômica: num arquivo temporário
    trocado de lugar com `os.replace`. Serve a todo arquivo de pesos do projeto."""
    temporary = path.with_name(path.name + ".tmp")
    torch.save(state, temporary)
    os.replace(temporary, path)


def read_state(path: Path) -> dict:
    """Lê um arquivo de pesos sem executar código (`weights_only=True`); um arquivo truncado, de texto ou
    com objetos arbitrários vira `CheckpointError` em português, que nomeia o arquivo."""
    if not path.is_file():
        raise CheckpointError(f"Não há checkpoint em {path}.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # zip truncado, texto, pickle com objetos arbitrários...
        unsafe = "GLOBAL" in str(error)  # o pickle pede uma classe ou função: recusada sem ser chamada
        reason = (
            "ele contém objetos que não são tensores nem tipos simples — abri-lo poderia executar código, "
            "então não foi aberto"
            if unsafe
            else f"o arquivo está truncado, corrompido ou não é um checkpoint do PyTorch ({type(error).__name__})"
        )
        raise CheckpointError(
            f"O checkpoint {path} foi recusado: {reason}. Apague-o ou mova-o; se veio de outra pessoa, peça "
            f"um checkpoint gravado por este projeto."
        ) from None
    return state


def load_checkpoint(path: Path) -> dict:
    """Lê um checkpoint sem executar código (`weights_only=True`) e confere que é um dos nossos."""
    state = read_state(path)
    if not isinstance(state, dict) or state.get("format") != FORMAT or not STATE_KEYS <= state.keys():
        raise CheckpointError(
            f"O arquivo {path} não é um checkpoint deste projeto (formato {FORMAT} versão {VERSION}): "
            f"apague-o ou mova-o e treine de novo."
        )
    if state["version"] != VERSION:
        raise CheckpointError(
            f"O checkpoint {path} foi gravado pela versão {state['version']} do formato, e esta é a {VERSION}: "
            f"antes da versão 3 os pesos iniciais dependiam do que tinha rodado antes no processo, então o nome "
            f"do arquivo não garante a configuração que os produziu. Mova-o para outra pasta (ele não é apagado) "
            f"e rode de novo para treinar esta configuração."
        )
    return state


def restore_checkpoint(state: dict, model, optimizer, generator: torch.Generator | None = None) -> dict:
    """Devolve modelo, otimizador e geradores aleatórios ao estado salvo; retorna o histórico."""
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    rng = state["rng"]
    if generator is not None:
        generator.set_state(rng["batches"])
    torch.set_rng_state(rng["torch"])
    if rng["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])
    name, keys, *rest = rng["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), *rest))
    version, internal, gauss = rng["python"]
    random.setstate((version, tuple(internal), gauss))
    return {key: list(values) for key, values in state["history"].items()}


def ensure_writable(path: Path):
    """Confere, antes de treinar, que o checkpoint pode ser gravado em `path`."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        probe = path.with_name(path.name + ".tmp")
        probe.touch()
        probe.unlink()
    except OSError as error:
        raise CheckpointError(
            f"Não é possível gravar o checkpoint {path} ({error.strerror or error}). Escolha uma pasta "
            f"gravável com CHECKPOINT_DIR (ou um arquivo com CHECKPOINT_PATH)."
        ) from None


# ---------------------------------------------------------------- o que fazer antes de treinar


@dataclass
class RunPlan:
    """O destino de um treino: `path` (onde o checkpoint fica) e de onde ele parte.

    `action` é "treinar" (do zero), "continuar" (de `state`, lido de `source`, com menos épocas)
    ou "reutilizar" (`state` já tem todas as épocas: nada a treinar).
    """

    path: Path
    num_epochs: int
    config: dict
    action: str = "treinar"
    state: dict | None = None
    source: Path | None = None

    def describe(self) -> str:
        """O plano numa frase, com o nome do arquivo (a pasta é a de `CHECKPOINT_DIR`)."""
        path = self.path.name
        if self.action == "reutilizar":
            return f"Checkpoint {path} reutilizado: já treinado até a época {self.num_epochs}; nada a treinar."
        if self.action == "continuar":
            origin = "" if self.source == self.path else f" de {self.source.name} (que fica intacto)"
            return (
                f"Treino continuado da época {self.state['epoch']}{origin} até a época {self.num_epochs}; "
                f"checkpoint em {path}."
            )
        return f"Treino do zero até a época {self.num_epochs}; checkpoint em {path}."


def shown(path: Path) -> str:
    """O caminho como o leitor o quer ver: relativo à raiz do projeto quando está dentro dela."""
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)


def _check_config(state: dict, config: dict, path: Path):
    differences = [
        f"{key}: checkpoint {state['config'].get(key)!r}, parâmetro {value!r}"
        for key, value in config.items()
        if state["config"].get(key) != value
    ]
    if differences:
        raise CheckpointError(
            f"O checkpoint {path} não combina com os parâmetros desta execução:\n  "
            + "\n  ".join(differences)
            + "\nUse os mesmos valores ou outro CHECKPOINT_PATH (ou deixe CHECKPOINT_PATH=None: "
            "cada configuração tem o seu arquivo)."
        )


def _candidates(params: dict, config: dict, num_epochs: int) -> tuple[Path, list[Path]]:
    """O arquivo desta execução e os checkpoints que ela pode aproveitar: ele mesmo e, sem
    CHECKPOINT_PATH, os da mesma configuração treinados por menos épocas."""
    if params["CHECKPOINT_PATH"] is not None:
        path = Path(params["CHECKPOINT_PATH"]).expanduser().resolve()
        return path, [path] if path.exists() else []
    folder = resolve_checkpoint_dir(params["CHECKPOINT_DIR"])
    path = folder / f"{run_name(config, num_epochs)}.pt"
    pattern = re.compile(re.escape(run_name(config, "")) + r"(\d+)\.pt")
    shorter = [p for p in folder.glob("*.pt") if (m := pattern.fullmatch(p.name)) and int(m[1]) < num_epochs]
    return path, [p for p in [path, *shorter] if p.exists()]


def plan_run(params: dict) -> RunPlan:
    """Decide, antes de qualquer trabalho demorado, onde o treino grava e de onde parte.

    - Um checkpoint desta configuração com todas as épocas é reutilizado (nada é treinado de novo).
    - Um checkpoint com menos épocas — um treino interrompido, ou um treino completo mais curto
      da mesma configuração — é continuado (com `CHECKPOINT_PATH=None`, num arquivo novo, e o
      mais curto fica intacto), como no Keras e no Lightning; o resultado é o mesmo de um treino direto.
    - `RESUME=True` exige um checkpoint para continuar; `SKIP_TRAINING=True`, um completo.
    - Nada que tenha mais treino é descartado: um checkpoint com mais épocas que `NUM_EPOCHS` no
      `CHECKPOINT_PATH` pedido é recusado, com o que fazer.
    """
    config, num_epochs = run_config(params), params["NUM_EPOCHS"]
    path, candidates = _candidates(params, config, num_epochs)
    plan = RunPlan(path, num_epochs, config)
    for candidate in candidates:
        state = load_checkpoint(candidate)
        _check_config(state, config, candidate)
        if state["epoch"] > num_epochs:
            raise CheckpointError(
                f"O checkpoint {candidate} já tem {state['epoch']} épocas, mais que NUM_EPOCHS={num_epochs}: "
                f"continuar não o encurta e treinar do zero o apagaria. Use NUM_EPOCHS={state['epoch']} para "
                f"reutilizá-lo, ou outro CHECKPOINT_PATH (ou CHECKPOINT_PATH=None) para um treino novo."
            )
        if plan.state is None or state["epoch"] > plan.state["epoch"]:
            plan.state, plan.source = state, candidate
    if plan.state is not None:
        plan.action = "reutilizar" if plan.state["epoch"] == num_epochs else "continuar"
    if params["SKIP_TRAINING"] and plan.action != "reutilizar":
        found = f"o mais adiantado, {plan.source}, tem {plan.state['epoch']} épocas" if plan.state else "não há nenhum"
        raise CheckpointError(
            f"SKIP_TRAINING=True pede um checkpoint com as {num_epochs} épocas desta configuração em {path}, "
            f"mas {found}. Rode sem SKIP_TRAINING para treinar (ou continuar), ou ajuste NUM_EPOCHS."
        )
    if params["RESUME"] and plan.state is None:
        raise CheckpointError(
            f"RESUME=True, mas não há checkpoint desta configuração para continuar em {path}. "
            f"Rode com RESUME=False para treinar do zero, ou indique o arquivo em CHECKPOINT_PATH."
        )
    if plan.action != "reutilizar":
        ensure_writable(path)
    return plan
