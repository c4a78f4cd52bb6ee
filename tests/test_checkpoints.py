"""vae_tools.checkpoints: um arquivo por configuração, nada treinado é perdido ou trocado em silêncio,
e nenhum checkpoint executa código ao ser aberto."""

import os
from pathlib import Path

import pytest
import torch
from conftest import SESSION_CHECKPOINTS, TINY, losses

import vae_core as vc
from vae_tools import checkpoints
from vae_tools.checkpoints import CheckpointError

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------- identidade e pasta


def test_runs_with_different_parameters_get_different_files_and_both_stay(tiny_run):
    _, _, first = tiny_run(NUM_EPOCHS=2)
    before = first.path.read_bytes()
    _, _, other = tiny_run(NUM_EPOCHS=2, LATENT_DIM=5, BETA=4.0)
    assert first.path.name == "mlp16-z3-beta1-lr0.001-b16-seed7-val8-n64-e2.pt"
    assert other.path.name == "mlp16-z5-beta4-lr0.001-b16-seed7-val8-n64-e2.pt"
    assert first.path.read_bytes() == before
    assert checkpoints.load_checkpoint(other.path)["config"]["LATENT_DIM"] == 5


def test_a_quick_run_never_replaces_a_longer_one(tiny_run):
    _, _, long_run = tiny_run(NUM_EPOCHS=3)
    before = long_run.path.read_bytes()
    _, _, quick = tiny_run(NUM_EPOCHS=1)
    assert quick.action == "treinar" and quick.path != long_run.path
    assert long_run.path.read_bytes() == before


def test_canonical_config_train_size_none_and_conv_ignores_hidden_dim():
    params = TINY | {"TRAIN_SIZE": None, "VAL_SIZE": 5000}
    assert checkpoints.run_config(params)["TRAIN_SIZE"] == 55_000
    assert checkpoints.run_config(params) == checkpoints.run_config(params | {"TRAIN_SIZE": 55_000})
    conv = checkpoints.run_config(TINY | {"ARCH": "conv"})
    assert conv == checkpoints.run_config(TINY | {"ARCH": "conv", "HIDDEN_DIM": 999})
    assert checkpoints.run_name(conv, 20).startswith(f"conv{vc.CONV_CHANNELS}-z3-")
    assert checkpoints.run_name(checkpoints.run_config(TINY | {"BINARIZE": True}), 1).endswith("-bin-e1")


def test_checkpoint_dir_parameter_beats_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(checkpoints.CHECKPOINT_DIR_ENV, str(tmp_path / "env"))
    assert checkpoints.resolve_checkpoint_dir() == tmp_path / "env"
    assert checkpoints.resolve_checkpoint_dir(tmp_path / "param") == tmp_path / "param"


def test_the_test_session_never_uses_the_users_checkpoints_folder():
    """Todo o `make test` (nbval incluído, pelo ambiente herdado) grava numa pasta temporária."""
    folder = checkpoints.resolve_checkpoint_dir()
    assert folder == SESSION_CHECKPOINTS.resolve() and os.environ[checkpoints.CHECKPOINT_DIR_ENV] == str(folder)
    assert ROOT not in folder.parents


# ---------------------------------------------------------------- reutilizar, continuar, recusar


def test_same_configuration_is_reused_without_training(tiny_run, monkeypatch):
    history, model, plan = tiny_run()
    before = plan.path.read_bytes()
    monkeypatch.setattr(vc, "train_epoch", lambda *a, **k: pytest.fail("treinou de novo"))
    again, again_model, again_plan = tiny_run()
    assert again_plan.action == "reutilizar" and "reutilizado" in again_plan.describe()
    assert again == history and plan.path.read_bytes() == before
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again_model.state_dict().values()))


def test_skip_training_finds_the_checkpoint_of_the_configuration_asked_for(tiny_run):
    history, _, plan = tiny_run()
    reused, _, skipped = tiny_run(SKIP_TRAINING=True)
    assert skipped.path == plan.path and reused == history
    with pytest.raises(CheckpointError, match="SKIP_TRAINING=True pede um checkpoint .*mas não há nenhum"):
        tiny_run(SKIP_TRAINING=True, LATENT_DIM=4)


def test_more_epochs_continue_a_shorter_run_which_stays_intact(tiny_run, tmp_path):
    straight, straight_model, _ = tiny_run(NUM_EPOCHS=4, folder=tmp_path / "direto")
    _, _, short = tiny_run(NUM_EPOCHS=2)
    before = short.path.read_bytes()
    continued, continued_model, plan = tiny_run(NUM_EPOCHS=4)
    assert plan.action == "continuar" and plan.source == short.path and plan.path.name.endswith("-e4.pt")
    assert "da época 2 de" in plan.describe() and "fica intacto" in plan.describe()
    assert short.path.read_bytes() == before
    assert losses(continued) == losses(straight)
    assert all(torch.equal(a, b) for a, b in zip(continued_model.state_dict().values(),
                                                 straight_model.state_dict().values()))  # fmt: skip


def test_resume_without_anything_to_continue_says_what_to_do(tiny_run):
    with pytest.raises(CheckpointError, match="RESUME=True, mas não há checkpoint desta configuração"):
        tiny_run(RESUME=True)


