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
# coisa só. Cada execução é um checkpoint por configuração (o mesmo mecanismo do relatório): rodar o
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

# %%
data = mnist.load_mnist(mnist.resolve_data_dir(DATA_DIR), val_size=VAL_SIZE, train_size=TRAIN_SIZE, seed=SEED)
train_x = mnist.flatten_images(data.train_x, device)  # uint8, convertido lote a lote
val_x, test_x = mnist.to_model_input(data.val_x, device), mnist.to_model_input(data.test_x, device)
print(", ".join(f"{name}: {br_number(size)}" for name, size in data.sizes().items()))

# %% [markdown]
# ## 2. Treino
#
# As execuções rodam uma depois da outra, cada uma com os dois núcleos (nunca duas ao mesmo tempo: as
# perdas só se repetem bit a bit com o mesmo número de threads). As já treinadas são só carregadas.

# %%
# NBVAL_IGNORE_OUTPUT
train_start = time.perf_counter()
lab.train_all(runs, train_x, val_x, device, PROGRESS)
train_wall = time.perf_counter() - train_start
for run in runs.values():
    lab.measure(run, train_x, test_x, IWAE_K, IWAE_SIZE, SEED)
trained_now = [run for run in runs.values() if run.plan.action != "reutilizar"]
print(f"Treinadas agora: {len(trained_now)}; reutilizadas: {len(runs) - len(trained_now)}; "
      f"tempo desta célula: {train_wall:.0f} s")  # fmt: skip

# %% [markdown]
# ## 3. Quantas dimensões latentes?
#
# Mais dimensões dão ao codificador mais espaço para descrever cada imagem, o que baixa a reconstrução
# (BCE); cada dimensão usada custa KL. O limite variacional cobra esse custo: uma dimensão que não paga
# o seu preço em reconstrução tende a ficar igual ao *prior* — **inativa**, com
# $\operatorname{Var}_x(\mathbb{E}_{q(z\mid x)}[z_j]) \le 0{,}01$ (o critério de Burda et al.). Para ver se
# há sobreajuste medimos o −ELBO no treino e no teste com o modelo final; o limite de importância com
# $k$ amostras (Burda et al., 2015) mostra quanto o ELBO subestima $\log p(x)$ em cada tamanho.

# %%
latent, sizes, m = lab.compare(runs, groups["latente"], "LATENT_DIM")
display(
    Markdown(
        markdown_table(
            ["z", "−ELBO teste", "BCE", "KL", "teste − treino", "ativas", f"−limite k={IWAE_K}", "s/época"],
            [
                [
                    z,
                    br_number(m["test_loss"][i], 2),
                    br_number(m["test_bce"][i], 2),
                    br_number(m["test_kl"][i], 2),
                    br_number(m["gap"][i], 2),
                    f"{m['active'][i]} de {z}",
                    br_number(-m["iwae"][i], 2),
                    br_number(m["seconds_per_epoch"][i], 2),
                ]
                for i, z in enumerate(sizes)
            ],
        )  # fmt: skip
    )
)

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
axes[0].plot(sizes, m["test_loss"], "o-", label="−ELBO (teste)")
axes[0].plot(sizes, m["train_loss"], "s--", label="−ELBO (treino)")
axes[0].plot(sizes, -m["iwae"], "^:", label=f"−limite de importância, k = {IWAE_K}")
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
gray = ((samples > 0.1) & (samples < 0.9)).mean(axis=(1, 2, 3))  # fração de pixels cinza: quanto borram
fig, ax = plt.subplots(figsize=(8, 0.8 * len(latent) + 0.6))
ax.imshow(image_grid(samples.reshape(-1, 28, 28), ncols=n_samples), cmap="gray")
ax.set_yticks(np.arange(len(latent)) * 28 + 14, [f"z = {z}" for z in sizes])
ax.set_xticks([])
ax.set_title(f"Amostras de z ~ N(0, I) de cada modelo ({NUM_EPOCHS} épocas)")
show_figure(fig, "lab_02_amostras_por_dimensao", FIGURES_DIR)


