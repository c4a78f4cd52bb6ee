"""Testes da carga do MNIST: pasta de dados, partições com semente e mensagem sem rede."""

from pathlib import Path

import pytest
import torch

import vae_core as vc


def test_default_data_dir_is_project_data_from_any_cwd(monkeypatch, tmp_path):
    monkeypatch.delenv(vc.DATA_DIR_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert vc.resolve_data_dir() == Path(vc.__file__).resolve().parent / "data"


def test_data_dir_parameter_beats_environment_variable(monkeypatch, tmp_path):
    monkeypatch.setenv(vc.DATA_DIR_ENV, str(tmp_path / "env"))
    assert vc.resolve_data_dir() == tmp_path / "env"
    assert vc.resolve_data_dir(tmp_path / "param") == tmp_path / "param"


def test_failed_download_names_folder_and_files(monkeypatch, tmp_path):
    from torchvision.datasets import MNIST

    def offline(self):
        raise OSError("sem rede")

    monkeypatch.setattr(MNIST, "download", offline)
    with pytest.raises(RuntimeError) as error:
        vc.load_mnist_split(tmp_path, train=True)
    message = str(error.value)
    assert str(tmp_path / "MNIST" / "raw") in message
    assert all(name in message for name in vc.MNIST_FILES)
    assert "Não foi possível obter o MNIST" in message


def test_split_is_seeded_disjoint_and_complete(mnist_dir):
    data = vc.load_mnist(mnist_dir, val_size=5000, seed=1)
    assert data.sizes() == {"treino": 55000, "validação": 5000, "teste": 10000}
    assert data.train_x.dtype == torch.uint8 and data.train_x.shape[1:] == (28, 28)
    full, _ = vc.load_mnist_split(mnist_dir, train=True)
    # treino + validação é uma permutação das 60.000 imagens originais
    joined = torch.cat([data.train_x, data.val_x]).reshape(60000, -1)
    assert torch.equal(joined.sum(0, dtype=torch.int64), full.reshape(60000, -1).sum(0, dtype=torch.int64))
    again = vc.load_mnist(mnist_dir, val_size=5000, seed=1)
    assert torch.equal(again.val_y, data.val_y)
    other = vc.load_mnist(mnist_dir, val_size=5000, seed=2)
    assert not torch.equal(other.val_y, data.val_y)


def test_subset_and_model_input(mnist_dir):
    data = vc.load_mnist(mnist_dir, val_size=100, train_size=300, seed=0)
    assert data.sizes() == {"treino": 300, "validação": 100, "teste": 10000}
    x = vc.to_model_input(data.train_x)
    assert x.shape == (300, vc.INPUT_DIM) and x.dtype == torch.float32
    assert x.min() == 0 and x.max() == 1
