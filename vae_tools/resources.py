"""Recursos da máquina, conferidos antes de qualquer alocação: a memória que uma configuração precisa
contra a que está disponível agora, o tamanho de um checkpoint e os motivos do sistema operacional
(errno) em português.

A estimativa de memória soma, em bytes:
- o modelo: parâmetros × 4 bytes × 4 cópias (pesos, gradientes e os dois momentos do Adam), mais um
  checkpoint lido (× 3: pesos e momentos), que o plano guarda ao continuar ou reutilizar um treino;
- as ativações de um lote de treino (ida e volta);
- o maior bloco de avaliação: `vae_core.EVAL_BATCH_SIZE` imagens, ou as `rows_per_chunk` decodificações
  de um bloco do limite de importância (`analysis.iwae_bound`), o que for maior;
- os dados: o MNIST em bytes (as partições e, durante a carga, o arquivo inteiro), validação e teste em
  float32, e os códigos μ e log σ² do teste.
Medida contra o pico de memória de treinos reais (tests/test_resources.py): medido ≤ estimativa ≤
3 × medido (1,4× no modelo clássico, 1,6–1,8× com 10.000 neurônios ocultos, 2,1–2,3× no convolucional).
"""

from __future__ import annotations

import errno
import inspect
import os
import shutil
from pathlib import Path

import psutil

import vae_core as vc
from vae_tools import analysis
from vae_tools.figures import br_number
from vae_tools.parameters import MNIST_TEST_SIZE, MNIST_TRAIN_SIZE, ParameterError

FLOAT_BYTES = 4
TRAINING_COPIES = 4  # pesos, gradientes e os dois momentos do Adam
CHECKPOINT_COPIES = 3  # pesos e os dois momentos do Adam
CHECKPOINT_OVERHEAD = 64_000  # estados aleatórios, configuração e o índice do zip (medido: ≈ 30 kB)
CHECKPOINT_PER_EPOCH = 8_000  # histórico e as 8 reconstruções de acompanhamento (6.272 bytes) de uma época
IWAE_ROWS = inspect.signature(analysis.iwae_bound).parameters["rows_per_chunk"].default
RUNTIME_BYTES = 50_000_000  # o PyTorch no primeiro treino: threads e caches (medido: 14 MB no mlp, 28 MB no conv)
CLASSIC = {"HIDDEN_DIM": 400, "LATENT_DIM": 20, "BATCH_SIZE": 128}  # o modelo clássico, para nomear culpados


class ResourceError(ParameterError):
    """A configuração não cabe na memória desta máquina; a mensagem diz quais parâmetros pesam, a
    estimativa e o que há disponível."""


# ---------------------------------------------------------------- o sistema operacional em português


OS_REASONS = {
    errno.ENOSPC: "disco cheio: não há espaço no dispositivo",
    errno.EDQUOT: "a cota de disco deste usuário acabou",
    errno.EFBIG: "arquivo grande demais para o limite do sistema de arquivos ou do processo",
    errno.EIO: "erro de entrada e saída no dispositivo (disco com defeito, removido ou rede fora do ar)",
    errno.EACCES: "permissão negada",
    errno.EPERM: "operação não permitida",
    errno.EROFS: "o sistema de arquivos é somente leitura",
    errno.EEXIST: "já existe um arquivo com esse nome",
    errno.ENOTDIR: "uma parte do caminho é um arquivo, não uma pasta",
    errno.ENOENT: "arquivo ou pasta inexistente",
    errno.EISDIR: "é uma pasta, não um arquivo",
    errno.ENAMETOOLONG: "nome de arquivo longo demais",
    errno.ENOMEM: "memória insuficiente",
    errno.EMFILE: "arquivos abertos demais neste processo",
    errno.EBUSY: "dispositivo ou recurso ocupado",
}


def os_reason(error: OSError) -> str:
    """O motivo de um erro do sistema operacional em português, com o nome do errno:
    "disco cheio: não há espaço no dispositivo (ENOSPC)"."""
    name = errno.errorcode.get(error.errno, "sem errno")
    return f"{OS_REASONS.get(error.errno, f'erro do sistema operacional número {error.errno}')} ({name})"


def format_bytes(size: float) -> str:
    """Bytes à brasileira: "1,5 GB", "7,9 MB", "30,0 kB" (potências de 1.000)."""
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(size) >= scale:
            return f"{br_number(size / scale, 1)} {unit}"
    return f"{br_number(size)} bytes"


