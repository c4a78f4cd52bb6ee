"""Custo do laboratório (notebooks/experimentos, parâmetros padrão): tempo de parede × treino medido.

1. Roda o laboratório com papermill numa pasta de checkpoints vazia: todos os VAEs são treinados (o
   classificador de dígitos não: os seus pesos vêm no repositório). A meta, medida na mesma execução, é
   tempo de parede ≤ 1,15 × (soma dos segundos de treino que os próprios treinos mediram e guardaram nos
   arquivos) + 120 s — o que sobra é partida do kernel, dados, avaliação, limites de importância, medidas
   de qualidade e figuras.
2. Roda de novo com os mesmos checkpoints: nada é treinado, e a meta é ≤ 25 × F, com F o piso de uma época
   (forward + backward + Adam sobre lotes já fatiados, `bench_report.measure_floor`) medido nesta mesma
   execução: numa máquina rápida (F ≈ 3,6 s), 90 s.
Os três rodam em série, num subprocesso cada os notebooks (nunca dois processos de PyTorch ao mesmo tempo).
Com `--cached PASTA` (uma pasta de checkpoints já treinados, como checkpoints/), só a parte 2: uma execução
que completa as medidas guardadas e a execução medida.
Uso: .venv/bin/python benchmarks/bench_lab.py [--checkpoint-dir PASTA_VAZIA | --cached PASTA] [-p NOME VALOR ...]
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from bench_epoch import cpu_model
from bench_report import measure_floor

from vae_tools.checkpoints import load_checkpoint
from vae_tools.figures import br_number as br

ROOT = Path(__file__).resolve().parents[1]


def run_lab(folder: Path, output: Path, extra: list[str]) -> float:
    papermill = Path(sys.executable).with_name("papermill")
    command = [str(papermill), "--no-progress-bar", "notebooks/experimentos.ipynb", str(output)]
    command += ["-p", "CHECKPOINT_DIR", str(folder), "-p", "PROGRESS", "False", *extra]
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint-dir", type=Path, help="pasta vazia (padrão: uma temporária)")
    parser.add_argument("--output", default="reports/bench_lab.ipynb", type=Path)
    parser.add_argument("--cached", type=Path, help="pasta com os checkpoints já treinados: só a parte 2")
    parser.add_argument("-p", nargs=2, action="append", default=[], metavar=("NOME", "VALOR"))
    args = parser.parse_args()
    extra = [arg for name, value in args.p for arg in ("-p", name, value)]
    (ROOT / args.output).parent.mkdir(parents=True, exist_ok=True)
    if args.cached:
        print(f"CPU: {cpu_model()} | torch {torch.__version__} | threads: {torch.get_num_threads()}")
        run_lab(args.cached.resolve(), ROOT / args.output, extra)
        report_cached(run_lab(args.cached.resolve(), ROOT / args.output, extra), measure_floor())
        return
    with tempfile.TemporaryDirectory() as temporary:
        folder = (args.checkpoint_dir or Path(temporary)).resolve()
        folder.mkdir(parents=True, exist_ok=True)
        if any(folder.glob("*.pt")):
            sys.exit(f"{folder} já tem checkpoints: a primeira execução precisa treinar tudo")
        first = run_lab(folder, ROOT / args.output, extra)
        epochs = [s for path in sorted(folder.glob("*.pt")) for s in load_checkpoint(path)["history"]["seconds"]]
        second = run_lab(folder, ROOT / args.output.with_name(args.output.stem + "_cache.ipynb"), extra)
    floor = measure_floor()
    trained = sum(epochs)
    budget = 1.15 * trained + 120
    print(f"CPU: {cpu_model()} | torch {torch.__version__} | threads: {torch.get_num_threads()}")
    print(f"Laboratório {' '.join(extra) or 'com os parâmetros padrão'}:")
    print(f"  treinos: {len(epochs)} épocas de VAE ({br(trained, 1)} s)")
    print(
        f"  1ª execução, tudo treinado: {br(first, 1)} s | meta 1,15 × {br(trained, 1)} + 120 = {br(budget, 1)} s",
        end=" ",
    )
    print(f"| razão {br(first / budget, 3)} (meta ≤ 1)")
    report_cached(second, floor)


def report_cached(seconds: float, floor: float):
    print(
        f"  tudo dos checkpoints: {br(seconds, 1)} s | piso F = {br(floor, 2)} s por época | "
        f"meta 25 × F = {br(25 * floor, 1)} s | razão {br(seconds / (25 * floor), 3)} (meta ≤ 1)"
    )


if __name__ == "__main__":
    main()
