"""Checkpoints: um arquivo por configuração de treino, gravado de forma atômica e durável, lido sem
executar código, e treinado por um processo de cada vez.

Um checkpoint guarda modelo, otimizador, histórico, configuração e estados aleatórios só como
tensores e tipos simples, e é lido com `torch.load(weights_only=True)`: um arquivo que traga
qualquer outro objeto é recusado antes de ser desempacotado. O nome do arquivo diz a configuração
que produziu os pesos (`mlp400-z20-beta1-lr0.001-b128-seed42-val5000-n55000-e20.pt`), então
execuções com parâmetros diferentes nunca se sobrescrevem. Enquanto uma configuração treina, uma trava
(`RunLock`) impede que outro processo treine a mesma; quem só lê um checkpoint pronto nunca espera.
"""

from __future__ import annotations

import errno
import hashlib
import os
import random
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path

import numpy as np
import psutil
import torch

import vae_core as vc
from vae_tools import resources
from vae_tools.parameters import MNIST_TRAIN_SIZE, REPO_ROOT
from vae_tools.resources import format_bytes, os_reason

try:
    import fcntl
except ImportError:  # Windows: sem trava entre processos (documentado no README)
    fcntl = None

FORMAT, VERSION = "vae-mnist-checkpoint", 3  # 3: pesos iniciais sorteados com a semente da configuração
CHECKPOINT_DIR_ENV = "VAE_MNIST_CHECKPOINT_DIR"
# o que define os pesos de um treino (além do número de épocas, que vai no nome do arquivo)
IDENTITY_KEYS = (
    "ARCH", "HIDDEN_DIM", "LATENT_DIM", "BETA", "LEARNING_RATE", "BATCH_SIZE", "SEED", "VAL_SIZE", "TRAIN_SIZE",
    "BINARIZE",
)  # fmt: skip
# as curas do colapso posterior (vae_core.fit): entram na identidade só quando ligadas, e os checkpoints
# anteriores a elas continuam valendo
CURES = {"FREE_BITS": 0.0, "WARMUP": 0}
TEMPORARY = re.compile(r"\.(\d+)-[0-9a-f]{8}\.tmp$")  # <nome>.<pid>-<sufixo>.tmp, de `_open_temporary`
STATE_KEYS = {"format", "version", "epoch", "num_epochs", "config", "model", "optimizer", "history", "rng"}


class CheckpointError(RuntimeError):
    """Checkpoint ausente, ilegível, estranho ao projeto, incompatível, impossível de gravar ou em treino
    por outro processo."""


class CheckpointWriteError(CheckpointError):
    """A gravação falhou no meio (disco cheio, cota, erro de E/S...): o temporário foi apagado e o
    arquivo anterior ficou intacto."""


# ---------------------------------------------------------------- identidade de uma execução


def run_config(params: dict) -> dict:
    """A configuração que identifica um treino, em forma canônica: `TRAIN_SIZE=None` vira o número
    de imagens que sobram; no modelo convolucional `HIDDEN_DIM` não se aplica (fica None)."""
    config = {key: params[key] for key in IDENTITY_KEYS}
    config |= {key: params[key] for key, off in CURES.items() if params.get(key, off) != off}
    if config["TRAIN_SIZE"] is None:
        config["TRAIN_SIZE"] = MNIST_TRAIN_SIZE - config["VAL_SIZE"]
    if config["ARCH"] == "conv":
        config["HIDDEN_DIM"] = None
    return config


def config_stem(config: dict) -> str:
    """O nome de uma configuração sem as épocas, por exemplo `mlp400-z20-beta1-lr0.001-b128-seed42-val5000-n55000`."""
    model = f"conv{vc.CONV_CHANNELS}" if config["ARCH"] == "conv" else f"{config['ARCH']}{config['HIDDEN_DIM']}"
    parts = [
        model, f"z{config['LATENT_DIM']}", f"beta{config['BETA']:g}", f"lr{config['LEARNING_RATE']:g}",
        f"b{config['BATCH_SIZE']}", f"seed{config['SEED']}", f"val{config['VAL_SIZE']}", f"n{config['TRAIN_SIZE']}",
    ]  # fmt: skip
    cures = [f"{tag}{config[key]:g}" for key, tag in (("FREE_BITS", "fb"), ("WARMUP", "warm")) if key in config]
    return "-".join([*parts, *(["bin"] if config["BINARIZE"] else []), *cures])


