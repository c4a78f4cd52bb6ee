"""Tempo de parede e pico de memória do relatório inteiro (papermill, parâmetros padrão).

Mede o piso de computação de uma época (como em bench_epoch.py) antes e depois do relatório e usa a
média (a velocidade destas máquinas varia de minuto a minuto) para calcular, na mesma execução, a meta
de tempo: (20 + 20) × 1,15 × piso + 60 s + 15 s — as 20 épocas do modelo principal e as 20 do VAE 2-D
(treinado tanto quanto o principal), 60 s das análises extras (interpolação, limite de importância,
t-SNE...) e 15 s das medidas de qualidade das amostras (o classificador é treinado uma vez por máquina,
em checkpoints/, e só lido aqui). O relatório roda num subprocesso, nunca ao
mesmo tempo que a medida do piso, e a memória residente (RSS) da árvore de processos (papermill + kernel)
é amostrada a cada 0,1 s.
Uso: .venv/bin/python benchmarks/bench_report.py [--output reports/bench_report.ipynb] [-p NOME VALOR ...]
"""

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import psutil
import torch
from bench_epoch import BATCH_SIZE, cpu_model, floor_epoch, timed

import vae_core as vc
from vae_tools import mnist
from vae_tools.checkpoints import read_state, resolve_checkpoint_dir
from vae_tools.figures import br_number
from vae_tools.parameters import seed_everything

ROOT = Path(__file__).resolve().parents[1]


def measure_floor(repeats: int = 3) -> float:
    seed_everything(0)
    images, _ = mnist.load_mnist_split(mnist.resolve_data_dir(), train=True)
    batches = [b.clone() for b in mnist.to_model_input(images).split(BATCH_SIZE)]
    model = vc.VAE()
    optimizer = vc.make_optimizer(model, 1e-3)
    return min(timed(lambda: floor_epoch(model, optimizer, batches)) for _ in range(repeats))


def run_sampling_rss(command: list[str]) -> tuple[float, float, float]:
    """Roda `command`; devolve (segundos, pico da soma de RSS da árvore, pico de um só processo), em GB."""
    start = time.perf_counter()
    proc = psutil.Popen(command, cwd=ROOT)
    peak_tree = peak_one = 0
    while proc.poll() is None:
        try:
            rss = [p.memory_info().rss for p in [proc, *proc.children(recursive=True)]]
        except psutil.Error:
            continue
        peak_tree, peak_one = max(peak_tree, sum(rss)), max(peak_one, max(rss))
        time.sleep(0.1)
    seconds = time.perf_counter() - start
    if proc.returncode:
        sys.exit(f"o relatório falhou (código {proc.returncode})")
    return seconds, peak_tree / 1e9, peak_one / 1e9


def section_times(notebook: Path) -> dict[str, float]:
    """Soma das durações (papermill) das células de código de cada seção `## ...` do relatório."""
    times, section = {}, "início"
    for cell in json.loads(notebook.read_text())["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and "\n## " in f"\n{source}":
            section = next(line[3:] for line in source.splitlines() if line.startswith("## "))
        elif cell["cell_type"] == "code":
            times[section] = times.get(section, 0.0) + (cell["metadata"]["papermill"]["duration"] or 0.0)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="reports/bench_report.ipynb", help="notebook executado")
    parser.add_argument("-p", nargs=2, action="append", default=[], metavar=("NOME", "VALOR"))
    args = parser.parse_args()

    floor_before = measure_floor()
    output = ROOT / args.output
    output.parent.mkdir(parents=True, exist_ok=True)
    papermill = Path(sys.executable).with_name("papermill")
    command = [str(papermill), "--no-progress-bar", "notebooks/vae_mnist.ipynb", str(output)]
    command += [arg for name, value in args.p for arg in ("-p", name, value)]
    with tempfile.TemporaryDirectory() as fresh:  # checkpoints novos: o relatório treina os VAEs de verdade
        # o classificador de dígitos é treinado uma vez por máquina: se já existe, vai junto (o caso de sempre)
        known = sorted(resolve_checkpoint_dir().glob("classificador-*.pt"))
        for path in known:
            shutil.copy2(path, fresh)
        seconds, peak_tree, peak_one = run_sampling_rss(command + ["-p", "CHECKPOINT_DIR", fresh])
        trained = [] if known else sorted(Path(fresh).glob("classificador-*.pt"))
        classifier_seconds = sum(read_state(path)["seconds"] for path in trained)
    floor_after = measure_floor()
    floor = (floor_before + floor_after) / 2

    budget = (20 + 20) * 1.15 * floor + 60 + 15 + classifier_seconds
    br = br_number
    print(f"CPU: {cpu_model()} | torch {torch.__version__}")
    print(f"Piso de computação (1 época, 60.000 imagens): {br(floor, 2)} s", end=" ")
    print(f"(antes {br(floor_before, 2)}, depois {br(floor_after, 2)})")
    print(f"Relatório (papermill, treino do zero, {' '.join(command[4:]) or 'parâmetros padrão'}):")
    origin = "lido de checkpoints/" if known else f"treinado nesta execução: {br(classifier_seconds, 1)} s na meta"
    print(f"  classificador de dígitos: {origin}")
    print(f"  tempo de parede: {br(seconds, 1)} s | meta (20 + 20) × 1,15 × piso + 75 = {br(budget)} s", end=" ")
    print(f"| razão {br(seconds / budget, 3)} (meta ≤ 1)")
    print(f"  pico de RSS: {br(peak_tree, 2)} GB (papermill + kernel)", end=" ")
    print(f"| maior processo {br(peak_one, 2)} GB (meta ≤ 1,5 GB)")
    print("  tempo por seção (células executadas):")
    for section, duration in section_times(output).items():
        print(f"    {br(duration, 1):>5} s  {section}")


if __name__ == "__main__":
    main()
