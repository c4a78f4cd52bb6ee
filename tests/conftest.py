"""Configuração comum dos testes: matplotlib sem tela e a pasta de dados do projeto."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402

import vae_core as vc  # noqa: E402


@pytest.fixture(scope="session")
def mnist_dir():
    """Pasta com os arquivos do MNIST; sem eles, os testes que precisam dos dados reais são pulados."""
    path = vc.resolve_data_dir()
    if not all((path / "MNIST" / "raw" / name).exists() for name in vc.MNIST_FILES):
        pytest.skip(f"MNIST ausente em {path}/MNIST/raw (rode `make data`)")
    return path