def run_name(config: dict, num_epochs: int | str) -> str:
    """Nome legível e único de uma execução, por exemplo `mlp400-z20-beta1-lr0.001-b128-seed42-val5000-n55000-e20`."""
    return f"{config_stem(config)}-e{num_epochs}"


def resolve_checkpoint_dir(folder: str | os.PathLike | None = None) -> Path:
    """Pasta dos checkpoints: o parâmetro, senão a variável de ambiente, senão `checkpoints/` na raiz."""
    chosen = folder or os.environ.get(CHECKPOINT_DIR_ENV) or REPO_ROOT / "checkpoints"
    return Path(chosen).expanduser().resolve()


# ---------------------------------------------------------------- gravar e ler


def save_checkpoint(
    path: Path, model, optimizer, generator: torch.Generator, history: dict, config: dict, num_epochs: int
):
    """Salva modelo, otimizador, época, histórico, configuração e estados dos geradores aleatórios.

    Grava com `write_state` (atômica e durável): uma interrupção a qualquer momento, ou um disco
    cheio, deixa intacto o checkpoint anterior.
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
    """Grava `state` (só tensores e tipos simples) em `path` de forma atômica e durável; é o único
    gravador de arquivos de pesos do projeto.

    1. Escreve num temporário exclusivo na mesma pasta (`<nome>.<pid>-<sufixo aleatório>.tmp`): dois
       processos nunca escrevem no mesmo arquivo.
    2. `os.fsync` do temporário (os bytes estão no disco), `os.replace` (a troca é atômica) e `os.fsync`
       da pasta (a troca sobrevive a uma queda de energia).
    Se algo falha — disco cheio, cota, limite de tamanho, erro de E/S, Ctrl+C —, o temporário é apagado e
    o arquivo anterior fica intacto; um erro do sistema vira `CheckpointWriteError` em português, com a
    pasta, o motivo e o espaço necessário."""
    _write_atomically(Path(path), lambda file: torch.save(state, file), lambda cause: _write_error(cause, state, path))


def write_text_atomically(path: Path, text: str):
    """Grava um texto (as medidas guardadas do laboratório) do mesmo jeito atômico de `write_state`."""
    data = text.encode()
    _write_atomically(Path(path), lambda file: file.write(data), lambda cause: CheckpointWriteError(
        f"Não foi possível gravar {shown(Path(path))}: {cause.strerror or cause}."))  # fmt: skip


def _write_atomically(path: Path, write, error_for):
    temporary = None
    try:
        descriptor, temporary = _open_temporary(path)
        with open(descriptor, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
        _sync_folder(path.parent)
    except BaseException as error:
        if temporary is not None:
            temporary.unlink(missing_ok=True)
        cause = _os_error_in(error) if isinstance(error, Exception) else None  # Ctrl+C passa como veio
        if cause is None:
            raise
        raise error_for(cause) from error


def file_digest(path: Path) -> str:
    """SHA-256 de um arquivo (o de um checkpoint identifica os pesos medidos)."""
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def _open_temporary(path: Path) -> tuple[int, Path]:
    """Um arquivo novo e exclusivo ao lado de `path`, com o pid e um sufixo aleatório no nome."""
    temporary = path.with_name(f"{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    return os.open(temporary, flags, 0o666), temporary


def _sync_folder(folder: Path):
    """`fsync` da pasta, para que a troca de nomes fique no disco (POSIX; o Windows não abre pastas)."""
    if os.name != "posix":
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _os_error_in(error: BaseException | None) -> OSError | None:
    """O erro do sistema por trás de `error`: o PyTorch embrulha um ENOSPC num RuntimeError
    ("unexpected pos"), com o OSError como contexto."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, OSError):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


def _state_bytes(value) -> int:
    """Bytes dos tensores de um estado (o que o arquivo vai ocupar, quase tudo)."""
    if isinstance(value, torch.Tensor):
        return value.nbytes
    if isinstance(value, dict):
        return sum(map(_state_bytes, value.values()))
    if isinstance(value, list | tuple):
        return sum(map(_state_bytes, value))
    return 8


