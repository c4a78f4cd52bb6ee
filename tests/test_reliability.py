"""Confiabilidade: parâmetros inválidos, arquivos IDX ruins, checkpoints, retomada, interrupção e NaN."""

import math
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

import vae_core as vc

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "vae_mnist.ipynb"


@pytest.fixture(scope="module")
def defaults() -> dict:
    """Os valores da célula `parameters` do notebook."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    values: dict = {}
    exec(cell.source, {}, values)
    return values


# ---------------------------------------------------------------- parâmetros


def test_defaults_are_valid_and_unchanged(defaults):
    assert set(defaults) == set(vc.PARAMETER_NAMES)
    assert vc.validate_params(defaults) == defaults


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
        ("IWAE_SIZE", 10001),
        ("IWAE_LARGE_K", 0),
        ("EPOCHS_2D", -1),
    ],
)
def test_bad_parameter_names_culprit_value_and_allowed(defaults, name, value):
    with pytest.raises(vc.ParameterError) as error:
        vc.validate_params({**defaults, name: value})
    message = str(error.value)
    assert message.startswith(f"Parâmetro {name} inválido: recebido {value!r}")
    assert "permitido:" in message


def test_strings_from_papermill_are_converted(defaults):
    params = vc.validate_params(
        {**defaults, "NUM_EPOCHS": "5", "LEARNING_RATE": "1e-3", "PROGRESS": "não", "RESUME": "False",
         "TRAIN_SIZE": " 1000 ", "TSNE_SAMPLES": 500.0}
    )  # fmt: skip
    assert params["NUM_EPOCHS"] == 5 and params["LEARNING_RATE"] == 1e-3
    assert params["PROGRESS"] is False and params["RESUME"] is False
    assert params["TRAIN_SIZE"] == 1000 and params["TSNE_SAMPLES"] == 500


def test_resume_and_skip_training_together_are_rejected(defaults):
    with pytest.raises(vc.ParameterError, match="SKIP_TRAINING"):
        vc.validate_params({**defaults, "RESUME": True, "SKIP_TRAINING": True})


@pytest.mark.skipif(torch.cuda.is_available(), reason="esta máquina tem CUDA")
def test_cuda_without_gpu_says_so(defaults):
    with pytest.raises(vc.ParameterError, match="não há CUDA disponível nesta máquina"):
        vc.validate_params({**defaults, "DEVICE": "cuda"})


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
    images, labels = vc.load_mnist_split(small_mnist, train=True)
    assert images.shape == (40, 28, 28) and labels.tolist()[:3] == [0, 1, 2]
    data = vc.load_mnist(small_mnist, val_size=10, seed=0)
    assert data.sizes() == {"treino": 30, "validação": 10, "teste": 10}


def test_val_size_larger_than_the_files_is_rejected(small_mnist):
    with pytest.raises(vc.ParameterError, match="VAL_SIZE"):
        vc.load_mnist(small_mnist, val_size=40)


def test_truncated_idx_file(small_mnist):
    path = small_mnist / "MNIST" / "raw" / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(vc.MNISTFileError, match="truncado ou corrompido") as error:
        vc.load_mnist_split(small_mnist, train=True)
    assert str(path) in str(error.value)


def test_file_shorter_than_header(small_mnist):
    path = small_mnist / "MNIST" / "raw" / "t10k-labels-idx1-ubyte"
    path.write_bytes(b"\x00\x00")
    with pytest.raises(vc.MNISTFileError, match="truncado"):
        vc.load_mnist_split(small_mnist, train=False)


def test_wrong_magic_number(small_mnist):
    path = small_mnist / "MNIST" / "raw" / "train-labels-idx1-ubyte"
    write_idx(path, 2051, [40])  # cabeçalho de imagens num arquivo de rótulos
    with pytest.raises(vc.MNISTFileError, match="número mágico 2051, esperado 2049"):
        vc.load_mnist_split(small_mnist, train=True)


def test_wrong_image_size(small_mnist):
    write_idx(small_mnist / "MNIST" / "raw" / "t10k-images-idx3-ubyte", 2051, [10, 27, 28])
    with pytest.raises(vc.MNISTFileError, match="27×28"):
        vc.load_mnist_split(small_mnist, train=False)


def test_images_and_labels_count_mismatch(small_mnist):
    write_idx(small_mnist / "MNIST" / "raw" / "train-labels-idx1-ubyte", 2049, [39])
    with pytest.raises(vc.MNISTFileError, match="40 imagens, mas train-labels-idx1-ubyte tem 39 rótulos"):
        vc.load_mnist_split(small_mnist, train=True)


# ---------------------------------------------------------------- checkpoints e treino

TINY = {"LATENT_DIM": 3, "HIDDEN_DIM": 16, "VAL_SIZE": 8, "TRAIN_SIZE": None, "SEED": 7, "BINARIZE": False,
        "BATCH_SIZE": 16, "LEARNING_RATE": 1e-3}  # fmt: skip
X = torch.rand(64, vc.INPUT_DIM, generator=torch.Generator().manual_seed(0))


def tiny_run(num_epochs, path=None, resume_from=None, lr=1e-3, params=TINY):
    vc.seed_everything(params["SEED"], num_threads=1)
    model = vc.VAE(hidden_dim=params["HIDDEN_DIM"], latent_dim=params["LATENT_DIM"])
    optimizer = vc.make_optimizer(model, lr)
    history = vc.fit(model, optimizer, X, X[:8], num_epochs, params["BATCH_SIZE"], params["SEED"],
                     progress=False, checkpoint_path=path, params=params, resume_from=resume_from)  # fmt: skip
    return history, model


def test_checkpoint_holds_everything_and_is_written_atomically(tmp_path):
    path = tmp_path / "ck" / "vae.pt"
    history, model = tiny_run(2, path)
    assert not path.with_name(path.name + ".tmp").exists()
    state = vc.open_checkpoint(path, TINY, vc.CHECKPOINT_RESUME_KEYS)
    assert state["epoch"] == 2 and state["history"] == history and state["params"] == TINY
    assert set(state["rng"]) == {"batches", "torch", "cuda", "numpy", "python"}
    assert all(torch.equal(state["model"][k], v) for k, v in model.state_dict().items())
    assert state["optimizer"]["state"], "o estado do Adam não foi salvo"


def test_kill_while_saving_keeps_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "vae.pt"
    tiny_run(1, path)
    before = path.read_bytes()

    def dies_midway(obj, file):
        Path(file).write_bytes(b"meio arquivo")
        raise KeyboardInterrupt

    monkeypatch.setattr(vc.torch, "save", dies_midway)
    history, _ = tiny_run(2, path)  # a interrupção ao salvar a época 1 encerra o treino
    assert path.read_bytes() == before
    assert vc.open_checkpoint(path, TINY, vc.CHECKPOINT_RESUME_KEYS)["epoch"] == 1


def test_resumed_run_ends_bitwise_equal_to_uninterrupted_run(tmp_path):
    straight, straight_model = tiny_run(3)
    path = tmp_path / "vae.pt"
    tiny_run(1, path)  # "interrompido" depois da época 1
    state = vc.open_checkpoint(path, TINY, vc.CHECKPOINT_RESUME_KEYS)
    resumed, resumed_model = tiny_run(3, path, resume_from=state)
    assert resumed == straight
    assert all(torch.equal(a, b) for a, b in zip(resumed_model.state_dict().values(),
                                                 straight_model.state_dict().values()))  # fmt: skip
    assert vc.open_checkpoint(path, TINY, vc.CHECKPOINT_RESUME_KEYS)["epoch"] == 3


def test_checkpoint_mismatch_names_the_parameter(tmp_path):
    path = tmp_path / "vae.pt"
    tiny_run(1, path)
    with pytest.raises(vc.CheckpointError) as error:
        vc.open_checkpoint(path, {**TINY, "LATENT_DIM": 5, "SEED": 8}, vc.CHECKPOINT_MODEL_KEYS)
    assert "LATENT_DIM: checkpoint 3, parâmetro 5" in str(error.value)
    assert "SEED: checkpoint 7, parâmetro 8" in str(error.value)
    # lote diferente não impede reutilizar o modelo, só retomar o treino
    vc.open_checkpoint(path, {**TINY, "BATCH_SIZE": 32}, vc.CHECKPOINT_MODEL_KEYS)
    with pytest.raises(vc.CheckpointError, match="BATCH_SIZE"):
        vc.open_checkpoint(path, {**TINY, "BATCH_SIZE": 32}, vc.CHECKPOINT_RESUME_KEYS)


def test_missing_checkpoint_says_where_and_what_to_do(tmp_path):
    with pytest.raises(vc.CheckpointError, match="Não há checkpoint em .*CHECKPOINT_PATH"):
        vc.open_checkpoint(tmp_path / "nada.pt", TINY, vc.CHECKPOINT_MODEL_KEYS)


def test_keyboard_interrupt_keeps_history_and_says_how_to_resume(tmp_path, monkeypatch, capsys):
    path = tmp_path / "vae.pt"
    real_epoch, calls = vc.train_epoch, []

    def interrupted_on_second_epoch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_epoch(*args, **kwargs)

    monkeypatch.setattr(vc, "train_epoch", interrupted_on_second_epoch)
    history, _ = tiny_run(4, path)
    assert len(history["train_loss"]) == 1
    message = capsys.readouterr().out
    assert "interrompido pelo usuário durante a época 2" in message
    assert f"checkpoint da época 1 está guardado em {path}" in message and "RESUME=True" in message


def test_absurd_learning_rate_stops_with_epoch_batch_and_cause(tmp_path):
    path = tmp_path / "vae.pt"
    tiny_run(1, path)
    good = path.read_bytes()
    with pytest.raises(vc.TrainingDiverged) as error:
        tiny_run(3, path, lr=1e12)
    message = str(error.value)
    assert "NaN/infinito na época 1, lote" in message and "taxa de aprendizado" in message
    assert path.read_bytes() == good  # o último checkpoint bom ficou


def test_seed_everything_fixes_thread_count():
    assert vc.seed_everything(0, num_threads=1) == 1 and torch.get_num_threads() == 1
    vc.seed_everything(0)
    assert torch.get_num_threads() == vc.default_num_threads()
