"""vae_tools.classifier: a CNN que lê os dígitos — forma das saídas, pesos função da configuração, aumento de
dados, seleção pela validação — e o instrumento fixo `vae_tools/classificador.pt`: a soma SHA-256 conferida,
treinado na partição padrão, ≥ 99 % no teste de verdade, lido sem executar código e nunca treinado por quem o
usa; um arquivo ausente, truncado, estranho ou malicioso é recusado em português, com o nome do arquivo e o
`make classificador` que o refaz."""

import hashlib
import re

import pytest
import torch
from conftest import ROOT, RunsCode

import vae_core as vc
from vae_tools import checkpoints, classifier, mnist
from vae_tools.checkpoints import CheckpointError

# A régua das medidas de qualidade. Muda só com `make classificador`, que imprime a soma nova: atualize-a aqui
# sabendo que as distâncias, precisões e leituras confiantes de antes não se comparam com as de depois.
CLASSIFIER_SHA256 = "cb3bdac02497e1ca7e2bce0d24625a444bc3932d7e121c9de46cc89fcb4dcca6"
MAX_BYTES = 2 * 10**6


def small_split(mnist_dir, seed: int = 0) -> mnist.MNISTData:
    """MNIST de verdade, pequeno: 2.000 de treino, 500 de validação e 2.000 de teste."""
    data = mnist.load_mnist(mnist_dir, val_size=500, train_size=2000, seed=seed)
    return mnist.MNISTData(data.train_x, data.train_y, data.val_x, data.val_y, data.test_x[:2000], data.test_y[:2000])


TINY = {"seed": 3, "num_epochs": 2, "learning_rate": 3e-3}  # ≈ 1 s de treino em 2 núcleos


@pytest.fixture(scope="module")
def small_data(mnist_dir):
    return small_split(mnist_dir)


@pytest.fixture(scope="module")
def trained(small_data):
    """Um classificador minúsculo treinado em 2.000 imagens: (dados, configuração, classificador, medidas)."""
    config = classifier.classifier_config(small_data, **TINY)
    model, measures = classifier.train_classifier(config, small_data)
    return small_data, config, model, measures


@pytest.fixture
def tiny_file(trained, tmp_path):
    """O classificador minúsculo gravado no formato do instrumento, numa pasta do teste."""
    _, config, model, measures = trained
    path = tmp_path / "classificador.pt"
    checkpoints.write_state(classifier.classifier_state(model, config, measures), path)
    return path


def data_test(data: mnist.MNISTData) -> tuple[torch.Tensor, torch.Tensor]:
    return data.test_x[:1000], data.test_y[:1000]


def same_weights(a, b) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


# ---------------------------------------------------------------- a rede


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


# ---------------------------------------------------------------- o treino (o que `make classificador` roda)


def test_trains_keeps_the_best_validation_epoch_and_reports_the_test(trained):
    data, config, model, measures = trained
    assert not model.training
    assert measures["test_accuracy"] > 0.7, "2 épocas em 2.000 imagens já leem a maioria dos dígitos (acaso: 0,1)"
    assert measures["test_accuracy"] == pytest.approx(classifier.accuracy(model, data.test_x, data.test_y))
    assert measures["val_accuracy"] == pytest.approx(classifier.accuracy(model, data.val_x, data.val_y))
    assert measures["val_accuracy"] == max(measures["val_accuracies"])
    assert measures["best_epoch"] == measures["val_accuracies"].index(measures["val_accuracy"]) + 1
    assert len(measures["val_accuracies"]) == TINY["num_epochs"] and measures["seconds"] > 0
    assert config["TRAIN_SIZE"] == 2000 and config["VAL_SIZE"] == 500 and config["SEED"] == 3


def test_the_state_is_weights_only_and_reads_back_as_the_same_classifier(trained, tiny_file):
    data, config, model, measures = trained
    state = torch.load(tiny_file, weights_only=True)  # só tensores e tipos simples
    assert state["format"] == classifier.FORMAT and state["version"] == classifier.VERSION
    assert state["config"] == config and set(state) >= classifier.STATE_KEYS
    again, info = classifier.load_classifier(path=tiny_file)
    assert not again.training and same_weights(model, again)
    x = mnist.flatten_images(data.test_x[:50])
    torch.testing.assert_close(again(x), model(x))
    for key in ("test_accuracy", "val_accuracy", "seconds", "best_epoch"):
        assert info[key] == measures[key]
    assert info["config"] == config and info["path"] == tiny_file
    assert info["sha256"] == hashlib.sha256(tiny_file.read_bytes()).hexdigest()


