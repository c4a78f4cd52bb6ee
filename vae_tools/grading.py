"""Correção dos exercícios: uma pasta de notebooks entregues → um boletim (CSV, pontos por exercício) e uma
devolutiva em Markdown por aluno.

Uma submissão é código que não conhecemos. Cada uma roda o `otter run` (sem Docker) no seu próprio processo e
na sua pasta temporária, dentro do bubblewrap: o sistema de arquivos inteiro só para leitura, /tmp privado, sem
rede, usuário sem privilégios, e só a pasta temporária gravável; com limite de memória (espaço de endereços),
de CPU e de tempo de relógio. A nota vem dos testes (públicos e ocultos) que o autograder roda — nunca das saídas
guardadas no notebook nem de arquivos que ele escreva. Uma submissão que trava, estoura a memória ou quebra o
corretor tira zero no que quebrou, com o motivo, e o lote continua. Uso (o `make corrigir`):
`python -m vae_tools.grading PASTA_DAS_SUBMISSÕES [--saida PASTA]`.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from vae_tools import exercises, mnist
from vae_tools.figures import br_number

WALL_SECONDS = 120  # tempo de relógio de uma submissão (a solução leva cerca de 30 s nesta máquina)
CPU_SECONDS = 240  # tempo de CPU de todos os processos da submissão juntos, por processo
MEMORY_BYTES = 6 * 2**30  # espaço de endereços por processo (o torch só importa com 4 GiB ou mais)
MAX_NOTEBOOK_BYTES = 50 * 2**20  # um notebook entregue maior que isso nem é aberto
# trechos de que uma solução honesta não precisa: nas células que o aluno escreveu, o boletim os aponta para leitura
SUSPICIOUS = ("otter", "exercise_checks", "results", "/tmp", "autograder", "__globals__", "subprocess", "os.remove",
              "shutil", "atexit", "builtins", "signal")  # fmt: skip
OUTPUT = exercises.ROOT / "build" / "correcao"


class GradingSetupError(RuntimeError):
    """O ambiente do instrutor não permite corrigir (bubblewrap ausente, autograder não gerado…)."""


@dataclass
class Grade:
    """A nota de uma submissão: pontos e mensagens por exercício e, se a correção não rodou, o motivo."""

    student: str
    points: dict[str, float] = field(default_factory=dict)
    messages: dict[str, list[str]] = field(default_factory=dict)
    reason: str = ""
    seconds: float = 0.0
    flags: list[str] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(self.points.values())


def sandbox(workdir: Path, command: list[str], memory: int = MEMORY_BYTES, cpu: int = CPU_SECONDS) -> list[str]:
    """A linha de comando que roda `command` isolado: tudo só para leitura menos `workdir`, /tmp privado, sem rede,
    num espaço de processos próprio, como o usuário 65534, com limites de memória e de CPU."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise GradingSetupError(
            "bubblewrap (bwrap) não encontrado: instale com `apt-get install -y bubblewrap`; sem ele as submissões "
            "rodariam sem isolamento, e o corretor se recusa."
        )
    return [
        bwrap, "--ro-bind", "/", "/", "--tmpfs", "/tmp", "--dev", "/dev", "--proc", "/proc",
        "--bind", str(workdir), str(workdir), "--chdir", str(workdir),
        "--unshare-net", "--unshare-pid", "--unshare-user", "--uid", "65534", "--gid", "65534",
        "--die-with-parent", "--new-session",
        "prlimit", f"--as={memory}", f"--cpu={cpu}", "--", *command,
    ]  # fmt: skip


def check_sandbox():
    """Confere que o bubblewrap roda aqui (ele existe e o sistema permite os seus namespaces); senão, explica."""
    with tempfile.TemporaryDirectory() as folder:
        code, log = run_limited(sandbox(Path(folder), ["true"]), child_env(Path(folder)), 30)
    if code != 0:
        raise GradingSetupError(f"o bubblewrap não consegue isolar as submissões nesta máquina: {log.strip()[:300]}")


def run_limited(command: list[str], env: dict, wall: float) -> tuple[int | None, str]:
    """Roda `command` no seu grupo de processos; passado `wall` segundos, mata o grupo inteiro. Devolve o código de
    saída (None se estourou o tempo) e a saída (stdout e stderr juntos, no máximo os últimos 20.000 caracteres)."""
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        try:
            code = process.wait(timeout=wall)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            code = None
        log.seek(0)
        return code, log.read().decode(errors="replace")[-20_000:]