def _free_text(folder: Path) -> str:
    try:
        return format_bytes(resources.free_disk(folder))
    except OSError:
        return "desconhecido"


def _write_error(cause: OSError, state: dict, path: Path) -> CheckpointWriteError:
    return CheckpointWriteError(
        f"Não foi possível gravar {path.name} na pasta {path.parent}: {os_reason(cause)}. O arquivo precisa "
        f"de ≈ {format_bytes(_state_bytes(state))}; livres na pasta agora: {_free_text(path.parent)}. "
        f"O arquivo temporário foi apagado, e o {path.name} anterior, se havia, ficou intacto."
    )


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


def ensure_writable(path: Path, needed: int = 0):
    """Confere, antes de treinar, que `path` pode ser gravado: a pasta existe (ou é criada), aceita um
    arquivo novo e tem `needed` bytes livres. Um motivo do sistema vem em português."""
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        descriptor, probe = _open_temporary(path)
        os.close(descriptor)
        probe.unlink()
    except OSError as error:
        raise CheckpointError(
            f"Não é possível gravar o checkpoint {path}: {_folder_reason(folder, error)}. Escolha uma pasta "
            f"gravável com CHECKPOINT_DIR (ou um arquivo com CHECKPOINT_PATH)."
        ) from None
    free = resources.free_disk(folder)
    if free < needed:
        raise CheckpointError(
            f"Não há espaço para gravar o checkpoint {path.name} na pasta {folder}: são precisos "
            f"{format_bytes(needed)} livres, e há {format_bytes(free)}. Libere espaço ou escolha outra pasta "
            f"com CHECKPOINT_DIR."
        )


def _folder_reason(folder: Path, error: OSError) -> str:
    """O motivo de uma pasta não poder ser criada; se no caminho há um arquivo, ele é nomeado."""
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        return f"{existing} é um arquivo, não uma pasta ({errno.errorcode.get(error.errno, error.errno)})"
    return os_reason(error)


def room_needed(plan: RunPlan) -> int:
    """Bytes livres que o treino de `plan` precisa: o temporário ao lado do checkpoint final (dois
    checkpoints desta configuração), menos o arquivo que já está em `plan.path` e será substituído."""
    size = resources.checkpoint_bytes(plan.config, plan.num_epochs)
    return 2 * size - (plan.path.stat().st_size if plan.path.exists() else 0)


# ---------------------------------------------------------------- um treino por configuração de cada vez


class RunLock:
    """A trava de uma configuração enquanto ela treina: `fcntl.flock` exclusivo num arquivo oculto ao lado
    do checkpoint (`.mlp400-z20-…-n55000.lock`), onde fica o pid de quem treina.

    Um segundo processo que queira treinar a mesma configuração é recusado na hora, com o pid de quem
    treina e o que fazer. O sistema solta a trava quando o processo termina de qualquer jeito, até num
    `kill -9`: o arquivo que fica não trava nada. Quem só lê checkpoints prontos nunca a pede.
    Sem `fcntl` (Windows) não há trava."""

    def __init__(self, plan: RunPlan):
        self.plan, self.file = plan, None

    def __enter__(self) -> RunLock:
        if fcntl is None or self.plan.lock is None:
            return self
        try:
            self.file = open(self.plan.lock, "a+", encoding="utf-8")
        except OSError as error:
            raise CheckpointError(f"Não é possível criar a trava {self.plan.lock}: {os_reason(error)}.") from None
        try:
            fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.file.seek(0)
            holder = self.file.read().strip() or "desconhecido"
            self.__exit__()
            raise CheckpointError(self._busy(holder)) from None
        self.file.truncate(0)
        self.file.write(f"{os.getpid()}\n")
        self.file.flush()
        _remove_orphans(self.plan.path.parent)
        return self

    def __exit__(self, *exc_info):
        if self.file is not None:
            self.file.close()  # fechar solta a trava
            self.file = None

    def check(self):
        """Só confere, sem ficar com a trava: se outro processo treina esta configuração, para aqui."""
        with self:
            pass

    def _busy(self, holder: str) -> str:
        plan = self.plan
        return (
            f"Outro processo (pid {holder}) está treinando esta mesma configuração agora: {plan.path.name} em "
            f"{plan.path.parent}. Dois treinos dela gravariam o mesmo checkpoint, então este para antes de "
            f"treinar. Espere o outro terminar e rode de novo (o checkpoint dele será reutilizado ou "
            f"continuado), interrompa-o (kill {holder}) ou escolha outra pasta com CHECKPOINT_DIR. A trava "
            f"({plan.lock.name}) se solta sozinha quando aquele processo termina, até num kill -9."
        )


