# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Laboratório: tamanho latente, β e arquitetura de um VAE no MNIST
#
# O capítulo `vae_mnist` treina **um** VAE. Aqui respondemos, com números medidos, às quatro perguntas que
# todo curso de VAE faz — e que cada notebook de referência responde a no máximo uma:
#
# 1. **Quantas dimensões latentes?** Kingma & Welling (2013, §5, figs. 2 e 5) treinaram $N_z$ de 3 a 200 e
#    escreveram que "variáveis latentes supérfluas não resultaram em sobreajuste, o que se explica pela
#    natureza regularizadora do limite variacional". Burda et al. (2015, tabela 1) contam só 19–20 unidades
#    ativas de 50 num VAE de uma camada estocástica.
# 2. **Quanto peso na KL?** O β-VAE (Higgins et al., 2017) multiplica a KL por β; Alemi et al. (2018)
#    escrevem o −ELBO como distorção + taxa, e uma varredura de β traça a curva taxa–distorção.
# 3. **Totalmente conectado ou convolucional?** Os VAEs do TensorFlow, do Keras e do curso da UvA são
#    convolucionais; o modelo clássico não é.
# 4. **E se o modelo souber o dígito?** Um VAE condicional (o M2 de Kingma et al., 2014, com o rótulo
#    observado) desenha o dígito pedido a partir do rótulo e de um código latente.
#
# Cada modelo é medido pelo −ELBO **e** pela qualidade das suas amostras, lidas por um classificador de
# dígitos do projeto (como na seção 2 da avaliação): o ELBO não ordena amostras por qualidade (Theis, van
# den Oord & Bethge, 2016), e aqui medimos se ordena.
#
# **Comparações justas.** Todas as execuções (menos as de outra semente, que medem o ruído) usam a mesma
# partição dos dados, a mesma semente, os mesmos
# lotes, a mesma taxa de aprendizado e o **mesmo número de épocas**; dentro de cada comparação muda uma
# coisa só, e todas são medidas nas mesmas imagens de teste. **O tamanho do ruído**: a configuração de
# referência (z = 20, β = 1, `mlp`) é treinada com várias sementes (`SEEDS`), e a diferença entre elas é a
# régua de toda comparação — uma diferença menor que ela é um empate, não uma classificação. Cada execução é um checkpoint por configuração (o mesmo mecanismo do capítulo): rodar o
# laboratório de novo não treina nada que já foi treinado — nem o modelo padrão do capítulo, se ele já
# rodou —, e um laboratório interrompido continua de onde parou.
#
# Headless, com outras listas (papermill recebe listas em YAML com `-y`):
# `papermill notebooks/experimentos.ipynb reports/experimentos.ipynb -y "LATENT_SIZES: [2, 20]" -p NUM_EPOCHS 5`.

# %% tags=["parameters"]
LATENT_SIZES: list[int] = [2, 5, 10, 20, 50, 200]  # tamanhos de z comparados (β 1, modelo "mlp")
BETAS: list[float] = [0.25, 0.5, 1, 2, 4, 8]  # pesos da KL comparados (z de BETA_LATENT_DIM)
BETA_LATENT_DIM: int = 20  # tamanho de z na comparação de β
ARCHS: list[str] = ["mlp", "conv"]  # arquiteturas comparadas (z de ARCH_LATENT_DIM, β 1)
ARCH_LATENT_DIM: int = 20  # tamanho de z na comparação de arquiteturas
SEEDS: list[int] = [43, 44]  # outras sementes da referência (z de BETA_LATENT_DIM, β 1, "mlp"), além de SEED
CONDITIONAL_LATENT_SIZES: list[int] = [20, 2]  # tamanhos de z do VAE condicional ("cvae"), cada um ao lado do "mlp"
CONDITIONAL_DIGIT: int = 7  # o dígito do explorador e da variedade de estilo do VAE condicional
QUALITY_SAMPLES: int = 10000  # amostras de cada modelo nas medidas de qualidade (100 a 10.000)
NUM_EPOCHS: int = 20  # épocas de cada execução: as mesmas para todas
BATCH_SIZE: int = 128  # imagens por lote
HIDDEN_DIM: int = 400  # camada oculta do modelo "mlp"
LEARNING_RATE: float = 1e-3  # taxa de aprendizado do Adam
SEED: int = 42  # semente de tudo: partição, pesos, lotes, amostras
VAL_SIZE: int = 5000  # imagens de validação tiradas das 60.000 de treino
TRAIN_SIZE: "int or None" = None  # None: todas as que sobram (55.000); um inteiro usa um subconjunto
IWAE_K: int = 100  # amostras do limite de importância
IWAE_SIZE: int = 1000  # imagens de teste no limite de importância
DATA_DIR: "str or None" = None  # None: data/ na raiz do projeto (ou a variável VAE_MNIST_DATA_DIR)
CHECKPOINT_DIR: "str or None" = None  # None: checkpoints/ na raiz (ou a variável VAE_MNIST_CHECKPOINT_DIR)
DEVICE: str = "auto"  # "auto", "cpu", "cuda" ou "mps"
NUM_THREADS: "int or None" = None  # None: todos os núcleos disponíveis
PROGRESS: bool = True  # barra de progresso sobre as execuções
FIGURES_DIR: "str or None" = None  # None: não salva; uma pasta: cada figura também vira um PNG com nome fixo

# %% [markdown]
# ## 1. As execuções
#
# Conferimos os parâmetros (listas inclusive: vazias, com negativos ou com texto param aqui, com uma
# mensagem que diz o que é permitido) e planejamos cada execução antes de treinar qualquer coisa: cada uma
# tem o seu checkpoint, cujo nome é a sua configuração, e a tabela diz o que será feito com ela.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Markdown, display
from scipy.stats import spearmanr

import vae_core as vc
from vae_tools import analysis, lab, mnist, quality
from vae_tools import classifier as digits
from vae_tools.checkpoints import Action
from vae_tools.explorer import ConditionalExplorer, conditional_traversal
from vae_tools.figures import br_number, image_grid, markdown_table, show_figure
from vae_tools.parameters import LAB_PARAMETER_NAMES, resolve_device, seed_everything, validate_lab_params

lab_start = time.perf_counter()
P = validate_lab_params({name: globals()[name] for name in LAB_PARAMETER_NAMES})
globals().update(P)  # os parâmetros passam a ter os tipos certos (o papermill pode mandar texto)
runs, groups = lab.plan_lab(P)
threads = seed_everything(SEED, NUM_THREADS)
device = resolve_device(DEVICE)
comparisons = {name: [g for g, names in groups.items() if name in names] for name in runs}
display(
    Markdown(
        markdown_table(
            ["execução (checkpoint)", "comparações", "o que será feito"],
            [[f"`{n}`", ", ".join(comparisons[n]), run.plan.action.label] for n, run in runs.items()],
        )
    )
)
print(f"{len(runs)} execuções de {NUM_EPOCHS} épocas | {device}, {threads} threads | PyTorch {torch.__version__}")

# %% [markdown]
# Cada semente tem a sua partição treino/validação (como no capítulo, a semente decide a partição, os
# pesos iniciais e os lotes); o teste é o mesmo para todas.

