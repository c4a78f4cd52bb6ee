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
# # Laboratório: as perguntas que todo curso de VAE faz, respondidas com medidas
#
# O capítulo `vae_mnist` treina **um** VAE e a avaliação o mede. Aqui treinamos vários, todos do mesmo jeito,
# para responder às perguntas que cada notebook de referência responde a no máximo uma:
#
# 1. **Quantas dimensões latentes?** (Kingma & Welling, 2013, variam o tamanho; Burda et al., 2015, contam as
#    unidades ativas.)
# 2. **Quanto peso na KL?** O β-VAE (Higgins et al., 2017) e a curva taxa–distorção (Alemi et al., 2018).
# 3. **O que a KL compra?** Um autoencoder comum, sem KL, ao lado do VAE; Ghosh et al. (2020) geram com um
#    autoencoder determinístico (regularizado, no artigo deles) e uma densidade ajustada depois.
# 4. **Quando o código morre?** O colapso posterior — um β escondido numa perda mal normalizada, um
#    decodificador forte demais — e as curas: aquecimento da KL (Bowman et al., 2016) e bits livres (Kingma
#    et al., 2016).
# 5. **Totalmente conectado ou convolucional?**
# 6. **E se o modelo souber o dígito?** O VAE condicional (o M2 de Kingma et al., 2014, com o rótulo observado).
# 7. **O ELBO ordena a qualidade do que o modelo gera?** (Theis, van den Oord & Bethge, 2016.)
#
# **Comparações justas.** Dentro de cada comparação muda uma coisa só: a mesma partição, semente, lotes e taxa
# de aprendizado, o **mesmo número de épocas** (20) e as mesmas imagens de teste. São comparações de modelos com
# 20 épocas de treino; a seção 2 mostra onde cada um está nesse ponto. **A régua do ruído**: a referência
# (z = 20, β = 1, `mlp`) treina com cinco sementes; o desvio-padrão $s$ entre elas dá o limiar
# $t_{0{,}975}\cdot s\cdot\sqrt2$ para a diferença entre duas execuções de uma semente cada, supondo que as outras
# configurações variem com a semente como a referência. As comparações centrais entre duas configurações
# (convolucional × totalmente conectado, condicional × sem rótulo) treinam as duas com as cinco sementes e usam o
# intervalo das médias; as demais comparam execuções de uma semente com essa régua emprestada.
#
# **Pixels cinza.** Quase todas as execuções usam os tons de cinza do MNIST, em que a BCE não é a
# log-verossimilhança de nenhuma distribuição normalizada: −ELBO, BCE e KL são valores do objetivo, comparáveis
# entre si (capítulo, seção 4). Onde o argumento pede uma verossimilhança de verdade — o decodificador
# autorregressivo — as imagens são binarizadas.
#
# Cada execução é um checkpoint por configuração: rodar o laboratório de novo não treina nada que já treinou.

# %% tags=["parameters"]
LATENT_SIZES: list[int] = [2, 5, 10, 20, 50, 200]  # tamanhos de z comparados (β 1, modelo "mlp")
BETAS: list[float] = [0.25, 0.5, 1, 2, 4, 8]  # pesos da KL comparados (z de BETA_LATENT_DIM)
BETA_LATENT_DIM: int = 20  # tamanho de z da referência e das comparações de β, do autoencoder e do colapso
ARCHS: list[str] = ["mlp", "conv"]  # arquiteturas comparadas (z de ARCH_LATENT_DIM, β 1)
ARCH_LATENT_DIM: int = 20  # tamanho de z na comparação de arquiteturas
SEEDS: list[int] = [43, 44, 45, 46]  # outras sementes da referência, do "conv" e do condicional, além de SEED
CONDITIONAL_LATENT_SIZES: list[int] = [20, 2]  # tamanhos de z do VAE condicional ("cvae"), cada um ao lado do "mlp"
CONDITIONAL_DIGIT: int = 7  # o dígito do explorador e da variedade de estilo do VAE condicional
QUALITY_SAMPLES: "int or None" = None  # imagens por conjunto nas medidas de qualidade; None: as de validação (a âncora)
COLLAPSE_BETA: float = 784  # o β escondido de uma perda que tira a média da BCE nos 784 pixels e soma a KL
WARMUP_EPOCHS: int = 10  # épocas de aquecimento da KL (o peso sobe de 0 ao β final)
FREE_BITS: float = 0.5  # bits livres: nats por dimensão abaixo dos quais a KL não é cobrada
PIXELCNN_TRAIN_SIZE: int = 10000  # imagens de treino das execuções binarizadas com decodificador autorregressivo
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
from vae_tools import analysis, findings, lab, mnist, quality
from vae_tools import classifier as digits
from vae_tools.checkpoints import Action
from vae_tools.explorer import ConditionalExplorer, conditional_traversal
from vae_tools.figures import br_number, image_grid, markdown_table, say, show_figure
from vae_tools.findings import Compared
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
# pesos iniciais e os lotes); o teste é o mesmo para todas, binarizado com uma amostra fixa nas execuções
# binarizadas.

# %%
data_dir = mnist.resolve_data_dir(DATA_DIR)
keys = dict.fromkeys(run.split_key for run in runs.values())
splits = {key: lab.load_split(data_dir, key, VAL_SIZE, device) for key in keys}
main = splits[(SEED, TRAIN_SIZE, False)]
test_x, test_y = main.test_x, main.test_y
print(
    f"treino: {br_number(len(main.train_x))}, validação: {br_number(len(main.val_x))}, teste: {br_number(len(test_x))}"
)

# %% [markdown]
# ## 2. Treino
#
# As execuções rodam uma depois da outra; as já treinadas são só carregadas. Depois,
# cada modelo gera `QUALITY_SAMPLES` (por padrão, 5.000: tantas quantas as imagens de validação) **médias do decodificador** de $z \sim \mathcal{N}(0, I)$, lidas pelo
# classificador de dígitos do projeto (o da avaliação: pesos fixos, a mesma régua em toda máquina) e comparadas
# com as imagens de teste nos seus 128 atributos: distância de Fréchet (menor é melhor; a escala é a deste
# classificador, não a das FIDs de artigos), precisão e revocação (Kynkäänniemi et al., 2019) e a fração lida
# com confiança ≥ 0,9. A precisão sobe com imagens borradas e repetitivas (protótipos de dígito), então não a
# lemos como fidelidade. Imagens reais de validação, no mesmo número e medidas do mesmo jeito, são a âncora: a
# coluna de Fréchet de cada tabela traz entre parênteses o valor delas.

# %% tags=["nbval-ignore-output"]
train_start = time.perf_counter()
lab.train_all(runs, splits, device, PROGRESS)
train_wall = time.perf_counter() - train_start
classifier, classifier_info = digits.load_classifier(device)
reference = quality.make_reference(classifier, test_x[:QUALITY_SAMPLES], test_y[:QUALITY_SAMPLES])
real_scores = quality.measure_images(classifier, main.val_x[:QUALITY_SAMPLES], reference)
anchor_column = f"Fréchet (reais: {br_number(real_scores['frechet_distance'], 1)})"  # a âncora de cada tabela
lab.measure_all(runs, groups, splits, classifier, reference, P)  # ou lê as medidas guardadas com o checkpoint
trained_now = [run for run in runs.values() if run.plan.action is not Action.REUSE]
print(
    f"Treinadas agora: {len(trained_now)}; reutilizadas: {len(runs) - len(trained_now)}; "
    f"tempo desta célula: {br_number(train_wall)} s"
)

# %% [markdown]
# **Onde cada modelo está às 20 épocas.** O −ELBO de validação a cada época dos modelos comparados nas
# seções 4, 5, 6, 8 e 9 (o autoencoder, sem ELBO, pela BCE).

