"""Tempo de parede e pico de memória do capítulo e da avaliação (papermill, parâmetros padrão), contra
metas medidas na mesma execução.

- Piso de computação de uma época (como em bench_epoch.py), medido antes e depois dos notebooks; a média
  entra nas metas (a velocidade destas máquinas varia de minuto a minuto).
- O código da semente, medido aqui: uma época do pipeline clássico (`MNIST` + `ToTensor` +
  `DataLoader(num_workers=2)`, como o notebook clássico), vezes 20, mais o t-SNE padrão do scikit-learn em
  10.000 códigos.
- O capítulo, do zero (checkpoints numa pasta nova: tudo que um recém-chegado paga): meta ≤ 20 × 1,15 ×
  piso + 45 s e ≤ 0,5 × o código da semente.
- A avaliação, com o checkpoint do capítulo presente (treina só o VAE 2-D): meta ≤ 20 × 1,15 × piso + 90 s.

Cada notebook roda num subprocesso, nunca ao mesmo tempo que outra medida, e a memória residente (RSS) da
árvore de processos (papermill + kernel) é amostrada a cada 0,1 s.
Uso: .venv/bin/python benchmarks/bench_report.py [--output-dir reports/bench] [-p NOME VALOR ...]
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil
import torch
from bench_epoch import BATCH_SIZE, classic_epoch, cpu_model, floor_epoch, timed
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

import vae_core as vc
from vae_tools import mnist
from vae_tools.figures import br_number as br
from vae_tools.parameters import seed_everything

ROOT = Path(__file__).resolve().parents[1]


def measure_floor(repeats: int = 3) -> float:
    seed_everything(0)
    images, _ = mnist.load_mnist_split(mnist.resolve_data_dir(), train=True)
    batches = [b.clone() for b in mnist.to_model_input(images).split(BATCH_SIZE)]
    model = vc.VAE()
    optimizer = vc.make_optimizer(model, 1e-3)
    return min(timed(lambda: floor_epoch(model, optimizer, batches)) for _ in range(repeats))


def measure_seed_code() -> float:
    """O código da semente: 20 épocas do pipeline clássico (a mais rápida de duas, × 20) e o t-SNE padrão."""
    from sklearn.manifold import TSNE

    seed_everything(0)
    data = datasets.MNIST(str(mnist.resolve_data_dir()), train=True, transform=transforms.ToTensor())
    loader = DataLoader(data, BATCH_SIZE, shuffle=True, num_workers=2)
    model = vc.VAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    epoch = min(timed(lambda: classic_epoch(model, optimizer, loader)) for _ in range(2))
    codes = np.random.default_rng(0).standard_normal((10_000, 20)).astype(np.float32)
    tsne = timed(lambda: TSNE(2, random_state=0).fit_transform(codes))
    return 20 * epoch + tsne


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
        sys.exit(f"o notebook falhou (código {proc.returncode}): {' '.join(command)}")
    return seconds, peak_tree / 1e9, peak_one / 1e9


def section_times(notebook: Path) -> dict[str, float]:
    """Soma das durações (papermill) das células de código de cada seção `## ...` do notebook."""
    times, section = {}, "início"
    for cell in json.loads(notebook.read_text())["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and "\n## " in f"\n{source}":
            section = next(line[3:] for line in source.splitlines() if line.startswith("## "))
        elif cell["cell_type"] == "code":
            times[section] = times.get(section, 0.0) + (cell["metadata"]["papermill"]["duration"] or 0.0)
    return times


def run(name: str, output_dir: Path, folder: str, extra: list[str]) -> tuple[float, float, float]:
    papermill = Path(sys.executable).with_name("papermill")
    output = output_dir / f"{name}.ipynb"
    command = [str(papermill), "--no-progress-bar", f"notebooks/{name}.ipynb", str(output), *extra]
    measured = run_sampling_rss(command + ["-p", "CHECKPOINT_DIR", folder])
    seconds, peak_tree, peak_one = measured
    print(f"  {name}: {br(seconds, 1)} s de parede | pico de RSS {br(peak_tree, 2)} GB (papermill + kernel),", end=" ")
    print(f"maior processo {br(peak_one, 2)} GB")
    for section, duration in section_times(output).items():
        print(f"      {br(duration, 1):>5} s  {section}")
    return measured


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", default="reports/bench", help="pasta dos notebooks executados")
    parser.add_argument("-p", nargs=2, action="append", default=[], metavar=("NOME", "VALOR"))
    args = parser.parse_args()
    output_dir = ROOT / args.output_dir
    output_dir.mkdir(parents=True, exist_ok=True)
    extra = [arg for name, value in args.p for arg in ("-p", name, value)]

    floor_before = measure_floor()
    seed_code = measure_seed_code()
    print(f"CPU: {cpu_model()} | torch {torch.__version__} | {' '.join(extra) or 'parâmetros padrão'}")
    with tempfile.TemporaryDirectory() as fresh:  # checkpoints novos: o capítulo treina de verdade
        chapter = run("vae_mnist", output_dir, fresh, extra)[0]
        evaluation = run("avaliacao", output_dir, fresh, extra)[0]
    floor_after = measure_floor()
    floor = (floor_before + floor_after) / 2

    chapter_budget, evaluation_budget = 20 * 1.15 * floor + 45, 20 * 1.15 * floor + 90
    print(f"Piso de computação (1 época, 60.000 imagens): {br(floor, 2)} s", end=" ")
    print(f"(antes {br(floor_before, 2)}, depois {br(floor_after, 2)})")
    print(f"Código da semente (20 épocas clássicas + t-SNE padrão de 10.000): {br(seed_code, 1)} s")
    print(f"Capítulo do zero: {br(chapter, 1)} s | meta 20 × 1,15 × piso + 45 = {br(chapter_budget)} s", end=" ")
    print(f"(razão {br(chapter / chapter_budget, 3)}) e 0,5 × semente = {br(seed_code / 2)} s", end=" ")
    print(f"(razão {br(chapter / (seed_code / 2), 3)}); metas ≤ 1")
    print(
        f"Avaliação com o checkpoint: {br(evaluation, 1)} s | meta 20 × 1,15 × piso + 90 = {br(evaluation_budget)}",
        end=" ",
    )
    print(f"s (razão {br(evaluation / evaluation_budget, 3)}, meta ≤ 1)")


if __name__ == "__main__":
    main()