# %%
data_dir = mnist.resolve_data_dir(DATA_DIR)
splits, test_x = {}, None
for seed in sorted({run.params["SEED"] for run in runs.values()}):
    data = mnist.load_mnist(data_dir, val_size=VAL_SIZE, train_size=TRAIN_SIZE, seed=seed)
    train_x, val_x = mnist.flatten_images(data.train_x, device), mnist.to_model_input(data.val_x, device)
    splits[seed] = lab.Split(train_x, val_x, data.train_y.to(device), data.val_y.to(device))
    if seed == SEED:
        test_x, test_y = mnist.to_model_input(data.test_x, device), data.test_y.to(device)
        print(", ".join(f"{name}: {br_number(size)}" for name, size in data.sizes().items()))

# %% [markdown]
# ## 2. Treino
#
# As execuções rodam uma depois da outra, cada uma com os dois núcleos (nunca duas ao mesmo tempo: as
# perdas só se repetem bit a bit com o mesmo número de threads). As já treinadas são só carregadas.

# %% tags=["nbval-ignore-output"]
train_start = time.perf_counter()
lab.train_all(runs, splits, device, PROGRESS)
train_wall = time.perf_counter() - train_start
for run in runs.values():
    lab.measure(run, splits[run.params["SEED"]], test_x, test_y, IWAE_K, IWAE_SIZE, SEED)
trained_now = [run for run in runs.values() if run.plan.action is not Action.REUSE]
print(
    f"Treinadas agora: {len(trained_now)}; reutilizadas: {len(runs) - len(trained_now)}; "
    f"tempo desta célula: {br_number(train_wall)} s"
)

# %% [markdown]
# **As amostras de cada modelo.** O classificador de dígitos do projeto (o mesmo da avaliação: pesos fixos,
# guardados no repositório, a mesma régua em toda máquina) lê `QUALITY_SAMPLES` amostras de
# $z \sim \mathcal{N}(0, I)$ de cada execução e as compara com as imagens de teste nos seus 128 atributos:
# distância de Fréchet (menor é melhor; a escala é a deste classificador, não a das FIDs de artigos),
# precisão e revocação (*recall*) de Kynkäänniemi et al. (2019) e a fração lida com
# confiança ≥ 0,9.

# %% tags=["nbval-ignore-output"]
classifier, classifier_info = digits.load_classifier(device)
reference = quality.make_reference(classifier, test_x[:QUALITY_SAMPLES], test_y[:QUALITY_SAMPLES])
for run in runs.values():
    lab.measure_samples(run, classifier, reference, QUALITY_SAMPLES, SEED, test_y)
print(f"Classificador: {br_number(100 * classifier_info['test_accuracy'], 2)}% de acerto no teste")

# %% [markdown]
# ### O tamanho do ruído
#
# A mesma configuração de referência, com sementes diferentes: a diferença entre elas é o que uma
# comparação pode atribuir ao acaso.

# %% jupyter={"source_hidden": true} tags=["remove-input"]
seed_runs, seeds, s = lab.compare(runs, groups["sementes"], "SEED")
band = lab.noise_band(runs, groups["sementes"], "test_loss")
fd_band = lab.noise_band(runs, groups["sementes"], "fd")
display(
    Markdown(
        markdown_table(
            ["semente", "−ELBO teste", "BCE", "KL", "ativas", "Fréchet", "execução (checkpoint)"],
            [
                [
                    seed,
                    br_number(s["test_loss"][i], 2),
                    br_number(s["test_bce"][i], 2),
                    br_number(s["test_kl"][i], 2),
                    s["active"][i],
                    br_number(s["fd"][i], 1),
                    f"`{run.name}`",
                ]
                for i, (seed, run) in enumerate(zip(seeds, seed_runs))
            ],
        )
    )
)

# %% jupyter={"source_hidden": true} tags=["remove-input"]
display(
    Markdown(
        f"Com {len(seeds)} sementes, o −ELBO de teste da referência vai de {br_number(s['test_loss'].min(), 2)} a "
        f"{br_number(s['test_loss'].max(), 2)}: uma **faixa de ruído de {br_number(band, 2)} nats**; a distância "
        f"de Fréchet das amostras vai de {br_number(s['fd'].min(), 1)} a {br_number(s['fd'].max(), 1)} (faixa de "
        f"{br_number(fd_band, 1)}). Nas comparações abaixo, duas configurações cuja diferença fica dentro da faixa "
        f"da sua medida estão empatadas nela."
        if len(seeds) > 1
        else "Com uma só semente não há faixa de ruído medida: as comparações abaixo tratam qualquer diferença "
        "como real, o que não se sustentaria com mais sementes. Passe `SEEDS` com outras sementes."
    )
)

# %% [markdown]
# ## 3. Quantas dimensões latentes?
#
# Mais dimensões dão ao codificador mais espaço para descrever cada imagem, o que baixa a reconstrução
# (BCE); cada dimensão usada custa KL. O limite variacional cobra esse custo: uma dimensão que não paga
# o seu preço em reconstrução tende a ficar igual ao *prior* — **inativa**, com
# $\operatorname{Var}_x(\mathbb{E}_{q(z\mid x)}[z_j]) \le 0{,}01$ (o critério de Burda et al.). Para ver se
# há sobreajuste medimos o −ELBO no treino e no teste com o modelo final; o limite de importância com
# $k$ amostras (Burda et al., 2015), comparado ao ELBO **nas mesmas imagens**, mostra quanto o ELBO
# subestima $\log p(x)$ em cada tamanho.

# %% jupyter={"source_hidden": true} tags=["remove-input"]
latent, sizes, m = lab.compare(runs, groups["latente"], "LATENT_DIM")
display(
    Markdown(
        markdown_table(
            ["z", "−ELBO teste", "BCE", "KL", "teste − treino", "ativas", f"limite k={IWAE_K} − ELBO", "s/época"],
            [
                [
                    z,
                    br_number(m["test_loss"][i], 2),
                    br_number(m["test_bce"][i], 2),
                    br_number(m["test_kl"][i], 2),
                    br_number(m["gap"][i], 2),
                    f"{m['active'][i]} de {z}",
                    f"{br_number(m['iwae_gap'][i], 2)} ± {br_number(m['iwae_gap_se'][i], 2)}",
                    br_number(m["seconds_per_epoch"][i], 2),
                ]
                for i, z in enumerate(sizes)
            ],
        )
    )
)

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
axes[0].plot(sizes, m["test_loss"], "o-", label="−ELBO (teste)")
axes[0].plot(sizes, m["train_loss"], "s--", label="−ELBO (treino)")
axes[1].plot(sizes, m["test_bce"], "o-", label="reconstrução (BCE)")
axes[1].plot(sizes, m["test_kl"], "s-", label="KL")
for ax, title in zip(axes, ["Perda por tamanho de z", "Os dois termos no teste"]):
    ax.set(xscale="log", xlabel="dimensões latentes (escala log)", ylabel="nats por imagem", title=title)
    ax.set_xticks(sizes, [str(z) for z in sizes])
    ax.minorticks_off()
    ax.grid(alpha=0.3)
    ax.legend()
fig.suptitle(f"{NUM_EPOCHS} épocas cada, mesma partição e semente")
plt.tight_layout()
show_figure(fig, "lab_01_perda_por_dimensao", FIGURES_DIR)