# %%
ARCH_NAMES = {"mlp": "totalmente conectado", "conv": "convolucional", "cvae": "condicional", "ae": "autoencoder (BCE)"}
families = {
    "tamanho de z": [(f"z = {runs[n].params['LATENT_DIM']}", n) for n in groups["latente"]],
    "β": [(f"β = {br_number(runs[n].params['BETA'], None)}", n) for n in groups["beta"]],
    "arquitetura e rótulo": [
        (ARCH_NAMES[runs[n].params["ARCH"]], n)
        for n in dict.fromkeys(groups["arquitetura"] + groups["condicional"][:1] + groups["autoencoder"][:1])
    ],
}
fig, axes = plt.subplots(1, 3, figsize=(15, 5))
first = min(3, NUM_EPOCHS)  # da 3ª época em diante: a queda das primeiras esconderia o fim das curvas
for ax, (title, members) in zip(axes, families.items()):
    for k, (label, name) in enumerate(members):
        autoencoder = runs[name].params["ARCH"] == "ae"  # a BCE dele num eixo à direita, na sua própria escala
        curve = runs[name].history["val_bce" if autoencoder else "val_loss"]
        target = ax.twinx() if autoencoder else ax
        target.plot(np.arange(first, len(curve) + 1), curve[first - 1 :], f"C{k}", ls="--" if autoencoder else "-")
        ax.plot([], [], f"C{k}", ls="--" if autoencoder else "-", label=label)
        if autoencoder:
            target.set_ylabel("BCE do autoencoder (validação)")
    ax.set(xlabel="época", ylabel="−ELBO, nats por imagem (validação)", title=title)
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=3, frameon=False)
fig.suptitle(f"Curvas de validação da época {first} em diante: −ELBO por época (autoencoder: BCE)")
plt.tight_layout()
show_figure(fig, "lab_01_curvas", FIGURES_DIR)
compared = dict.fromkeys(name for members in families.values() for _, name in members)
curves = findings.curves(
    [runs[n].history["val_bce" if runs[n].params["ARCH"] == "ae" else "val_loss"] for n in compared]
)

# %% jupyter={"source_hidden": true} tags=["remove-input"]
say(
    "Às {epochs} épocas, {still_falling} dos {models} modelos comparados ainda melhoram na validação: nas cinco "
    "últimas épocas, a queda média vai de {flattest:.2f} a {steepest:.2f} nats por época. As comparações abaixo "
    "são de modelos com esse treino, não de modelos convergidos; uma diferença pequena pode mudar com mais épocas.",
    curves,
    epochs=NUM_EPOCHS,
)

# %% [markdown]
# ## 3. A régua do ruído
#
# A mesma configuração de referência, com sementes diferentes: a diferença entre elas é o que uma comparação
# pode atribuir ao acaso.

