"""A versão do aluno (vae_tools.exercises) e os testes das questões (vae_tools.exercise_checks): a versão guardada
é a que o gerador escreve, sem soluções nem testes ocultos; a solução passa em tudo, a versão em branco falha em
tudo com um motivo, e cada erro plantado derruba o exercício dele e nenhum outro — com as funções chamando umas às
outras como no notebook do aluno."""

import inspect
import json
import textwrap

import pytest

from vae_tools import exercises

QUESTIONS = {q.name: q for q in exercises.QUESTIONS}

# erros comuns, escritos como um aluno os escreveria: (exercício, código, trecho esperado na explicação)
PLANTED = {
    "KL com o sinal trocado": ("q2", """
def kl_divergence(mu, logvar):
    return 0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=-1)""", "sinal"),
    "KL sem o ½": ("q2", """
def kl_divergence(mu, logvar):
    return -torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=-1)""", "½"),
    "média em vez de soma": ("q3", """
def loss_terms(logits, x, mu, logvar):
    return F.binary_cross_entropy_with_logits(logits, x), kl_divergence(mu, logvar).sum()""", "β = 784"),
    "probabilidades numa perda com logits": ("q3", """
def loss_terms(logits, x, mu, logvar):
    bce = F.binary_cross_entropy_with_logits(torch.sigmoid(logits), x, reduction="sum")
    return bce, kl_divergence(mu, logvar).sum()""", "probabilidades"),
    "reparametrização sem ruído": ("q1", """
def reparameterize(mu, logvar):
    return mu + 0 * logvar""", "ruído"),
    "σ² no lugar de σ": ("q1", """
def reparameterize(mu, logvar):
    return mu + torch.exp(logvar) * torch.randn_like(mu)""", "σ²"),
    "codificar com z sorteado": ("q5", """
@torch.inference_mode()
def encode_dataset(model, x, batch_size=EVAL_BATCH_SIZE, y=None):
    mu, logvar = vc.encode_dataset(model, x, batch_size)
    return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu), logvar""", "z sorteado"),
}  # fmt: skip


def notebook_functions(*sources: str) -> dict:
    """As funções dos exercícios como no notebook: as soluções (de vae_core) e depois `sources`, que substituem
    alguma delas, todas num mesmo espaço de nomes (a perda chama a KL dali, a época chama a perda)."""
    scope = {}
    exec(exercises.IMPORTS, scope)  # as importações da célula de preparação do notebook
    for source in [exercises.solution_source(q.solution) for q in exercises.QUESTIONS] + list(sources):
        exec(textwrap.dedent(source), scope)
    return scope


def failures(scope: dict) -> dict[str, list[str]]:
    """As explicações de cada verificação que falhou, por exercício."""
    failed = {}
    for q in exercises.QUESTIONS:
        for check in q.public + q.hidden:
            try:
                check(scope.get(q.function))
            except AssertionError as error:
                failed.setdefault(q.name, []).append(str(error))
    return failed


def test_the_solution_passes_every_check():
    assert failures(notebook_functions()) == {}


def test_the_blank_version_fails_every_check_with_a_reason():
    blanks = [f"def {q.function}(*args, **kwargs):\n    ..." for q in exercises.QUESTIONS]
    failed = failures(notebook_functions(*blanks))
    assert {name: len(messages) for name, messages in failed.items()} == {q.name: q.points for q in exercises.QUESTIONS}
    assert all("ainda não foi escrita" in m for messages in failed.values() for m in messages)
    missing = failures({})  # nenhuma função definida
    assert all("não está definida" in m for messages in missing.values() for m in messages)


@pytest.mark.parametrize("mistake", PLANTED)
def test_each_planted_mistake_fails_its_own_exercise_only(mistake):
    question, source, explanation = PLANTED[mistake]
    failed = failures(notebook_functions(source))
    assert list(failed) == [question], f"{mistake}: falhou {list(failed)}"
    assert any(explanation in message for message in failed[question]), failed[question]


def test_the_solutions_are_vae_core_code():
    """Nenhuma segunda cópia: cada solução é o código de vae_core, só com os marcadores do otter."""
    for q in exercises.QUESTIONS:
        source = exercises.solution_source(q.solution)
        original = textwrap.dedent(inspect.getsource(q.solution)).replace("@staticmethod\n", "")
        assert source.replace("    # BEGIN SOLUTION\n", "").removesuffix("\n    # END SOLUTION") == original.rstrip()


def test_the_committed_student_version_is_what_the_generator_writes(exercises_dist):
    generated = json.loads((exercises_dist.parents[1] / "aluno.ipynb").read_text())
    committed = json.loads(exercises.STUDENT_NOTEBOOK.read_text())
    assert generated == committed, "exercicios/ está desatualizada: rode `make exercicios` e faça o commit"


def test_the_student_version_has_no_solution_and_no_hidden_test(exercises_dist):
    nb = json.loads(exercises.STUDENT_NOTEBOOK.read_text())
    code = "\n".join("".join(c["source"]) for c in nb["cells"])
    tests = json.dumps(nb["metadata"]["otter"]["tests"], ensure_ascii=False)
    for q in exercises.QUESTIONS:
        body = exercises.solution_source(q.solution).split("# BEGIN SOLUTION\n")[1].split("\n")[0].strip()
        assert body not in code, f"a solução de {q.function} vazou para a versão do aluno"
        assert all(check.__name__ in tests for check in q.public)
        assert not any(check.__name__ in tests for check in q.hidden), f"teste oculto de {q.name} na versão do aluno"
    shipped = [p.name for p in exercises.STUDENT_NOTEBOOK.parent.iterdir() if not p.name.startswith(".")]
    assert shipped == [exercises.STUDENT_NOTEBOOK.name]  # nem o autograder nem o mestre na pasta do aluno
    assert (exercises_dist / "autograder" / "autograder.zip").is_file()


def test_the_student_version_keeps_the_chapter_text():
    nb = json.loads(exercises.STUDENT_NOTEBOOK.read_text())
    text = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    for heading, _ in exercises.LAYOUT:
        assert exercises.chapter_section(heading) in text
    assert "`vae_core.py`:" not in text  # a frase que apresentava o código do módulo saiu
    with pytest.raises(ValueError, match="não encontrada"):
        exercises.chapter_section("## 99.")
