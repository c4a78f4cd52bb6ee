"""Exercícios: a versão do aluno do capítulo, gerada de uma fonte só.

O texto vem do capítulo (`notebooks/vae_mnist.py`), as soluções de `vae_core` (`inspect.getsource`: nenhuma
segunda cópia do modelo) e os testes de `vae_tools.exercise_checks`. Este módulo monta o notebook "mestre" do
otter-grader (questões, soluções e testes marcados no conteúdo das células) e o `otter assign` escreve a
versão do aluno (sem soluções nem testes ocultos) e o autograder (com tudo). Uso:
`python -m vae_tools.exercises` (o `make exercicios`).
"""

from __future__ import annotations

import ast
import inspect
import shutil
import textwrap
from dataclasses import dataclass
from pathlib import Path

import jupytext
import nbformat

import vae_core as vc
from vae_tools import exercise_checks as checks
from vae_tools.parameters import REPO_ROOT as ROOT

CHAPTER = ROOT / "notebooks" / "vae_mnist.py"
NAME = "vae_mnist_exercicios"
STUDENT_NOTEBOOK = ROOT / "exercicios" / f"{NAME}.ipynb"  # o que se distribui aos alunos (no repositório)
BUILD = ROOT / "build" / "exercicios"  # o mestre e o autograder (fora do repositório e da pasta do aluno)
AUTOGRADER = BUILD / "dist" / "autograder" / "autograder.zip"

ASSIGNMENT_CONFIG = f"""# ASSIGNMENT CONFIG
name: {NAME}
init_cell: true
check_all_cell: false
export_cell: false
run_tests: false
generate: true
tests:
  files: false
  ok_format: false"""

PARAMETERS = """\
TRAIN_SIZE: int = 5000  # imagens de treino (um subconjunto: o treino curto leva segundos)
NUM_EPOCHS: int = 3  # épocas do treino curto
BATCH_SIZE: int = 128  # imagens por lote
LATENT_DIM: int = 20  # dimensão do espaço latente z
HIDDEN_DIM: int = 400  # neurônios da camada oculta
LEARNING_RATE: float = 1e-3  # taxa de aprendizado do Adam
SEED: int = 42  # semente de tudo"""

IMPORTS = """\
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from sklearn.decomposition import PCA

import vae_core as vc
from vae_core import EVAL_BATCH_SIZE, VAE, TrainingDiverged, _labels, _per_image, batches, decode_latent, to_float
from vae_core import training_loss  # auxiliares de vae_core que as suas funções podem usar
from vae_tools import analysis, mnist
from vae_tools.figures import br_number, image_grid, scatter_digits, show_figure"""

DATA = """\
torch.manual_seed(SEED)
data = mnist.load_mnist(mnist.resolve_data_dir(), val_size=1000, train_size=TRAIN_SIZE, seed=SEED)
train_x = mnist.flatten_images(data.train_x)  # uint8: cada lote vira float em [0, 1] no treino
val_x, test_x = mnist.to_model_input(data.val_x), mnist.to_model_input(data.test_x)
labels = data.test_y.numpy()
print(f"treino: {br_number(len(train_x))} | validação: {br_number(len(val_x))} | teste: {br_number(len(test_x))}")"""


@dataclass(frozen=True)
class Question:
    """Um exercício: a função de `vae_core` que o aluno escreve, o enunciado, os testes (públicos e ocultos) e o
    código do capítulo que roda depois, com a função do aluno."""

    name: str
    solution: object
    prompt: str
    public: tuple
    hidden: tuple
    after: str = ""

    @property
    def function(self) -> str:
        return self.solution.__name__

    @property
    def points(self) -> int:
        return len(self.public) + len(self.hidden)


MODEL = """\
torch.manual_seed(SEED)
model = vc.VAE(hidden_dim=HIDDEN_DIM, latent_dim=LATENT_DIM)
model.reparameterize = reparameterize  # o modelo sorteia z com a sua função
print(model)"""

INITIAL_LOSS = """\
with torch.no_grad():
    logits, mu, logvar = model(val_x)
    bce, kl = loss_terms(logits, val_x, mu, logvar)
print(f"Antes do treino: {br_number((bce + kl).item() / len(val_x), 1)} nats por imagem (784 ln 2 ≈ 543)")"""