# ---------------------------------------------------------------- o tamanho de uma configuração


def parameter_count(params: dict) -> int:
    """Parâmetros do modelo que `params` pede, sem construí-lo (o mesmo que `vae_core.count_parameters`)."""
    d, pixels = params["LATENT_DIM"], vc.INPUT_DIM
    if params["ARCH"] == "conv":
        c = vc.CONV_CHANNELS
        flat = 2 * c * 7 * 7
        convolutions = (16 * c + c) + (16 * c * 2 * c + 2 * c) + (16 * 2 * c * c + c) + (16 * c + 1)
        return convolutions + 2 * (flat * d + d) + (d * flat + flat)
    h = params["HIDDEN_DIM"]
    label = vc.NUM_CLASSES if params["ARCH"] == "cvae" else 0  # o condicional junta o rótulo (one-hot)
    return ((pixels + label) * h + h) + 2 * (h * d + d) + ((d + label) * h + h) + (h * pixels + pixels)


def floats_per_image(params: dict) -> int:
    """Floats de ativação de uma imagem numa ida pelo modelo: entrada, logits e BCE por pixel (3 × 784),
    as camadas ocultas do codificador e do decodificador (antes e depois da ReLU) e os vetores de z. No
    convolucional, também a área de trabalho de cada convolução (núcleo 4×4 × canais de entrada × posições)."""
    if params["ARCH"] == "conv":
        c = vc.CONV_CHANNELS
        layers = 4 * c * 14 * 14 + 4 * 2 * c * 7 * 7  # duas convoluções de cada lado, antes e depois da ReLU
        workspace = 2 * (16 * 1 * 14 * 14 + 16 * c * 7 * 7)  # 28→14 e 14→7, e as transpostas de volta
        hidden = layers + workspace
    else:
        hidden = 4 * params["HIDDEN_DIM"]
    return 3 * vc.INPUT_DIM + hidden + 6 * params["LATENT_DIM"]