def _remove_orphans(folder: Path):
    """Apaga os temporários deixados na pasta por processos que já morreram (um `kill -9` no meio de
    uma gravação): o pid está no nome, e o de um processo morto nunca vai terminar a sua gravação."""
    for temporary in folder.glob("*.tmp"):
        if (found := TEMPORARY.search(temporary.name)) and not psutil.pid_exists(int(found[1])):
            temporary.unlink(missing_ok=True)


# ---------------------------------------------------------------- o que fazer antes de treinar


class Action(Enum):
    """O que um plano faz: treinar do zero, continuar de `state` (lido de `source`, com menos épocas) ou
    reutilizar `state` (já tem todas as épocas: nada a treinar). O valor é só o rótulo mostrado ao leitor."""

    TRAIN = "treinar"
    CONTINUE = "continuar"
    REUSE = "reutilizar"

    @property
    def label(self) -> str:
        """A palavra que o leitor vê numa tabela."""
        return self.value


@dataclass
class RunPlan:
    """O destino de um treino: `path` (onde o checkpoint fica) e de onde ele parte (`action`)."""

    path: Path
    num_epochs: int
    config: dict
    action: Action = Action.TRAIN
    state: dict | None = None
    source: Path | None = None
    lock: Path | None = None  # a trava da configuração (`RunLock`)
    params: dict | None = field(default=None, repr=False)  # os parâmetros que `plan_run` recebeu

    def describe(self) -> str:
        """O plano numa frase, com o nome do arquivo (a pasta é a de `CHECKPOINT_DIR`)."""
        path = self.path.name
        if self.action is Action.REUSE:
            return f"Checkpoint {path} reutilizado: já treinado até a época {self.num_epochs}; nada a treinar."
        if self.action is Action.CONTINUE:
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
        f"{key}: checkpoint {state['config'].get(key, CURES.get(key))!r}, parâmetro {config.get(key, CURES.get(key))!r}"
        for key in [*config, *(key for key in state["config"] if key not in config)]
        if state["config"].get(key) != config.get(key)
    ]
    saved, asked = state["config"].get("ARCH"), config["ARCH"]
    if "cvae" in (saved, asked) and saved != asked:
        kind = {"cvae": "condicional (cvae), que recebe o rótulo de cada imagem"}
        differences.append(
            f"o checkpoint é de um VAE {kind.get(saved, f'incondicional ({saved})')} e esta execução pede um "
            f"{kind.get(asked, f'incondicional ({asked})')}: os pesos de um não servem ao outro"
        )
    if differences:
        raise CheckpointError(
            f"O checkpoint {path} não combina com os parâmetros desta execução:\n  "
            + "\n  ".join(differences)
            + "\nUse os mesmos valores ou outro CHECKPOINT_PATH (ou deixe CHECKPOINT_PATH=None: "
            "cada configuração tem o seu arquivo)."
        )


def _candidates(params: dict, config: dict, num_epochs: int) -> tuple[Path, Path, list[Path]]:
    """O arquivo desta execução, a sua trava e os checkpoints que ela pode aproveitar: ele mesmo e, sem
    CHECKPOINT_PATH, os da mesma configuração treinados por menos épocas."""
    if params["CHECKPOINT_PATH"] is not None:
        path = Path(params["CHECKPOINT_PATH"]).expanduser().resolve()
        return path, path.with_name(f".{path.name}.lock"), [path] if path.exists() else []
    folder = resolve_checkpoint_dir(params["CHECKPOINT_DIR"])
    path = folder / f"{run_name(config, num_epochs)}.pt"
    pattern = re.compile(re.escape(run_name(config, "")) + r"(\d+)\.pt")
    shorter = [p for p in folder.glob("*.pt") if (m := pattern.fullmatch(p.name)) and int(m[1]) < num_epochs]
    return path, folder / f".{config_stem(config)}.lock", [p for p in [path, *shorter] if p.exists()]


