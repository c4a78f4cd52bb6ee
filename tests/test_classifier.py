"""vae_tools.classifier: a CNN que lê os dígitos — forma das saídas, pesos função da configuração, aumento de
dados, seleção pela validação e o arquivo de pesos tão seguro quanto os checkpoints do VAE (treinado uma vez,
nunca sobrescrito, lido sem executar código, recusado com a diferença quando não combina)."""

import pytest
import torch
from conftest import RunsCode

import vae_core as vc
from vae_tools import checkpoints, classifier, mnist
from vae_tools.checkpoints import CheckpointError


def small_split(mnist_dir, seed: int = 0) -> mnist.MNISTData:
    """MNIST de verdade, pequeno: 2.000 de treino, 500 de validação e 2.000 de teste."""
    data = mnist.load_mnist(mnist_dir, val_size=500, train_size=2000, seed=seed)
    return mnist.MNISTData(data.train_x, data.train_y, data.val_x, data.val_y, data.test_x[:2000], data.test_y[:2000])


TINY = {"seed": 3, "num_epochs": 2, "learning_rate": 3e-3}  # ≈ 1 s de treino em 2 núcleos


@pytest.fixture(scope="module")
def small_data(mnist_dir):
    return small_split(mnist_dir)


@pytest.fixture
def trained(small_data, tmp_path):
    """Um classificador minúsculo treinado numa pasta do teste: (dados, classificador, info)."""
    model, info = classifier.load_or_train_classifier(small_data, folder=tmp_path, **TINY)
    return small_data, model, info


def same_weights(a, b) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_outputs_logits_and_penultimate_features_for_every_input_form():
    model = classifier.build_classifier(0).eval()
    x = torch.rand(5, vc.INPUT_DIM, generator=torch.Generator().manual_seed(0))
    pixels = (x * 255).round().to(torch.uint8)
    assert model(x).shape == (5, 10)
    features = model.features(x)
    assert features.shape == (5, classifier.NUM_FEATURES) == (5, model.num_features)
    assert features.dtype == torch.float32 and (features >= 0).all()  # depois da ReLU
    torch.testing.assert_close(model.out(features), model(x))  # os logits saem dos atributos
    torch.testing.assert_close(model(pixels), model(pixels.float() / 255))  # uint8 0–255 = floats em [0, 1]
    torch.testing.assert_close(model(x.reshape(5, 28, 28)), model(x))
    features_b, logits_b = classifier.embed(model, x, block=2)  # em blocos: o mesmo que de uma vez
    torch.testing.assert_close(features_b, features)
    torch.testing.assert_close(logits_b, model(x))


def test_weights_are_a_function_of_the_seed_and_leave_the_global_generator_alone():
    torch.manual_seed(0)
    first = classifier.build_classifier(5)
    torch.rand(1000)  # outros sorteios antes da construção
    before = torch.get_rng_state()
    second = classifier.build_classifier(5)
    assert torch.equal(torch.get_rng_state(), before)
    assert same_weights(first, second)
    assert not same_weights(first, classifier.build_classifier(6))