# %%
n_samples = 10
samples = np.stack([vc.sample_images(run.model, n_samples, seed=SEED) for run in latent])
fig, ax = plt.subplots(figsize=(8, 0.8 * len(latent) + 0.6))
ax.imshow(image_grid(samples.reshape(-1, 28, 28), ncols=n_samples), cmap="gray")
ax.set_yticks(
    np.arange(len(latent)) * 28 + 14,
    [f"z = {z} (Fréchet {br_number(f, 1)})" for z, f in zip(sizes, m["fd"])],
)
ax.set_xticks([])
ax.set_title(f"Amostras de z ~ N(0, I) de cada modelo ({NUM_EPOCHS} épocas)")
show_figure(fig, "lab_02_amostras_por_dimensao", FIGURES_DIR)


# %% jupyter={"source_hidden": true} tags=["remove-input"]
def moves(before: float, after: float) -> str:
    """ "cai de A para B" ou "sobe de A para B", com os números à brasileira."""
    return f"{'cai' if after < before else 'sobe'} de {br_number(before, 1)} para {br_number(after, 1)}"


best, largest, smallest = int(np.argmin(m["test_loss"])), int(np.argmax(sizes)), int(np.argmin(sizes))
tied = [sizes[i] for i in lab.ties(m["test_loss"], band, best) if i != best]
gap_band = lab.noise_band(runs, groups["sementes"], "gap")
conf_band = lab.noise_band(runs, groups["sementes"], "confident")
inactive_kl = {z: np.sort(run.details["kl_dims"])[: z - a].sum() for z, a, run in zip(sizes, m["active"], latent)}
inactive_sizes = [z for z, active in zip(sizes, m["active"]) if active < z]
gap_share = 100 * m["gap"] / m["test_loss"]
fifty = sizes.index(50) if 50 in sizes else None
ranking = (
    f"O menor −ELBO de teste é o do modelo com **z = {sizes[best]}** ({br_number(m['test_loss'][best], 2)} nats)"
    + (
        f", mas z = {', '.join(map(str, tied))} fica{'m' if len(tied) > 1 else ''} a até {br_number(band, 2)} nats "
        f"dele (a faixa das sementes): empate."
        if tied
        else f", à frente dos outros por mais que a faixa das sementes ({br_number(band, 2)} nats)."
    )
)
display(
    Markdown(
        ranking + f" Do menor ao maior z ({sizes[smallest]} → {sizes[largest]}) a BCE "
        f"{moves(m['test_bce'][smallest], m['test_bce'][largest])} e a KL "
        f"{moves(m['test_kl'][smallest], m['test_kl'][largest])}.\n\n"
        f"**A afirmação de Kingma & Welling.** Com z = {sizes[largest]}, a diferença teste − treino é de "
        f"{br_number(m['gap'][largest], 2)} nats ({br_number(gap_share[largest], 1)}% da perda), contra "
        f"{br_number(m['gap'][best], 2)} com z = {sizes[best]} (faixa das sementes nessa diferença: "
        f"{br_number(gap_band, 2)})"
        + (
            ": as dimensões supérfluas não aumentaram a diferença teste − treino além da faixa, e nas nossas "
            "execuções a afirmação se confirma"
            if m["gap"][largest] - m["gap"][best] <= gap_band
            else ": a diferença teste − treino cresce com as dimensões supérfluas mais que a faixa, e nas nossas "
            "execuções a afirmação não se confirma por inteiro"
        )
        + f" — embora o −ELBO de teste com z = {sizes[largest]} fique "
        f"{br_number(m['test_loss'][largest] - m['test_loss'][best], 2)} nats acima do de z = {sizes[best]}."
        + " Unidades ativas: "
        + ", ".join(f"{a} de {z}" for z, a in zip(sizes, m["active"]))
        + (
            f". Com z = {', '.join(map(str, inactive_sizes))} há dimensões inativas, que somam só "
            + " e ".join(f"{br_number(inactive_kl[z], 2)} nats de KL (z = {z})" for z in inactive_sizes)
            + ": iguais ao *prior*, não carregam informação que pudesse ser decorada — a regularização do limite "
            "variacional que Kingma & Welling invocam.\n\n"
            if inactive_sizes
            else ": nenhuma dimensão ficou inativa nestas execuções.\n\n"
        )
        + (
            f"**As unidades ativas de Burda et al.** Eles contam 19–20 ativas de 50 num VAE de uma camada "
            f"estocástica (784-200-200-50, tanh, MNIST binarizado, 3.280 épocas); o nosso com z = 50 tem "
            f"**{m['active'][fifty]} de 50** depois de {NUM_EPOCHS} épocas, e o de z = {sizes[largest]}, "
            f"{m['active'][largest]}. "
            if fifty is not None
            else ""
        )
        + f"Nas mesmas {br_number(IWAE_SIZE)} imagens de teste, o limite de importância com k = {IWAE_K} fica "
        f"entre {br_number(m['iwae_gap'].min(), 2)} e {br_number(m['iwae_gap'].max(), 2)} nats acima do ELBO "
        f"(erros pareados de até {br_number(m['iwae_gap_se'].max(), 2)}): a folga do ELBO existe em todos os "
        f"tamanhos.\n\n"
        f"**As amostras.** A menor distância de Fréchet é a de "
        f"{lab.verdict(m['fd'], [f'z = {z}' for z in sizes], fd_band, decimals=1)}; a maior fração lida com "
        f"confiança ≥ 0,9 ({br_number(100 * m['confident'].max(), 1)}%) é a de "
        f"{lab.verdict(100 * m['confident'], [f'z = {z}' for z in sizes], 100 * conf_band, False, 1, ' pontos')}. "
        + (
            "Pela distância de Fréchet, o tamanho que gera melhor não é o de menor −ELBO."
            if abs(m["fd"][best] - m["fd"].min()) > fd_band
            else "Pela distância de Fréchet, o tamanho de menor −ELBO está entre os que geram melhor."
        )
    )
)

# %% [markdown]
# ## 4. Quanto peso na KL? (β-VAE)
#
# O treino passa a minimizar $\text{BCE} + \beta\,\text{KL}$; as perdas abaixo são sempre o −ELBO
# verdadeiro, BCE + KL. Alemi et al. (2018) leem os dois termos como **distorção** $D$ (a BCE) e **taxa**
# $R$ (a KL, os nats que o código carrega sobre a imagem): $-\text{ELBO} = D + R$. Cada β escolhe um ponto
# da curva taxa–distorção — β < 1 compra reconstrução com taxa; β > 1 aperta o canal latente (Higgins et
# al., 2017) — e só β = 1 minimiza o −ELBO. Na figura, cada reta tracejada passa pelo ponto de um β e
# reúne todos os pontos com o mesmo −ELBO que ele.

# %% jupyter={"source_hidden": true} tags=["remove-input"]
beta_runs, betas, b = lab.compare(runs, groups["beta"], "BETA")
display(
    Markdown(
        markdown_table(
            ["β", "−ELBO teste", "distorção D (BCE)", "taxa R (KL)", "ativas", f"limite k={IWAE_K} − ELBO"],
            [
                [
                    br_number(beta, None),
                    br_number(b["test_loss"][i], 2),
                    br_number(b["test_bce"][i], 2),
                    br_number(b["test_kl"][i], 2),
                    f"{b['active'][i]} de {BETA_LATENT_DIM}",
                    f"{br_number(b['iwae_gap'][i], 2)} ± {br_number(b['iwae_gap_se'][i], 2)}",
                ]
                for i, beta in enumerate(betas)
            ],
        )
    )
)