def test_explicit_path_with_more_training_is_refused_not_overwritten(tiny_run, tmp_path):
    path = tmp_path / "meu.pt"
    tiny_run(NUM_EPOCHS=3, CHECKPOINT_PATH=str(path))
    before = path.read_bytes()
    with pytest.raises(CheckpointError, match="já tem 3 épocas, mais que NUM_EPOCHS=1.*NUM_EPOCHS=3"):
        tiny_run(NUM_EPOCHS=1, CHECKPOINT_PATH=str(path))
    assert path.read_bytes() == before


def test_explicit_path_of_another_configuration_names_the_differences(tiny_run, tmp_path):
    path = tmp_path / "meu.pt"
    tiny_run(NUM_EPOCHS=1, CHECKPOINT_PATH=str(path))
    with pytest.raises(CheckpointError) as error:
        tiny_run(NUM_EPOCHS=1, CHECKPOINT_PATH=str(path), LATENT_DIM=5, SEED=8, SKIP_TRAINING=True)
    assert "LATENT_DIM: checkpoint 3, parâmetro 5" in str(error.value)
    assert "SEED: checkpoint 7, parâmetro 8" in str(error.value)


def test_unwritable_location_is_refused_before_training(tiny_run, tmp_path, monkeypatch):
    blocker = tmp_path / "arquivo"
    blocker.write_text("não sou uma pasta")
    monkeypatch.setattr(vc, "train_epoch", lambda *a, **k: pytest.fail("treinou antes de conferir a pasta"))
    with pytest.raises(CheckpointError, match="Não é possível gravar o checkpoint .*CHECKPOINT_DIR") as error:
        tiny_run(folder=blocker / "checkpoints")
    assert str(blocker / "checkpoints") in str(error.value)


# ---------------------------------------------------------------- o arquivo


def test_checkpoint_holds_everything_and_is_written_atomically(tiny_run):
    history, model, plan = tiny_run(NUM_EPOCHS=2)
    assert not plan.path.with_name(plan.path.name + ".tmp").exists()
    state = checkpoints.load_checkpoint(plan.path)
    assert state["epoch"] == state["num_epochs"] == 2 and state["history"] == history
    assert state["config"] == checkpoints.run_config(TINY)
    assert set(state["rng"]) == {"batches", "torch", "cuda", "numpy", "python"}
    assert all(torch.equal(state["model"][k], v) for k, v in model.state_dict().items())
    assert state["optimizer"]["state"], "o estado do Adam não foi salvo"


def test_kill_while_saving_keeps_previous_checkpoint(tiny_run, tmp_path, monkeypatch):
    path = tmp_path / "vae.pt"
    tiny_run(NUM_EPOCHS=1, CHECKPOINT_PATH=str(path))
    before = path.read_bytes()

    def dies_midway(obj, file):
        Path(file).write_bytes(b"meio arquivo")
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoints.torch, "save", dies_midway)
    tiny_run(NUM_EPOCHS=2, CHECKPOINT_PATH=str(path))  # a interrupção ao salvar a época 2 encerra o treino
    assert path.read_bytes() == before
    assert checkpoints.load_checkpoint(path)["epoch"] == 1


class RunsCode:
    """Um objeto que, ao ser desempacotado por pickle, executa um comando (`touch MARCA`)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_a_malicious_checkpoint_is_refused_and_runs_nothing(tiny_run, tmp_path):
    marker, path = tmp_path / "executou", tmp_path / "compartilhado.pt"
    torch.save({"format": checkpoints.FORMAT, "model": RunsCode(marker)}, path)
    for attempt in (lambda: checkpoints.load_checkpoint(path), lambda: tiny_run(CHECKPOINT_PATH=str(path))):
        with pytest.raises(CheckpointError, match="poderia executar código") as error:
            attempt()
        assert str(path) in str(error.value)
        assert not marker.exists(), "o checkpoint executou código ao ser aberto"
    torch.load(path, weights_only=False)  # o arquivo é de fato perigoso: sem weights_only, ele executa
    assert marker.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (lambda good: good[: len(good) // 2], "truncado, corrompido"),
        (lambda good: b"isto e um texto qualquer\n", "truncado, corrompido"),
        (lambda good: b"", "truncado, corrompido"),
    ],
    ids=["truncado", "texto", "vazio"],
)
def test_damaged_file_gives_a_portuguese_error_naming_it(tiny_run, tmp_path, content, message):
    _, _, plan = tiny_run(NUM_EPOCHS=1)
    damaged = tmp_path / "estragado.pt"
    damaged.write_bytes(content(plan.path.read_bytes()))
    with pytest.raises(CheckpointError, match=message) as error:
        checkpoints.load_checkpoint(damaged)
    assert str(damaged) in str(error.value) and "Apague-o ou mova-o" in str(error.value)


def test_a_torch_file_that_is_not_ours_is_refused(tmp_path):
    path = tmp_path / "outro.pt"
    torch.save({"state_dict": {"w": torch.zeros(2)}}, path)
    with pytest.raises(CheckpointError, match="não é um checkpoint deste projeto"):
        checkpoints.load_checkpoint(path)
    pickle_path = tmp_path / "lista.pt"
    torch.save([1, 2, 3], pickle_path)
    with pytest.raises(CheckpointError, match="não é um checkpoint deste projeto"):
        checkpoints.load_checkpoint(pickle_path)


def test_paths_inside_the_project_are_shown_relative_to_it(tmp_path):
    assert checkpoints.shown(ROOT / "checkpoints" / "x.pt") == "checkpoints/x.pt"
    assert checkpoints.shown(tmp_path / "x.pt") == str(tmp_path / "x.pt")