# %%
def moves(before: float, after: float) -> str:
    """ "cai de A para B" ou "sobe de A para B", com os números à brasileira."""
    return f"{'cai' if after < before else 'sobe'} de {br_number(before, 1)} para {br_number(after, 1)}"


best, largest, smallest = int(np.argmin(m["test_loss"])), int(np.argmax(sizes)), int(np.argmin(sizes))
inactive_sizes = [z for z, active in zip(sizes, m["active"]) if active < z]
near = [z for z, loss in zip(sizes, m["test_loss"]) if loss - m["test_loss"][best] <= 1.0]
gap_share = 100 * m["gap"] / m["test_loss"]
fifty = sizes.index(50) if 50 in sizes else None
display(
    Markdown(
        f"O menor −ELBO de teste é o do modelo com **z = {sizes[best]}** ({br_number(m['test_loss'][best], 2)} "
        f"nats); ficam a até 1 nat dele os tamanhos {', '.join(map(str, near))}. Do menor ao maior z "
        f"({sizes[smallest]} → {sizes[largest]}) a BCE {moves(m['test_bce'][smallest], m['test_bce'][largest])} "
        f"e a KL {moves(m['test_kl'][smallest], m['test_kl'][largest])}"
        + (
            f"; de z = {sizes[best]} a z = {sizes[largest]}, a BCE {moves(m['test_bce'][best], m['test_bce'][largest])} "
            f"e a KL {moves(m['test_kl'][best], m['test_kl'][largest])}: passado o melhor tamanho, o que as "
            f"dimensões extras compram de reconstrução não paga o que custam em KL.\n\n"
            if best != largest
            else ".\n\n"
        )
        + f"**A afirmação de Kingma & Welling.** Com z = {sizes[largest]}, a diferença teste − treino é de "
        f"{br_number(m['gap'][largest], 2)} nats ({br_number(gap_share[largest], 1)}% da perda), contra "
        f"{br_number(m['gap'][best], 2)} com z = {sizes[best]}; o −ELBO de teste com z = {sizes[largest]} fica "
        f"{br_number(m['test_loss'][largest] - m['test_loss'][best], 2)} nats acima do melhor. "
        + (
            "As dimensões supérfluas não trouxeram sobreajuste que se veja: nas nossas execuções a afirmação se "
            "confirma."
            if m["gap"][largest] <= max(1.0, 2 * abs(m["gap"][best]))
            else "Aqui a diferença teste − treino cresce com as dimensões supérfluas: nas nossas execuções a "
            "afirmação não se confirma por inteiro."
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
        + f"O limite de importância com k = {IWAE_K} fica entre "
        f"{br_number((m['test_loss'] + m['iwae']).min(), 1)} e {br_number((m['test_loss'] + m['iwae']).max(), 1)} "
        f"nats acima do ELBO: a folga do ELBO existe em todos os tamanhos. Nas amostras, a fração de pixels "
        f"cinza (entre 0,1 e 0,9, uma medida de borrão) vai de "
        + ", ".join(f"{br_number(100 * g)}% (z = {z})" for z, g in zip(sizes, gray))
        + (
            ": quanto maior z, mais borradas as amostras — um z grande decodifica pontos do *prior* que os "
            "códigos reais mal ocupam."
            if gray[largest] > gray[smallest]
            else f"; as mais nítidas são as de z = {sizes[int(np.argmin(gray))]}, e as de z = "
            f"{sizes[int(np.argmax(gray))]} as mais borradas."
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
# al., 2017) — e só β = 1 minimiza o −ELBO. Na figura, as retas tracejadas ligam pontos de mesmo −ELBO.

# %%
beta_runs, betas, b = lab.compare(runs, groups["beta"], "BETA")
display(
    Markdown(
        markdown_table(
            ["β", "−ELBO teste", "distorção D (BCE)", "taxa R (KL)", "ativas", f"−limite k={IWAE_K}"],
            [
                [
                    br_number(beta, 2),
                    br_number(b["test_loss"][i], 2),
                    br_number(b["test_bce"][i], 2),
                    br_number(b["test_kl"][i], 2),
                    f"{b['active'][i]} de {BETA_LATENT_DIM}",
                    br_number(-b["iwae"][i], 2),
                ]
                for i, beta in enumerate(betas)
            ],
        )  # fmt: skip
    )
)

# %%
fig, ax = plt.subplots(figsize=(7, 5))
rates = np.linspace(0, b["test_kl"].max() * 1.1, 2)
for level in np.unique(np.round(b["test_loss"], -1)):
    ax.plot(rates, level - rates, "--", color="0.8", lw=1)
    ax.annotate(f"−ELBO = {br_number(level)}", (rates[-1], level - rates[-1]), fontsize=7, color="0.5")
ax.plot(b["test_kl"], b["test_bce"], "o-", color="tab:blue")
for beta, rate, distortion in zip(betas, b["test_kl"], b["test_bce"]):
    ax.annotate(f"β = {br_number(beta, 2)}", (rate, distortion), textcoords="offset points", xytext=(6, 4))
ax.set_ylim(b["test_bce"].min() - 10, b["test_bce"].max() + 10)
ax.set(xlabel="taxa R = KL (nats por imagem)", ylabel="distorção D = BCE (nats por imagem)")
ax.set_title(f"Taxa × distorção no teste (z = {BETA_LATENT_DIM}, {NUM_EPOCHS} épocas)")
ax.grid(alpha=0.3)
show_figure(fig, "lab_03_taxa_distorcao", FIGURES_DIR)

# %%
shown = test_x[:8]
originals = shown.cpu().numpy().reshape(-1, 28, 28)
recon = np.concatenate([originals] + [vc.reconstruct(run.model, shown) for run in beta_runs])
beta_samples = np.concatenate([vc.sample_images(run.model, 8, seed=SEED) for run in beta_runs])
beta_gray = ((beta_samples > 0.1) & (beta_samples < 0.9)).reshape(len(beta_runs), -1).mean(axis=1)
fig, axes = plt.subplots(1, 2, figsize=(12, 0.75 * len(beta_runs) + 1.4))
for ax, images, labels, title in [
    (axes[0], recon, ["original"] + [f"β = {br_number(x, 2)}" for x in betas], "Reconstruções (decodificando μ)"),
    (axes[1], beta_samples, [f"β = {br_number(x, 2)}" for x in betas], "Amostras de z ~ N(0, I)"),
]:
    ax.imshow(image_grid(images, ncols=8), cmap="gray")
    ax.set_yticks(np.arange(len(labels)) * 28 + 14, labels)
    ax.set_xticks([])
    ax.set_title(title)
plt.tight_layout()
show_figure(fig, "lab_04_beta_imagens", FIGURES_DIR)

# %%
lo, hi, best_b = int(np.argmin(betas)), int(np.argmax(betas)), int(np.argmin(b["test_loss"]))
display(
    Markdown(
        f"De β = {br_number(betas[lo], 2)} a β = {br_number(betas[hi], 2)} a taxa cai de "
        f"{br_number(b['test_kl'][lo], 1)} para {br_number(b['test_kl'][hi], 1)} nats e a distorção sobe de "
        f"{br_number(b['test_bce'][lo], 1)} para {br_number(b['test_bce'][hi], 1)}: cada β é um ponto "
        f"diferente da mesma troca. O menor −ELBO é o de β = {br_number(betas[best_b], 2)} "
        f"({br_number(b['test_loss'][best_b], 2)} nats)"
        + (", como a teoria prevê: só β = 1 otimiza o próprio ELBO. " if betas[best_b] == 1 else ". ")
        + f"Com β = {br_number(betas[hi], 2)} há **{b['active'][hi]} de {BETA_LATENT_DIM}** dimensões ativas "
        f"(com β = {br_number(betas[lo], 2)}, {b['active'][lo]})"
        + (": um canal latente mais apertado usa menos dimensões. " if b["active"][hi] < b["active"][lo] else ". ")
        + f"A fração de pixels cinza nas amostras (uma medida de borrão) vai de {br_number(100 * beta_gray[lo])}% "
        f"(β = {br_number(betas[lo], 2)}) a {br_number(100 * beta_gray[hi])}% (β = {br_number(betas[hi], 2)})"
        + (
            ": com β grande os códigos ocupam o *prior* inteiro e amostrar dele se parece com reconstruir; com β "
            "pequeno as reconstruções são fiéis, mas o *prior* cobre regiões que nenhum código real ocupa. "
            if beta_gray[hi] < beta_gray[lo]
            else f": as amostras mais nítidas são as de β = {br_number(betas[int(np.argmin(beta_gray))], 2)} — "
            f"apertar o canal latente não deixou as amostras mais limpas. "
        )
        + "Como Alemi et al. apontam, o "
        "−ELBO sozinho não diz qual desses modelos serve para quê: dois pontos com −ELBO parecido podem "
        "dividir os nats entre taxa e distorção de formas bem diferentes."
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
        )  # fmt: skip
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

# %%
if {"mlp", "conv"} <= set(archs):
    i_mlp, i_conv = archs.index("mlp"), archs.index("conv")
    diff = a["test_loss"][i_mlp] - a["test_loss"][i_conv]
    arch_text = (
        f"Com {br_number(a['parameters'][i_conv])} parâmetros — "
        f"{br_number(a['parameters'][i_mlp] / a['parameters'][i_conv], 1)} vezes menos que os "
        f"{br_number(a['parameters'][i_mlp])} do modelo totalmente conectado — o convolucional "
        + (f"chega a um −ELBO de teste {br_number(diff, 2)} nats **menor**" if diff > 0
           else f"fica {br_number(-diff, 2)} nats **acima** do totalmente conectado no −ELBO de teste")
        + f" depois das mesmas {NUM_EPOCHS} épocas (BCE {br_number(a['test_bce'][i_conv], 1)} contra "
        f"{br_number(a['test_bce'][i_mlp], 1)}; KL {br_number(a['test_kl'][i_conv], 1)} contra "
        f"{br_number(a['test_kl'][i_mlp], 1)}). O preço é o tempo: "
        f"{br_number(a['seconds_per_epoch'][i_conv], 2)} s por época contra "
        f"{br_number(a['seconds_per_epoch'][i_mlp], 2)} nesta CPU "
        f"({br_number(a['seconds_per_epoch'][i_conv] / a['seconds_per_epoch'][i_mlp], 1)} vezes mais): numa CPU "
        f"de dois núcleos, convoluções custam muito mais operações por parâmetro que produtos de matrizes."
    )  # fmt: skip
else:
    arch_text = "Com uma só arquitetura na lista `ARCHS`, não há comparação a fazer."
display(Markdown(arch_text))

# %% [markdown]
# ## 6. Resumo de todas as execuções
#
# Os segundos são o tempo de treino medido quando cada execução treinou (guardado no seu checkpoint),
# sem a avaliação por época.

# %%
display(
    Markdown(
        markdown_table(
            ["execução", "arq.", "z", "β", "épocas", "s de treino", "−ELBO teste", "BCE", "KL", "ativas"],
            [
                [
                    f"`{run.name}`",
                    run.params["ARCH"],
                    run.params["LATENT_DIM"],
                    br_number(run.params["BETA"], 2),
                    run.metrics["epochs"],
                    br_number(run.metrics["seconds"], 1),
                    br_number(run.metrics["test_loss"], 2),
                    br_number(run.metrics["test_bce"], 2),
                    br_number(run.metrics["test_kl"], 2),
                    run.metrics["active"],
                ]
                for run in runs.values()
            ],
        )  # fmt: skip
    )
)

# %%
lab_wall = time.perf_counter() - lab_start
train_total = sum(run.metrics["seconds"] for run in runs.values())
display(
    Markdown(
        f"As {len(runs)} execuções somam {br_number(train_total)} s de treino ({br_number(train_total / 60, 1)} "
        f"min, {NUM_EPOCHS} épocas cada, uma depois da outra, com {threads} threads). Nesta execução do "
        f"laboratório {len(trained_now)} treinaram e {len(runs) - len(trained_now)} foram reutilizadas dos "
        f"seus checkpoints; o notebook inteiro levou {br_number(lab_wall)} s. Com os parâmetros padrão as "
        f"épocas são as do relatório, e o ponto z = 20, β = 1, `mlp` é o próprio modelo dele: o mesmo "
        f"checkpoint, reutilizado se o relatório já rodou."
    )
)