def iwae_rows(k: int) -> int:
    """Decodificações de um bloco de `analysis.iwae_bound` com `k` amostras."""
    return k * max(1, IWAE_ROWS // k)


def checkpoint_bytes(params: dict, num_epochs: int) -> int:
    """Tamanho estimado de um checkpoint: pesos e os dois momentos do Adam, histórico e estados aleatórios."""
    return (
        parameter_count(params) * FLOAT_BYTES * CHECKPOINT_COPIES
        + CHECKPOINT_OVERHEAD
        + (CHECKPOINT_PER_EPOCH * num_epochs)
    )


def iwae_k(params: dict) -> int:
    """O maior k do limite de importância que os parâmetros pedem (`IWAE_LARGE_K` no relatório,
    `IWAE_K` no laboratório); 1 se não pedem nenhum."""
    return max(params.get("IWAE_LARGE_K", 1), params.get("IWAE_K", 1))


def memory_parts(params: dict) -> dict[str, tuple[int, tuple[str, ...]]]:
    """A estimativa de memória por parte: nome → (bytes, os parâmetros que a fazem crescer)."""
    n, row, d = parameter_count(params), floats_per_image(params), params["LATENT_DIM"]
    model_keys = ("LATENT_DIM",) if params["ARCH"] == "conv" else ("HIDDEN_DIM", "LATENT_DIM")
    train = params["TRAIN_SIZE"] or MNIST_TRAIN_SIZE - params["VAL_SIZE"]
    images = MNIST_TRAIN_SIZE + MNIST_TEST_SIZE + train + params["VAL_SIZE"]  # o arquivo inteiro e as partições
    return {
        f"modelo ({br_number(n)} parâmetros × 4 bytes × 7: pesos, gradientes, os dois momentos do Adam "
        "e um checkpoint lido)": (n * FLOAT_BYTES * (TRAINING_COPIES + CHECKPOINT_COPIES), model_keys),
        f"ativações de um lote de treino ({br_number(params['BATCH_SIZE'])} imagens, ida e volta)": (
            2 * params["BATCH_SIZE"] * row * FLOAT_BYTES,
            ("BATCH_SIZE", *model_keys),
        ),
        "maior bloco de avaliação (lote de avaliação ou bloco do limite de importância)": (
            max(vc.EVAL_BATCH_SIZE, iwae_rows(iwae_k(params))) * row * FLOAT_BYTES,
            (*model_keys, "k do limite de importância"),
        ),
        "dados (MNIST em bytes; validação e teste em float32)": (
            images * vc.INPUT_DIM + (params["VAL_SIZE"] + MNIST_TEST_SIZE) * vc.INPUT_DIM * FLOAT_BYTES,
            ("TRAIN_SIZE", "VAL_SIZE"),
        ),
        f"códigos μ e log σ² das {br_number(MNIST_TEST_SIZE)} imagens de teste": (
            MNIST_TEST_SIZE * 2 * d * FLOAT_BYTES,
            ("LATENT_DIM",),
        ),
        "o PyTorch em uso (threads e caches)": (RUNTIME_BYTES, ()),
    }


def estimate_memory(params: dict) -> int:
    """Bytes que um treino (e a avaliação) de `params` precisa, além do que o processo já usa."""
    return sum(size for size, _ in memory_parts(params).values())


# ---------------------------------------------------------------- o que há disponível


def _cgroup_room() -> int | None:
    """O que ainda cabe no limite de memória do contêiner (cgroup v2), sem contar o cache de arquivos
    que o sistema pode liberar; None se não há limite."""
    root = Path("/sys/fs/cgroup")
    try:
        limit = (root / "memory.max").read_text().strip()
        if limit == "max":
            return None
        current = int((root / "memory.current").read_text())
        stat = dict(line.split() for line in (root / "memory.stat").read_text().splitlines())
        return int(limit) - (current - int(stat.get("inactive_file", 0)))
    except (OSError, ValueError):
        return None


def available_memory() -> tuple[int, str]:
    """A memória disponível agora e de onde vem o número: a do sistema (MemAvailable, pelo psutil) ou,
    se for menor, o que sobra no limite do contêiner."""
    available, source = psutil.virtual_memory().available, "MemAvailable do sistema"
    room = _cgroup_room()
    if room is not None and room < available:
        return max(room, 0), "o que sobra no limite do contêiner, cgroup"
    return available, source


def _culprits(params: dict) -> list[str]:
    """Os parâmetros que, sozinhos de volta ao valor do modelo clássico (ou k = 1), mais reduzem a estimativa."""
    total, savings = estimate_memory(params), {}
    for name, classic in CLASSIC.items():
        if (params.get(name) or 0) > classic:
            savings[f"{name}={br_number(params[name])}"] = total - estimate_memory(params | {name: classic})
    if iwae_k(params) > 1:
        single = params | {"IWAE_K": 1, "IWAE_LARGE_K": 1}
        savings[f"k={br_number(iwae_k(params))} do limite de importância"] = total - estimate_memory(single)
    ranked = sorted((name for name in savings if savings[name] > 0), key=savings.get, reverse=True)
    return [name for name in ranked if savings[name] >= total / 4] or ranked[:1]


def memory_message(params: dict, available: int, source: str) -> str:
    parts = sorted(memory_parts(params).items(), key=lambda item: item[1][0], reverse=True)
    lines = [f"  - {name}: {format_bytes(size)}" + f" ({', '.join(keys)})" * bool(keys) for name, (size, keys) in parts]
    culprits = _culprits(params)
    who = f"{' e '.join(culprits)} {'pede' if len(culprits) == 1 else 'pedem'}" if culprits else "ela pede"
    return (
        f"A configuração não cabe na memória desta máquina: {who} ≈ "
        f"{format_bytes(estimate_memory(params))}, e há {format_bytes(available)} disponíveis agora ({source}). "
        "A estimativa, parte a parte:\n"
        + "\n".join(lines)
        + "\nNada foi alocado. Diminua o que pesa mais (o modelo clássico usa HIDDEN_DIM=400, LATENT_DIM=20, "
        "BATCH_SIZE=128) ou feche outros programas."
    )


def check_memory(params: dict, available: tuple[int, str] | None = None):
    """Recusa, antes de qualquer alocação, uma configuração cuja estimativa passa da memória disponível
    agora (`available`: bytes e de onde vêm; por padrão, `available_memory()`): `ResourceError` com os
    parâmetros responsáveis, a estimativa parte a parte e o disponível."""
    available, source = available or available_memory()
    if estimate_memory(params) > available:
        raise ResourceError(memory_message(params, available, source))


def free_disk(folder: str | os.PathLike) -> int:
    """Bytes livres para este usuário no sistema de arquivos de `folder`."""
    return shutil.disk_usage(folder).free