def plan_run(params: dict) -> RunPlan:
    """Decide, antes de qualquer trabalho demorado, onde o treino grava e de onde parte — e se ele cabe.

    - Antes de tudo, a memória: uma configuração que não cabe é recusada com `ResourceError`, sem nada
      alocado (`resources.check_memory`).
    - Um checkpoint desta configuração com todas as épocas é reutilizado (nada é treinado de novo).
    - Um checkpoint com menos épocas — um treino interrompido, ou um treino completo mais curto
      da mesma configuração — é continuado (com `CHECKPOINT_PATH=None`, num arquivo novo, e o
      mais curto fica intacto), como no Keras e no Lightning; o resultado é o mesmo de um treino direto.
    - `RESUME=True` exige um checkpoint para continuar; `SKIP_TRAINING=True`, um completo.
    - Nada que tenha mais treino é descartado: um checkpoint com mais épocas que `NUM_EPOCHS` no
      `CHECKPOINT_PATH` pedido é recusado, com o que fazer.
    - Se há o que treinar: a pasta precisa aceitar o arquivo e ter espaço para dois checkpoints (o
      temporário e o final), e nenhum outro processo pode estar treinando esta configuração (`RunLock`).
    """
    resources.check_memory(params)
    plan = decide(params)
    if plan.action is not Action.REUSE:
        ensure_writable(plan.path, room_needed(plan))
        RunLock(plan).check()
    return plan


def trained_plan(params: dict, trainer: str) -> RunPlan:
    """O plano de quem só lê um modelo que outro notebook treina (a avaliação lê o do capítulo): o
    checkpoint completo desta configuração, ou um `CheckpointError` que diz qual notebook rodar antes."""
    plan = decide(params | {"SKIP_TRAINING": False, "RESUME": False})
    if plan.action is not Action.REUSE:
        found = f"só há {plan.state['epoch']} épocas em {plan.source.name}" if plan.state else "não há nenhum"
        raise CheckpointError(
            f"Este notebook lê o modelo que {trainer} treina e nunca o treina: falta o checkpoint com as "
            f"{plan.num_epochs} épocas desta configuração ({plan.path.name}), e {found}. Rode antes {trainer} "
            f"com os mesmos parâmetros de treino (e a mesma CHECKPOINT_DIR)."
        )
    return plan


@contextmanager
def locked(plan: RunPlan) -> Iterator[RunPlan]:
    """Segura a trava da configuração (`RunLock`) e entrega um plano novo, decidido com o que está no
    disco agora: outro processo pode ter gravado esta configuração entre a primeira célula e o treino
    (um checkpoint completo dele é reutilizado). `plan` não muda; a trava se solta na saída do `with`."""
    with RunLock(plan):
        fresh = replace(plan) if plan.params is None else decide(plan.params)
        if _origin(fresh) != _origin(plan):
            print(f"Outro processo gravou esta configuração depois do plano da primeira célula. {fresh.describe()}")
        yield fresh


def _origin(plan: RunPlan) -> tuple:
    """De onde o treino parte: ação, arquivo e época."""
    return plan.action, plan.source, plan.state and plan.state["epoch"]


def decide(params: dict) -> RunPlan:
    """O plano a partir dos checkpoints que há (sem conferir memória, espaço nem trava): veja `plan_run`."""
    config, num_epochs = run_config(params), params["NUM_EPOCHS"]
    path, lock, candidates = _candidates(params, config, num_epochs)
    plan = RunPlan(path, num_epochs, config, lock=lock, params=dict(params))
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
        plan.action = Action.REUSE if plan.state["epoch"] == num_epochs else Action.CONTINUE
    if params["SKIP_TRAINING"] and plan.action is not Action.REUSE:
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
    return plan