TRAINING = """\
optimizer = vc.make_optimizer(model, LEARNING_RATE)
generator = torch.Generator().manual_seed(SEED)
history = {metric: [] for metric in vc.METRICS}
for epoch in range(1, NUM_EPOCHS + 1):
    stats = train_epoch(model, optimizer, train_x, BATCH_SIZE, generator)
    for metric in vc.METRICS:
        history[metric].append(stats[metric])
    terms = " + ".join(f"{m.upper()} {br_number(stats[m], 2)}" for m in ("bce", "kl"))
    print(f"época {epoch}: perda {br_number(stats['loss'], 2)} = {terms}")

fig, axes = plt.subplots(1, 3, figsize=(12, 3.2))
for ax, (metric, title) in zip(axes, {"loss": "Perda (−ELBO)", "bce": "BCE", "kl": "KL"}.items()):
    ax.plot(range(1, NUM_EPOCHS + 1), history[metric], "o-")
    ax.set(title=title, xlabel="época", ylabel="nats por imagem")
plt.tight_layout()
show_figure(fig, "curvas_aprendizado")"""

RECONSTRUCTIONS = """\
mu_test, logvar_test = encode_dataset(model, test_x)
originals = test_x[:10].numpy().reshape(-1, 28, 28)
fig, ax = plt.subplots(figsize=(10, 2.3))
ax.imshow(image_grid(np.concatenate([originals, decode_latent(model, mu_test[:10])]), ncols=10), cmap="gray")
ax.set_title("Originais (acima) e reconstruções (abaixo)")
ax.axis("off")
show_figure(fig, "reconstrucoes")"""

SAMPLES = """\
means = sample_images(model, 48, SEED)
draws = analysis.bernoulli_draws(means[:8], SEED, 2)
fig, axes = plt.subplots(1, 2, figsize=(14, 5.4))
axes[0].imshow(image_grid(means, ncols=8), cmap="gray")
axes[0].set_title("48 médias do decodificador, z ~ N(0, I)")
axes[1].imshow(image_grid(np.concatenate([means[:8], *draws]), ncols=8), cmap="gray")
axes[1].set_title("Os 8 primeiros z: a média e dois sorteios de Bernoulli")
for ax in axes:
    ax.axis("off")
show_figure(fig, "amostras")"""