def child_env(workdir: Path) -> dict:
    """O ambiente da submissão: só o necessário (nenhuma variável do instrutor), uma thread de torch."""
    return {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(workdir), "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1", "TQDM_DISABLE": "1",
        mnist.DATA_DIR_ENV: str(mnist.resolve_data_dir()), "LANG": "C.UTF-8",
    }  # fmt: skip


def grade_submission(notebook: Path, autograder: Path, wall: float = WALL_SECONDS, memory: int = MEMORY_BYTES) -> Grade:
    """Corrige um notebook entregue numa pasta temporária nova, apagada no fim."""
    grade = Grade(notebook.stem)
    start = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="correcao-"))
    try:
        unreadable(notebook)
        grade.flags = suspicious(notebook)
        (workdir / "saida").mkdir()  # o sandbox vê o dono desta pasta como o seu usuário 65534
        shutil.copyfile(autograder, workdir / "autograder.zip")
        shutil.copyfile(notebook, workdir / f"{exercises.NAME}.ipynb")
        command = [sys.executable, "-m", "otter", "run", "-a", "autograder.zip", "-o", "saida", "--no-logo"]
        command = sandbox(workdir, [*command, f"{exercises.NAME}.ipynb"], memory)
        code, log = run_limited(command, child_env(workdir), wall)
        results = workdir / "saida" / "results.json"
        if code is None:
            grade.reason = f"tempo esgotado: a correção passou de {br_number(wall)} s (um laço sem fim?)"
        elif code != 0 or not results.is_file():
            grade.reason = failure_reason(log, memory)
        else:
            read_results(grade, results.read_text())
    except (OSError, ValueError) as error:  # ValueError: as recusas de `unreadable` e `read_results`
        grade.reason = str(error) if isinstance(error, ValueError) else f"{type(error).__name__}: {error}"
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if grade.reason:
        grade.points = dict.fromkeys(grade.points or [q.name for q in exercises.QUESTIONS], 0.0)
    grade.seconds = time.perf_counter() - start
    return grade


def unreadable(notebook: Path):
    """Recusa, antes de rodar qualquer coisa, o que nem é um notebook (só o JSON é lido, nada é executado)."""
    if notebook.stat().st_size > MAX_NOTEBOOK_BYTES:
        raise ValueError(f"o notebook tem mais de {MAX_NOTEBOOK_BYTES // 2**20} MiB")
    try:
        nbformat.read(notebook, as_version=4)
    except Exception as error:  # JSON inválido, formato de notebook inválido, codificação…
        raise ValueError(f"o arquivo não é um notebook legível ({type(error).__name__})") from None


def suspicious(notebook: Path) -> list[str]:
    """Os trechos de `SUSPICIOUS` nas células de código que não vieram assim na versão do aluno. A nota não muda:
    o otter roda os testes no kernel do aluno, e uma submissão que mexe nos testes ou no corretor de propósito só
    é pega lendo o código; o boletim diz o que ler."""
    given = {cell.source for cell in nbformat.read(exercises.STUDENT_NOTEBOOK, as_version=4).cells}
    cells = nbformat.read(notebook, as_version=4).cells
    written = [cell.source for cell in cells if cell.cell_type == "code" and cell.source not in given]
    return [token for token in SUSPICIOUS if any(token in source for source in written)]


def failure_reason(log: str, memory: int) -> str:
    """Por que a correção não produziu nota, a partir da saída do corretor."""
    if re.search(r"MemoryError|can't allocate memory|std::bad_alloc|Cannot allocate memory", log):
        return f"memória esgotada (limite de {br_number(memory / 2**30)} GiB por processo)"
    if "DeadKernelError" in log or "Kernel died" in log:
        return "o kernel do notebook morreu durante a execução (a submissão derrubou o processo)"
    last = [line for line in log.strip().splitlines() if line.strip()][-1:] or ["sem saída"]
    return f"a correção falhou antes de dar nota: {last[0][:300]}"


