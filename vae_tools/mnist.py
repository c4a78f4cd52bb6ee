"""Os arquivos do MNIST: pasta dos dados, conferência dos arquivos IDX, carga, partições e binarização."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import torch

import vae_core as vc
from vae_tools.parameters import REPO_ROOT, reject

MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
DATA_DIR_ENV = "VAE_MNIST_DATA_DIR"
IDX_LAYOUT = {"imagens": (2051, 3), "rótulos": (2049, 1)}  # número mágico e nº de dimensões


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """Pasta dos dados: o parâmetro, senão a variável de ambiente, senão `data/` na raiz do projeto.

    A pasta padrão não depende do diretório de trabalho: é a mesma ao rodar o
    notebook pela raiz (papermill) ou por `notebooks/` (nbval, JupyterLab).
    """
    chosen = data_dir or os.environ.get(DATA_DIR_ENV) or REPO_ROOT / "data"
    return Path(chosen).expanduser().resolve()


class MNISTFileError(ValueError):
    """Arquivo IDX do MNIST truncado, corrompido ou incoerente com o seu par."""


def check_idx_file(path: Path, kind: str) -> int:
    """Confere o cabeçalho e o tamanho de um arquivo IDX do MNIST; devolve quantos itens ele tem."""
    magic, ndim = IDX_LAYOUT[kind]
    with open(path, "rb") as f:
        header = f.read(4 + 4 * ndim)
    if len(header) < 4 + 4 * ndim:
        raise MNISTFileError(f"{path}: arquivo de {kind} truncado ({len(header)} bytes, menor que o cabeçalho).")
    found = int.from_bytes(header[:4], "big")
    if found != magic:
        raise MNISTFileError(
            f"{path}: número mágico {found}, esperado {magic} para um arquivo IDX de {kind} do MNIST "
            f"(arquivo trocado, compactado ou corrompido; use os arquivos descompactados)."
        )
    dims = [int.from_bytes(header[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    if dims[1:] not in ([], [vc.IMAGE_SIDE, vc.IMAGE_SIDE]):
        raise MNISTFileError(f"{path}: imagens de {dims[1]}×{dims[2]} pixels, esperado 28×28.")
    expected = len(header) + math.prod(dims)
    size = path.stat().st_size
    if size != expected:
        raise MNISTFileError(
            f"{path}: {size} bytes, mas o cabeçalho anuncia {dims[0]} {kind} ({expected} bytes): "
            f"arquivo truncado ou corrompido. Copie-o de novo."
        )
    return dims[0]


def check_idx_pair(images_path: Path, labels_path: Path) -> int:
    """Confere um par imagens/rótulos e que ambos têm o mesmo número de itens."""
    n_images, n_labels = check_idx_file(images_path, "imagens"), check_idx_file(labels_path, "rótulos")
    if n_images != n_labels:
        raise MNISTFileError(
            f"{images_path.name} tem {n_images} imagens, mas {labels_path.name} tem {n_labels} rótulos: "
            f"os dois arquivos de {images_path.parent} não formam um par."
        )
    return n_images


def load_mnist_split(data_dir: Path, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Lê uma partição do MNIST como tensores inteiros: imagens uint8 (N, 28, 28) e rótulos int64 (N,).

    Se os quatro arquivos brutos estão em `data_dir/MNIST/raw/`, nada toca a rede (e seus
    cabeçalhos são conferidos antes); senão o torchvision tenta baixá-los e, se falhar, a
    mensagem diz o que pôr onde.
    """
    from torchvision.datasets import MNIST

    raw = Path(data_dir) / "MNIST" / "raw"
    images_file, labels_file = MNIST_FILES[:2] if train else MNIST_FILES[2:]
    if (raw / images_file).exists() and (raw / labels_file).exists():
        check_idx_pair(raw / images_file, raw / labels_file)
    try:
        dataset = MNIST(str(data_dir), train=train, download=True)
    except Exception as error:  # sem rede, servidor fora do ar, arquivo parcial...
        missing = [name for name in MNIST_FILES if not (raw / name).exists()]
        raise RuntimeError(
            f"Não foi possível obter o MNIST ({type(error).__name__}: {error}).\n"
            f"Coloque os quatro arquivos descompactados em {raw}/ :\n  "
            + "\n  ".join(MNIST_FILES)
            + f"\nFaltam: {', '.join(missing) or 'nenhum (arquivos presentes, mas ilegíveis)'}."
        ) from error
    return dataset.data, dataset.targets


@dataclass
class MNISTData:
    """As três partições em memória; imagens uint8 (N, 28, 28), rótulos int64 (N,)."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor

    def sizes(self) -> dict[str, int]:
        return {"treino": len(self.train_x), "validação": len(self.val_x), "teste": len(self.test_x)}


def load_mnist(data_dir: Path, val_size: int = 5_000, train_size: int | None = None, seed: int = 0) -> MNISTData:
    """Carrega o MNIST e separa, com semente, validação e treino das 60.000 imagens de treino.

    `train_size=None` usa todas as imagens que sobram depois da validação.
    As 10.000 imagens de teste ficam intactas para a avaliação final.
    """
    images, labels = load_mnist_split(data_dir, train=True)
    test_x, test_y = load_mnist_split(data_dir, train=False)
    if val_size >= len(images):
        reject("VAL_SIZE", val_size, f"menos que as {len(images)} imagens de treino encontradas")
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
    val_idx, train_idx = order[:val_size], order[val_size:]
    if train_size is not None:
        train_idx = train_idx[:train_size]
    return MNISTData(images[train_idx], labels[train_idx], images[val_idx], labels[val_idx], test_x, test_y)


def flatten_images(images: torch.Tensor, device: torch.device | str = "cpu") -> torch.Tensor:
    """Imagens uint8 (N, 28, 28) → vetores uint8 (N, 784) no dispositivo: como o treino guarda
    as suas imagens (4 vezes menos memória que floats), convertendo lote a lote."""
    return images.to(device).reshape(len(images), -1)


def to_model_input(images: torch.Tensor, device: torch.device | str = "cpu") -> torch.Tensor:
    """Converte imagens uint8 (N, 28, 28) em floats (N, 784) em [0, 1] no dispositivo."""
    return vc.to_float(flatten_images(images, device))


def binarize_fixed(x: torch.Tensor, seed: int) -> torch.Tensor:
    """Uma amostra de Bernoulli fixa (semente) de cada imagem: o conjunto binarizado de avaliação."""
    generator = torch.Generator(device=x.device).manual_seed(seed)
    return torch.bernoulli(x, generator=generator)


def nth_of_digit(labels: torch.Tensor, digit: int, index: int) -> int:
    """Posição da `index`-ésima imagem do dígito `digit` (rótulos do teste); um `index` além das
    imagens desse dígito levanta `ParameterError` com o intervalo permitido."""
    positions = torch.nonzero(labels == digit).flatten()
    if index >= len(positions):
        reject(
            "EXPLORE_INDEX",
            index,
            f"inteiro entre 0 e {len(positions) - 1} (há {len(positions)} dígitos {digit} no teste)",
        )
    return int(positions[index])
