"""vae_tools.checkpoints: um arquivo por configuração, nada treinado é perdido ou trocado em silêncio,
e nenhum checkpoint executa código ao ser aberto."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch
from conftest import SESSION_CHECKPOINTS, TINY, RunsCode, losses, run_tiny, tiny_data

import vae_core as vc
from vae_tools import checkpoints, resources, training
from vae_tools.checkpoints import Action, CheckpointError
from vae_tools.parameters import seed_everything

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
    assert quick.action is Action.TRAIN and quick.path != long_run.path
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
    assert again_plan.action is Action.REUSE and "reutilizado" in again_plan.describe()
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
    assert plan.action is Action.CONTINUE and plan.source == short.path and plan.path.name.endswith("-e4.pt")
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


@pytest.mark.parametrize(("saved", "asked"), [("cvae", "mlp"), ("mlp", "cvae")])
def test_conditional_and_unconditional_checkpoints_refuse_each_other(tmp_path, saved, asked):
    """Um checkpoint do VAE condicional onde se espera um incondicional (e o contrário) é recusado antes de
    treinar, nomeando a diferença; o arquivo fica intacto."""
    path, x, y = tmp_path / "meu.pt", tiny_data(), torch.arange(64) % 10
    params = TINY | {"ARCH": saved, "NUM_EPOCHS": 1, "CHECKPOINT_PATH": str(path)}
    model, optimizer = training.build(params)
    labels = (y, y[:8]) if saved == "cvae" else None
    training.train(checkpoints.plan_run(params), model, optimizer, x, x[:8], progress=False, labels=labels)
    before = path.read_bytes()
    with pytest.raises(CheckpointError) as error:
        checkpoints.plan_run(params | {"ARCH": asked, "SKIP_TRAINING": True})
    message = str(error.value)
    assert f"ARCH: checkpoint {saved!r}, parâmetro {asked!r}" in message
    assert "condicional (cvae), que recebe o rótulo de cada imagem" in message
    assert "os pesos de um não servem ao outro" in message and path.read_bytes() == before


@pytest.mark.parametrize("where", ["CHECKPOINT_DIR", "CHECKPOINT_PATH"])
def test_unwritable_location_is_refused_before_training_naming_the_file_in_the_way(tiny_run, tmp_path, where):
    blocker = tmp_path / "arquivo"
    blocker.write_text("não sou uma pasta")
    chosen = {"folder": blocker / "checkpoints"} if where == "CHECKPOINT_DIR" else {where: str(blocker / "vae.pt")}
    with pytest.raises(CheckpointError, match="Não é possível gravar o checkpoint .*CHECKPOINT_DIR") as error:
        tiny_run(**chosen)
    message = str(error.value)
    assert f"{blocker} é um arquivo, não uma pasta (E" in message
    assert "File exists" not in message and "Not a directory" not in message


# ---------------------------------------------------------------- o arquivo


def test_checkpoint_holds_everything_and_is_written_atomically(tiny_run):
    history, model, plan = tiny_run(NUM_EPOCHS=2)
    assert not list(plan.path.parent.glob("*.tmp"))
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
        file.write(b"meio arquivo")
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoints.torch, "save", dies_midway)
    tiny_run(NUM_EPOCHS=2, CHECKPOINT_PATH=str(path))  # a interrupção ao salvar a época 2 encerra o treino
    assert path.read_bytes() == before
    assert checkpoints.load_checkpoint(path)["epoch"] == 1
    assert not list(tmp_path.glob("*.tmp")), "o temporário da gravação interrompida ficou"


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


# ---------------------------------------------------------------- gravação durável e concorrente


def test_write_is_durable_fsync_of_the_file_before_the_rename_then_of_the_folder(tmp_path, monkeypatch):
    """O arquivo temporário vai para o disco antes da troca de nome, e a pasta depois dela."""
    events, real_fsync, real_replace = [], os.fsync, os.replace

    def fsync(descriptor):
        events.append(("fsync", Path(os.readlink(f"/proc/self/fd/{descriptor}")).name))
        real_fsync(descriptor)

    def replace(source, target):
        events.append(("replace", Path(target).name))
        real_replace(source, target)

    if not Path("/proc/self/fd").is_dir():
        pytest.skip("sem /proc/self/fd para ver qual arquivo recebeu o fsync")
    monkeypatch.setattr(checkpoints.os, "fsync", fsync)
    monkeypatch.setattr(checkpoints.os, "replace", replace)
    checkpoints.write_state({"w": torch.ones(3)}, tmp_path / "estado.pt")
    (kind, temporary), *rest = events
    assert kind == "fsync" and temporary.startswith(f"estado.pt.{os.getpid()}-") and temporary.endswith(".tmp")
    assert rest == [("replace", "estado.pt"), ("fsync", tmp_path.name)]


def test_concurrent_writers_of_one_file_never_collide(tmp_path):
    """Antes, dois processos escreviam no mesmo `….pt.tmp` e o segundo a trocar de nome caía com
    FileNotFoundError; agora cada gravação tem o seu temporário e a última troca vence, inteira."""
    path, errors = tmp_path / "disputado.pt", []

    def writer(value: float):
        try:
            for _ in range(15):
                checkpoints.write_state({"w": torch.full((50_000,), value)}, path)
        except Exception as error:  # noqa: BLE001 — o teste quer ver qualquer falha
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(v,)) for v in (1.0, 2.0, 3.0)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    final = checkpoints.read_state(path)["w"]
    assert final.unique().tolist() in ([1.0], [2.0], [3.0])
    assert list(tmp_path.iterdir()) == [path]


# ---------------------------------------------------------------- disco cheio de verdade

MOUNTED: list[Path] = []


@pytest.fixture
def small_disk(tmp_path):
    """Monta um sistema de arquivos de verdade, pequeno (tmpfs), numa pasta do teste; desmonta no fim.
    Sem root (ou sem `mount`), o teste é pulado com o motivo — o de RLIMIT_FSIZE cobre esse caso."""

    def mount(size: str, options: str = "") -> Path:
        if os.geteuid() != 0:
            pytest.skip("montar um tmpfs pede root; o disco cheio é coberto pelo teste com RLIMIT_FSIZE")
        folder = tmp_path / f"disco-{size}"
        folder.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}{options}", "tmpfs", str(folder)],
            capture_output=True,
            text=True,
        )
        if done.returncode:
            pytest.skip(f"não foi possível montar um tmpfs: {done.stderr.strip()}")
        MOUNTED.append(folder)
        return folder

    yield mount
    while MOUNTED:
        subprocess.run(["umount", "-l", str(MOUNTED.pop())], check=False)


def test_a_disk_too_small_for_the_checkpoints_is_refused_before_training(small_disk):
    """O caso do relatado: pasta de checkpoints num sistema de arquivos de 2 MB, checkpoint de ≈ 8 MB."""
    disk = small_disk("2m")
    params = TINY | {"CHECKPOINT_DIR": str(disk), "HIDDEN_DIM": 400, "LATENT_DIM": 20}
    with pytest.raises(CheckpointError) as error:
        checkpoints.plan_run(params)
    message = str(error.value)
    assert "Não há espaço para gravar o checkpoint mlp400-z20-" in message and f"na pasta {disk}" in message
    assert "são precisos 15,8 MB livres, e há 2,1 MB" in message and "CHECKPOINT_DIR" in message
    assert list(disk.iterdir()) == []


def test_a_read_only_disk_is_refused_in_portuguese(small_disk):
    disk = small_disk("1m", ",ro")
    with pytest.raises(CheckpointError, match=r"somente leitura \(EROFS\)"):
        checkpoints.plan_run(TINY | {"CHECKPOINT_DIR": str(disk)})


def fill(folder: Path, leave: int):
    """Ocupa o disco de `folder` até sobrarem `leave` bytes."""
    with open(folder / "enchimento", "wb") as file:
        file.write(b"\0" * (resources.free_disk(folder) - leave))


def test_a_disk_that_fills_during_training_stops_cleanly_and_keeps_the_last_checkpoint(small_disk, capsys):
    disk = small_disk("8m")
    path = disk / "vae.pt"
    params = TINY | {"CHECKPOINT_PATH": str(path), "HIDDEN_DIM": 100, "NUM_EPOCHS": 3}
    run_tiny(disk, NUM_EPOCHS=1, CHECKPOINT_PATH=str(path), HIDDEN_DIM=100)  # o último checkpoint bom: época 1
    good = path.read_bytes()
    plan = checkpoints.plan_run(params)  # há espaço quando o plano é feito...
    fill(disk, leave=len(good) // 2)  # ...e o disco enche depois, antes de a época 2 ser gravada
    seed_everything(params["SEED"], num_threads=1)
    model, optimizer = training.build(params)
    history = training.train(plan, model, optimizer, tiny_data(), tiny_data()[:8], progress=False)
    message = capsys.readouterr().out
    assert "Treino interrompido ao gravar o checkpoint da época 2" in message
    assert (
        f"Não foi possível gravar vae.pt na pasta {disk}: disco cheio: não há espaço no dispositivo (ENOSPC)" in message
    )
    assert "O arquivo precisa de ≈ 1,9 MB" in message and f"checkpoint da época 1 está guardado em {path}" in message
    assert "NÃO chegou às 3 épocas" in message and "enforce fail" not in message
    assert len(history["train_loss"]) == 2  # o histórico até ali fica para as figuras
    assert path.read_bytes() == good and checkpoints.load_checkpoint(path)["epoch"] == 1
    assert sorted(p.name for p in disk.iterdir()) == [".vae.pt.lock", "enchimento", "vae.pt"]
    (disk / "enchimento").unlink()  # com espaço de novo, os mesmos parâmetros continuam da época 1
    resumed, _, again = run_tiny(disk, NUM_EPOCHS=3, CHECKPOINT_PATH=str(path), HIDDEN_DIM=100)
    assert again.action is Action.CONTINUE and again.state["epoch"] == 1 and len(resumed["train_loss"]) == 3


TRAIN_IN_CHILD = """
import json, sys
import torch
from vae_tools import checkpoints, training
from vae_tools.parameters import seed_everything

