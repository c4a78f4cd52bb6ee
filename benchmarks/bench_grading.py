"""Tempo de corrigir uma submissão dos exercícios (meta: até 60 s por submissão nesta máquina).

Corrige, pelo mesmo caminho do `make corrigir` (bubblewrap, limites, `otter run`), a solução (deve tirar nota
cheia) e a versão em branco do aluno (deve tirar zero sem derrubar o corretor), algumas vezes cada, e imprime o
tempo de cada correção, o mais rápido e o mais lento, e a razão do mais lento para a meta.
Uso: .venv/bin/python benchmarks/bench_grading.py [--repeats 2]  (antes: make exercicios)
"""

import argparse
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

from vae_tools import exercises, grading
from vae_tools.figures import br_number

TARGET_SECONDS = 60.0


def cpu_model() -> str:
    info = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    return next(
        (line.split(":", 1)[1].strip() for line in info.splitlines() if "Model name" in line), platform.processor()
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2, help="correções de cada submissão")
    args = parser.parse_args()
    if not exercises.AUTOGRADER.is_file():
        raise SystemExit(f"Autograder não encontrado em {exercises.AUTOGRADER}: rode `make exercicios` antes.")
    print(f"CPU: {cpu_model()}")
    submissions = {
        "solucao": (
            exercises.AUTOGRADER.parent / f"{exercises.NAME}.ipynb",
            exercises.TOTAL_POINTS,
        ),
        "em_branco": (exercises.STUDENT_NOTEBOOK, 0),
    }
    times = []
    with tempfile.TemporaryDirectory() as folder:
        for name, (notebook, expected) in submissions.items():
            copy = Path(folder) / f"{name}.ipynb"
            shutil.copyfile(notebook, copy)
            for _ in range(args.repeats):
                grade = grading.grade_submission(copy, exercises.AUTOGRADER)
                times.append(grade.seconds)
                verdict = "como esperado" if grade.total == expected and not grade.reason else "INESPERADO"
                print(f"{name}: {br_number(grade.total, None)} pontos ({verdict}) em {br_number(grade.seconds, 1)} s")
    slowest = max(times)
    print(
        f"mais rápida {br_number(min(times), 1)} s, mais lenta {br_number(slowest, 1)} s; meta {TARGET_SECONDS:.0f} s"
    )
    print(f"razão (mais lenta / meta): {br_number(slowest / TARGET_SECONDS, 3)}")


if __name__ == "__main__":
    main()
