"""vae_tools.resources: a memória que uma configuração precisa é estimada sem construir nada, comparada
com o pico medido de um treino de verdade, e uma configuração que não cabe é recusada depressa, em
português, sem alocar nada."""

import errno
import json
import re
import subprocess
import sys
import time

import nbformat
import psutil
import pytest
from conftest import ROOT, TINY, run_tiny

import vae_core as vc
from vae_tools import checkpoints, resources
from vae_tools.figures import br_number
from vae_tools.parameters import ParameterError

# um processo novo mede o pico de memória (VmHWM, que recomeça no exec; o ru_maxrss herdaria o pico do pytest
# que o criou) de um treino que continua de um checkpoint —
# o caso mais pesado: checkpoint lido + modelo + gradientes + Adam — seguido da avaliação do relatório
MEASURE = """
import json, sys
import psutil
import torchvision.datasets  # as bibliotecas entram antes da medida: medimos o treino, não as importações
import vae_core as vc
from vae_tools import analysis, checkpoints, mnist, resources, training
from vae_tools.parameters import seed_everything

params = json.loads(sys.argv[1])
baseline = psutil.Process().memory_info().rss
folder = mnist.resolve_data_dir(params["DATA_DIR"])
data = mnist.load_mnist(folder, params["VAL_SIZE"], params["TRAIN_SIZE"], params["SEED"])
train_x = mnist.flatten_images(data.train_x)
val_x, test_x = mnist.to_model_input(data.val_x), mnist.to_model_input(data.test_x)
plan = checkpoints.plan_run(params)
seed_everything(params["SEED"], 2)
model, optimizer = training.build(params)
training.train(plan, model, optimizer, train_x, val_x, progress=False)
vc.evaluate(model, test_x)
vc.encode_dataset(model, test_x)
analysis.iwae_bound(model, test_x[:4], resources.iwae_k(params))
hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
peak = int(hwm.split()[1]) * 1024 - baseline
print(json.dumps({"action": plan.action.name, "peak": peak, "estimate": resources.estimate_memory(params)}))
"""

# o plano da primeira célula num processo novo (é ele que confere a memória, antes de tocar no disco)
FIRST_CELL = """
import json, sys, time
import psutil
from vae_tools import checkpoints

def peak():  # VmHWM: o pico deste processo desde o exec (o ru_maxrss herdaria o do pytest)
    hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
    return int(hwm.split()[1]) * 1024

params = json.loads(sys.argv[1])
before, start = max(peak(), psutil.Process().memory_info().rss), time.perf_counter()
try:
    checkpoints.plan_run(params)
    outcome = {"error": None, "message": ""}
except Exception as error:
    outcome = {"error": type(error).__name__, "message": str(error)}
outcome["seconds"] = time.perf_counter() - start
outcome["grew"] = max(peak(), psutil.Process().memory_info().rss) - before
print(json.dumps(outcome))
"""


def report_defaults() -> dict:
    """Os valores da célula `parameters` do relatório, sem barra de progresso."""
    nb = nbformat.read(ROOT / "notebooks" / "vae_mnist.ipynb", as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    values: dict = {}
    exec(cell.source, {}, values)
    return {name: value for name, value in values.items() if not name.startswith("__")} | {"PROGRESS": False}


REPORT_DEFAULTS = report_defaults()


def in_child(code: str, params: dict, timeout: int = 300) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(params)], capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- contar sem construir


@pytest.mark.parametrize(
    ("arch", "hidden", "latent"),
    [
        ("mlp", 400, 20),
        ("mlp", 16, 3),
        ("mlp", 1, 1),
        ("conv", 400, 20),
        ("conv", 7, 2),
        ("cvae", 400, 20),
        ("cvae", 3, 1),
    ],
)
def test_parameter_count_matches_the_built_model(arch, hidden, latent):
    params = {"ARCH": arch, "HIDDEN_DIM": hidden, "LATENT_DIM": latent}
    assert resources.parameter_count(params) == vc.count_parameters(vc.build_model(arch, latent, hidden))


def test_checkpoint_size_estimate_covers_the_real_file_closely(tmp_path):
    _, _, plan = run_tiny(tmp_path, HIDDEN_DIM=400, LATENT_DIM=20, NUM_EPOCHS=2)
    real, estimate = plan.path.stat().st_size, resources.checkpoint_bytes(plan.config, 2)
    assert real <= estimate <= 1.02 * real, (real, estimate)


# ---------------------------------------------------------------- a estimativa contra um treino de verdade


@pytest.mark.parametrize(
    "changes",
    [{"HIDDEN_DIM": 400}, {"HIDDEN_DIM": 10_000}, {"ARCH": "conv"}],
    ids=["classico", "oculta-10000", "convolucional"],
)
def test_estimate_is_between_the_measured_peak_and_three_times_it(tmp_path, mnist_dir, changes):
    """medido ≤ estimativa ≤ 3 × medido (medido aqui: 1,4× no clássico, 1,6–1,8× com 10.000 neurônios
    ocultos, 2,1–2,3× no convolucional, cuja área de trabalho das convoluções é estimada por cima)."""
    params = REPORT_DEFAULTS | {"TRAIN_SIZE": 512, "NUM_EPOCHS": 1, "CHECKPOINT_DIR": str(tmp_path)} | changes
    params["DATA_DIR"] = str(mnist_dir)
    assert in_child(MEASURE, params)["action"] == "TRAIN"
    measured = in_child(MEASURE, params | {"NUM_EPOCHS": 2})
    assert measured["action"] == "CONTINUE"
    assert measured["peak"] <= measured["estimate"] <= 3 * measured["peak"], measured