params = json.loads(sys.argv[1])
exec(sys.argv[2])  # o que o teste quer antes do treino (um limite de tamanho de arquivo, por exemplo)
x = torch.rand(params["TRAIN_SIZE"], 784, generator=torch.Generator().manual_seed(0))
plan = checkpoints.plan_run(params)
seed_everything(params["SEED"], num_threads=1)
model, optimizer = training.build(params)
history = training.train(plan, model, optimizer, x, x[:8], progress=False)
print("ÉPOCAS", len(history["train_loss"]))
"""
FILE_SIZE_LIMIT = """
import resource, signal
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # sem isto o sistema mata o processo; com isto, write dá EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))
"""


def child(params: dict, before: str = "") -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", TRAIN_IN_CHILD, json.dumps(params), before], stdout=subprocess.PIPE, text=True
    )


@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="sem RLIMIT_FSIZE/SIGXFSZ neste sistema")
def test_a_file_size_limit_hit_while_writing_stops_cleanly(tmp_path):
    """Sem root também dá para encher o disco de verdade: um limite de tamanho de arquivo no processo
    filho (RLIMIT_FSIZE) faz o `write` do checkpoint falhar com EFBIG no meio da gravação."""
    path = tmp_path / "vae.pt"
    run_tiny(tmp_path, NUM_EPOCHS=1, CHECKPOINT_PATH=str(path), HIDDEN_DIM=100)
    good = path.read_bytes()
    params = TINY | {"CHECKPOINT_PATH": str(path), "HIDDEN_DIM": 100, "NUM_EPOCHS": 3}
    process = child(params, FILE_SIZE_LIMIT.format(limit=len(good) // 2))
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 0 and "ÉPOCAS 2" in output, output
    assert "Treino interrompido ao gravar o checkpoint da época 2" in output
    assert "arquivo grande demais para o limite do sistema de arquivos ou do processo (EFBIG)" in output
    assert f"checkpoint da época 1 está guardado em {path}" in output and "enforce fail" not in output
    assert path.read_bytes() == good and checkpoints.load_checkpoint(path)["epoch"] == 1
    assert not list(tmp_path.glob("*.tmp"))


# ---------------------------------------------------------------- duas execuções da mesma configuração


def test_locked_hands_a_fresh_plan_that_sees_a_later_checkpoint_and_keeps_the_callers(tmp_path, capsys):
    """`locked` decide de novo com a trava na mão: o checkpoint que outra execução gravou depois do plano
    é visto pelo plano novo; o plano recebido fica como estava, e a trava se solta na saída."""
    params = TINY | {"CHECKPOINT_DIR": str(tmp_path)}
    stale = checkpoints.plan_run(params)
    run_tiny(tmp_path)  # a outra execução, do começo ao fim, depois do plano
    capsys.readouterr()
    with checkpoints.locked(stale) as fresh:
        assert fresh is not stale and fresh.action is Action.REUSE and fresh.source == stale.path
        assert fresh.state["epoch"] == stale.num_epochs
        with pytest.raises(CheckpointError, match="Outro processo"):  # a trava está segura
            checkpoints.RunLock(stale).check()
    assert stale.action is Action.TRAIN and stale.state is None and stale.source is None
    assert "Outro processo gravou esta configuração depois do plano" in capsys.readouterr().out
    with checkpoints.locked(fresh) as again:  # nada mudou no disco: nenhuma mensagem
        assert again.action is Action.REUSE and again is not fresh
    assert capsys.readouterr().out == ""
    checkpoints.RunLock(stale).check()  # solta


def test_a_second_process_training_the_same_configuration_is_refused_with_its_pid(tmp_path):
    folder = tmp_path / "ck"
    long_run = TINY | {"CHECKPOINT_DIR": str(folder), "NUM_EPOCHS": 1_000_000}
    _, _, short = run_tiny(folder, NUM_EPOCHS=1)  # um checkpoint pronto desta configuração
    planned_early = checkpoints.plan_run(long_run)  # planejado antes de o outro processo começar
    other = child(long_run)
    try:
        (running,) = wait_for(lambda: list(folder.glob("*-e1000000.pt")), other)  # o outro treina e segura a trava
        with pytest.raises(CheckpointError) as at_plan:  # a primeira célula já recusa...
            checkpoints.plan_run(long_run)
        model, optimizer = training.build(long_run)
        with pytest.raises(CheckpointError) as at_train:  # ...e o treino de um plano feito antes também
            training.train(planned_early, model, optimizer, tiny_data(), tiny_data()[:8], progress=False)
        for error in (at_plan, at_train):
            message = str(error.value)
            assert f"Outro processo (pid {other.pid}) está treinando esta mesma configuração agora" in message
            assert f"kill {other.pid}" in message and "CHECKPOINT_DIR" in message
        reused, _, reader = run_tiny(folder, NUM_EPOCHS=1)  # quem só lê um checkpoint pronto não espera
        assert reader.action is Action.REUSE and len(reused["train_loss"]) == 1
    finally:
        other.send_signal(signal.SIGKILL)  # kill -9: a trava morre com o processo, o arquivo dela fica
        other.wait()
    lock = folder / f".{checkpoints.config_stem(short.config)}.lock"
    assert lock.read_text().strip() == str(other.pid)
    orphan = running.with_name(f"{running.name}.{other.pid}-0123abcd.tmp")  # o que um kill -9 no meio da
    orphan.write_bytes(b"meio checkpoint")  # gravação deixa (às vezes o próprio kill acima deixa um)
    assert checkpoints.load_checkpoint(running)["epoch"] >= 1  # o último checkpoint dele está inteiro
    history, _, plan = run_tiny(folder, NUM_EPOCHS=3)  # a trava velha não bloqueia a próxima execução
    assert plan.action is Action.CONTINUE and len(history["train_loss"]) == 3
    assert lock.read_text().strip() == str(os.getpid()) and not list(folder.glob("*.tmp"))


def wait_for(found, process: subprocess.Popen, seconds: float = 120):
    deadline = time.monotonic() + seconds
    while not (result := found()) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert result, f"o outro processo não começou a treinar (código {process.poll()})"
    return result


def test_cures_of_the_collapse_enter_the_name_only_when_on():
    plain = checkpoints.run_config(TINY)
    assert "FREE_BITS" not in plain and "WARMUP" not in plain  # os checkpoints de antes delas continuam valendo
    assert plain == checkpoints.run_config(TINY | {"FREE_BITS": 0.0, "WARMUP": 0})
    cured = checkpoints.run_config(TINY | {"FREE_BITS": 0.5, "WARMUP": 2})
    assert checkpoints.run_name(cured, 3) == checkpoints.run_name(plain, "").rstrip("-e") + "-fb0.5-warm2-e3"


def test_explicit_path_trained_with_free_bits_is_refused_without_them(tiny_run, tmp_path):
    path = tmp_path / "meu.pt"
    tiny_run(NUM_EPOCHS=1, CHECKPOINT_PATH=str(path), FREE_BITS=0.5)
    with pytest.raises(CheckpointError, match=r"FREE_BITS: checkpoint 0\.5, parâmetro 0\.0"):
        tiny_run(NUM_EPOCHS=1, CHECKPOINT_PATH=str(path), SKIP_TRAINING=True)
