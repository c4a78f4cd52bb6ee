"""vae_tools.parameters: cada parâmetro inválido dá um erro que nomeia o parâmetro, o valor e o permitido."""

import math
from pathlib import Path

import nbformat
import pytest
import torch

from vae_tools import parameters as vp

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def cell_defaults(name: str) -> dict:
    """Os valores da célula `parameters` de um notebook."""
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    values: dict = {}
    exec(cell.source, {}, values)
    return {name: value for name, value in values.items() if not name.startswith("__")}


@pytest.fixture(scope="module")
def defaults() -> dict:
    return cell_defaults("vae_mnist")


@pytest.fixture(scope="module")
def evaluation_defaults() -> dict:
    return cell_defaults("avaliacao")


def test_defaults_are_valid_and_unchanged(defaults):
    assert set(defaults) == set(vp.PARAMETER_NAMES)
    assert vp.validate_params(defaults) == defaults


def test_the_conditional_vae_belongs_to_the_lab(defaults, evaluation_defaults):
    for validate, values in ((vp.validate_params, defaults), (vp.validate_evaluation_params, evaluation_defaults)):
        for arch in ("cvae", "ae", "pixelcnn"):
            with pytest.raises(vp.ParameterError, match=f"Parâmetro ARCH inválido: recebido .{arch}.*laboratório"):
                validate(values | {"ARCH": arch})


def test_evaluation_defaults_follow_the_training_set(evaluation_defaults):
    """QUALITY_SAMPLES=None segue as imagens de validação, a âncora real (a regra que o exemplo de uma época do
    README pede); EPOCHS_2D=None, as épocas do capítulo; a avaliação nunca treina o modelo do capítulo."""
    assert set(evaluation_defaults) == set(vp.EVALUATION_PARAMETER_NAMES)
    full = vp.validate_evaluation_params(evaluation_defaults)
    assert full["QUALITY_SAMPLES"] == 5000 and full["EPOCHS_2D"] == 20 and full["SKIP_TRAINING"] is True
    small = vp.validate_evaluation_params(evaluation_defaults | {"NUM_EPOCHS": 1, "TRAIN_SIZE": 5000, "VAL_SIZE": 800})
    assert small["QUALITY_SAMPLES"] == 800 and small["EPOCHS_2D"] == 1
    with pytest.raises(vp.ParameterError, match="QUALITY_SAMPLES inválido.*entre 100 e 2.000"):
        vp.validate_evaluation_params(evaluation_defaults | {"VAL_SIZE": 2000, "QUALITY_SAMPLES": 5000})
    assert vp.validate_evaluation_params(evaluation_defaults | {"EPOCHS_2D": 3})["EPOCHS_2D"] == 3


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("IWAE_SIZE", 10001),
        ("IWAE_LARGE_K", 100),
        ("EPOCHS_2D", -1),
        ("QUALITY_SAMPLES", 99),
        ("MIXTURE_COMPONENTS", 0),
    ],
)
def test_bad_evaluation_parameter_names_culprit(evaluation_defaults, name, value):
    with pytest.raises(vp.ParameterError, match=f"^Parâmetro {name} inválido: recebido {value!r}.*permitido:"):
        vp.validate_evaluation_params({**evaluation_defaults, name: value})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("NUM_EPOCHS", 0),
        ("NUM_EPOCHS", -3),
        ("NUM_EPOCHS", "abc"),
        ("NUM_EPOCHS", 2.5),
        ("NUM_EPOCHS", True),
        ("BATCH_SIZE", "0"),
        ("LATENT_DIM", None),
        ("HIDDEN_DIM", "dez"),
        ("LEARNING_RATE", 0),
        ("LEARNING_RATE", -1e-3),
        ("LEARNING_RATE", "nan"),
        ("LEARNING_RATE", math.inf),
        ("LEARNING_RATE", "rápido"),
        ("SEED", -1),
        ("VAL_SIZE", 0),
        ("VAL_SIZE", 60000),
        ("TRAIN_SIZE", 55001),
        ("TSNE_SAMPLES", 10001),
        ("TSNE_SAMPLES", 10),
        ("NUM_THREADS", 0),
        ("DEVICE", "tpu"),
        ("PROGRESS", "talvez"),
        ("PROGRESS", 2),
        ("RESUME", "1"),
        ("N_SLIDERS", 21),
        ("EXPLORE_DIGIT", 10),
        ("DATA_DIR", 3),
        ("SNAPSHOT_EVERY", 0),
        ("BINARIZE", "talvez"),
        ("ARCH", "rnn"),
        ("ARCH", None),
        ("BETA", 0),
        ("BETA", "muito"),
        ("CHECKPOINT_DIR", 5),
        ("EXPLORE_MODE", "pixels"),
        ("EXPLORE_INDEX", -1),
    ],
)
def test_bad_parameter_names_culprit_value_and_allowed(defaults, name, value):
    with pytest.raises(vp.ParameterError) as error:
        vp.validate_params({**defaults, name: value})
    message = str(error.value)
    assert message.startswith(f"Parâmetro {name} inválido: recebido {value!r}")
    assert "permitido:" in message


def test_strings_from_papermill_are_converted(defaults):
    params = vp.validate_params(
        {**defaults, "NUM_EPOCHS": "5", "LEARNING_RATE": "1e-3", "PROGRESS": "não", "RESUME": "False",
         "TRAIN_SIZE": " 1000 ", "TSNE_SAMPLES": 500.0}
    )  # fmt: skip
    assert params["NUM_EPOCHS"] == 5 and params["LEARNING_RATE"] == 1e-3
    assert params["PROGRESS"] is False and params["RESUME"] is False
    assert params["TRAIN_SIZE"] == 1000 and params["TSNE_SAMPLES"] == 500


def test_resume_and_skip_training_together_are_rejected(defaults):
    with pytest.raises(vp.ParameterError, match="SKIP_TRAINING"):
        vp.validate_params({**defaults, "RESUME": True, "SKIP_TRAINING": True})


@pytest.mark.skipif(torch.cuda.is_available(), reason="esta máquina tem CUDA")
def test_cuda_without_gpu_says_so(defaults):
    with pytest.raises(vp.ParameterError, match="não há CUDA disponível nesta máquina"):
        vp.validate_params({**defaults, "DEVICE": "cuda"})


def test_seed_everything_fixes_thread_count():
    assert vp.seed_everything(0, num_threads=1) == 1 and torch.get_num_threads() == 1
    vp.seed_everything(0)
    assert torch.get_num_threads() == vp.default_num_threads()