# ---------------------------------------------------------------- recusar o que não cabe


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [("LATENT_DIM", 50_000_000, "LATENT_DIM=50.000.000"), ("HIDDEN_DIM", 3_000_000, "HIDDEN_DIM=3.000.000")],
)
def test_a_configuration_too_large_is_refused_in_seconds_with_nothing_allocated(tmp_path, name, value, shown):
    folder = tmp_path / "ck"
    wall = time.perf_counter()
    outcome = in_child(FIRST_CELL, REPORT_DEFAULTS | {"CHECKPOINT_DIR": str(folder), name: value})
    wall = time.perf_counter() - wall
    assert outcome["error"] == "ResourceError", outcome
    message = outcome["message"]
    assert message.startswith(f"A configuração não cabe na memória desta máquina: {shown} pede ≈ ")
    assert " GB disponíveis agora (" in message and "Nada foi alocado" in message
    assert outcome["seconds"] < 5 and outcome["grew"] < 20e6, outcome  # recusa imediata, sem alocar
    assert not folder.exists(), "a recusa veio depois de mexer na pasta dos checkpoints"
    print(f"{name}={value}: recusado em {outcome['seconds'] * 1000:.1f} ms (processo inteiro {wall:.1f} s)")


def test_the_message_names_the_parts_in_brazilian_format_and_is_a_parameter_error():
    params = REPORT_DEFAULTS | {"HIDDEN_DIM": 40_000}
    with pytest.raises(resources.ResourceError) as error:
        resources.check_memory(params, available=(2_500_000_000, "teste"))
    message = str(error.value)
    assert isinstance(error.value, ParameterError)
    assert re.search(r"HIDDEN_DIM=40\.000 pede ≈ \d,\d GB, e há 2,5 GB disponíveis agora \(teste\)", message)
    assert f"  - modelo ({br_number(resources.parameter_count(params))} parâmetros × 4 bytes × 7" in message
    assert message.index("  - modelo") < message.index("  - dados")  # as partes em ordem de tamanho
    resources.check_memory(REPORT_DEFAULTS, available=(2_500_000_000, "teste"))  # o clássico cabe


def test_a_large_importance_k_is_named_when_it_is_the_culprit():
    params = REPORT_DEFAULTS | {"IWAE_LARGE_K": 2_000_000}
    with pytest.raises(resources.ResourceError, match="k=2.000.000 do limite de importância pede"):
        resources.check_memory(params, available=(4_000_000_000, "teste"))


def test_the_plan_checks_memory_before_touching_the_disk(tmp_path):
    folder = tmp_path / "ck"
    with pytest.raises(resources.ResourceError):
        checkpoints.plan_run(TINY | {"CHECKPOINT_DIR": str(folder), "LATENT_DIM": 50_000_000})
    assert not folder.exists()


def test_available_memory_is_what_the_system_reports():
    available, source = resources.available_memory()
    assert 0 < available <= psutil.virtual_memory().total and source


# ---------------------------------------------------------------- o sistema em português


def test_operating_system_reasons_are_in_portuguese_and_name_the_errno():
    expected = {
        errno.ENOSPC: "disco cheio", errno.EDQUOT: "cota", errno.EFBIG: "grande demais", errno.EIO: "entrada e saída",
        errno.EACCES: "permissão negada", errno.EPERM: "não permitida", errno.EROFS: "somente leitura",
        errno.EEXIST: "já existe", errno.ENOTDIR: "não uma pasta", errno.ENOENT: "inexistente",
        errno.EISDIR: "é uma pasta",
    }  # fmt: skip
    for number, words in expected.items():
        reason = resources.os_reason(OSError(number, "texto do sistema em inglês"))
        assert words in reason and f"({errno.errorcode[number]})" in reason and "inglês" not in reason
    assert resources.os_reason(OSError(errno.ELOOP, "x")) == f"erro do sistema operacional número {errno.ELOOP} (ELOOP)"


def test_bytes_are_written_the_brazilian_way():
    assert resources.format_bytes(1_536_000_000) == "1,5 GB"
    assert resources.format_bytes(7_900_000) == "7,9 MB"
    assert resources.format_bytes(2_400_000_000_000) == "2,4 TB"
    assert resources.format_bytes(512) == "512 bytes"


def test_estimate_grows_with_what_it_should():
    base = resources.estimate_memory(REPORT_DEFAULTS)
    for change in ({"HIDDEN_DIM": 800}, {"LATENT_DIM": 200}, {"BATCH_SIZE": 1024}, {"IWAE_LARGE_K": 100_000}):
        assert resources.estimate_memory(REPORT_DEFAULTS | change) > base, change