# %%
fig, ax = plt.subplots(figsize=(8, 5.5))
rates = np.array([0, b["test_kl"].max() * 1.15])
for level in b["test_loss"]:  # a reta de −ELBO constante que passa por cada ponto
    ax.plot(rates, level - rates, "--", color="0.75", lw=1)
ax.plot(b["test_kl"], b["test_bce"], "o-", color="tab:blue")
for beta, rate, distortion, level in zip(betas, b["test_kl"], b["test_bce"], b["test_loss"]):
    label = f"β = {br_number(beta, None)} (−ELBO {br_number(level, 1)})"
    ax.annotate(label, (rate, distortion), textcoords="offset points", xytext=(6, 4))
ax.set_xlim(rates)
ax.set_ylim(b["test_bce"].min() - 10, b["test_loss"].max() + 5)
ax.set(xlabel="taxa R = KL (nats por imagem)", ylabel="distorção D = BCE (nats por imagem)")
ax.set_title(f"Taxa × distorção no teste (z = {BETA_LATENT_DIM}, {NUM_EPOCHS} épocas)")
ax.grid(alpha=0.3)
show_figure(fig, "lab_03_taxa_distorcao", FIGURES_DIR)

# %%
shown = test_x[:8]
beta_labels = [f"β = {br_number(x, None)}" for x in betas]
recon = np.concatenate(
    [shown.cpu().numpy().reshape(-1, 28, 28)] + [vc.reconstruct(run.model, shown) for run in beta_runs]
)
real = test_x[8:16].cpu().numpy().reshape(-1, 28, 28)  # imagens reais, como referência das amostras
beta_samples = np.concatenate([real] + [vc.sample_images(run.model, 8, seed=SEED) for run in beta_runs])
fig, axes = plt.subplots(1, 2, figsize=(12, 0.75 * len(beta_runs) + 1.6))
for ax, images, labels, title in [
    (axes[0], recon, ["original", *beta_labels], "Reconstruções (decodificando μ)"),
    (axes[1], beta_samples, ["reais (teste)", *beta_labels], "Amostras de z ~ N(0, I)"),
]:
    ax.imshow(image_grid(images, ncols=8), cmap="gray")
    ax.set_yticks(np.arange(len(labels)) * 28 + 14, labels)
    ax.set_xticks([])
    ax.set_title(title)
plt.tight_layout()
show_figure(fig, "lab_04_beta_imagens", FIGURES_DIR)

# %% jupyter={"source_hidden": true} tags=["remove-input"]
lo, hi, best_b = int(np.argmin(betas)), int(np.argmax(betas)), int(np.argmin(b["test_loss"]))
beta_names = [f"β = {br_number(x, None)}" for x in betas]
read_as_label = [
    (
        digits.read(classifier, torch.as_tensor(vc.reconstruct(run.model, test_x[:QUALITY_SAMPLES])).reshape(-1, 784))[
            0
        ]
        == test_y[:QUALITY_SAMPLES].cpu().numpy()
    ).mean()
    for run in beta_runs
]
tied_b = [betas[i] for i in lab.ties(b["test_loss"], band, best_b)]
display(
    Markdown(
        f"De β = {br_number(betas[lo], None)} a β = {br_number(betas[hi], None)} a taxa cai de "
        f"{br_number(b['test_kl'][lo], 1)} para {br_number(b['test_kl'][hi], 1)} nats e a distorção sobe de "
        f"{br_number(b['test_bce'][lo], 1)} para {br_number(b['test_bce'][hi], 1)}: cada β é um ponto "
        f"diferente da mesma troca. O menor −ELBO é o de β = {br_number(betas[best_b], None)} "
        f"({br_number(b['test_loss'][best_b], 2)} nats)"
        + (
            f", com β = {', '.join(br_number(x, None) for x in tied_b if x != betas[best_b])} dentro da faixa das "
            f"sementes ({br_number(band, 2)} nats). "
            if len(tied_b) > 1
            else f", à frente dos outros por mais que a faixa das sementes ({br_number(band, 2)} nats)"
            + (": só β = 1 otimiza o próprio ELBO, como a teoria prevê. " if betas[best_b] == 1 else ". ")
        )
        + f"Com β = {br_number(betas[hi], None)} há **{b['active'][hi]} de {BETA_LATENT_DIM}** dimensões ativas "
        f"(com β = {br_number(betas[lo], None)}, {b['active'][lo]})"
        + (": um canal latente mais apertado usa menos dimensões. " if b["active"][hi] < b["active"][lo] else ". ")
        + "Como Alemi et al. apontam, o −ELBO sozinho não diz qual desses modelos serve para quê: dois pontos "
        "com −ELBO parecido podem dividir os nats entre taxa e distorção de formas bem diferentes.\n\n"
        "**Reconstruções e amostras.** O classificador lê como o dígito original "
        + ", ".join(f"{br_number(100 * r, 1)}% ({n})" for r, n in zip(read_as_label, beta_names))
        + f" das reconstruções: com β = {br_number(betas[hi], None)}, {br_number(100 * (1 - read_as_label[hi]), 1)}% "
        f"delas viram outro dígito, contra {br_number(100 * (1 - read_as_label[lo]), 1)}% com β = "
        f"{br_number(betas[lo], None)}"
        + (
            " — o canal apertado já não guarda a identidade de toda imagem. "
            if read_as_label[lo] - read_as_label[hi] > 0.05
            else ". "
        )
        + "Nas amostras, a "
        f"menor distância de Fréchet é a de {lab.verdict(b['fd'], beta_names, fd_band, decimals=1)}, e a maior "
        f"fração lida com confiança ≥ 0,9 ({br_number(100 * b['confident'].max(), 1)}%) é a de "
        f"{lab.verdict(100 * b['confident'], beta_names, 100 * conf_band, False, 1, ' pontos')}"
        + (
            ": pela distância de Fréchet, o β que gera melhor não é o de menor −ELBO."
            if abs(b["fd"][best_b] - b["fd"].min()) > fd_band
            else ": pela distância de Fréchet, o β de menor −ELBO está entre os que geram melhor."
        )
    )
)

# %% [markdown]
# ## 5. Totalmente conectado ou convolucional?
#
# O modelo `"conv"` tem a mesma interface latente e a mesma perda: o codificador são duas convoluções
# (1 → 16 → 32 canais, núcleo 4, passo 2: 28 → 14 → 7 pixels) e duas cabeças lineares para $\mu$ e
# $\log\sigma^2$; o decodificador é o espelho, com convoluções transpostas. As convoluções compartilham
# pesos entre posições da imagem, então o modelo é bem menor, mas cada peso trabalha em todas as posições.

# %% jupyter={"source_hidden": true} tags=["remove-input"]
arch_runs, archs, a = lab.compare(runs, groups["arquitetura"], "ARCH")
display(
    Markdown(
        markdown_table(
            ["arquitetura", "parâmetros", "s por época (esta máquina)", "−ELBO teste", "BCE", "KL", "ativas"],
            [
                [
                    arch,
                    br_number(a["parameters"][i]),
                    br_number(a["seconds_per_epoch"][i], 2),
                    br_number(a["test_loss"][i], 2),
                    br_number(a["test_bce"][i], 2),
                    br_number(a["test_kl"][i], 2),
                    f"{a['active'][i]} de {ARCH_LATENT_DIM}",
                ]
                for i, arch in enumerate(archs)
            ],
        )
    )
)