QUESTIONS = (
    Question(
        "q1",
        vc.VAE.reparameterize,
        "**Exercício 1 — a reparametrização.** Escreva `reparameterize(mu, logvar)`: um $z$ por linha, "
        "$z = \\mu + \\sigma\\odot\\varepsilon$ com $\\varepsilon\\sim\\mathcal{N}(0, I)$ e "
        "$\\sigma = \\exp(\\tfrac{1}{2}\\log\\sigma^2)$, de modo que o gradiente passe por $\\mu$ e $\\sigma$.",
        (checks.reparameterization_gradients,),
        (checks.reparameterization_moments,),
        MODEL,
    ),
    Question(
        "q2",
        vc.kl_divergence,
        "**Exercício 2 — a KL em forma fechada.** Escreva `kl_divergence(mu, logvar)`: a divergência "
        "$D_{KL}\\big(\\mathcal{N}(\\mu, \\sigma^2)\\,\\|\\,\\mathcal{N}(0, I)\\big)$ de cada imagem, somada nas "
        "dimensões latentes (um valor por linha).",
        (checks.kl_standard_normal_is_zero,),
        (checks.kl_closed_form,),
    ),
    Question(
        "q3",
        vc.loss_terms,
        "**Exercício 3 — a perda.** Escreva `loss_terms(logits, x, mu, logvar)`: a BCE calculada a partir dos "
        "*logits*, somada nos 784 pixels e nas imagens do lote, e a KL somada no lote (use a sua `kl_divergence`). "
        "O treino minimiza a soma das duas.",
        (checks.loss_at_half,),
        (checks.loss_sums_per_image,),
        INITIAL_LOSS,
    ),
    Question(
        "q4",
        vc.train_epoch,
        "**Exercício 4 — uma época de treino.** Escreva `train_epoch(model, optimizer, x, batch_size, generator)`: "
        "percorra `x` em lotes numa ordem sorteada com `generator`, minimize `training_loss(bce, kl, beta)` com a "
        "sua `loss_terms` e devolva as médias por imagem de `loss`, `bce` e `kl` (`_per_image` faz a conta; "
        "`to_float` converte os pixels). Os argumentos `binarize`, `y` e `free_bits` podem ficar sem uso.",
        (checks.train_epoch_means,),
        (checks.train_epoch_learns,),
        TRAINING,
    ),
    Question(
        "q5",
        vc.encode_dataset,
        "**Exercício 5 — codificar o conjunto de teste.** Escreva `encode_dataset(model, x, batch_size)`: μ e "
        "log σ² de $q(z\\mid x)$ para todas as imagens, em lotes (`batches(x, None, batch_size)`), sem gradiente. "
        "Para as figuras, cada imagem é o seu código médio $\\mu$, não um $z$ sorteado.",
        (checks.encode_shapes,),
        (checks.encode_uses_mean,),
        RECONSTRUCTIONS,
    ),
    Question(
        "q6",
        vc.sample_images,
        "**Exercício 6 — amostrar do *prior*.** Escreva `sample_images(model, n, seed)`: sorteie $n$ códigos "
        "$z\\sim\\mathcal{N}(0, I)$ com `torch.Generator().manual_seed(seed)` e devolva as imagens médias do "
        "decodificador, (n, 28, 28) em $[0, 1]$ (`decode_latent` decodifica).",
        (checks.samples_are_images,),
        (checks.samples_from_prior,),
        SAMPLES,
    ),
)

TOTAL_POINTS = sum(q.points for q in QUESTIONS)

# cada seção do capítulo (o seu primeiro texto) e os exercícios que vêm depois dela
LAYOUT = (
    ("## 2.", ()),
    ("## 3.", ("q1",)),
    ("## 4.", ("q2", "q3")),
    ("## 5.", ("q4",)),
    ("## 7.", ("q5",)),
    ("## 8.", ("q6",)),
)

INTRO = f"""# Exercícios: o VAE no MNIST

Esta é a versão de exercícios do capítulo `vae_mnist`: o texto é o dele, e as peças principais do VAE são suas.
Escreva o código no lugar de cada `...` e rode a célula `grader.check("q…")` logo abaixo: os testes públicos dizem
o que está errado e por quê. Na correção rodam também testes ocultos ({TOTAL_POINTS} testes de 1 ponto em
{len(QUESTIONS)} exercícios). O resto do notebook roda sobre o seu código: as figuras são resultados seus (um treino
curto, num subconjunto das imagens de treino).

Não mude os nomes nem as assinaturas das funções, nem o nome deste arquivo enquanto trabalha (as células
`grader.check` o leem). Entregue este arquivo `.ipynb`."""

LATENT = """## 10. O espaço latente

Os códigos $\\mu$ das imagens de teste (da sua `encode_dataset`) no plano das duas primeiras componentes
principais, coloridos pelo dígito: o VAE nunca viu um rótulo."""

LATENT_CODE = """pca = PCA(random_state=SEED).fit(mu_test.numpy())
fig, ax = plt.subplots(figsize=(7, 5.8))
scatter_digits(ax, pca.transform(mu_test.numpy())[:, :2], labels)
ax.set(title="PCA de μ (imagens de teste)", xlabel="CP 1", ylabel="CP 2")
show_figure(fig, "espaco_latente")"""


def solution_source(function) -> str:
    """O código da função em `vae_core`, com o corpo (depois da assinatura e da docstring) entre os marcadores
    de solução do otter: o aluno recebe a assinatura, a docstring e `...`."""
    source = textwrap.dedent(inspect.getsource(function))
    lines = [line for line in source.splitlines() if line.strip() != "@staticmethod"]
    node = ast.parse("\n".join(lines)).body[0]
    has_docstring = isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
    start = (node.body[1] if has_docstring else node.body[0]).lineno - 1
    return "\n".join([*lines[:start], "    # BEGIN SOLUTION", *lines[start:], "    # END SOLUTION"])