def test_make_classificador_trains_the_default_split_writes_and_prints_the_checksum(
    mnist_dir, tmp_path, monkeypatch, capsys
):
    """`python -m vae_tools.classifier` (o alvo `make classificador`), encurtado: 1 época em 2.000 das 55.000
    imagens da partição padrão. Grava no formato do instrumento, relê com weights_only e imprime a acurácia, os
    segundos, a soma SHA-256 do arquivo e o aviso de que a régua muda."""
    real, seen = classifier.train_classifier, {}

    def short(config, data, device="cpu", progress=False):
        seen["config"], seen["train"] = dict(config), len(data.train_x)
        subset = mnist.MNISTData(data.train_x[:2000], data.train_y[:2000], data.val_x, data.val_y, *data_test(data))
        return real(config | {"NUM_EPOCHS": 1}, subset, device, progress)

    monkeypatch.setattr(classifier, "train_classifier", short)
    monkeypatch.setattr(classifier, "seed_everything", lambda seed: seen.setdefault("seed", seed))  # threads intactas
    output = tmp_path / "novo.pt"
    classifier.main(["--output", str(output), "--data-dir", str(mnist_dir), "--no-progress"])
    assert seen["train"] == 55_000 and seen["seed"] == 42
    assert seen["config"] == classifier.classifier_config(mnist.load_mnist(mnist_dir, val_size=5000, seed=42))
    printed = capsys.readouterr().out
    digest = hashlib.sha256(output.read_bytes()).hexdigest()
    assert f"SHA-256: {digest}" in printed
    assert re.search(r"teste \d+,\d\d %", printed) and re.search(r"treino: \d+,\d s", printed)
    assert "AVISO" in printed and "muda a régua" in printed and "tests/test_classifier.py" in printed
    assert [p.name for p in tmp_path.iterdir()] == ["novo.pt"]  # gravação atômica: sem .tmp para trás
    _, info = classifier.load_classifier(path=output)
    assert info["config"]["DATA"] == seen["config"]["DATA"]


def test_the_make_target_exists_with_help_and_is_phony():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^classificador: .*## .+$", makefile, re.MULTILINE)
    assert re.search(r"^\t\$\(BIN\)/python -m vae_tools\.classifier$", makefile, re.MULTILINE)
    assert "classificador" in re.search(r"^\.PHONY:.*$", makefile, re.MULTILINE).group().split()


def test_the_default_folder_in_tests_is_the_temporary_one():
    folder = checkpoints.resolve_checkpoint_dir()
    assert folder != checkpoints.REPO_ROOT / "checkpoints" and "vae-testes-checkpoints" in str(folder)


# ---------------------------------------------------------------- o instrumento guardado no repositório


def test_the_committed_file_is_the_instrument_by_its_checksum_and_size():
    path = classifier.CLASSIFIER_PATH
    assert path == ROOT / "vae_tools" / "classificador.pt" and path.is_file()
    assert path.stat().st_size <= MAX_BYTES, "o instrumento deve ficar em até 2 MB"
    assert classifier.file_sha256(path) == CLASSIFIER_SHA256, (
        "vae_tools/classificador.pt mudou: a régua das medidas de qualidade não é mais a mesma. Se o treino "
        "novo (make classificador) foi intencional, atualize CLASSIFIER_SHA256 e reexecute os notebooks."
    )


def test_the_committed_file_loads_weights_only_without_training(monkeypatch):
    def no_training(*args, **kwargs):
        raise AssertionError("o classificador foi treinado em vez de lido")

    monkeypatch.setattr(classifier, "train_classifier", no_training)
    folder = checkpoints.resolve_checkpoint_dir()
    before = sorted(folder.iterdir()) if folder.exists() else []
    state = torch.load(classifier.CLASSIFIER_PATH, weights_only=True)
    assert state["format"] == classifier.FORMAT and state["version"] == classifier.VERSION
    assert sum(t.numel() for t in state["model"].values()) == 421_642  # ≈ 1,7 MB em float32
    assert all(t.dtype == torch.float32 for t in state["model"].values())
    model, info = classifier.load_classifier()
    assert isinstance(model, classifier.DigitClassifier) and not model.training
    assert next(model.parameters()).device.type == "cpu"
    assert info["sha256"] == CLASSIFIER_SHA256 and info["path"] == classifier.CLASSIFIER_PATH
    assert info["val_accuracy"] >= 0.99 and info["test_accuracy"] >= 0.99 and info["seconds"] > 0
    assert 1 <= info["best_epoch"] <= info["config"]["NUM_EPOCHS"]
    assert (sorted(folder.iterdir()) if folder.exists() else []) == before  # nada gravado nos checkpoints