# %%
shown = test_x[:10]
rows = np.concatenate(
    [shown.cpu().numpy().reshape(-1, 28, 28)] + [vc.reconstruct(run.model, shown) for run in arch_runs]
)
fig, ax = plt.subplots(figsize=(10, 0.9 * (len(arch_runs) + 1) + 0.5))
ax.imshow(image_grid(rows, ncols=10), cmap="gray")
ax.set_yticks(np.arange(len(arch_runs) + 1) * 28 + 14, ["original", *archs])
ax.set_xticks([])
ax.set_title(f"Os mesmos dígitos de teste reconstruídos por cada arquitetura (z = {ARCH_LATENT_DIM})")
show_figure(fig, "lab_05_arquiteturas", FIGURES_DIR)

# %% jupyter={"source_hidden": true} tags=["remove-input"]
if {"mlp", "conv"} <= set(archs):
    i_mlp, i_conv = archs.index("mlp"), archs.index("conv")
    diff = a["test_loss"][i_mlp] - a["test_loss"][i_conv]
    arch_loss = (
        f"{'menor' if diff > 0 else 'maior'} que o do totalmente conectado por {br_number(abs(diff), 2)} nats, "
        + ("mais que a" if abs(diff) > band else "dentro da")
        + f" faixa das sementes ({br_number(band, 2)})"
        + ("" if abs(diff) > band else ": empate")
    )
    arch_text = (
        f"Com {br_number(a['parameters'][i_conv])} parâmetros — "
        f"{br_number(a['parameters'][i_mlp] / a['parameters'][i_conv], 1)} vezes menos que os "
        f"{br_number(a['parameters'][i_mlp])} do modelo totalmente conectado — o convolucional tem um −ELBO de "
        f"teste {arch_loss}, depois das mesmas {NUM_EPOCHS} épocas (BCE {br_number(a['test_bce'][i_conv], 1)} "
        f"contra {br_number(a['test_bce'][i_mlp], 1)}; KL {br_number(a['test_kl'][i_conv], 1)} contra "
        f"{br_number(a['test_kl'][i_mlp], 1)}). O preço é o tempo: {br_number(a['seconds_per_epoch'][i_conv], 2)} s "
        f"por época contra {br_number(a['seconds_per_epoch'][i_mlp], 2)} nesta CPU "
        f"({br_number(a['seconds_per_epoch'][i_conv] / a['seconds_per_epoch'][i_mlp], 1)} vezes mais). Pelas "
        f"amostras — mlp {br_number(a['fd'][i_mlp], 1)}, conv {br_number(a['fd'][i_conv], 1)} —, a menor distância "
        f"de Fréchet é a do {lab.verdict(a['fd'], archs, fd_band, decimals=1)}."
    )
else:
    arch_text = "Com uma só arquitetura na lista `ARCHS`, não há comparação a fazer."
display(Markdown(arch_text))

# %% [markdown]
# ## 6. Condicionar no rótulo
#
# O VAE condicional (`ARCH="cvae"`; o modelo M2 de Kingma, Rezende, Mohamed & Welling, 2014, com o rótulo
# observado — o CVAE de Sohn, Lee & Yan, 2015, tem ainda uma rede para o *prior* condicional) recebe o rótulo
# $y$ de cada imagem como um vetor *one-hot* (multiplicado por 10, uma escolha de projeto: `vae_core.LABEL_SCALE`)
# junto da imagem no codificador, $q_\phi(z\mid x, y)$, e junto de $z$ no decodificador, $p_\theta(x\mid z, y)$;
# o *prior* continua $\mathcal{N}(0, I)$ e a perda tem a mesma forma. Para gerar um 7, sorteamos $z$ e pedimos
# $y = 7$. Com o rótulo dado, o código $z$ não *precisa* mais guardar qual é o dígito e pode ficar com o
# **estilo** (Kingma et al., 2014, fig. 1).
#
# **Quanto o rótulo vale em nats.** Pela regra de Bayes, $\log p(x\mid y) = \log p(x) + \log p(y\mid x) - \log p(y)
# \le \log p(x) - \log p(y)$: conhecer o rótulo pode baixar o −log-verossimilhança de uma imagem em no máximo
# $-\log p(y)$ nats, em média a entropia $H(Y)$ das frequências dos rótulos — e chega perto disso quando o
# dígito é inequívoco, $p(y\mid x) \approx 1$. Comparamos cada VAE condicional com o `mlp` de mesmo $z$, mesma
# semente e mesmas épocas, nas mesmas imagens de teste.
#
# A interface para usar um modelo treinado: `model.decode(z, y)` devolve imagens em $[0, 1]$ para um tensor
# float `z` de forma (n, d) e um tensor de inteiros `y` de forma (n,), com rótulos de 0 a 9.