def test_shifts_translate_each_image_by_at_most_the_given_pixels():
    generator = torch.Generator().manual_seed(0)
    x = torch.zeros(64, 1, 28, 28)
    x[:, :, 4:24, 4:24] = torch.rand(64, 1, 20, 20, generator=generator)  # conteúdo longe da borda
    shifted = classifier.shift_images(x, 2, generator)
    offsets = set()
    for original, moved in zip(x, shifted):
        matches = [
            (dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
            if torch.equal(torch.roll(original, (dy, dx), dims=(1, 2)), moved)
        ]  # fmt: skip
        assert len(matches) == 1, "cada imagem é uma translação inteira, sem perder pixels"
        offsets.add(matches[0])
    assert len(offsets) > 10  # os deslocamentos variam de imagem para imagem
    assert torch.equal(classifier.shift_images(x, 0, generator), x)


def test_trains_keeps_the_best_validation_epoch_and_reports_the_test(trained):
    data, model, info = trained
    assert info["trained"] is True
    assert not model.training
    assert info["test_accuracy"] > 0.7, "2 épocas em 2.000 imagens já leem a maioria dos dígitos (acaso: 0,1)"
    assert info["test_accuracy"] == pytest.approx(classifier.accuracy(model, data.test_x, data.test_y))
    assert info["val_accuracy"] == pytest.approx(classifier.accuracy(model, data.val_x, data.val_y))
    state = checkpoints.read_state(info["path"])  # weights_only: só tensores e tipos simples
    assert state["val_accuracy"] == max(state["val_accuracies"])
    assert state["best_epoch"] == state["val_accuracies"].index(state["val_accuracy"]) + 1
    assert len(state["val_accuracies"]) == TINY["num_epochs"]
    assert info["seconds"] == state["seconds"] > 0


def test_file_is_named_by_its_configuration_in_the_checkpoints_folder(small_data, monkeypatch, tmp_path):
    monkeypatch.setenv(checkpoints.CHECKPOINT_DIR_ENV, str(tmp_path / "pasta"))
    _, info = classifier.load_or_train_classifier(small_data, **TINY)
    assert info["path"] == tmp_path / "pasta" / "classificador-lenet-lr0.003-b128-shift1-seed3-val500-n2000-e2.pt"
    assert [p.name for p in (tmp_path / "pasta").iterdir()] == [info["path"].name]  # sem .tmp para trás
    state = checkpoints.read_state(info["path"])
    assert state["format"] == classifier.FORMAT and state["version"] == classifier.VERSION
    assert state["config"] == info["config"]
    assert set(state["config"]) >= {"ARCH", "NUM_EPOCHS", "SEED", "VAL_SIZE", "TRAIN_SIZE", "LEARNING_RATE"}
    assert state["config"]["TRAIN_SIZE"] == 2000 and state["config"]["VAL_SIZE"] == 500


def test_the_default_folder_in_tests_is_the_temporary_one():
    folder = checkpoints.resolve_checkpoint_dir()
    assert folder != checkpoints.REPO_ROOT / "checkpoints" and "vae-testes-checkpoints" in str(folder)


def test_second_call_loads_instead_of_training_and_never_rewrites(trained, monkeypatch, tmp_path):
    data, model, info = trained
    before, mtime = info["path"].read_bytes(), info["path"].stat().st_mtime_ns

    def no_training(*args, **kwargs):
        raise AssertionError("treinou de novo em vez de ler o arquivo")

    monkeypatch.setattr(classifier, "train_classifier", no_training)
    again, info_again = classifier.load_or_train_classifier(data, folder=tmp_path, **TINY)
    assert info_again["trained"] is False and not again.training
    assert same_weights(model, again)
    for key in ("test_accuracy", "val_accuracy", "seconds", "best_epoch", "path"):
        assert info_again[key] == info[key]
    assert info["path"].read_bytes() == before and info["path"].stat().st_mtime_ns == mtime
    x = mnist.flatten_images(data.test_x[:50])
    torch.testing.assert_close(again(x), model(x))


def test_another_split_of_the_same_sizes_is_refused_naming_the_difference(trained, mnist_dir, tmp_path):
    _, _, info = trained
    before = info["path"].read_bytes()
    other = small_split(mnist_dir, seed=1)  # mesmos tamanhos, logo o mesmo nome de arquivo
    with pytest.raises(CheckpointError, match="não combina") as error:
        classifier.load_or_train_classifier(other, folder=tmp_path, **TINY)
    message = str(error.value)
    assert str(info["path"]) in message and "DATA:" in message and "não é sobrescrito" in message
    assert "SEED" not in message  # só a chave que difere
    assert info["path"].read_bytes() == before


def test_a_file_whose_stored_configuration_differs_is_refused_naming_the_key(trained, tmp_path):
    data, _, info = trained
    state = checkpoints.read_state(info["path"])
    state["config"]["LEARNING_RATE"] = 0.01
    checkpoints.write_state(state, info["path"])
    with pytest.raises(CheckpointError, match=r"LEARNING_RATE: arquivo 0\.01, pedido 0\.003"):
        classifier.load_or_train_classifier(data, folder=tmp_path, **TINY)


def test_a_malicious_file_is_refused_without_running_and_stays(small_data, tmp_path):
    config = classifier.classifier_config(small_data, **{k: v for k, v in TINY.items() if k != "learning_rate"})
    config["LEARNING_RATE"] = TINY["learning_rate"]
    path, marker = tmp_path / classifier.classifier_name(config), tmp_path / "executou"
    torch.save({"format": classifier.FORMAT, "model": RunsCode(marker)}, path)
    before = path.read_bytes()
    with pytest.raises(CheckpointError, match="poderia executar código") as error:
        classifier.load_or_train_classifier(small_data, folder=tmp_path, **TINY)
    assert str(path) in str(error.value)
    assert not marker.exists(), "o arquivo executou código ao ser aberto"
    assert path.read_bytes() == before
    torch.load(path, weights_only=False)  # o arquivo é de fato perigoso: sem weights_only, ele executa
    assert marker.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (lambda good: good[: len(good) // 2], "truncado, corrompido"),
        (lambda good: b"", "truncado, corrompido"),
        (lambda good: None, "não é um classificador deste projeto"),
    ],
    ids=["truncado", "vazio", "outro-arquivo-torch"],
)
def test_a_damaged_or_foreign_file_is_refused_and_kept(trained, tmp_path, content, message):
    data, _, info = trained
    damaged = content(info["path"].read_bytes())
    if damaged is None:
        torch.save({"state_dict": {"w": torch.zeros(2)}}, info["path"])
    else:
        info["path"].write_bytes(damaged)
    before = info["path"].read_bytes()
    with pytest.raises(CheckpointError, match=message) as error:
        classifier.load_or_train_classifier(data, folder=tmp_path, **TINY)
    assert str(info["path"]) in str(error.value)
    assert info["path"].read_bytes() == before  # nunca sobrescrito por um treino novo


def test_an_older_format_version_is_refused(trained, tmp_path):
    data, _, info = trained
    state = checkpoints.read_state(info["path"])
    state["version"] = classifier.VERSION - 1
    checkpoints.write_state(state, info["path"])
    with pytest.raises(CheckpointError, match="versão"):
        classifier.load_or_train_classifier(data, folder=tmp_path, **TINY)


def test_unwritable_folder_is_refused_before_training(small_data, tmp_path, monkeypatch):
    blocker = tmp_path / "um-arquivo"
    blocker.write_text("não é pasta")

    def no_training(*args, **kwargs):
        raise AssertionError("treinou antes de saber se podia gravar")

    monkeypatch.setattr(classifier, "train_classifier", no_training)
    with pytest.raises(CheckpointError, match="Não é possível gravar"):
        classifier.load_or_train_classifier(small_data, folder=blocker / "sub", **TINY)
