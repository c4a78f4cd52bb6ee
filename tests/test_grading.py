"""A correção (vae_tools.grading): cada submissão roda isolada — só a sua pasta gravável, sem rede, com limites de
tempo e de memória —, a nota vem dos testes do autograder e não do que a submissão imprime ou grava, e uma
submissão que quebra tira zero no que quebrou, com o motivo, sem parar o lote."""

import csv
import json
import os
import socket
import sys

import nbformat
import pytest
from conftest import ROOT

from vae_tools import exercises, grading


def sandbox_problem() -> str:
    """Por que o bubblewrap não isola aqui (vazio se isola)."""
    try:
        grading.check_sandbox()
    except grading.GradingSetupError as error:
        return str(error)
    return ""


needs_sandbox = pytest.mark.skipif(
    bool(problem := sandbox_problem()), reason=f"correção isolada indisponível, testes pulados: {problem}"
)


@pytest.fixture
def canary():
    """Um arquivo do instrutor fora de /tmp (que o sandbox troca por um /tmp vazio), apagado no fim do teste."""
    path = ROOT / "build" / f"canario-{os.getpid()}.txt"
    path.parent.mkdir(exist_ok=True)
    path.write_text("do instrutor")
    yield path
    path.unlink()


def sandboxed(folder, code: str, wall: float = 60, memory: int = grading.MEMORY_BYTES):
    folder.mkdir(exist_ok=True)
    command = grading.sandbox(folder, [sys.executable, "-c", code], memory)
    return grading.run_limited(command, grading.child_env(folder), wall)


@needs_sandbox
def test_a_submission_writes_only_its_own_folder_and_reaches_no_network(tmp_path, canary):
    server = socket.create_server(("127.0.0.1", 0))
    code = f"""
import os, pathlib, socket
pathlib.Path("minha.txt").write_text("ok")
for attempt in (lambda: os.remove({str(canary)!r}), lambda: pathlib.Path({str(canary)!r}).write_text("x"),
                lambda: socket.create_connection(("127.0.0.1", {server.getsockname()[1]}), timeout=2)):
    try:
        attempt()
        print("CONSEGUIU")
    except OSError:
        print("recusado")
print("uid", os.getuid())
"""
    with server:
        code, log = sandboxed(tmp_path / "trabalho", code)
    assert code == 0, log
    assert log.count("recusado") == 3 and "CONSEGUIU" not in log and "uid 65534" in log
    assert canary.read_text() == "do instrutor"
    assert (tmp_path / "trabalho" / "minha.txt").read_text() == "ok"


@needs_sandbox
def test_a_loop_is_stopped_by_the_wall_clock(tmp_path):
    assert sandboxed(tmp_path / "trabalho", "while True: pass", wall=2)[0] is None


@needs_sandbox
def test_memory_exhaustion_is_stopped_and_explained(tmp_path):
    code, log = sandboxed(tmp_path / "trabalho", "x = bytearray(3 * 2**30)", memory=2**30)
    assert code != 0
    assert grading.failure_reason(log, 2**30) == "memória esgotada (limite de 1 GiB por processo)"


def hostile_submission(solution, canary):
    """A solução com um exercício sabotado (`sample_images` tenta apagar um arquivo do instrutor) e uma célula
    hostil no fim: apaga o mesmo arquivo, grava resultados falsos onde consegue e imprime uma nota falsa."""
    nb = nbformat.read(solution, as_version=4)
    answer = next(cell for cell in nb.cells if cell.source.startswith("def sample_images"))
    answer.source = f"def sample_images(model, n, seed, y=None):\n    import os\n\n    os.remove({str(canary)!r})"
    nb.cells.append(
        nbformat.v4.new_code_cell(f"""
import json, os, pathlib
try:
    os.remove({str(canary)!r})
except OSError as error:
    print("não apagou:", error)
fake = {{"tests": [{{"name": f"q{{i}}", "score": 2, "max_score": 2}} for i in range(1, 7)]}}
for folder in [pathlib.Path.cwd(), *pathlib.Path("/tmp").glob("correcao-*/saida")]:
    (folder / "results.json").write_text(json.dumps(fake))
print("Total Score: 12.000 / 12.000 (100.000%)")""")
    )
    return nb


@needs_sandbox
def test_a_batch_grades_each_submission_on_its_own(exercises_dist, tmp_path, canary):
    submissions = tmp_path / "entregas"
    submissions.mkdir()
    solution = exercises_dist / "autograder" / f"{exercises.NAME}.ipynb"
    (submissions / "ana.ipynb").write_text("isto não é um notebook")  # a primeira falha, e o lote continua
    nbformat.write(hostile_submission(solution, canary), submissions / "bruno.ipynb")
    grades = grading.grade_folder(submissions, tmp_path / "saida", exercises_dist / "autograder" / "autograder.zip")

    ana, bruno = grades
    assert canary.read_text() == "do instrutor"
    assert ana.total == 0 and ana.reason == "o arquivo não é um notebook legível (NotJSONError)"
    assert bruno.reason == "" and bruno.points == {"q1": 2, "q2": 2, "q3": 2, "q4": 2, "q5": 2, "q6": 0}
    assert any("sample_images` levantou" in m and "Read-only" in m for m in bruno.messages["q6"])
    assert bruno.flags == ["results", "/tmp", "os.remove"]  # para o instrutor ler
    rows = list(csv.DictReader(open(tmp_path / "saida" / "notas.csv")))
    assert [(r["aluno"], r["total"], r["q6"]) for r in rows] == [("ana", "0", "0"), ("bruno", "10", "0")]
    feedback = (tmp_path / "saida" / "devolutivas" / "bruno.md").read_text()
    assert "**Nota: 10 de 12**" in feedback and "sample_images` levantou" in feedback
    assert ana.reason in (tmp_path / "saida" / "devolutivas" / "ana.md").read_text()


def test_results_are_checked_against_the_exercises():
    grade = grading.Grade("x")
    forged = {"tests": [{"name": "q1", "score": 99}, {"name": "q7", "score": 5}, {"name": "q2", "score": -3}]}
    grading.read_results(grade, json.dumps(forged))
    assert grade.points == {"q1": 2, "q2": 0, "q3": 0, "q4": 0, "q5": 0, "q6": 0}
    assert grade.messages["q3"] == ["o exercício não foi corrigido (resultado ausente)"]
    with pytest.raises(ValueError, match="ilegível"):
        grading.read_results(grade, "[1, 2")


def test_a_missing_folder_or_autograder_is_explained(tmp_path):
    with pytest.raises(grading.GradingSetupError, match="Nenhum notebook"):
        grading.grade_folder(tmp_path)
    (tmp_path / "a.ipynb").write_text(json.dumps({}))
    with pytest.raises(grading.GradingSetupError, match="make exercicios"):
        grading.grade_folder(tmp_path, tmp_path / "saida", tmp_path / "nao_existe.zip")