# %%
cond_runs = [runs[name] for name in groups["condicional"] if runs[name].conditional]
base_runs = [runs[name] for name in groups["condicional"] if not runs[name].conditional]
test_labels = test_y.cpu().numpy()
frequencies = np.bincount(test_labels, minlength=10) / len(test_labels)
label_entropy = -(frequencies * np.log(frequencies)).sum()  # H(Y), em nats
conditional = {
    run.name: lab.conditional_quality(run.model, classifier, test_x, test_y, QUALITY_SAMPLES // 10, SEED)
    for run in cond_runs
}
rows = []
for cond, base in zip(cond_runs, base_runs):
    elbo_diff, elbo_se = analysis.paired_difference(-cond.details["elbo"], -base.details["elbo"])
    iwae_diff, iwae_se = analysis.paired_difference(-cond.details["iwae"], -base.details["iwae"])
    rows.append((cond, base, elbo_diff, elbo_se, iwae_diff, iwae_se))
display(
    Markdown(
        markdown_table(
            [
                "z",
                "modelo",
                "−ELBO teste",
                f"−ELBO e −limite k={IWAE_K} (mesmas {br_number(IWAE_SIZE)})",
                "KL",
                "ativas",
                "acerto condicional",
                "Fréchet",
            ],
            [
                [
                    run.params["LATENT_DIM"],
                    "condicional" if run.conditional else "sem rótulo",
                    br_number(run.metrics["test_loss"], 2),
                    f"{br_number(-run.metrics['elbo_subset'], 2)} e {br_number(-run.metrics['iwae'], 2)}",
                    br_number(run.metrics["test_kl"], 2),
                    f"{run.metrics['active']} de {run.params['LATENT_DIM']}",
                    f"{br_number(100 * conditional[run.name]['accuracy'], 1)}%" if run.conditional else "—",
                    br_number(run.metrics["fd"], 1),
                ]
                for pair in zip(cond_runs, base_runs)
                for run in pair
            ],
        )
    )
)

# %% [markdown]
# **"Gere oito 7s."** Cada linha pede um dígito ao modelo condicional com o primeiro $z$ da lista; à direita,
# medidas em `QUALITY_SAMPLES` ÷ 10 amostras de cada dígito: a fração que o classificador lê como o dígito
# pedido e a distância de Fréchet às imagens de teste daquele dígito (em mil imagens, ela fica maior que em
# dez mil: compare os dígitos entre si, não com a distância global da tabela).

# %%
cond_model, cond_run = cond_runs[0].model, cond_runs[0]
rows_of_digits = np.stack([vc.sample_images(cond_model, 8, SEED + d, [d] * 8) for d in range(10)])
measures = conditional[cond_run.name]
fig, ax = plt.subplots(figsize=(8, 9))
ax.imshow(image_grid(rows_of_digits.reshape(-1, 28, 28), ncols=8), cmap="gray")
ax.set_yticks(np.arange(10) * 28 + 14, [f"y = {d}" for d in range(10)])
ax.set_xticks([])
right = ax.secondary_yaxis("right")
right.set_yticks(
    np.arange(10) * 28 + 14,
    [
        f"{br_number(100 * a)}% · Fréchet {br_number(f, 1)}"
        for a, f in zip(measures["per_digit"], measures["fd_per_digit"])
    ],
)
ax.set_title(f"Amostras do VAE condicional (z = {cond_model.latent_dim}) para cada rótulo pedido")
show_figure(fig, "lab_06_condicional_amostras", FIGURES_DIR)

# %% [markdown]
# **Analogias.** Cada linha guarda o $z$ inferido de uma imagem de teste (à esquerda, com o seu rótulo
# verdadeiro) e cada coluna decodifica esse $z$ com outro rótulo.

# %%
analogy_idx = np.array([int(np.flatnonzero(test_labels == d)[0]) for d in (2, 4, 5, 7, 9, 0, 3, 8)])
cond_mu, cond_logvar = vc.encode_dataset(cond_model, test_x, y=test_y)
analogies = np.stack(
    [vc.decode_latent(cond_model, np.repeat(cond_mu[[i]].numpy(), 10, 0), np.arange(10)) for i in analogy_idx]
)
grid = np.concatenate([test_x[analogy_idx].cpu().numpy().reshape(-1, 1, 28, 28), analogies], axis=1)
fig, ax = plt.subplots(figsize=(10, 7.5))
ax.imshow(image_grid(grid.reshape(-1, 28, 28), ncols=11), cmap="gray")
ax.set_xticks(np.arange(11) * 28 + 14, ["original"] + [f"y = {d}" for d in range(10)])
ax.set_yticks(np.arange(len(analogy_idx)) * 28 + 14, [f"um {test_labels[i]}" for i in analogy_idx])
ax.set_title("O estilo de cada imagem de teste (linhas) com cada rótulo (colunas)")
show_figure(fig, "lab_07_analogias", FIGURES_DIR)

# %% jupyter={"source_hidden": true} tags=["remove-input"]
analogy_read = digits.read(classifier, torch.as_tensor(analogies).reshape(-1, 784))[0].reshape(len(analogy_idx), 10)
many = np.arange(200)  # a mesma medida em 200 imagens de teste, não só nas 8 da figura
many_z = np.repeat(cond_mu[many].numpy(), 10, axis=0)
many_images = vc.decode_latent(cond_model, many_z, np.tile(np.arange(10), len(many)))
many_slant = analysis.stroke_geometry(many_images)[0].reshape(len(many), 10)
source_slant = analysis.stroke_geometry(test_x[many].cpu().numpy())[0]
slant_corr = np.mean([np.corrcoef(source_slant, many_slant[:, d])[0, 1] for d in range(10)])
many_read = digits.read(classifier, torch.as_tensor(many_images).reshape(-1, 784))[0].reshape(len(many), 10)
display(
    Markdown(
        f"Nas {analogy_read.size} imagens da grade, o classificador lê o rótulo pedido em "
        f"{br_number(100 * (analogy_read == np.arange(10)).mean(), 1)}%. A mesma medida com as "
        f"{br_number(len(many))} primeiras imagens de teste ({br_number(many_read.size)} imagens geradas): "
        f"{br_number(100 * (many_read == np.arange(10)).mean(), 1)}%; e a inclinação do traço de cada imagem gerada "
        f"tem correlação média de {br_number(slant_corr, 2)} (em cada coluna, entre as {br_number(len(many))} "
        f"linhas) com a inclinação da original: "
        + (
            "a inclinação da original passa para os outros dígitos."
            if slant_corr >= 0.5
            else "abaixo de 0,5, a inclinação da original só em parte passa para os outros dígitos."
        )
    )
)

# %% [markdown]
# **O que as dimensões guardam.** Com $z$ de duas dimensões o estilo de um dígito inteiro cabe numa grade:
# fixamos $y$ = `CONDITIONAL_DIGIT` e percorremos $z_1$ e $z_2$ nos quantis de 5% a 95% da $\mathcal{N}(0, 1)$.
# Para dizer o que cada eixo aprendeu, medimos a inclinação e a largura do traço de cada imagem da grade
# (momentos da tinta) e as correlacionamos com $z_1$ e $z_2$.

# %%
two_d = [run for run in cond_runs if run.params["LATENT_DIM"] == 2]
if two_d:
    values = analysis.normal_quantiles(11)
    style = analysis.manifold_grid(two_d[0].model, values, values, digit=CONDITIONAL_DIGIT)
    fig, ax = plt.subplots(figsize=(7, 7))
    ax.imshow(image_grid(style.reshape(-1, 28, 28), ncols=len(values)), cmap="gray")
    ticks = np.arange(len(values)) * 28 + 14
    ax.set_xticks(ticks[::2], [br_number(v, 1) for v in values[::2]])
    ax.set_yticks(ticks[::2], [br_number(v, 1) for v in values[::-1][::2]])
    ax.set(xlabel="z₁", ylabel="z₂", title=f"O estilo do {CONDITIONAL_DIGIT} no VAE condicional com z 2-D")
    show_figure(fig, "lab_08_estilo_2d", FIGURES_DIR)

# %% jupyter={"source_hidden": true} tags=["remove-input"]
if two_d:
    slant, width = (v.reshape(len(values), len(values)) for v in analysis.stroke_geometry(style.reshape(-1, 28, 28)))
    z1_grid, z2_grid = np.meshgrid(values, values[::-1])
    corr = {
        (feature, axis): np.corrcoef(measure.ravel(), grid_axis.ravel())[0, 1]
        for feature, measure in (("inclinação", slant), ("largura", width))
        for axis, grid_axis in (("z₁", z1_grid), ("z₂", z2_grid))
    }
    strongest = {f: max(("z₁", "z₂"), key=lambda ax, f=f: abs(corr[(f, ax)])) for f in ("inclinação", "largura")}
    off_axis = {f: min(abs(corr[(f, "z₁")]), abs(corr[(f, "z₂")])) for f in ("inclinação", "largura")}
    style_read = digits.read(classifier, torch.as_tensor(style).reshape(-1, 784))[0]
    style_text = (
        f"Nas {style_read.size} imagens da grade, o classificador lê um {CONDITIONAL_DIGIT} em "
        f"{br_number(100 * (style_read == CONDITIONAL_DIGIT).mean(), 1)}%"
        + (
            ": o rótulo fixa o dígito, e $z$ só mexe no estilo. "
            if (style_read == CONDITIONAL_DIGIT).mean() >= 0.9
            else ": abaixo de 90%, o rótulo não basta para fixar o dígito em toda a grade. "
        )
        + f"A inclinação do traço tem correlação {br_number(corr[('inclinação', 'z₁')], 2)} com z₁ e "
        f"{br_number(corr[('inclinação', 'z₂')], 2)} com z₂; a largura, {br_number(corr[('largura', 'z₁')], 2)} com z₁ "
        f"e {br_number(corr[('largura', 'z₂')], 2)} com z₂. "
        + (
            f"Cada eixo ficou com uma das duas: a inclinação com {strongest['inclinação']}, a largura com "
            f"{strongest['largura']} (a outra correlação de cada uma fica abaixo de 0,3 em valor absoluto)."
            if strongest["inclinação"] != strongest["largura"] and max(off_axis.values()) < 0.3
            else f"A inclinação acompanha mais {strongest['inclinação']} e a largura mais {strongest['largura']}, "
            "mas os eixos misturam as duas (alguma correlação cruzada passa de 0,3 em valor absoluto)."
        )
    )
else:
    style_text = "Sem 2 em `CONDITIONAL_LATENT_SIZES`, não há variedade de estilo 2-D a mostrar."
display(Markdown(style_text))

# %% [markdown]
# **O código deixa de guardar o dígito?** A KL de cada dimensão (em ordem decrescente) do VAE condicional e
# do `mlp` sem rótulo com o mesmo $z$.

# %%
fig, axes = plt.subplots(1, len(rows), figsize=(6 * len(rows), 3.6), squeeze=False)
for ax, (cond, base, *_) in zip(axes[0], rows):
    for run, label, color in ((base, "sem rótulo", "tab:gray"), (cond, "condicional", "tab:blue")):
        kl = np.sort(run.details["kl_dims"])[::-1]
        ax.bar(
            np.arange(len(kl)) + (0.2 if run.conditional else -0.2),
            kl,
            width=0.4,
            color=color,
            label=f"{label}: KL {br_number(kl.sum(), 1)}, {run.metrics['active']} ativas",
        )
    ticks = np.arange(0, len(kl), max(1, len(kl) // 10))
    ax.set_xticks(ticks, [str(t + 1) for t in ticks])
    ax.set(xlabel="dimensão (1: a de mais KL)", ylabel="KL média (nats)", title=f"z = {cond.params['LATENT_DIM']}")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), fontsize=8, frameon=False)
plt.tight_layout()
show_figure(fig, "lab_09_condicional_kl", FIGURES_DIR)

# %% jupyter={"source_hidden": true} tags=["remove-input"]
nats_text = []
for cond, base, elbo_diff, elbo_se, iwae_diff, iwae_se in rows:
    z = cond.params["LATENT_DIM"]
    kl_saved = base.metrics["test_kl"] - cond.metrics["test_kl"]
    if iwae_diff >= 0:
        gain = f"o rótulo não rendeu nada dos até {br_number(label_entropy, 2)} nats que poderia valer"
    elif -iwae_diff <= label_entropy:
        gain = f"{br_number(100 * -iwae_diff / label_entropy)}% dos {br_number(label_entropy, 2)} nats que o rótulo pode valer"
    else:
        gain = (
            f"mais que os {br_number(label_entropy, 2)} nats que o rótulo pode valer para a distribuição verdadeira. "
            f"Não há contradição: os dois são modelos diferentes, e cada limite fica abaixo da melhor "
            f"log-verossimilhança possível; o excesso, {br_number(-iwae_diff - label_entropy, 2)} nats, é um limite "
            f"inferior de quanto o limite do modelo sem rótulo fica abaixo dela — com o rótulo, a mesma rede "
            f"modela melhor os dígitos"
        )
    nats_text.append(
        f"Com z = {z}, o condicional tem −ELBO {br_number(abs(elbo_diff), 2)} ± {br_number(elbo_se, 2)} nats "
        f"{'abaixo' if elbo_diff < 0 else 'acima'} do sem rótulo nas mesmas {br_number(len(cond.details['elbo']))} "
        f"imagens (erro pareado; faixa das sementes: {br_number(band, 2)}), e o limite de importância com "
        f"k = {IWAE_K}, {br_number(abs(iwae_diff), 2)} ± {br_number(iwae_se, 2)} "
        f"{'abaixo' if iwae_diff < 0 else 'acima'} — {gain}. A KL {'cai' if kl_saved > 0 else 'sobe'} "
        f"{br_number(abs(kl_saved), 1)} nats ({br_number(base.metrics['test_kl'], 1)} → "
        f"{br_number(cond.metrics['test_kl'], 1)}), com "
        + (
            f"as mesmas {cond.metrics['active']} dimensões ativas"
            if cond.metrics["active"] == base.metrics["active"]
            else f"{base.metrics['active']} → {cond.metrics['active']} dimensões ativas"
        )
        + ": "
        + (
            "o código para de gastar nats com a identidade do dígito, que agora chega de graça pelo rótulo."
            if kl_saved > 0
            else "o código não ficou mais barato com o rótulo."
        )
    )
accuracy = conditional[cond_run.name]
display(
    Markdown(
        f"**Acerto condicional.** Com z = {cond_model.latent_dim}, {br_number(100 * accuracy['accuracy'], 1)}% das "
        f"{br_number(accuracy['samples'])} amostras são lidas como o dígito pedido (de {br_number(100 * accuracy['per_digit'].min(), 1)}% "
        f"no {int(accuracy['per_digit'].argmin())} a {br_number(100 * accuracy['per_digit'].max(), 1)}% no "
        f"{int(accuracy['per_digit'].argmax())}).\n\n"
        + "\n\n".join(nats_text)
        + "\n\nOs dois lados são limites inferiores de log-verossimilhanças, cada um com a sua folga, e em pixels "
        "cinza (veja o capítulo, seção 4): a diferença entre eles estima, não mede exatamente, o que o rótulo vale."
    )
)

# %% [markdown]
# **Explorador.** Escolha o dígito e mova os controles: cada um muda uma das dimensões de $z$ com mais KL do
# VAE condicional (as demais ficam na média dos códigos), e a linha de baixo mostra o mesmo $z$ — o mesmo
# estilo — com cada um dos dez rótulos. No GitHub ou no site, onde os controles não rodam, a figura seguinte
# mostra a mesma função.

# %% tags=["nbval-ignore-output"]
cond_kl = cond_run.details["kl_dims"]
cvae_explorer = ConditionalExplorer(
    cond_model, cond_mu.numpy(), cond_kl, digit=CONDITIONAL_DIGIT, n_sliders=min(5, cond_model.latent_dim)
)
display(cvae_explorer)

# %%
n_style = min(5, cond_model.latent_dim)
sweep = conditional_traversal(cond_model, cond_mu.numpy(), cond_kl, CONDITIONAL_DIGIT, n_style)
fig, ax = plt.subplots(figsize=(9, n_style + 0.6))
ax.imshow(image_grid(sweep.reshape(-1, 28, 28), ncols=sweep.shape[1]), cmap="gray")
ax.set_yticks(np.arange(n_style) * 28 + 14, [f"z{j}" for j in np.argsort(cond_kl)[::-1][:n_style]])
ax.set_xticks(np.arange(sweep.shape[1]) * 28 + 14, [f"{br_number(v, 1)}σ" for v in np.linspace(-3, 3, sweep.shape[1])])
ax.set_title(f"Cada controle do explorador percorrido, com y = {CONDITIONAL_DIGIT}")
show_figure(fig, "lab_10_condicional_controles", FIGURES_DIR)

# %% [markdown]
# ## 7. Resumo de todas as execuções
#
# Uma linha por execução, com o nome do seu checkpoint (o arquivo fica em `CHECKPOINT_DIR`). Os segundos
# são o tempo de treino medido quando cada execução treinou (guardado no checkpoint), sem a avaliação por
# época; as quatro últimas colunas medem as amostras de $z \sim \mathcal{N}(0, I)$ (o condicional, com os
# rótulos nas proporções do teste).

# %% jupyter={"source_hidden": true} tags=["remove-input"]
display(
    Markdown(
        markdown_table(
            [
                "execução (checkpoint)",
                "arq.",
                "z",
                "β",
                "semente",
                "épocas",
                "s de treino",
                "−ELBO teste",
                "BCE",
                "KL",
                "ativas",
                "Fréchet",
                "precisão",
                "revocação",
                "confiança ≥ 0,9",
            ],
            [
                [
                    f"`{run.name}`",
                    run.params["ARCH"],
                    run.params["LATENT_DIM"],
                    br_number(run.params["BETA"], None),
                    run.params["SEED"],
                    run.metrics["epochs"],
                    br_number(run.metrics["seconds"], 1),
                    br_number(run.metrics["test_loss"], 2),
                    br_number(run.metrics["test_bce"], 2),
                    br_number(run.metrics["test_kl"], 2),
                    run.metrics["active"],
                    br_number(run.metrics["fd"], 1),
                    br_number(run.metrics["precision"], 3),
                    br_number(run.metrics["recall"], 3),
                    f"{br_number(100 * run.metrics['confident'], 1)}%",
                ]
                for run in runs.values()
            ],
        )
    )
)

# %% [markdown]
# **O ELBO ordena a qualidade das amostras?** Cada ponto é uma execução sem rótulo: o seu −ELBO de teste
# contra a distância de Fréchet das suas amostras.

# %%
unconditional = [run for run in runs.values() if not run.conditional]
elbos = np.array([run.metrics["test_loss"] for run in unconditional])
fds = np.array([run.metrics["fd"] for run in unconditional])
families = {"latente": "tab:blue", "beta": "tab:orange", "arquitetura": "tab:green", "sementes": "tab:gray"}


def short_name(run) -> str:
    """O que distingue a execução da referência (z = 20, β = 1, mlp, semente SEED)."""
    p = run.params
    if p["ARCH"] != "mlp":
        return p["ARCH"]
    if p["SEED"] != SEED:
        return f"semente {p['SEED']}"
    if p["BETA"] != 1:
        return f"β = {br_number(p['BETA'], 2)}"
    return f"z = {p['LATENT_DIM']}"


fig, ax = plt.subplots(figsize=(9, 6))
zoom = ax.inset_axes([0.42, 0.08, 0.55, 0.5])  # o aglomerado perto do melhor −ELBO, ampliado
near = (elbos - elbos.min() < 6) & (fds - fds.min() < 120)
for axis, shown in ((ax, ~near), (zoom, near)):
    for run, x, y, show in zip(unconditional, elbos, fds, shown):
        family = next(g for g in families if run.name in groups[g])
        axis.scatter(x, y, color=families[family], s=25)
        if show:
            axis.annotate(short_name(run), (x, y), textcoords="offset points", xytext=(4, 3), fontsize=8)
zoom.set_xlim(elbos[near].min() - 0.5, elbos[near].max() + 1.5)
zoom.set_ylim(fds[near].min() - 15, fds[near].max() + 15)
zoom.tick_params(labelsize=7)
ax.indicate_inset_zoom(zoom, edgecolor="0.5")
for family, color in families.items():
    ax.scatter([], [], color=color, label=family)
ax.legend(title="comparação", loc="upper left")
ax.set(xlabel="−ELBO de teste (nats por imagem)", ylabel="distância de Fréchet das amostras (menor é melhor)")
ax.set_title(f"{len(unconditional)} execuções sem rótulo, {NUM_EPOCHS} épocas cada")
ax.grid(alpha=0.3)
show_figure(fig, "lab_11_elbo_frechet", FIGURES_DIR)

# %% jupyter={"source_hidden": true} tags=["remove-input"]
rho = spearmanr(elbos, fds).statistic if len(unconditional) > 2 else float("nan")
confident = np.array([run.metrics["confident"] for run in unconditional])
rho_confident = spearmanr(elbos, -confident).statistic if len(unconditional) > 2 else float("nan")
surest = unconditional[int(np.argmax(confident))]
order_elbo, order_fd = np.argsort(elbos), np.argsort(fds)
best_elbo, best_fd = unconditional[order_elbo[0]], unconditional[order_fd[0]]
display(
    Markdown(
        f"A correlação de postos (Spearman) entre o −ELBO e a distância de Fréchet nas {len(unconditional)} "
        f"execuções é ρ = {br_number(rho, 2)}. "
        + (
            "O ELBO ordena bem as execuções pela qualidade das amostras (ρ ≥ 0,8)."
            if rho >= 0.8
            else "Abaixo de 0,8: o ELBO **não** ordena as execuções pela qualidade das amostras."
        )
        + f" O menor −ELBO é o de `{best_elbo.name}` ({br_number(best_elbo.metrics['test_loss'], 2)} nats, Fréchet "
        f"{br_number(best_elbo.metrics['fd'], 1)}); a menor distância de Fréchet é a de `{best_fd.name}` "
        f"({br_number(best_fd.metrics['fd'], 1)}, −ELBO {br_number(best_fd.metrics['test_loss'], 2)}). Pela fração "
        f"de amostras lidas com confiança ≥ 0,9, ρ = {br_number(rho_confident, 2)} entre o −ELBO e essa fração com o sinal "
        f"trocado, e a maior fração é a de `{surest.name}` ({br_number(100 * surest.metrics['confident'], 1)}%, "
        f"−ELBO {br_number(surest.metrics['test_loss'], 2)}). "
        + (
            f"As duas medidas de qualidade discordam: a execução de maior confiança tem revocação de "
            f"{br_number(surest.metrics['recall'], 3)}, contra {br_number(best_fd.metrics['recall'], 3)} da de menor "
            f"distância de Fréchet — desenha dígitos mais fáceis de ler, com menor revocação, e a distância de "
            f"Fréchet, que pesa também a diversidade, acompanha o ELBO."
            if rho_confident < 0.8 <= rho and surest.metrics["recall"] < best_fd.metrics["recall"]
            else "As duas medidas de qualidade ordenam as execuções como o ELBO."
            if min(rho, rho_confident) >= 0.8
            else "As duas medidas de qualidade não ordenam as execuções do mesmo jeito."
        )
    )
)

# %% jupyter={"source_hidden": true} tags=["remove-input"]
lab_wall = time.perf_counter() - lab_start
train_total = sum(run.metrics["seconds"] for run in runs.values())
display(
    Markdown(
        f"As {len(runs)} execuções somam {br_number(train_total)} s de treino ({br_number(train_total / 60, 1)} "
        f"min, {NUM_EPOCHS} épocas cada, uma depois da outra, com {threads} threads). Nesta execução do "
        f"laboratório {len(trained_now)} treinaram e {len(runs) - len(trained_now)} foram reutilizadas dos "
        f"seus checkpoints; o notebook inteiro levou {br_number(lab_wall)} s. Com os parâmetros padrão as "
        f"épocas são as do capítulo, e a execução z = 20, β = 1, `mlp`, semente {SEED} é o próprio modelo dele: "
        f"a mesma configuração dá os mesmos pesos, e o mesmo checkpoint é reutilizado se o capítulo já rodou."
    )
)