def read_results(grade: Grade, text: str):
    """Os pontos por exercício do `results.json` do otter, conferidos contra os exercícios e os pontos do
    autograder: um exercício que falta vale zero, pontos nunca passam do máximo, nomes estranhos são ignorados."""
    try:
        by_name = {test.get("name"): test for test in json.loads(text).get("tests", [])}
    except (ValueError, AttributeError, TypeError):
        raise ValueError("o resultado da correção está ilegível (a submissão o estragou?)") from None
    for q in exercises.QUESTIONS:
        test = by_name.get(q.name)
        if test is None:
            grade.points[q.name], grade.messages[q.name] = 0.0, ["o exercício não foi corrigido (resultado ausente)"]
            continue
        grade.points[q.name] = min(max(float(test.get("score") or 0.0), 0.0), float(q.points))
        grade.messages[q.name] = failure_messages(str(test.get("output", "")))


def failure_messages(output: str) -> list[str]:
    """As explicações dos testes que falharam: o texto do AssertionError (ou a última linha de outro erro)."""
    found = []
    for block in output.split("❌ Test case failed")[1:]:
        match = re.search(r"AssertionError: (.*?)(?:\n\n|\Z)", block, re.S)
        found.append(match.group(1).strip() if match else block.strip().splitlines()[-1])
    return found


def feedback(grade: Grade) -> str:
    """A devolutiva de um aluno, em Markdown."""
    total = f"**Nota: {br_number(grade.total, None)} de {exercises.TOTAL_POINTS}**"
    lines = [f"# Devolutiva: {grade.student}", "", total, ""]
    if grade.reason:
        lines += [f"A correção não rodou até o fim: {grade.reason}. Nota zero em todos os exercícios.", ""]
    for q in exercises.QUESTIONS:
        points = br_number(grade.points.get(q.name, 0.0), None)
        lines.append(f"- **{q.name}** (`{q.function}`): {points} de {q.points}")
        lines += [f"    - {message}" for message in grade.messages.get(q.name, [])]
    return "\n".join(lines) + "\n"


def grade_folder(folder: Path, output: Path = OUTPUT, autograder: Path = exercises.AUTOGRADER, **limits) -> list[Grade]:
    """Corrige cada `.ipynb` de `folder` (em ordem de nome), uma de cada vez; escreve `output/notas.csv` e
    `output/devolutivas/<aluno>.md`."""
    notebooks = sorted(Path(folder).glob("*.ipynb"))
    if not notebooks:
        raise GradingSetupError(f"Nenhum notebook (.ipynb) em {folder}: SUBMISSOES deve ser a pasta das entregas.")
    if not Path(autograder).is_file():
        raise GradingSetupError(f"Autograder não encontrado em {autograder}: rode `make exercicios` antes.")
    check_sandbox()
    (output / "devolutivas").mkdir(parents=True, exist_ok=True)
    grades = []
    for notebook in notebooks:
        grades.append(grade_submission(notebook, Path(autograder), **limits))
        (output / "devolutivas" / f"{notebook.stem}.md").write_text(feedback(grades[-1]))
        print(f"{notebook.stem}: {br_number(grades[-1].total, None)} pontos em {br_number(grades[-1].seconds, 1)} s")
    write_gradebook(grades, output / "notas.csv")
    return grades


def write_gradebook(grades: list[Grade], path: Path):
    names = [q.name for q in exercises.QUESTIONS]
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["aluno", *names, "total", "maximo", "motivo", "revisar"])
        for g in grades:
            points = [br_number(g.points.get(n, 0.0), None) for n in names] + [br_number(g.total, None)]
            writer.writerow([g.student, *points, exercises.TOTAL_POINTS, g.reason, " ".join(g.flags)])


def main(argv=None):
    parser = argparse.ArgumentParser(description="Corrige uma pasta de notebooks de exercícios.")
    parser.add_argument("submissoes", type=Path, help="pasta com os .ipynb entregues (um por aluno)")
    parser.add_argument("--saida", type=Path, default=OUTPUT, help="onde escrever notas.csv e devolutivas/")
    args = parser.parse_args(argv)
    try:
        grade_folder(args.submissoes, args.saida)
    except GradingSetupError as error:
        sys.exit(f"Erro: {error}")
    print(f"Boletim: {args.saida / 'notas.csv'} | devolutivas: {args.saida / 'devolutivas'}/")


if __name__ == "__main__":
    main()
