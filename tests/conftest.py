"""Configuração comum dos testes: matplotlib sem tela, checkpoints numa pasta temporária (nunca em
`checkpoints/` do usuário, nem pelo nbval, cujo kernel herda o ambiente), a pasta do MNIST e um
treino minúsculo com checkpoints."""

import os
import shutil
import socket
import tempfile
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402
import torch  # noqa: E402

import vae_core as vc  # noqa: E402
from vae_tools import checkpoints, mnist, training  # noqa: E402
from vae_tools.parameters import seed_everything  # noqa: E402

SESSION_CHECKPOINTS = Path(tempfile.mkdtemp(prefix="vae-testes-checkpoints-"))
ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip


def pytest_configure(config):
    os.environ[checkpoints.CHECKPOINT_DIR_ENV] = str(SESSION_CHECKPOINTS)


def pytest_unconfigure(config):
    shutil.rmtree(SESSION_CHECKPOINTS, ignore_errors=True)


def run_notebook(notebook: Path, output: Path, **parameters):
    """Executa `notebook` com papermill (na raiz do projeto) em `output`; devolve (notebook executado,
    o erro do papermill ou None)."""
    import nbformat
    import papermill as pm

    error = None
    try:
        pm.execute_notebook(str(notebook), str(output), parameters=parameters, cwd=str(ROOT), progress_bar=False)
    except pm.PapermillExecutionError as raised:
        error = raised
    return nbformat.read(output, as_version=4), error


class RunsCode:
    """Um checkpoint malicioso: ao ser desempacotado por pickle, executa um comando (`touch MARCA`)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def chromium():
    """Um Chromium headless (Playwright) com o diretório de capturas pronto; sem Chromium ou sem
    Playwright, o teste é pulado com o motivo (o CI instala os dois)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium não encontrado ({CHROMIUM}); instale com `apt-get install -y chromium`")
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright ausente; `pip install playwright`")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


CHAPTER = ROOT / "notebooks" / "vae_mnist.ipynb"
# o capítulo mínimo que os testes compartilham: binarizado, para que a avaliação mínima passe pelo ramo da
# comparação com a literatura (o ramo dos pixels cinza aparece nos notebooks guardados, conferidos à parte)
CHAPTER_TINY = {"NUM_EPOCHS": 1, "TRAIN_SIZE": 2000, "VAL_SIZE": 500, "TSNE_SAMPLES": 300, "PROGRESS": False,
                "BINARIZE": True}  # fmt: skip


@pytest.fixture(scope="session")
def tiny_chapter(tmp_path_factory, mnist_dir):
    """O capítulo executado uma vez com `CHAPTER_TINY` (checkpoint em `pasta/ck`, figuras em `pasta/figuras`);
    devolve (notebook executado, pasta)."""
    folder = tmp_path_factory.mktemp("capitulo")
    nb, error = run_notebook(
        CHAPTER, folder / "capitulo.ipynb", **CHAPTER_TINY, CHECKPOINT_DIR=str(folder / "ck"),
        FIGURES_DIR=str(folder / "figuras"),
    )  # fmt: skip
    assert error is None, error
    return nb, folder


@pytest.fixture(scope="session")
def mnist_dir():
    """Pasta com os arquivos do MNIST; sem eles, os testes que precisam dos dados reais são pulados."""
    path = mnist.resolve_data_dir()
    if not all((path / "MNIST" / "raw" / name).exists() for name in mnist.MNIST_FILES):
        pytest.skip(f"MNIST ausente em {path}/MNIST/raw (rode `make data`)")
    return path


TINY = {
    "ARCH": "mlp", "HIDDEN_DIM": 16, "LATENT_DIM": 3, "BETA": 1.0, "LEARNING_RATE": 1e-3, "BATCH_SIZE": 16,
    "SEED": 7, "VAL_SIZE": 8, "TRAIN_SIZE": 64, "BINARIZE": False, "NUM_EPOCHS": 3, "CHECKPOINT_DIR": None,
    "CHECKPOINT_PATH": None, "RESUME": False, "SKIP_TRAINING": False,
}  # fmt: skip


def losses(history: dict) -> dict:
    """O histórico sem os segundos de cada época (que variam de uma execução para outra)."""
    return {key: values for key, values in history.items() if key != "seconds"}


def tiny_data(n: int = 64) -> torch.Tensor:
    return torch.rand(n, vc.INPUT_DIM, generator=torch.Generator().manual_seed(0))


def run_tiny(folder, x=None, progress=False, **changes):
    """Planeja e executa um treino minúsculo (1 thread) com checkpoints em `folder`;
    devolve (histórico, modelo, plano)."""
    x = tiny_data() if x is None else x
    params = TINY | {"CHECKPOINT_DIR": str(folder)} | changes
    plan = checkpoints.plan_run(params)
    seed_everything(params["SEED"], num_threads=1)
    model, optimizer = training.build(params)
    history = training.train(plan, model, optimizer, x, x[:8], progress=progress)
    return history, model, plan


@pytest.fixture
def tiny_run(tmp_path):
    """`run_tiny` com os checkpoints numa pasta temporária do teste."""
    return lambda **changes: run_tiny(changes.pop("folder", tmp_path / "ck"), **changes)


@pytest.fixture(scope="session")
def exercises_dist(tmp_path_factory):
    """Os exercícios gerados uma vez por sessão numa pasta temporária: `dist/student` (a versão do aluno) e
    `dist/autograder` (a com soluções e o autograder.zip), sem tocar em exercicios/ nem em build/."""
    from vae_tools import exercises

    folder = tmp_path_factory.mktemp("exercicios")
    return exercises.generate(folder / "build", folder / "aluno.ipynb")
