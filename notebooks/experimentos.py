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
# O relatório `vae_mnist` treina **um** VAE. Aqui respondemos, com números medidos, às três perguntas que
# todo curso de VAE faz — e que cada notebook de referência responde no máximo uma:
#
# 1. **Quantas dimensões latentes?** Kingma & Welling (2013, §5, figs. 2 e 5) treinaram $N_z$ de 3 a 200 e
#    escreveram que "variáveis latentes supérfluas não resultaram em sobreajuste, o que se explica pela
#    natureza regularizadora do limite variacional". Burda et al. (2015, tabela 1) contam só 19–20 unidades
#    ativas de 50 num VAE de uma camada estocástica.
# 2. **Quanto peso na KL?** O β-VAE (Higgins et al., 2017) multiplica a KL por β; Alemi et al. (2018)
#    escrevem o −ELBO como distorção + taxa, e uma varredura de β traça a curva taxa–distorção.
# 3. **Totalmente conectado ou convolucional?** Os VAEs do TensorFlow, do Keras e do curso da UvA são
#    convolucionais; o relatório clássico não é.
#
# **Comparações justas.** Todas as execuções usam a mesma partição dos dados, a mesma semente, os mesmos
# lotes, a mesma taxa de aprendizado e o **mesmo número de épocas**; dentro de cada comparação muda uma
# coisa só, e todas são medidas nas mesmas imagens de teste. **O tamanho do ruído**: a configuração de
# referência (z = 20, β = 1, `mlp`) é treinada com várias sementes (`SEEDS`), e a diferença entre elas é a
# régua de toda comparação — uma diferença menor que ela é um empate, não uma classificação. Cada execução é um checkpoint por configuração (o mesmo mecanismo do relatório): rodar o
# laboratório de novo não treina nada que já foi treinado — nem o modelo padrão do relatório, se ele já
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

import vae_core as vc
from vae_tools import lab, mnist
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
            [[f"`{n}`", ", ".join(comparisons[n]), run.plan.action] for n, run in runs.items()],
        )
    )
)
print(f"{len(runs)} execuções de {NUM_EPOCHS} épocas | {device}, {threads} threads | PyTorch {torch.__version__}")

# %% [markdown]
# Cada semente tem a sua partição treino/validação (como no relatório, a semente decide a partição, os
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
trained_now = [run for run in runs.values() if run.plan.action != "reutilizar"]
print(
    f"Treinadas agora: {len(trained_now)}; reutilizadas: {len(runs) - len(trained_now)}; "
    f"tempo desta célula: {br_number(train_wall)} s"
)

# %% [markdown]
# ### O tamanho do ruído
#
# A mesma configuração de referência, com sementes diferentes: a diferença entre elas é o que uma
# comparação pode atribuir ao acaso.

# %%
seed_runs, seeds, s = lab.compare(runs, groups["sementes"], "SEED")
band = lab.noise_band(runs, groups["sementes"], "test_loss")
display(
    Markdown(
        markdown_table(
            ["semente", "−ELBO teste", "BCE", "KL", "ativas", "execução (checkpoint)"],
            [
                [
                    seed,
                    br_number(s["test_loss"][i], 2),
                    br_number(s["test_bce"][i], 2),
                    br_number(s["test_kl"][i], 2),
                    s["active"][i],
                    f"`{run.name}`",
                ]
                for i, (seed, run) in enumerate(zip(seeds, seed_runs))
            ],
        )
    )
)