def otter_test_source(check, hidden: bool) -> str:
    """Uma célula de teste do otter: chama a verificação com a função do aluno (o argumento tem o nome dela)."""
    argument = next(iter(inspect.signature(check).parameters))
    config = '""" # BEGIN TEST CONFIG\nhidden: true\n""" # END TEST CONFIG\n' if hidden else ""
    return (
        f"{config}def test_{check.__name__}({argument}):\n"
        f"    from vae_tools.exercise_checks import {check.__name__}\n\n"
        f"    {check.__name__}({argument})"
    )


def chapter_section(heading: str) -> str:
    """O primeiro texto da seção `heading` do capítulo, sem a frase final que apresentava o código do módulo
    (a que termina em dois-pontos: aqui quem escreve o código é o aluno)."""
    for cell in jupytext.read(CHAPTER).cells:
        if cell.cell_type == "markdown" and cell.source.startswith(heading):
            text = cell.source.rstrip()
            return text[: max(text.rfind("\n\n"), text.rfind(". ") + 1)] if text.endswith(":") else text
    raise ValueError(f"Seção {heading!r} não encontrada em {CHAPTER}.")


def question_cells(q: Question) -> list:
    raw, md, code = nbformat.v4.new_raw_cell, nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    cells = [raw(f"# BEGIN QUESTION\nname: {q.name}\npoints: {q.points}"), md(q.prompt), raw("# BEGIN SOLUTION")]
    cells += [code(solution_source(q.solution)), raw("# END SOLUTION"), raw("# BEGIN TESTS")]
    cells += [
        code(otter_test_source(c, hidden)) for tests, hidden in ((q.public, False), (q.hidden, True)) for c in tests
    ]
    cells += [raw("# END TESTS"), raw("# END QUESTION")]
    return cells + ([code(q.after)] if q.after else [])


def master_notebook() -> nbformat.NotebookNode:
    """O notebook mestre do otter: configuração, texto do capítulo, questões com soluções e testes."""
    raw, md, code = nbformat.v4.new_raw_cell, nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    by_name = {q.name: q for q in QUESTIONS}
    cells = [raw(ASSIGNMENT_CONFIG), md(INTRO), code(PARAMETERS), code(IMPORTS + "\n\n" + DATA)]
    cells[2].metadata["tags"] = ["parameters"]
    for heading, names in LAYOUT:
        cells.append(md(chapter_section(heading)))
        for name in names:
            cells += question_cells(by_name[name])
    cells += [md(LATENT), code(LATENT_CODE)]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    return nb


def generate(build: Path = BUILD, student: Path | None = STUDENT_NOTEBOOK) -> Path:
    """Escreve o mestre em `build`, roda o `otter assign` (versões do aluno e do autograder em `build/dist`) e
    copia a do aluno para `student` (se dado). Devolve a pasta `build/dist`."""
    from otter.assign import main as otter_assign

    shutil.rmtree(build, ignore_errors=True)
    build.mkdir(parents=True)
    master = build / f"{NAME}.ipynb"
    nbformat.write(master_notebook(), master)
    otter_assign(str(master), str(build / "dist"), no_pdfs=True, no_run_tests=True)
    next((build / "dist" / "autograder").glob("*.zip")).rename(build / "dist" / "autograder" / "autograder.zip")
    if student is not None:
        student.parent.mkdir(parents=True, exist_ok=True)
        nb = nbformat.read(build / "dist" / "student" / f"{NAME}.ipynb", as_version=4)
        for i, cell in enumerate(nb.cells):
            cell.id = f"celula-{i:02d}"  # o otter sorteia o id da célula que ele cria: fixo, a geração se repete
        nbformat.write(nb, student)
    return build / "dist"


if __name__ == "__main__":
    dist = generate()
    print(f"Versão do aluno: {STUDENT_NOTEBOOK.relative_to(ROOT)}")
    print(f"Autograder (não distribua): {(dist / 'autograder' / 'autograder.zip').relative_to(ROOT)}")
