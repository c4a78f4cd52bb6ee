"""vae_tools.mnist: pasta de dados, partições com semente, mensagem sem rede e arquivos IDX conferidos."""

import math
from pathlib import Path

import numpy as np
import pytest
import torch

import vae_core as vc
from vae_tools import mnist
from vae_tools.parameters import ParameterError


def test_default_data_dir_is_project_data_from_any_cwd(monkeypatch, tmp_path):
    monkeypatch.delenv(mnist.DATA_DIR_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert mnist.resolve_data_dir() == Path(vc.__file__).resolve().parent / "data"


def test_data_dir_parameter_beats_environment_variable(monkeypatch, tmp_path):
    monkeypatch.setenv(mnist.DATA_DIR_ENV, str(tmp_path / "env"))
    assert mnist.resolve_data_dir() == tmp_path / "env"
    assert mnist.resolve_data_dir(tmp_path / "param") == tmp_path / "param"


def test_failed_download_names_folder_and_files(monkeypatch, tmp_path):
    from torchvision.datasets import MNIST

    def offline(self):
        raise OSError("sem rede")

    monkeypatch.setattr(MNIST, "download", offline)
    with pytest.raises(RuntimeError) as error:
        mnist.load_mnist_split(tmp_path, train=True)
    message = str(error.value)
    assert str(tmp_path / "MNIST" / "raw") in message
    assert all(name in message for name in mnist.MNIST_FILES)
    assert "Não foi possível obter o MNIST" in message


def test_split_is_seeded_disjoint_and_complete(mnist_dir):
    data = mnist.load_mnist(mnist_dir, val_size=5000, seed=1)
    assert data.sizes() == {"treino": 55000, "validação": 5000, "teste": 10000}
    assert data.train_x.dtype == torch.uint8 and data.train_x.shape[1:] == (28, 28)
    full, _ = mnist.load_mnist_split(mnist_dir, train=True)
    # treino + validação é uma permutação das 60.000 imagens originais
    joined = torch.cat([data.train_x, data.val_x]).reshape(60000, -1)
    assert torch.equal(joined.sum(0, dtype=torch.int64), full.reshape(60000, -1).sum(0, dtype=torch.int64))
    again = mnist.load_mnist(mnist_dir, val_size=5000, seed=1)
    assert torch.equal(again.val_y, data.val_y)
    other = mnist.load_mnist(mnist_dir, val_size=5000, seed=2)
    assert not torch.equal(other.val_y, data.val_y)


def test_subset_and_model_input(mnist_dir):
    data = mnist.load_mnist(mnist_dir, val_size=100, train_size=300, seed=0)
    assert data.sizes() == {"treino": 300, "validação": 100, "teste": 10000}
    x = mnist.to_model_input(data.train_x)
    assert x.shape == (300, vc.INPUT_DIM) and x.dtype == torch.float32
    assert x.min() == 0 and x.max() == 1


# ---------------------------------------------------------------- arquivos IDX


def write_idx(path: Path, magic: int, dims: list[int], payload: bytes | None = None):
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in dims)
    path.write_bytes(header + (payload if payload is not None else bytes(math.prod(dims))))


@pytest.fixture
def small_mnist(tmp_path) -> Path:
    """Uma pasta com os quatro arquivos IDX válidos, pequenos (40 de treino, 10 de teste)."""
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for prefix, n in (("train", 40), ("t10k", 10)):
        pixels = np.random.default_rng(0).integers(0, 256, (n, 28, 28), dtype=np.uint8)
        write_idx(raw / f"{prefix}-images-idx3-ubyte", 2051, [n, 28, 28], pixels.tobytes())
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", 2049, [n], bytes(i % 10 for i in range(n)))
    return tmp_path


def test_small_valid_idx_files_load(small_mnist):
    images, labels = mnist.load_mnist_split(small_mnist, train=True)
    assert images.shape == (40, 28, 28) and labels.tolist()[:3] == [0, 1, 2]
    data = mnist.load_mnist(small_mnist, val_size=10, seed=0)
    assert data.sizes() == {"treino": 30, "validação": 10, "teste": 10}


def test_val_size_larger_than_the_files_is_rejected(small_mnist):
    with pytest.raises(ParameterError, match="VAL_SIZE"):
        mnist.load_mnist(small_mnist, val_size=40)


def test_truncated_idx_file(small_mnist):
    path = small_mnist / "MNIST" / "raw" / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(mnist.MNISTFileError, match="truncado ou corrompido") as error:
        mnist.load_mnist_split(small_mnist, train=True)
    assert str(path) in str(error.value)


def test_file_shorter_than_header(small_mnist):
    path = small_mnist / "MNIST" / "raw" / "t10k-labels-idx1-ubyte"
    path.write_bytes(b"\x00\x00")
    with pytest.raises(mnist.MNISTFileError, match="truncado"):
        mnist.load_mnist_split(small_mnist, train=False)


def test_wrong_magic_number(small_mnist):
    path = small_mnist / "MNIST" / "raw" / "train-labels-idx1-ubyte"
    write_idx(path, 2051, [40])  # cabeçalho de imagens num arquivo de rótulos
    with pytest.raises(mnist.MNISTFileError, match="número mágico 2051, esperado 2049"):
        mnist.load_mnist_split(small_mnist, train=True)


def test_wrong_image_size(small_mnist):
    write_idx(small_mnist / "MNIST" / "raw" / "t10k-images-idx3-ubyte", 2051, [10, 27, 28])
    with pytest.raises(mnist.MNISTFileError, match="27×28"):
        mnist.load_mnist_split(small_mnist, train=False)


def test_images_and_labels_count_mismatch(small_mnist):
    write_idx(small_mnist / "MNIST" / "raw" / "train-labels-idx1-ubyte", 2049, [39])
    with pytest.raises(mnist.MNISTFileError, match="40 imagens, mas train-labels-idx1-ubyte tem 39 rótulos"):
        mnist.load_mnist_split(small_mnist, train=True)


def test_nth_of_digit_finds_the_example_or_names_the_allowed_range():
    labels = torch.tensor([3, 1, 3, 0, 3])
    assert mnist.nth_of_digit(labels, 3, 0) == 0 and mnist.nth_of_digit(labels, 3, 2) == 4
    with pytest.raises(ParameterError, match="EXPLORE_INDEX inválido: recebido 3 .*entre 0 e 2 .*3 dígitos 3"):
        mnist.nth_of_digit(labels, 3, 3)