# %% tags=["remove-input"] jupyter={"source_hidden": true}
display(
    Markdown(
        f"Com {len(seeds)} sementes, o −ELBO de teste da referência vai de {br_number(s['test_loss'].min(), 2)} a "
        f"{br_number(s['test_loss'].max(), 2)}: uma **faixa de ruído de {br_number(band, 2)} nats**. Nas "
        f"comparações abaixo, duas configurações cuja diferença de −ELBO fica dentro dela estão empatadas."
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

# %%
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
axes[0].fill_between(sizes, m["test_loss"] - band / 2, m["test_loss"] + band / 2, alpha=0.2, label="faixa das sementes")
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
ax.set_yticks(np.arange(len(latent)) * 28 + 14, [f"z = {z}" for z in sizes])
ax.set_xticks([])
ax.set_title(f"Amostras de z ~ N(0, I) de cada modelo ({NUM_EPOCHS} épocas)")
show_figure(fig, "lab_02_amostras_por_dimensao", FIGURES_DIR)


# %% tags=["remove-input"] jupyter={"source_hidden": true}
def moves(before: float, after: float) -> str:
    """ "cai de A para B" ou "sobe de A para B", com os números à brasileira."""
    return f"{'cai' if after < before else 'sobe'} de {br_number(before, 1)} para {br_number(after, 1)}"


best, largest, smallest = int(np.argmin(m["test_loss"])), int(np.argmax(sizes)), int(np.argmin(sizes))
tied = [sizes[i] for i in lab.ties(m["test_loss"], band, best)]
inactive_sizes = [z for z, active in zip(sizes, m["active"]) if active < z]
gap_share = 100 * m["gap"] / m["test_loss"]
fifty = sizes.index(50) if 50 in sizes else None
ranking = (
    f"O menor −ELBO de teste é o do modelo com **z = {sizes[best]}** ({br_number(m['test_loss'][best], 2)} nats)"
    + (
        f", mas z = {', '.join(map(str, tied))} ficam a até {br_number(band, 2)} nats dele (a faixa das sementes): "
        f"entre esses tamanhos, empate."
        if len(tied) > 1
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
        f"{br_number(m['gap'][best], 2)} com z = {sizes[best]}"
        + (
            ": as dimensões supérfluas não aumentaram a diferença teste − treino além da faixa das sementes, e "
            "nas nossas execuções a afirmação se confirma."
            if m["gap"][largest] - m["gap"][best] <= band
            else ": a diferença teste − treino cresce com as dimensões supérfluas mais que a faixa das sementes, e "
            "nas nossas execuções a afirmação não se confirma por inteiro."
        )
        + " Unidades ativas: "
        + ", ".join(f"{a} de {z}" for z, a in zip(sizes, m["active"]))
        + (
            f". Com z = {', '.join(map(str, inactive_sizes))} há dimensões inativas — iguais ao *prior*, com KL "
            "quase zero —, que não carregam informação que pudesse ser decorada: é a regularização do limite "
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
        f"tamanhos."
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

# %%
beta_runs, betas, b = lab.compare(runs, groups["beta"], "BETA")
display(
    Markdown(
        markdown_table(
            ["β", "−ELBO teste", "distorção D (BCE)", "taxa R (KL)", "ativas", f"limite k={IWAE_K} − ELBO"],
            [
                [
                    br_number(beta, 2),
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
for level in b["test_loss"]:
    ax.plot(rates, level - rates, "--", color="0.75", lw=1)
    ax.annotate(
        f"−ELBO {br_number(level, 1)}",
        (rates[0], level),
        xytext=(3, 3),
        textcoords="offset points",
        fontsize=9,
        color="0.3",
    )
ax.plot(b["test_kl"], b["test_bce"], "o-", color="tab:blue")
for beta, rate, distortion in zip(betas, b["test_kl"], b["test_bce"]):
    ax.annotate(f"β = {br_number(beta, 2)}", (rate, distortion), textcoords="offset points", xytext=(6, 4))
ax.set_xlim(rates)
ax.set_ylim(b["test_bce"].min() - 10, b["test_loss"].max() + 5)
ax.set(xlabel="taxa R = KL (nats por imagem)", ylabel="distorção D = BCE (nats por imagem)")
ax.set_title(f"Taxa × distorção no teste (z = {BETA_LATENT_DIM}, {NUM_EPOCHS} épocas)")
ax.grid(alpha=0.3)
show_figure(fig, "lab_03_taxa_distorcao", FIGURES_DIR)

# %%
shown = test_x[:8]
beta_labels = [f"β = {br_number(x, 2)}" for x in betas]
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

# %% tags=["remove-input"] jupyter={"source_hidden": true}
lo, hi, best_b = int(np.argmin(betas)), int(np.argmax(betas)), int(np.argmin(b["test_loss"]))
tied_b = [betas[i] for i in lab.ties(b["test_loss"], band, best_b)]
display(
    Markdown(
        f"De β = {br_number(betas[lo], 2)} a β = {br_number(betas[hi], 2)} a taxa cai de "
        f"{br_number(b['test_kl'][lo], 1)} para {br_number(b['test_kl'][hi], 1)} nats e a distorção sobe de "
        f"{br_number(b['test_bce'][lo], 1)} para {br_number(b['test_bce'][hi], 1)}: cada β é um ponto "
        f"diferente da mesma troca. O menor −ELBO é o de β = {br_number(betas[best_b], 2)} "
        f"({br_number(b['test_loss'][best_b], 2)} nats)"
        + (
            f", com β = {', '.join(br_number(x, 2) for x in tied_b if x != betas[best_b])} dentro da faixa das "
            f"sementes ({br_number(band, 2)} nats). "
            if len(tied_b) > 1
            else f", à frente dos outros por mais que a faixa das sementes ({br_number(band, 2)} nats)"
            + (": só β = 1 otimiza o próprio ELBO, como a teoria prevê. " if betas[best_b] == 1 else ". ")
        )
        + f"Com β = {br_number(betas[hi], 2)} há **{b['active'][hi]} de {BETA_LATENT_DIM}** dimensões ativas "
        f"(com β = {br_number(betas[lo], 2)}, {b['active'][lo]})"
        + (": um canal latente mais apertado usa menos dimensões. " if b["active"][hi] < b["active"][lo] else ". ")
        + "Como Alemi et al. apontam, o −ELBO sozinho não diz qual desses modelos serve para quê: dois pontos "
        "com −ELBO parecido podem dividir os nats entre taxa e distorção de formas bem diferentes."
    )
)

# %% [markdown]
# ## 5. Totalmente conectado ou convolucional?
#
# O modelo `"conv"` tem a mesma interface latente e a mesma perda: o codificador são duas convoluções
# (1 → 16 → 32 canais, núcleo 4, passo 2: 28 → 14 → 7 pixels) e duas cabeças lineares para $\mu$ e
# $\log\sigma^2$; o decodificador é o espelho, com convoluções transpostas. As convoluções compartilham
# pesos entre posições da imagem, então o modelo é bem menor, mas cada peso trabalha em todas as posições.

# %%
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

# %% tags=["remove-input"] jupyter={"source_hidden": true}
if {"mlp", "conv"} <= set(archs):
    i_mlp, i_conv = archs.index("mlp"), archs.index("conv")
    diff = a["test_loss"][i_mlp] - a["test_loss"][i_conv]
    verdict = (
        f"{'menor' if diff > 0 else 'maior'} que o do totalmente conectado por {br_number(abs(diff), 2)} nats, "
        + ("mais que" if abs(diff) > band else "dentro d")
        + f"a faixa das sementes ({br_number(band, 2)})"
        + ("" if abs(diff) > band else ": empate")
    )
    arch_text = (
        f"Com {br_number(a['parameters'][i_conv])} parâmetros — "
        f"{br_number(a['parameters'][i_mlp] / a['parameters'][i_conv], 1)} vezes menos que os "
        f"{br_number(a['parameters'][i_mlp])} do modelo totalmente conectado — o convolucional tem um −ELBO de "
        f"teste {verdict}, depois das mesmas {NUM_EPOCHS} épocas (BCE {br_number(a['test_bce'][i_conv], 1)} "
        f"contra {br_number(a['test_bce'][i_mlp], 1)}; KL {br_number(a['test_kl'][i_conv], 1)} contra "
        f"{br_number(a['test_kl'][i_mlp], 1)}). O preço é o tempo: {br_number(a['seconds_per_epoch'][i_conv], 2)} s "
        f"por época contra {br_number(a['seconds_per_epoch'][i_mlp], 2)} nesta CPU "
        f"({br_number(a['seconds_per_epoch'][i_conv] / a['seconds_per_epoch'][i_mlp], 1)} vezes mais)."
    )
else:
    arch_text = "Com uma só arquitetura na lista `ARCHS`, não há comparação a fazer."
display(Markdown(arch_text))

# %% [markdown]
# ## 6. Resumo de todas as execuções
#
# Uma linha por execução, com o nome do seu checkpoint (o arquivo fica em `CHECKPOINT_DIR`). Os segundos
# são o tempo de treino medido quando cada execução treinou (guardado no checkpoint), sem a avaliação por
# época.

# %%
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
            ],
            [
                [
                    f"`{run.name}`",
                    run.params["ARCH"],
                    run.params["LATENT_DIM"],
                    br_number(run.params["BETA"], 2),
                    run.params["SEED"],
                    run.metrics["epochs"],
                    br_number(run.metrics["seconds"], 1),
                    br_number(run.metrics["test_loss"], 2),
                    br_number(run.metrics["test_bce"], 2),
                    br_number(run.metrics["test_kl"], 2),
                    run.metrics["active"],
                ]
                for run in runs.values()
            ],
        )
    )
)

# %% tags=["remove-input"] jupyter={"source_hidden": true}
lab_wall = time.perf_counter() - lab_start
train_total = sum(run.metrics["seconds"] for run in runs.values())
display(
    Markdown(
        f"As {len(runs)} execuções somam {br_number(train_total)} s de treino ({br_number(train_total / 60, 1)} "
        f"min, {NUM_EPOCHS} épocas cada, uma depois da outra, com {threads} threads). Nesta execução do "
        f"laboratório {len(trained_now)} treinaram e {len(runs) - len(trained_now)} foram reutilizadas dos "
        f"seus checkpoints; o notebook inteiro levou {br_number(lab_wall)} s. Com os parâmetros padrão as "
        f"épocas são as do relatório, e a execução z = 20, β = 1, `mlp`, semente {SEED} é o próprio modelo dele: "
        f"a mesma configuração dá os mesmos pesos, e o mesmo checkpoint é reutilizado se o relatório já rodou."
    )
)