def test_the_committed_file_was_trained_on_the_default_split_with_seed_42(mnist_dir):
    config = classifier.read_classifier_state(classifier.CLASSIFIER_PATH)["config"]
    default = mnist.load_mnist(mnist_dir, val_size=5000, seed=42)  # a partição padrão do projeto
    assert config == classifier.classifier_config(default)  # arquitetura, épocas, taxa, lote, deslocamento, dados
    assert config["SEED"] == 42 and config["VAL_SIZE"] == 5000 and config["TRAIN_SIZE"] == 55_000
    assert config["DATA"] == classifier.data_fingerprint(default)  # exatamente essas imagens


def test_the_committed_file_reads_at_least_99_percent_of_the_real_test_set(mnist_dir):
    images, labels = mnist.load_mnist_split(mnist_dir, train=False)
    model, info = classifier.load_classifier()
    measured = classifier.accuracy(model, images, labels)
    assert len(images) == 10_000 and measured >= 0.99
    assert measured == pytest.approx(info["test_accuracy"], abs=3e-4)  # a mesma régua aqui: ±3 imagens
    predicted, confidence = classifier.read(model, mnist.flatten_images(images[:500]))
    assert (predicted == labels[:500].numpy()).mean() >= 0.98 and confidence.min() > 0.1


# ---------------------------------------------------------------- arquivos recusados


def test_a_malicious_file_is_refused_without_running_and_stays(tmp_path):
    path, marker = tmp_path / "classificador.pt", tmp_path / "executou"
    torch.save({"format": classifier.FORMAT, "model": RunsCode(marker)}, path)
    before = path.read_bytes()
    with pytest.raises(CheckpointError, match="poderia executar código") as error:
        classifier.load_classifier(path=path)
    assert str(path) in str(error.value) and "make classificador" in str(error.value)
    assert not marker.exists(), "o arquivo executou código ao ser aberto"
    assert path.read_bytes() == before
    torch.load(path, weights_only=False)  # o arquivo é de fato perigoso: sem weights_only, ele executa
    assert marker.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (lambda good: good[: len(good) // 2], "truncado, corrompido"),
        (lambda good: b"", "truncado, corrompido"),
        (lambda good: b"texto qualquer\n", "truncado, corrompido"),
        (lambda good: {"state_dict": {"w": torch.zeros(2)}}, "não é um classificador deste projeto"),
        (lambda good: [1, 2, 3], "não é um classificador deste projeto"),
    ],
    ids=["truncado", "vazio", "texto", "outro-arquivo-torch", "uma-lista"],
)
def test_a_damaged_or_foreign_file_is_refused_and_kept(tiny_file, content, message):
    damaged = content(tiny_file.read_bytes())
    if isinstance(damaged, bytes):
        tiny_file.write_bytes(damaged)
    else:
        torch.save(damaged, tiny_file)
    before = tiny_file.read_bytes()
    with pytest.raises(CheckpointError, match=message) as error:
        classifier.load_classifier(path=tiny_file)
    assert str(tiny_file) in str(error.value) and "make classificador" in str(error.value)
    assert tiny_file.read_bytes() == before  # nunca sobrescrito, nunca treinado de novo


def test_a_missing_file_is_refused_naming_it_and_the_make_target(tmp_path):
    path = tmp_path / "nao-existe.pt"
    with pytest.raises(CheckpointError, match="Não há o classificador") as error:
        classifier.load_classifier(path=path)
    assert str(path) in str(error.value) and "make classificador" in str(error.value)
    assert not path.exists()


def test_an_older_format_version_is_refused(tiny_file):
    state = checkpoints.read_state(tiny_file)
    state["version"] = classifier.VERSION - 1
    checkpoints.write_state(state, tiny_file)
    with pytest.raises(CheckpointError, match="versão") as error:
        classifier.load_classifier(path=tiny_file)
    assert "make classificador" in str(error.value)


def test_weights_of_another_architecture_are_refused(tiny_file):
    state = checkpoints.read_state(tiny_file)
    state["model"] = {"conv1.weight": torch.zeros(3, 1, 5, 5)}
    checkpoints.write_state(state, tiny_file)
    with pytest.raises(CheckpointError, match="não servem para esta arquitetura") as error:
        classifier.load_classifier(path=tiny_file)
    assert str(tiny_file) in str(error.value) and "make classificador" in str(error.value)
