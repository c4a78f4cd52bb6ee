"""vae_tools.training: o treino com checkpoints, reconstruções e barra pendurados em `vae_core.fit`;
retomada exata (inclusive depois de um SIGKILL de verdade), Ctrl+C e NaN."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TINY, losses, run_tiny, tiny_data

import vae_core as vc
from vae_tools import checkpoints, training
from vae_tools.checkpoints import Action

TESTS = Path(__file__).resolve().parent
KILL_DATA, KILL_EPOCHS = 2000, 40


def same_weights(a, b) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_snapshots_every_k_epochs_and_at_the_end(tmp_path):
    x = tiny_data(40)
    plan = checkpoints.plan_run(TINY | {"CHECKPOINT_DIR": str(tmp_path), "NUM_EPOCHS": 5})
    model, optimizer = training.build(plan.config)
    history = training.train(plan, model, optimizer, x, x[:10], progress=False, snapshot_x=x[:4], snapshot_every=2)
    assert history["snapshot_epochs"] == [2, 4, 5]
    last = history["snapshots"][-1].numpy()
    assert last.shape == (4, 28, 28) and last.dtype == np.uint8
    np.testing.assert_allclose(last / 255, vc.reconstruct(model, x[:4]), atol=0.5 / 255 + 1e-6)
    assert checkpoints.load_checkpoint(plan.path)["history"]["snapshot_epochs"] == [2, 4, 5]


def test_weights_are_a_function_of_the_configuration(tmp_path):
    """O mesmo modelo, construído depois de sorteios diferentes no gerador global, sai com os mesmos
    pesos; outra semente dá outros; e o gerador global não é tocado pela construção."""
    torch.manual_seed(0)
    first = training.build(TINY)[0]
    torch.rand(1000)  # outro uso do gerador global antes de construir
    state = torch.get_rng_state()
    second = training.build(TINY)[0]
    assert torch.equal(state, torch.get_rng_state()), "construir o modelo consumiu o gerador global"
    assert same_weights(first, second)
    assert not same_weights(first, training.build(TINY | {"SEED": TINY["SEED"] + 1})[0])


def test_fresh_training_does_not_depend_on_what_ran_before(tmp_path):
    """Dois treinos do zero da mesma configuração, com o gerador global em estados diferentes antes
    (como o relatório e o laboratório), chegam às mesmas perdas e aos mesmos pesos, bit a bit."""
    torch.set_num_threads(1)
    results = []
    for folder, draws in (("a", 1), ("b", 12345)):
        torch.rand(draws)  # o gerador global em outro estado
        plan = checkpoints.plan_run(TINY | {"CHECKPOINT_DIR": str(tmp_path / folder)})
        model, optimizer = training.build(plan.config)
        results.append((training.train(plan, model, optimizer, tiny_data(), tiny_data()[:8], False), model))
    (a_history, a_model), (b_history, b_model) = results
    assert losses(a_history) == losses(b_history) and same_weights(a_model, b_model)


def test_older_checkpoint_format_is_refused_and_kept(tmp_path):
    _, _, plan = run_tiny(tmp_path / "ck")
    state = checkpoints.load_checkpoint(plan.path) | {"version": 2}
    torch.save(state, plan.path)
    before = plan.path.read_bytes()
    with pytest.raises(checkpoints.CheckpointError, match="versão 2 do formato"):
        checkpoints.plan_run(TINY | {"CHECKPOINT_DIR": str(plan.path.parent)})
    assert plan.path.read_bytes() == before


def test_resumed_run_ends_bitwise_equal_to_uninterrupted_run(tmp_path):
    straight, straight_model, _ = run_tiny(tmp_path / "direto")
    path = tmp_path / "vae.pt"
    run_tiny(tmp_path, NUM_EPOCHS=1, CHECKPOINT_PATH=str(path))  # "interrompido" depois da época 1
    resumed, resumed_model, plan = run_tiny(tmp_path, RESUME=True, CHECKPOINT_PATH=str(path))
    assert plan.action is Action.CONTINUE and plan.state["epoch"] == 1
    assert losses(resumed) == losses(straight) and same_weights(resumed_model, straight_model)
    assert checkpoints.load_checkpoint(path)["epoch"] == 3


def kill_child(folder: str):
    """O processo filho do teste de SIGKILL: um treino de KILL_EPOCHS épocas com checkpoints em `folder`."""
    run_tiny(folder, x=tiny_data(KILL_DATA), NUM_EPOCHS=KILL_EPOCHS, TRAIN_SIZE=KILL_DATA, HIDDEN_DIM=64)


def test_sigkill_after_a_saved_epoch_then_rerun_gives_the_uninterrupted_losses(tmp_path):
    folder = tmp_path / "morto"
    child = subprocess.Popen(
        [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(TESTS)!r}); import test_training as t; "
         f"t.kill_child({str(folder)!r})"]
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not list(folder.glob("*.pt")) and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait()
    assert child.returncode == -signal.SIGKILL, "o filho terminou antes de ser morto"
    (path,) = folder.glob("*.pt")
    killed_at = checkpoints.load_checkpoint(path)["epoch"]
    assert 1 <= killed_at < KILL_EPOCHS

    changes = {"x": tiny_data(KILL_DATA), "NUM_EPOCHS": KILL_EPOCHS, "TRAIN_SIZE": KILL_DATA, "HIDDEN_DIM": 64}
    resumed, resumed_model, plan = run_tiny(folder, **changes)  # os mesmos parâmetros: continua sozinho
    assert plan.action is Action.CONTINUE and plan.state["epoch"] == killed_at
    straight, straight_model, _ = run_tiny(tmp_path / "direto", **changes)
    assert losses(resumed) == losses(straight) and same_weights(resumed_model, straight_model)


def test_keyboard_interrupt_keeps_history_and_says_how_to_continue(tmp_path, monkeypatch, capsys):
    real_epoch, calls = vc.train_epoch, []

    def interrupted_on_second_epoch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_epoch(*args, **kwargs)

    monkeypatch.setattr(vc, "train_epoch", interrupted_on_second_epoch)
    history, _, plan = run_tiny(tmp_path, NUM_EPOCHS=4)
    assert len(history["train_loss"]) == 1
    message = capsys.readouterr().out
    assert "interrompido pelo usuário durante a época 2" in message
    assert f"checkpoint da época 1 está guardado em {plan.path}" in message and "mesmos parâmetros" in message


def test_absurd_learning_rate_stops_with_epoch_batch_and_cause(tmp_path, monkeypatch):
    path = tmp_path / "vae.pt"
    run_tiny(tmp_path, NUM_EPOCHS=1, CHECKPOINT_PATH=str(path))
    good = path.read_bytes()

    def restore_with_absurd_rate(state, model, optimizer, generator):
        history = checkpoints.restore_checkpoint(state, model, optimizer, generator)
        optimizer.param_groups[0]["lr"] = 1e12
        return history

    monkeypatch.setattr(training, "restore_checkpoint", restore_with_absurd_rate)
    with pytest.raises(vc.TrainingDiverged) as error:
        run_tiny(tmp_path, NUM_EPOCHS=3, CHECKPOINT_PATH=str(path))
    message = str(error.value)
    assert "NaN/infinito na época 2, lote" in message and "taxa de aprendizado" in message
    assert path.read_bytes() == good  # o último checkpoint bom ficou


def test_a_plan_made_before_another_run_finished_reuses_what_it_wrote(tmp_path, monkeypatch, capsys):
    """Entre a primeira célula e o treino, outra execução terminou esta configuração: com a trava na mão,
    o treino decide o plano de novo e reutiliza o checkpoint dela em vez de treinar por cima."""
    params = TINY | {"CHECKPOINT_DIR": str(tmp_path)}
    stale = checkpoints.plan_run(params)
    finished, _, _ = run_tiny(tmp_path)  # a outra execução, do começo ao fim
    assert stale.action is Action.TRAIN
    monkeypatch.setattr(vc, "train_epoch", lambda *a, **k: pytest.fail("treinou por cima"))
    model, optimizer = training.build(params)
    history = training.train(stale, model, optimizer, tiny_data(), tiny_data()[:8], progress=False)
    assert stale.action is Action.TRAIN and losses(history) == losses(finished)  # o plano recebido não muda
    assert "Outro processo gravou esta configuração" in capsys.readouterr().out


def test_the_chapter_refuses_a_finished_checkpoint_without_the_reconstructions_per_epoch(tiny_run):
    from vae_tools import checkpoints, training

    _, _, plan = tiny_run(NUM_EPOCHS=1)  # treinado sem snapshot_x, como o laboratório de antes
    reused = checkpoints.plan_run(TINY | {"CHECKPOINT_DIR": str(plan.path.parent), "NUM_EPOCHS": 1})
    with pytest.raises(checkpoints.CheckpointError, match="reconstruções de cada época.*apague esse arquivo"):
        training.require_snapshots(reused)
    training.require_snapshots(plan)  # um treino a fazer (ou continuar) grava as suas