# %% jupyter={"source_hidden": true} tags=["remove-input"]
seed_runs, seeds, s = lab.compare(runs, groups["sementes"], "SEED")
sticks = lab.yardsticks(runs, groups["sementes"])
display(
    Markdown(
        markdown_table(
            ["semente", "−ELBO teste", "BCE", "KL", "ativas", anchor_column, "execução (checkpoint)"],
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
say(
    "Com {seeds} sementes, o desvio-padrão do −ELBO de teste entre elas é s = {sd:.2f} nats ({df} graus de "
    "liberdade). Duas execuções de uma semente cada só diferem de fato além de t · s · √2 = **{threshold:.2f} "
    "nats** (t = {t:.2f}, 95 %); dentro disso, a diferença não se distingue do acaso. Cada medida tem o seu limiar, da mesma conta: "
    "{bce:.2f} nats na BCE, {kl:.2f} na KL e {fd:.1f} na distância de Fréchet.",
    sticks["test_loss"],
    bce=sticks["test_bce"].threshold,
    kl=sticks["test_kl"].threshold,
    fd=sticks["fd"].threshold,
)

# %% [markdown]
# ## 4. Quantas dimensões latentes?
#
# Mais dimensões dão ao codificador mais espaço para descrever cada imagem; cada dimensão usada custa KL. Uma
# dimensão que não paga o seu preço em reconstrução tende ao *prior* e fica **inativa**: a sua média quase não
# varia entre imagens, $\operatorname{Var}_x(\mathbb{E}_{q(z\mid x)}[z_j]) \le 0{,}01$ (o critério de Burda et al.). A diferença
# teste − treino do −ELBO, com os pesos finais, mede o sobreajuste; o limite de importância com $k$ amostras
# (Burda et al., 2015), nas mesmas imagens que o ELBO, mostra a folga do ELBO em cada tamanho.

# %% jupyter={"source_hidden": true} tags=["remove-input"]
latent, sizes, m = lab.compare(runs, groups["latente"], "LATENT_DIM")
display(
    Markdown(
        markdown_table(
            [
                "z",
                "−ELBO teste",
                "BCE",
                "KL",
                "teste − treino",
                "ativas",
                f"limite k={IWAE_K} − ELBO (± erro padrão)",
                anchor_column,
            ],
            [
                [
                    z,
                    br_number(m["test_loss"][i], 2),
                    br_number(m["test_bce"][i], 2),
                    br_number(m["test_kl"][i], 2),
                    br_number(m["gap"][i], 2),
                    f"{m['active'][i]} de {z}",
                    f"{br_number(m['iwae_gap'][i], 2)} ± {br_number(m['iwae_gap_se'][i], 2)}",
                    br_number(m["fd"][i], 1),
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
show_figure(fig, "lab_02_perda_por_dimensao", FIGURES_DIR)
sizes_facts = findings.latent_sizes(sizes, m["test_loss"], m["test_bce"], m["gap"], m["active"], sticks)

# %% jupyter={"source_hidden": true} tags=["remove-input"]
bce_shape = {
    True: "A BCE não cai sempre: o mínimo é em z = {bce_best}, e com z = {largest} ela volta a subir {bce_rise:.2f} nats, além do limiar da régua ({bce_threshold:.2f}; o mínimo escolhido entre seis tamanhos favorece essa conclusão, que é frágil).",
    False: "A BCE cai até z = {bce_best}; com z = {largest} fica a {bce_rise:.2f} nats do mínimo, dentro do limiar da régua.",
}[sizes_facts.bce_reversal]
units_shape = {
    True: "Com z = {largest}, só {active_largest} dimensões estão ativas: nas outras, a média do código quase não muda de uma imagem para outra.",
    False: "Com z = {largest}, as {active_largest} dimensões estão ativas.",
}[sizes_facts.inactive_dims]
gap_shape = {
    Compared.TIE: "a diferença teste − treino muda {gap_change:.2f} nats em relação a z = {best}, dentro do limiar: nenhum sobreajuste a mais",
    Compared.WORSE: "a diferença teste − treino cresce {gap_change:.2f} nats em relação a z = {best}, além do limiar: mais sobreajuste",
    Compared.BETTER: "a diferença teste − treino cai {gap_change:.2f} nats em relação a z = {best}, além do limiar",
}[sizes_facts.gap]

# %% jupyter={"source_hidden": true} tags=["remove-input"]
say(
    "O −ELBO de teste cai até z = {best} ({best_loss:.2f} nats); outros tamanhos empatados com ele dentro do limiar: {tied}. "
    "Passado um ponto, mais dimensões não ajudam. " + bce_shape + " " + units_shape + " E " + gap_shape + ". Kingma & "
    "Welling observaram que dimensões supérfluas não sobreajustaram em treinos de até cerca de 100 milhões de exemplos de "
    "treino; estas {epochs} épocas são {examples:,} exemplos, e não testam a afirmação na escala deles.",
    sizes_facts,
    epochs=NUM_EPOCHS,
    examples=NUM_EPOCHS * len(main.train_x),
    bce_threshold=sticks["test_bce"].threshold,
)

# %%
n_samples = 10
samples = np.stack([vc.sample_images(run.model, n_samples, seed=SEED) for run in latent])
fig, ax = plt.subplots(figsize=(8, 0.8 * len(latent) + 0.6))
ax.imshow(image_grid(samples.reshape(-1, 28, 28), ncols=n_samples), cmap="gray")
ax.set_yticks(
    np.arange(len(latent)) * 28 + 14, [f"z = {z} (Fréchet {br_number(f, 1)})" for z, f in zip(sizes, m["fd"])]
)
ax.set_xticks([])
ax.set_title(f"Médias do decodificador em z ~ N(0, I), semente fixa ({NUM_EPOCHS} épocas)")
show_figure(fig, "lab_03_amostras_por_dimensao", FIGURES_DIR)

# %% [markdown]
# ## 5. Quanto peso na KL? (β-VAE e taxa–distorção)
#
# O treino minimiza $\text{BCE} + \beta\,\text{KL}$; as perdas das tabelas são sempre o −ELBO, BCE + KL. Alemi et
# al. (2018) leem os dois termos como **distorção** $D$ (a BCE) e **taxa** $R$ (a KL média). A taxa limita por
# cima a informação que o código carrega sobre a imagem: $R = I(X; Z) + \mathrm{KL}(q(z)\,\|\,p(z)) \ge I(X; Z)$,
# com $q(z)$ a posterior agregada (capítulo, seção 9). Minimizar $D + \beta R$ escolhe o ponto da fronteira
# taxa–distorção em que a inclinação dela é $dD/dR = -\beta$: entre dois β vizinhos, a inclinação da corda
# $-\Delta D/\Delta R$ deve cair entre os dois β. Os segmentos na figura têm a inclinação $-\beta$ de cada ponto.

# %% jupyter={"source_hidden": true} tags=["remove-input"]
beta_runs, betas, b = lab.compare(runs, groups["beta"], "BETA")
display(
    Markdown(
        markdown_table(
            [
                "β",
                "−ELBO teste",
                "distorção D (BCE)",
                "taxa R (KL)",
                "ativas",
                f"limite k={IWAE_K} − ELBO (± erro padrão)",
                anchor_column,
            ],
            [
                [
                    br_number(beta, None),
                    br_number(b["test_loss"][i], 2),
                    br_number(b["test_bce"][i], 2),
                    br_number(b["test_kl"][i], 2),
                    f"{b['active'][i]} de {BETA_LATENT_DIM}",
                    f"{br_number(b['iwae_gap'][i], 2)} ± {br_number(b['iwae_gap_se'][i], 2)}",
                    br_number(b["fd"][i], 1),
                ]
                for i, beta in enumerate(betas)
            ],
        )
    )
)

# %%
fig, ax = plt.subplots(figsize=(8, 5.5))
ax.plot(b["test_kl"], b["test_bce"], "o-", color="tab:blue", label="execuções (teste)")
half = 0.06 * (b["test_kl"].max() - b["test_kl"].min())  # meio comprimento de cada segmento, em nats de taxa
for beta, rate, distortion in zip(betas, b["test_kl"], b["test_bce"]):
    ax.plot([rate - half, rate + half], [distortion + beta * half, distortion - beta * half], color="tab:red", lw=2)
    ax.annotate(f"β = {br_number(beta, None)}", (rate, distortion), textcoords="offset points", xytext=(8, 6))
ax.plot([], [], color="tab:red", lw=2, label="inclinação −β prevista em cada ponto")
ax.set(xlabel="taxa R = KL (nats por imagem)", ylabel="distorção D = BCE (nats por imagem)")
ax.set_title(f"Taxa × distorção no teste (z = {BETA_LATENT_DIM}, {NUM_EPOCHS} épocas)")
ax.grid(alpha=0.3)
ax.legend()
show_figure(fig, "lab_04_taxa_distorcao", FIGURES_DIR)
rd = findings.rate_distortion(betas, b["test_kl"], b["test_bce"], b["test_loss"], b["iwae_gap"], sticks["test_loss"])

# %% jupyter={"source_hidden": true} tags=["remove-input"]
frontier = {
    True: "Entre β vizinhos, a inclinação da corda −ΔD/ΔR cai entre os dois β em todos os {pairs} pares: os pontos se comportam como a fronteira prevê.",
    False: "Entre β vizinhos, a inclinação da corda −ΔD/ΔR cai entre os dois β em {consistent} dos {pairs} pares: com {epochs} épocas, nem todo ponto está na fronteira.",
}[rd.on_frontier]
one = {
    Compared.BETTER: "O menor −ELBO é o de β = 1, o único β cujo treino minimiza o próprio −ELBO.",
    Compared.TIE: "O menor −ELBO é o de β = {best_beta:g}, e β = 1 — o único cujo treino minimiza o próprio −ELBO — empata com ele dentro do limiar.",
    Compared.WORSE: "O menor −ELBO é o de β = {best_beta:g}, e β = 1 fica atrás dele além do limiar, embora só o treino com β = 1 minimize o −ELBO: {epochs} épocas não bastaram.",
}[rd.one]
gap = {
    True: " A folga do limite de importância sobre o ELBO cresce com os β grandes ({gap_high:.2f} nats no maior β, {gap_low:.2f} no menor; Spearman {gap_rho:.2f} entre β e a folga): ela é um limite inferior da KL entre q(z|x) e a posterior do próprio modelo, e um β grande puxa q para o *prior*, longe dela.",
    False: " A folga do limite de importância sobre o ELBO vai de {gap_low:.2f} (menor β) a {gap_high:.2f} nats (maior β) sem crescer de forma clara com β (Spearman {gap_rho:.2f}).",
}[rd.gap_grows]

# %% jupyter={"source_hidden": true} tags=["remove-input"]
say(frontier + " " + one + gap, rd, epochs=NUM_EPOCHS)

# %%
shown = test_x[:8]
beta_labels = [f"β = {br_number(x, None)}" for x in betas]
recon = np.concatenate(
    [shown.cpu().numpy().reshape(-1, 28, 28)] + [vc.reconstruct(run.model, shown) for run in beta_runs]
)
real = test_x[8:16].cpu().numpy().reshape(-1, 28, 28)  # imagens reais, como referência das médias geradas
beta_samples = np.concatenate([real] + [vc.sample_images(run.model, 8, seed=SEED) for run in beta_runs])
fig, axes = plt.subplots(1, 2, figsize=(12, 0.75 * len(beta_runs) + 1.6))
for ax, images, labels, title in [
    (axes[0], recon, ["original", *beta_labels], "Reconstruções (decodificando μ)"),
    (axes[1], beta_samples, ["reais (teste)", *beta_labels], "Médias do decodificador em z ~ N(0, I)"),
]:
    ax.imshow(image_grid(images, ncols=8), cmap="gray")
    ax.set_yticks(np.arange(len(labels)) * 28 + 14, labels)
    ax.set_xticks([])
    ax.set_title(title)
plt.tight_layout()
show_figure(fig, "lab_05_beta_imagens", FIGURES_DIR)

# %% [markdown]
# ## 6. O que a KL compra? O autoencoder sem ela
#
# O autoencoder comum (`ae`) tem a mesma arquitetura e as mesmas épocas do VAE de referência, mas o código é
# determinístico, $z = \mu(x)$, e a perda é só a BCE. Nada nele faz os códigos parecerem com $\mathcal{N}(0, I)$:
# gerar decodificando $z \sim \mathcal{N}(0, I)$ só funciona por acaso. Ghosh et al. (2020) propõem ajustar,
# depois do treino, uma mistura de gaussianas aos códigos e sortear $z$ dela. Medimos as duas formas, com as
# médias do decodificador do VAE (de $z \sim \mathcal{N}(0, I)$) ao lado e as imagens reais como âncora.

# %%
ae_run, vae_run = (runs[name] for name in groups["autoencoder"])
n = QUALITY_SAMPLES
z_mixture = lab.mixture_codes(ae_run.model, main.train_x, n, 10, SEED)
z_vae_mixture = lab.mixture_codes(vae_run.model, main.train_x, n, 10, SEED)
ae_scores = {
    "real": real_scores,
    "vae_prior": quality.measure_images(
        classifier, torch.as_tensor(vc.sample_images(vae_run.model, n, SEED)).reshape(n, -1), reference
    ),
    "ae_prior": quality.measure_images(
        classifier, torch.as_tensor(vc.sample_images(ae_run.model, n, SEED)).reshape(n, -1), reference
    ),
    "ae_mixture": quality.measure_images(
        classifier, torch.as_tensor(vc.decode_latent(ae_run.model, z_mixture)).reshape(n, -1), reference
    ),
    "vae_mixture": quality.measure_images(
        classifier, torch.as_tensor(vc.decode_latent(vae_run.model, z_vae_mixture)).reshape(n, -1), reference
    ),
}
bce_of_means = [lab.bce_of_means(run.model, test_x) for run in (ae_run, vae_run)]
bce_stick = findings.yardstick([lab.bce_of_means(runs[name].model, test_x) for name in groups["sementes"]])
frechet = {key: value["frechet_distance"] for key, value in ae_scores.items()}
kl_buys = findings.what_kl_buys(bce_of_means, frechet, {"bce_mu": bce_stick, "fd": sticks["fd"]})
names = {
    "real": "imagens reais de validação (âncora)",
    "vae_prior": "VAE: médias em z ~ N(0, I)",
    "ae_prior": "autoencoder: decodificando z ~ N(0, I)",
    "ae_mixture": "autoencoder: decodificando z de uma mistura de 10 gaussianas",
    "vae_mixture": "VAE: médias em z de uma mistura de 10 gaussianas",
}
display(Markdown(quality.score_table(ae_scores, names)))

# %%
shown = test_x[:8]
rows = {
    "original": shown.cpu().numpy().reshape(-1, 28, 28),
    "autoencoder: reconstrução": vc.reconstruct(ae_run.model, shown),
    "VAE: reconstrução (μ)": vc.reconstruct(vae_run.model, shown),
    "autoencoder: z ~ N(0, I)": vc.sample_images(ae_run.model, 8, SEED),
    "autoencoder: z da mistura": vc.decode_latent(ae_run.model, z_mixture[:8]),
    "VAE: z ~ N(0, I)": vc.sample_images(vae_run.model, 8, SEED),
    "VAE: z da mistura": vc.decode_latent(vae_run.model, z_vae_mixture[:8]),
}
fig, ax = plt.subplots(figsize=(8, 6))
ax.imshow(image_grid(np.concatenate(list(rows.values())), ncols=8), cmap="gray")
ax.set_yticks(np.arange(len(rows)) * 28 + 14, list(rows))
ax.set_xticks([])
ax.set_title(f"Autoencoder × VAE (z = {BETA_LATENT_DIM}, {NUM_EPOCHS} épocas): reconstruções e geração")
show_figure(fig, "lab_06_autoencoder", FIGURES_DIR)

# %% jupyter={"source_hidden": true} tags=["remove-input"]
prior = {
    Compared.WORSE: "Decodificar $z \\sim \\mathcal{{N}}(0, I)$ no autoencoder gera pior que no VAE (distância {fd_ae_prior:,.1f} contra {fd_vae_prior:,.1f}): é isso que a KL compra, códigos com a forma do *prior*.",
    Compared.TIE: "Decodificar $z \\sim \\mathcal{{N}}(0, I)$ no autoencoder gera tão bem quanto no VAE, dentro do limiar (distância {fd_ae_prior:,.1f} contra {fd_vae_prior:,.1f}).",
    Compared.BETTER: "Decodificar $z \\sim \\mathcal{{N}}(0, I)$ no autoencoder gera melhor que no VAE (distância {fd_ae_prior:,.1f} contra {fd_vae_prior:,.1f}).",
}[kl_buys.ae_prior]
mixture = {
    Compared.BETTER: " Com $z$ de uma mistura ajustada aos códigos, o autoencoder gera melhor que o VAE com uma mistura igual ajustada aos seus (distância {fd_ae_mixture:,.1f} contra {fd_vae_mixture:,.1f}).",
    Compared.TIE: " Com $z$ de uma mistura ajustada aos códigos, o autoencoder empata com o VAE com uma mistura igual ajustada aos seus (distância {fd_ae_mixture:,.1f} contra {fd_vae_mixture:,.1f}): uma densidade ajustada depois faz o papel do *prior*, como propõem Ghosh et al.",
    Compared.WORSE: " Com $z$ de uma mistura ajustada aos códigos, o autoencoder fica atrás do VAE com uma mistura igual ajustada aos seus (distância {fd_ae_mixture:,.1f} contra {fd_vae_mixture:,.1f}).",
}[kl_buys.ae_mixture]
reconstruction = {
    Compared.BETTER: "Sem a KL, o autoencoder reconstrói melhor: BCE de {bce_ae:.2f} nats decodificando o código, contra {bce_vae:.2f} do VAE decodificando μ.",
    Compared.TIE: "O autoencoder reconstrói como o VAE, dentro do limiar: BCE de {bce_ae:.2f} nats decodificando o código, contra {bce_vae:.2f} do VAE decodificando μ.",
    Compared.WORSE: "O autoencoder reconstrói pior que o VAE: BCE de {bce_ae:.2f} nats decodificando o código, contra {bce_vae:.2f} do VAE decodificando μ.",
}[kl_buys.reconstruction]

# %% jupyter={"source_hidden": true} tags=["remove-input"]
say(
    reconstruction + " " + prior + mixture + " As imagens reais, medidas do mesmo jeito, ficam em {fd_real:,.1f}.",
    kl_buys,
)

# %% [markdown]
# ## 7. Quando o código morre? O colapso posterior e as suas curas
#
# **O β escondido.** Muitos exemplos de VAE tiram a média da BCE sobre os pixels (`reduction="mean"`) e somam a
# KL. Por imagem, isso é $\tfrac{1}{784}\,\text{BCE} + \text{KL} = \tfrac{1}{784}\,(\text{BCE} + 784\,\text{KL})$:
# um β-VAE com β = 784, com a perda inteira dividida por 784 — o que o Adam quase não sente, porque o passo dele
# não depende da escala do gradiente. A cura de um β escondido é corrigir a normalização (somar a BCE nos
# pixels). Aqui ele serve de caso extremo para as duas curas usuais do colapso, pensadas para β = 1: o
# **aquecimento** da KL, com o peso subindo de 0 ao β final nas primeiras 10 épocas (Bowman et al., 2016, sobem
# até 1), e os **bits livres** (Kingma et al., 2016), em que cada dimensão só paga a KL acima de 0,5 nat (média do
# lote), e abaixo disso nada a empurra para o *prior*. O colapso se mede pela taxa (a KL, que limita $I(X; Z)$
# por cima) e pelas unidades ativas a cada época, em 2.000 imagens de validação.


# %%
def kl_curve(run):
    """A taxa (KL somada nas dimensões) e as unidades ativas de cada época, na validação."""
    return np.sum(run.history["val_kl_dims"], axis=1), np.array(run.history["val_active"])


collapse_labels = ["referência (β = 1)", f"β = {br_number(COLLAPSE_BETA, None)}", "com aquecimento", "com bits livres"]
STYLES = ("-o", "--s", ":^")  # linhas que se distinguem mesmo uma sobre a outra
collapse_runs = [runs[name] for name in groups["colapso"]]
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
for run, label, line in zip(collapse_runs[1:], collapse_labels[1:], STYLES):
    rate, active = kl_curve(run)
    epochs = np.arange(1, len(rate) + 1)
    axes[0].plot(epochs, rate, line, ms=4, label=label)
    axes[1].plot(epochs, active, line, ms=4, label=label)
axes[0].axhline(collapse_runs[0].metrics["test_kl"], color="0.5", ls="--", label="referência, final (teste)")
axes[1].axhline(collapse_runs[0].metrics["active"], color="0.5", ls="--", label="referência, final (teste)")
axes[0].set_yscale("symlog", linthresh=1)  # do zero do colapso às centenas de nats da 1ª época sem KL
axes[0].set(ylim=(0, None), xlabel="época", ylabel="taxa: KL (nats por imagem)", title="A taxa a cada época")
axes[1].set(xlabel="época", ylabel=f"unidades ativas (de {BETA_LATENT_DIM})", title="Dimensões em uso a cada época")
axes[1].set_ylim(-0.5, BETA_LATENT_DIM + 1)
for ax in axes:
    ax.axvline(WARMUP_EPOCHS + 1, color="tab:orange", ls=":", lw=1, label="aquecimento completo")
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
axes[1].yaxis.set_major_locator(plt.MaxNLocator(integer=True))
fig.suptitle(f"O β escondido de uma perda com a média nos pixels (β = {br_number(COLLAPSE_BETA, None)}) e as curas")
plt.tight_layout()
show_figure(fig, "lab_07_colapso", FIGURES_DIR)
hidden, warm, free = (findings.collapse(run.metrics["test_kl"], run.metrics["active"]) for run in collapse_runs[1:])
warm_epoch = findings.collapse_epoch(kl_curve(collapse_runs[2])[0])
warm_weight = vc.warmup_beta(COLLAPSE_BETA, warm_epoch, WARMUP_EPOCHS)

# %%
rows = np.concatenate([vc.sample_images(run.model, 10, SEED) for run in collapse_runs])
fig, ax = plt.subplots(figsize=(9, 4))
ax.imshow(image_grid(rows, ncols=10), cmap="gray")
ax.set_yticks(np.arange(len(collapse_runs)) * 28 + 14, collapse_labels)
ax.set_xticks([])
ax.set_title("Médias do decodificador nos mesmos z ~ N(0, I)")
show_figure(fig, "lab_08_colapso_amostras", FIGURES_DIR)

# %% jupyter={"source_hidden": true} tags=["remove-input"]
hidden_text = {
    True: "Com β = {beta:g}, o código colapsa: a taxa de teste termina em {kl:.2f} nats, com {active} dimensões ativas, e as médias geradas são quase a mesma imagem para qualquer $z$.",
    False: "Com β = {beta:g}, a taxa de teste termina em {kl:.2f} nats, com {active} dimensões ativas: o código encolhe, mas não colapsa abaixo de 1 nat.",
}[hidden.collapsed]
warm_text = {
    True: " O aquecimento não impede o colapso: a taxa cai abaixo de 1 nat já na época {warm_epoch}, com o peso da KL ainda em {warm_weight:g} — muito acima de 1 —, e termina em {warm.kl:.2f} nats ({warm.active} ativas).",
    False: " Com aquecimento, a taxa termina em {warm.kl:.2f} nats ({warm.active} ativas): o código sobrevive ao peso final.",
}[warm.collapsed]
free_text = {
    True: " Nem os bits livres salvam o código: {free.kl:.2f} nats ({free.active} ativas).",
    False: " Os bits livres mantêm o código vivo: {free.kl:.2f} nats ({free.active} ativas), porque abaixo de {free_bits:g} nat por dimensão a KL não custa nada, e o codificador usa essa folga.",
}[free.collapsed]

# %% jupyter={"source_hidden": true} tags=["remove-input"]
say(
    hidden_text + warm_text + free_text,
    hidden,
    beta=COLLAPSE_BETA,
    warm=warm,
    free=free,
    free_bits=FREE_BITS,
    warm_epoch=warm_epoch,
    warm_weight=warm_weight,
)

# %% [markdown]
# **Um decodificador que precisa menos do código.** O decodificador autorregressivo (`pixelcnn`, no estilo da PixelCNN
# de van den Oord et al., 2016) prevê cada pixel a partir de $z$ **e dos pixels anteriores** (as linhas de cima e
# os da esquerda), com convoluções mascaradas: $p(x\mid z) = \prod_i p(x_i \mid x_{<i}, z)$. Os vizinhos já
# predizem muito de cada pixel, e o código pode ficar pouco usado. Essas execuções usam MNIST
# **binarizado** (uma amostra de Bernoulli nova de cada imagem a cada lote; validação e teste com uma amostra
# fixa): um decodificador de pixels binários precisa de dados binários, e aí o −ELBO é um limite de verdade de
# −log p(x). Por custo, treinam em `PIXELCNN_TRAIN_SIZE` imagens, com o `mlp` clássico nos mesmos dados ao lado.
# A cura testada é a dos bits livres.

# %%
pixel_labels = ["mlp (binarizado)", "pixelcnn", "pixelcnn com bits livres"]
pixel_runs = [runs[name] for name in groups["pixelcnn"]]
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
for run, label, line in zip(pixel_runs, pixel_labels, STYLES):
    rate, active = kl_curve(run)
    epochs = np.arange(1, len(rate) + 1)
    axes[0].plot(epochs, rate, line, ms=4, label=label)
    axes[1].plot(epochs, active, line, ms=4, label=label)
axes[0].set(xlabel="época", ylabel="taxa: KL (nats por imagem)", title="A taxa a cada época")
axes[1].set(xlabel="época", ylabel=f"unidades ativas (de {BETA_LATENT_DIM})", title="Dimensões em uso a cada época")
axes[0].set_ylim(bottom=0)
axes[1].set_ylim(-0.5, BETA_LATENT_DIM + 1)
for ax in axes:
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
axes[1].yaxis.set_major_locator(plt.MaxNLocator(integer=True))
fig.suptitle(f"MNIST binarizado, {br_number(PIXELCNN_TRAIN_SIZE)} imagens de treino, {NUM_EPOCHS} épocas")
plt.tight_layout()
show_figure(fig, "lab_09_pixelcnn", FIGURES_DIR)

# %%
binary = [vc.sample_images(run.model, 8, SEED) for run in pixel_runs]  # o pixelcnn sorteia pixel a pixel
fig, ax = plt.subplots(figsize=(8, 3.4))
ax.imshow(image_grid(np.concatenate(binary), ncols=8), cmap="gray")
ax.set_yticks(np.arange(len(pixel_runs)) * 28 + 14, ["mlp: médias", "pixelcnn: sorteios", "com bits livres: sorteios"])
ax.set_xticks([])
ax.set_title("Geração com os mesmos z ~ N(0, I): médias em cinza (mlp), sorteios binários (pixelcnn)")
show_figure(fig, "lab_10_pixelcnn_amostras", FIGURES_DIR)
plain_bin, pixel, pixel_free = (findings.collapse(run.metrics["test_kl"], run.metrics["active"]) for run in pixel_runs)
pixel_losses = {label: run.metrics["test_loss"] for label, run in zip(("plain", "pixel", "free"), pixel_runs)}

# %% jupyter={"source_hidden": true} tags=["remove-input"]
pixel_text = {
    True: "Com o decodificador autorregressivo, o código colapsa: a taxa de teste é {pixel.kl:.2f} nats ({pixel.active} ativas), contra {plain.kl:.2f} do `mlp` nos mesmos dados, e o −ELBO fica em {pixel_loss:.2f} nats contra {plain_loss:.2f}: o modelo descreve as imagens quase sem o código.",
    False: "Com o decodificador autorregressivo, a taxa de teste cai para {pixel.kl:.2f} nats ({pixel.active} ativas), contra {plain.kl:.2f} do `mlp` nos mesmos dados, com −ELBO {pixel_loss:.2f} contra {plain_loss:.2f}: os vizinhos fazem boa parte do trabalho do código (com tão poucos nats por dimensão, ser ativa — variância da média acima de 0,01 — diz pouco).",
}[pixel.collapsed]
cure_text = " Com bits livres, a taxa fica em {free.kl:.2f} nats ({free.active} ativas) e o −ELBO em {free_loss:.2f}, contra {pixel.kl:.2f} e {pixel_loss:.2f} sem eles — uma semente de cada, sem régua própria para este modelo."

# %% jupyter={"source_hidden": true} tags=["remove-input"]
say(
    pixel_text + cure_text,
    pixel=pixel,
    plain=plain_bin,
    free=pixel_free,
    pixel_loss=pixel_losses["pixel"],
    plain_loss=pixel_losses["plain"],
    free_loss=pixel_losses["free"],
    epochs=NUM_EPOCHS,
)

# %% [markdown]
# ## 8. Totalmente conectado ou convolucional?
#
# O modelo `"conv"` tem a mesma interface latente e a mesma perda: o codificador são duas convoluções
# (1 → 16 → 32 canais, núcleo 4, passo 2: 28 → 14 → 7 pixels) e duas cabeças lineares para $\mu$ e
# $\log\sigma^2$; o decodificador é o espelho, com convoluções transpostas. As convoluções compartilham pesos
# entre posições da imagem: o modelo é bem menor. As duas arquiteturas treinam com as mesmas cinco sementes, e a
# diferença é a das médias, com o intervalo de 95 % de Welch.

# %% jupyter={"source_hidden": true} tags=["remove-input"]
arch_seeds = {"mlp": groups["sementes"], "conv": groups["sementes_conv"]}
arch_stats = {arch: lab.compare(runs, names, "SEED")[2] for arch, names in arch_seeds.items() if names}
# o tempo por época da semente SEED: as outras sementes treinaram com a máquina dividida com outros processos
seconds_per_epoch = {arch: a["seconds_per_epoch"][0] for arch, a in arch_stats.items()}
display(
    Markdown(
        markdown_table(
            [
                "arquitetura",
                "parâmetros",
                f"s por época (semente {SEED}, quando treinou)",
                "−ELBO teste",
                "BCE",
                "KL",
                "ativas",
                anchor_column,
            ],
            [
                [arch, br_number(a["parameters"][0]), br_number(seconds_per_epoch[arch], 2)]
                + [
                    f"{br_number(a[k].mean(), d)} ± {br_number(a[k].std(ddof=1), d)}"
                    for k, d in (("test_loss", 2), ("test_bce", 2), ("test_kl", 2), ("active", 1), ("fd", 1))
                ]
                for arch, a in arch_stats.items()
            ],
        )
    )
)
print(f"média ± desvio-padrão de {len(groups['sementes'])} sementes")

# %%
arch_runs = [runs[name] for name in groups["arquitetura"]]
shown = test_x[:10]
rows = np.concatenate(
    [shown.cpu().numpy().reshape(-1, 28, 28)] + [vc.reconstruct(run.model, shown) for run in arch_runs]
)
fig, ax = plt.subplots(figsize=(10, 0.9 * (len(arch_runs) + 1) + 0.5))
ax.imshow(image_grid(rows, ncols=10), cmap="gray")
ax.set_yticks(np.arange(len(arch_runs) + 1) * 28 + 14, ["original", *(run.params["ARCH"] for run in arch_runs)])
ax.set_xticks([])
ax.set_title(f"Os mesmos dígitos de teste reconstruídos por cada arquitetura (z = {ARCH_LATENT_DIM})")
show_figure(fig, "lab_11_arquiteturas", FIGURES_DIR)
architectures = findings.two_configurations(arch_stats["conv"]["test_loss"], arch_stats["mlp"]["test_loss"])
sizes_ratio = arch_stats["mlp"]["parameters"][0] / arch_stats["conv"]["parameters"][0]
time_ratio = seconds_per_epoch["conv"] / seconds_per_epoch["mlp"]

# %% jupyter={"source_hidden": true} tags=["remove-input"]
arch_text = {
    Compared.BETTER: "Com {ratio:.1f} vezes menos parâmetros, o convolucional tem −ELBO de teste menor, por {margin:.2f} nats em média (diferença conv − mlp: intervalo de 95 % de {low:.2f} a {high:.2f}), depois das mesmas {epochs} épocas.",
    Compared.TIE: "Com {ratio:.1f} vezes menos parâmetros, o convolucional empata no −ELBO de teste: diferença média de {difference:.2f} nats, com o zero no intervalo de 95 % ({low:.2f} a {high:.2f}).",
    Compared.WORSE: "Com {ratio:.1f} vezes menos parâmetros, o convolucional tem −ELBO de teste maior, por {margin:.2f} nats em média (diferença conv − mlp: intervalo de 95 % de {low:.2f} a {high:.2f}), depois das mesmas {epochs} épocas.",
}[architectures.verdict]

# %% jupyter={"source_hidden": true} tags=["remove-input"]
say(
    arch_text + " O tempo por época da tabela é o de quando cada um treinou (semente {seed}): {slower:.1f} vezes o do "
    "totalmente conectado, uma medida só de cada.",
    architectures,
    ratio=sizes_ratio,
    epochs=NUM_EPOCHS,
    slower=time_ratio,
    seed=SEED,
    margin=abs(architectures.difference),
)

# %% [markdown]
# ## 9. Condicionar no rótulo
#
# O VAE condicional (`ARCH="cvae"`: o modelo M2 de Kingma, Rezende, Mohamed & Welling, 2014, com o rótulo sempre
# observado; o CVAE de Sohn, Lee & Yan, 2015, tem ainda uma rede para o *prior* condicional) recebe o rótulo $y$
# junto da imagem no codificador, $q_\phi(z\mid x, y)$, e junto de $z$ no decodificador, $p_\theta(x\mid z, y)$;
# o *prior* continua $\mathcal{N}(0, I)$ e a perda tem a mesma forma. O rótulo entra como um vetor *one-hot*
# multiplicado por 10 (`vae_core.LABEL_SCALE`): uma escolha de projeto deste curso, não um valor que o
# laboratório mede. Para gerar um 7, sorteamos $z$ e pedimos $y = 7$.
#
# **O que o código pode deixar de guardar.** Sobre o dígito, o código de um VAE sem rótulo guarda no máximo
# $I(Z; Y) \le H(Y)$ — a entropia das frequências dos rótulos, ln 10 ≈ 2,30 nats. Se a KL cai mais que isso com o
# rótulo, o excesso não é a identidade do dígito. E quanto do dígito o código do condicional ainda carrega se
# mede direto: 5 vizinhos mais próximos leem o rótulo verdadeiro nos $\mu$ de teste, com os $\mu$ de 10.000
# imagens de treino como referência.
#
# A interface para usar um modelo treinado: `model.decode(z, y)` devolve imagens em $[0, 1]$ para um tensor
# float `z` de forma (n, d) e um tensor de inteiros `y` de forma (n,), com rótulos de 0 a 9.

# %%
cond_runs = [runs[name] for name in groups["condicional"] if runs[name].conditional]
base_runs = [runs[name] for name in groups["condicional"] if not runs[name].conditional]
test_labels = test_y.cpu().numpy()
conditional = {
    run.name: lab.conditional_quality(run.model, classifier, test_x, test_y, QUALITY_SAMPLES // 10, SEED)
    for run in cond_runs
}
cond_run, cond_model = cond_runs[0], cond_runs[0].model
display(
    Markdown(
        markdown_table(
            ["z", "modelo", "−ELBO teste", "BCE", "KL", "ativas", "acerto condicional", anchor_column],
            [
                [
                    run.params["LATENT_DIM"],
                    "condicional" if run.conditional else "sem rótulo",
                    br_number(run.metrics["test_loss"], 2),
                    br_number(run.metrics["test_bce"], 2),
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


# %%
def codes(run, x, y):
    """Os μ de `x` (no condicional, com os rótulos `y`)."""
    return vc.encode_dataset(run.model, x, y=y if run.conditional else None)[0].numpy()


train_x10k, train_y10k = main.train_x[:10000], main.train_y[:10000]
knn = tuple(
    analysis.knn_correct_against(
        codes(run, train_x10k, train_y10k), train_y10k.cpu().numpy(), codes(run, test_x, test_y), test_labels
    )
    for run in (cond_run, base_runs[0])
)
cond_mu = codes(cond_run, test_x, test_y)
kl_seeds = [lab.compare(runs, names, "SEED")[2]["test_kl"] for names in (groups["sementes"], groups["sementes_cvae"])]
loss_seeds = [
    lab.compare(runs, names, "SEED")[2]["test_loss"] for names in (groups["sementes"], groups["sementes_cvae"])
]
label_facts = findings.conditional(kl_seeds[0], kl_seeds[1], test_labels, knn)
label_loss = findings.two_configurations(loss_seeds[1], loss_seeds[0])
accuracy = conditional[cond_run.name]

# %% jupyter={"source_hidden": true} tags=["remove-input"]
carries = {
    Compared.BETTER: "E o rótulo tira parte do dígito do código, não todo: 5 vizinhos leem o rótulo verdadeiro nos μ do condicional em {knn_conditional:.1%} das imagens de teste (sem rótulo: {knn_plain:.1%}; chutando a classe mais comum: {chance:.1%}) — venha essa informação da imagem ou do rótulo, que o codificador também recebe.",
    Compared.TIE: "E o código não carrega mais o dígito: 5 vizinhos leem o rótulo verdadeiro nos μ do condicional em {knn_conditional:.1%} das imagens de teste, como quem chuta a classe mais comum ({chance:.1%}; sem rótulo: {knn_plain:.1%}).",
    Compared.WORSE: "E o código esconde o dígito: 5 vizinhos acertam menos que o chute ({knn_conditional:.1%} contra {chance:.1%}).",
}[label_facts.still_carries]

# %% jupyter={"source_hidden": true} tags=["remove-input"]
say(
    "Com z = {z}, o rótulo baixa a KL em {kl_drop:.2f} nats (intervalo de 95 %: {kl_low:.2f} a {kl_high:.2f}; "
    "{seeds} sementes de cada modelo). Do que o código guardava sobre o dígito, "
    "no máximo H(Y) = {label_entropy:.2f} nats podiam sair: pelo menos {beyond_label:.2f} nats da queda (pelo limite "
    "inferior do intervalo) não são informação sobre o dígito — a KL também inclui o desencontro entre a "
    "posterior agregada e o *prior*, que pode cair. " + carries,
    label_facts,
    z=cond_model.latent_dim,
    loss_drop=-label_loss.difference,
    seeds=len(groups["sementes"]),
)

# %% [markdown]
# **"Gere oito 7s."** Cada linha pede um dígito ao modelo condicional, com os seus próprios sorteios de $z$; à direita,
# medidas em `QUALITY_SAMPLES` ÷ 10 médias geradas de cada dígito: a fração que o classificador lê como o dígito
# pedido e a distância de Fréchet às imagens de teste daquele dígito (cada dígito contra as suas próprias
# imagens, com dez vezes menos de cada lado: não se compara com a distância das tabelas).

# %%
rows_of_digits = np.stack([vc.sample_images(cond_model, 8, SEED + d, [d] * 8) for d in range(10)])
fig, ax = plt.subplots(figsize=(8, 9))
ax.imshow(image_grid(rows_of_digits.reshape(-1, 28, 28), ncols=8), cmap="gray")
ax.set_yticks(np.arange(10) * 28 + 14, [f"y = {d}" for d in range(10)])
ax.set_xticks([])
right = ax.secondary_yaxis("right")
right.set_yticks(
    np.arange(10) * 28 + 14,
    [
        f"{br_number(100 * a, 1)}% · Fréchet {br_number(f, 1)}"
        for a, f in zip(accuracy["per_digit"], accuracy["fd_per_digit"])
    ],
)
ax.set_title(f"Médias do VAE condicional (z = {cond_model.latent_dim}) para cada rótulo pedido")
show_figure(fig, "lab_12_condicional_amostras", FIGURES_DIR)

# %% jupyter={"source_hidden": true} tags=["remove-input"]
say(
    "Com z = {z}, {accuracy:.1%} das {samples:,} médias geradas são lidas como o dígito pedido, de {worst:.1%} no "
    "{worst_digit} a {best:.1%} no {best_digit}.",
    z=cond_model.latent_dim,
    accuracy=accuracy["accuracy"],
    samples=accuracy["samples"],
    worst=accuracy["per_digit"].min(),
    worst_digit=int(accuracy["per_digit"].argmin()),
    best=accuracy["per_digit"].max(),
    best_digit=int(accuracy["per_digit"].argmax()),
)

# %% [markdown]
# **Analogias.** Cada linha guarda o $z$ inferido de uma imagem de teste (à esquerda, com o seu rótulo
# verdadeiro) e cada coluna decodifica esse $z$ com outro rótulo. Se $z$ guarda o estilo, a inclinação do traço
# passa de coluna em coluna.

# %%
analogy_idx = np.array([int(np.flatnonzero(test_labels == d)[0]) for d in (2, 4, 5, 7, 9, 0, 3, 8)])
analogies = np.stack([vc.decode_latent(cond_model, np.repeat(cond_mu[[i]], 10, 0), np.arange(10)) for i in analogy_idx])
grid = np.concatenate([test_x[analogy_idx].cpu().numpy().reshape(-1, 1, 28, 28), analogies], axis=1)
fig, ax = plt.subplots(figsize=(10, 7.5))
ax.imshow(image_grid(grid.reshape(-1, 28, 28), ncols=11), cmap="gray")
ax.set_xticks(np.arange(11) * 28 + 14, ["original"] + [f"y = {d}" for d in range(10)])
ax.set_yticks(np.arange(len(analogy_idx)) * 28 + 14, [f"um {test_labels[i]}" for i in analogy_idx])
ax.set_title("O estilo de cada imagem de teste (linhas) com cada rótulo (colunas)")
show_figure(fig, "lab_13_analogias", FIGURES_DIR)
many = np.arange(200)  # a medida em 200 imagens de teste, não só nas 8 da figura
many_images = vc.decode_latent(cond_model, np.repeat(cond_mu[many], 10, axis=0), np.tile(np.arange(10), len(many)))
many_read = digits.read(classifier, torch.as_tensor(many_images).reshape(-1, 784))[0]
many_slant = analysis.stroke_geometry(many_images)[0].reshape(len(many), 10)
other_labels = np.arange(10)[None, :] != test_labels[many][:, None]  # com o próprio rótulo, é uma reconstrução
source_slant = analysis.stroke_geometry(test_x[many].cpu().numpy())[0]
style = findings.style(many_read, np.tile(np.arange(10), len(many)), source_slant, many_slant, other_labels)

# %% jupyter={"source_hidden": true} tags=["remove-input"]
transfer = {
    True: "A inclinação do traço passa para os outros dígitos: correlação de {slant_correlation:.2f} entre a inclinação da original e a das nove imagens geradas do seu $z$ com os outros rótulos.",
    False: "A inclinação do traço quase não passa para os outros dígitos: correlação de {slant_correlation:.2f} entre a inclinação da original e a das nove imagens geradas do seu $z$ com os outros rótulos.",
}[style.transfers]

# %% jupyter={"source_hidden": true} tags=["remove-input"]
say(
    transfer + " Nessas {generated:,} imagens ({sources} de teste × 10 rótulos), o classificador lê o rótulo "
    "pedido em {read:.1%}.",
    style,
    generated=10 * len(many),
    sources=len(many),
)

# %% [markdown]
# **O código num plano.** Com $z$ de duas dimensões, tudo o que o código guarda de um dígito cabe numa grade: fixamos
# $y$ = `CONDITIONAL_DIGIT` e percorremos $z_1$ e $z_2$ nos quantis de 5 % a 95 % da $\mathcal{N}(0, 1)$.

# %%
two_d = [run for run in cond_runs if run.params["LATENT_DIM"] == 2]
if two_d:  # só com 2 em CONDITIONAL_LATENT_SIZES
    values = analysis.normal_quantiles(11)
    style_grid = analysis.manifold_grid(two_d[0].model, values, values, digit=CONDITIONAL_DIGIT)
    grid_read = digits.read(classifier, torch.as_tensor(style_grid).reshape(-1, 784))[0]
    fig, ax = plt.subplots(figsize=(7, 7))
    ax.imshow(image_grid(style_grid.reshape(-1, 28, 28), ncols=len(values)), cmap="gray")
    ticks = np.arange(len(values)) * 28 + 14
    ax.set_xticks(ticks[::2], [br_number(v, 1) for v in values[::2]])
    ax.set_yticks(ticks[::2], [br_number(v, 1) for v in values[::-1][::2]])
    read_share = br_number(100 * (grid_read == CONDITIONAL_DIGIT).mean(), 1)
    ax.set(
        xlabel="z₁ (quantis da N(0, 1))",
        ylabel="z₂ (quantis da N(0, 1))",
        title=f"O {CONDITIONAL_DIGIT} do VAE condicional com z 2-D (lido como {CONDITIONAL_DIGIT} em {read_share}%)",
    )
    show_figure(fig, "lab_14_estilo_2d", FIGURES_DIR)

# %% [markdown]
# **Explorador.** Escolha o dígito e mova os controles: cada um muda uma das dimensões de $z$ com mais KL do
# VAE condicional (as demais ficam na média dos códigos), e a linha de baixo mostra o mesmo $z$ — o mesmo
# estilo — com cada um dos dez rótulos. No GitHub ou no site, onde os controles não rodam, a figura seguinte
# mostra a mesma função.

# %% tags=["nbval-ignore-output"]
cond_kl = cond_run.details["kl_dims"]
cvae_explorer = ConditionalExplorer(
    cond_model, cond_mu, cond_kl, digit=CONDITIONAL_DIGIT, n_sliders=min(5, cond_model.latent_dim)
)
display(cvae_explorer)

# %%
n_style = min(5, cond_model.latent_dim)
sweep = conditional_traversal(cond_model, cond_mu, cond_kl, CONDITIONAL_DIGIT, n_style)
fig, ax = plt.subplots(figsize=(9, n_style + 0.6))
ax.imshow(image_grid(sweep.reshape(-1, 28, 28), ncols=sweep.shape[1]), cmap="gray")
ax.set_yticks(np.arange(n_style) * 28 + 14, [f"dimensão {j + 1}" for j in np.argsort(cond_kl)[::-1][:n_style]])
ax.set_xticks(np.arange(sweep.shape[1]) * 28 + 14, [f"{br_number(v, 2)}σ" for v in np.linspace(-3, 3, sweep.shape[1])])
ax.set_title(f"Cada controle percorrido, com y = {CONDITIONAL_DIGIT} (σ: desvio-padrão dos μ nessa dimensão)")
show_figure(fig, "lab_15_condicional_controles", FIGURES_DIR)

# %% [markdown]
# ## 10. Todas as execuções, e o ELBO contra a qualidade das médias geradas
#
# Uma linha por execução, com o nome do seu checkpoint (o arquivo fica em `CHECKPOINT_DIR`). Os segundos são o
# tempo de treino medido quando cada execução treinou (guardado no checkpoint), sem a avaliação por época; as
# quatro últimas colunas medem as médias do decodificador em $z \sim \mathcal{N}(0, I)$ (o condicional, com os
# rótulos nas proporções do teste); "—": a medida não se aplica ou não foi feita (o autoencoder não tem ELBO; as
# execuções binarizadas são medidas no teste binarizado, e a qualidade é medida contra as imagens de teste em tons
# de cinza; as do colapso e as sementes extras do condicional não entram nas comparações de qualidade). A BCE do
# autoencoder é a do seu código determinístico; a dos VAEs, com z sorteado.

# %% jupyter={"source_hidden": true} tags=["remove-input"]
display(Markdown(lab.summary_table(runs, real_scores)))

# %% [markdown]
# **O ELBO ordena a qualidade do que cada modelo gera?** Cada ponto é uma **configuração distinta** das comparações de
# tamanho, de β e de arquitetura (semente `SEED`; as réplicas de outras sementes não contam como pontos), com o
# seu −ELBO de teste e a distância de Fréchet das suas médias geradas. A correlação de postos (Spearman) vem com
# um intervalo de 95 % por reamostragem das configurações.

# %%
distinct = [runs[name] for name in dict.fromkeys(groups["latente"] + groups["beta"] + groups["arquitetura"])]
elbos = np.array([run.metrics["test_loss"] for run in distinct])
fds = np.array([run.metrics["fd"] for run in distinct])


def short_name(run) -> str:
    """O que distingue a configuração da referência (z = 20, β = 1, mlp)."""
    p = run.params
    if p["ARCH"] != "mlp":
        return p["ARCH"]
    if p["BETA"] != 1:
        return f"β = {br_number(p['BETA'], None)}"
    return f"z = {p['LATENT_DIM']}"


near = elbos - elbos.min() < 8
fig, axes = plt.subplots(1, 2, figsize=(13, 5))
for ax, shown, title in (
    (axes[0], np.ones_like(near), "Todas"),
    (axes[1], near, "Ampliado: até 8 nats do melhor −ELBO"),
):
    ax.scatter(elbos[shown], fds[shown], color="tab:blue", s=30)
    for k, (run, x, y) in enumerate(zip(distinct, elbos, fds)):
        if shown[k] and (ax is axes[1] or not near[k]):
            ax.annotate(
                short_name(run), (x, y), textcoords="offset points", xytext=(5, 4 if k % 2 else -10), fontsize=8
            )
    ax.set(xlabel="−ELBO de teste (nats por imagem)", ylabel="distância de Fréchet (menor é melhor)", title=title)
    ax.grid(alpha=0.3)
fig.suptitle(f"{len(distinct)} configurações distintas, {NUM_EPOCHS} épocas cada")
plt.tight_layout()
show_figure(fig, "lab_16_elbo_frechet", FIGURES_DIR)
ranked = findings.ranking(elbos, fds, SEED)

# %% jupyter={"source_hidden": true} tags=["remove-input"]
rank_text = {
    True: "Entre as {configurations} configurações, a correlação de postos entre o −ELBO e a distância de Fréchet é ρ = {rho:.2f} (intervalo de 95 %: {low:.2f} a {high:.2f}): aqui, o ELBO e a qualidade das médias geradas andam juntos. Mas estas configurações diferem quase só na capacidade (z, β, arquitetura), que move as duas medidas juntas; em geral, a verossimilhança e a qualidade do que se gera podem andar separadas (Theis et al., 2016).",
    False: "Entre as {configurations} configurações, a correlação de postos entre o −ELBO e a distância de Fréchet é ρ = {rho:.2f}, com o intervalo de 95 % ({low:.2f} a {high:.2f}) chegando a zero: estas medidas não mostram que o ELBO ordena a qualidade das médias geradas.",
}[ranked.agrees]

# %% jupyter={"source_hidden": true} tags=["remove-input"]
say(rank_text, ranked)

# %% [markdown]
# ## 11. Conclusões
#
# Cada pergunta da introdução, respondida pelo que se mediu aqui — modelos de 20 épocas, uma semente por
# configuração (cinco nas comparações de duas), no MNIST de tons de cinza salvo onde se diz.

# %% jupyter={"source_hidden": true} tags=["remove-input"]
say(
    "1. **Dimensões latentes**: o menor −ELBO é o de z = {best} (outros tamanhos empatados com ele: {tied}); "
    "com z = {largest}, {active_largest} dimensões ficam ativas.\n"
    "2. **Peso na KL**: cada β é um ponto da troca entre taxa e distorção; entre β vizinhos, −ΔD/ΔR fica entre os "
    "dois β, como a inclinação −β da fronteira prevê, em {rd.consistent} dos {rd.pairs} pares.\n"
    "3. **O que a KL compra**: BCE {bce_ae:.2f} no autoencoder contra {bce_vae:.2f} no VAE; do *prior*, Fréchet "
    "{fd_ae_prior:,.1f} contra {fd_vae_prior:,.1f}; de uma mistura ajustada, {fd_ae_mixture:,.1f} contra "
    "{fd_vae_mixture:,.1f} (reais: {fd_real:,.1f}).",
    sizes_facts,
    kl_buys,
    rd=rd,
)

# %% jupyter={"source_hidden": true} tags=["remove-input"]
answers = {
    "beta": COLLAPSE_BETA,
    "hidden": hidden,
    "warm": warm,
    "free": free,
    "pixel": pixel,
    "plain": plain_bin,
    "pixel_free": pixel_free,
    "ratio": sizes_ratio,
    "arch": architectures,
    "label": label_facts,
    "ranked": ranked,
}
seconds = sum(run.metrics["seconds"] for run in runs.values())
cost = {
    "runs": len(runs),
    "seconds": seconds,
    "minutes": seconds / 60,
    "epochs": NUM_EPOCHS,
    "threads": threads,
    "trained": len(trained_now),
    "reused": len(runs) - len(trained_now),
    "seed": SEED,
}

# %% jupyter={"source_hidden": true} tags=["remove-input"]
say(
    "4. **Colapso posterior**: a perda com a média nos pixels é um β = {beta:g} escondido, e o código termina com "
    "{hidden.kl:.2f} nats; o aquecimento termina com {warm.kl:.2f}, os bits livres com {free.kl:.2f}. Com o "
    "decodificador autorregressivo (binarizado), a taxa é {pixel.kl:.2f} nats contra {plain.kl:.2f} do `mlp`, e "
    "{pixel_free.kl:.2f} com bits livres.\n"
    "5. **Arquitetura**: o convolucional, com {ratio:.1f} vezes menos parâmetros, difere do totalmente conectado "
    "em {arch.difference:.2f} nats de −ELBO (intervalo de 95 %: {arch.low:.2f} a {arch.high:.2f}).",
    **answers,
)

# %% jupyter={"source_hidden": true} tags=["remove-input"]
say(
    "6. **Rótulo**: a KL cai {label.kl_drop:.2f} nats, dos quais no máximo {label.label_entropy:.2f} podem ser o "
    "dígito; nos μ do condicional (cujo codificador também recebe y), 5 vizinhos leem o dígito em "
    "{label.knn_conditional:.1%} das imagens.\n"
    "7. **ELBO e qualidade das médias geradas**: ρ = {ranked.rho:.2f} ({ranked.low:.2f} a {ranked.high:.2f}) entre "
    "{ranked.configurations} configurações.",
    **answers,
)

# %% jupyter={"source_hidden": true} tags=["remove-input"]
say(
    "As {runs} execuções somam {seconds:,.0f} s de treino ({minutes:.1f} min, {epochs} épocas cada, uma depois da "
    "outra); nesta execução do laboratório {trained} treinaram e {reused} foram reutilizadas "
    "dos seus checkpoints, e o notebook inteiro levou {wall:,.0f} s (os tempos de treino são os de quando cada uma treinou, às vezes com a máquina dividida com outros processos). Com os parâmetros padrão, a execução z = 20, "
    "β = 1, `mlp`, semente {seed} é a configuração do modelo do capítulo: os mesmos pesos.",
    **cost,
    wall=time.perf_counter() - lab_start,
)
