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
# # Variational Autoencoder (VAE) no MNIST
#
# Neste capítulo construímos, treinamos e examinamos um *Variational Autoencoder* (Kingma & Welling, 2013)
# nos dígitos manuscritos do MNIST. Ao final você saberá:
#
# 1. por que o VAE otimiza um limite inferior da verossimilhança (o ELBO) e como a reparametrização o torna treinável;
# 2. ler as curvas de aprendizado e dizer se o modelo sobreajusta;
# 3. de onde vem o erro de reconstrução e por que as amostras parecem borradas;
# 4. o que o termo KL mede — e por que ele não é a informação que o código carrega;
# 5. como o espaço latente organiza os dígitos, explorando-o com controles deslizantes.
#
# A avaliação avançada deste mesmo modelo fica no notebook `avaliacao`; as comparações entre configurações,
# no laboratório `experimentos`.

# %% tags=["parameters"]
BATCH_SIZE: int = 128  # imagens por lote
NUM_EPOCHS: int = 20  # épocas de treino
LATENT_DIM: int = 20  # dimensão do espaço latente z
HIDDEN_DIM: int = 400  # neurônios da camada oculta (codificador e decodificador) do modelo "mlp"
ARCH: str = "mlp"  # "mlp" (o clássico, totalmente conectado) ou "conv" (convolucional)
BETA: float = 1.0  # peso da KL no treino: 1 é o ELBO clássico; outro valor, um β-VAE
LEARNING_RATE: float = 1e-3  # taxa de aprendizado do Adam
SEED: int = 42  # semente de tudo: partição, inicialização, ordem dos lotes, amostras
VAL_SIZE: int = 5000  # imagens de validação tiradas das 60.000 de treino
TRAIN_SIZE: "int or None" = None  # None: todas as que sobram (55.000); um inteiro usa um subconjunto
BINARIZE: bool = False  # True: MNIST binarizado dinamicamente (verossimilhança de Bernoulli de verdade)
DATA_DIR: "str or None" = None  # None: data/ na raiz do projeto (ou a variável VAE_MNIST_DATA_DIR)
DEVICE: str = "auto"  # "auto", "cpu", "cuda" ou "mps"
NUM_THREADS: "int or None" = None  # None: todos os núcleos disponíveis; fixo durante a execução
PROGRESS: bool = True  # barra de progresso do treino
CHECKPOINT_DIR: "str or None" = None  # None: checkpoints/ na raiz (ou VAE_MNIST_CHECKPOINT_DIR), um por configuração
CHECKPOINT_PATH: "str or None" = None  # None: o arquivo da configuração em CHECKPOINT_DIR; ou um arquivo escolhido
RESUME: bool = False  # True: exige um checkpoint para continuar; o padrão já continua ou reutiliza sozinho
SKIP_TRAINING: bool = False  # True: exige o checkpoint completo desta configuração e nunca treina
FIGURES_DIR: "str or None" = None  # None: não salva; uma pasta: cada figura também vira um PNG com nome fixo
SNAPSHOT_EVERY: int = 1  # a cada quantas épocas reconstruir os 8 dígitos de acompanhamento
TSNE_SAMPLES: int = 5000  # imagens de teste projetadas pelo t-SNE e comparadas por vizinhos (até 10.000)
N_SLIDERS: int = 5  # controles deslizantes do explorador do espaço latente
EXPLORE_DIGIT: int = 3  # dígito de teste de onde a exploração parte
EXPLORE_INDEX: int = 0  # qual exemplo desse dígito no teste (0 é o primeiro)
EXPLORE_MODE: str = "pca"  # controles nas componentes principais de μ ("pca") ou nas dimensões de z por KL ("dims")

# %% [markdown]
# ## 1. Preparação
#
# A primeira célula confere os parâmetros (com um valor inválido a execução para aqui, e a mensagem diz o que
# é permitido), fixa a semente e diz se o modelo treina do zero ou sai de um checkpoint já gravado.

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import display
from sklearn.decomposition import PCA

import vae_core as vc
from vae_tools import analysis, checkpoints, findings, mnist, training
from vae_tools.explorer import MODES, LatentExplorer, LatentSpace, traversal
from vae_tools.figures import br_number, image_grid, say, scatter_digits, show_figure, show_source
from vae_tools.findings import Compared, Fit, Information, Ink
from vae_tools.parameters import PARAMETER_NAMES, resolve_device, seed_everything, validate_params

PARAMS = validate_params({name: globals()[name] for name in PARAMETER_NAMES})
globals().update(PARAMS)  # os parâmetros passam a ter os tipos certos (o papermill pode mandar texto)
plan = checkpoints.plan_run(PARAMS)
training.require_snapshots(plan)
threads = seed_everything(SEED, NUM_THREADS)
device = resolve_device(DEVICE)
print(f"PyTorch {torch.__version__} | dispositivo: {device} | threads: {threads} | semente: {SEED}")
print(plan.describe())

# %% [markdown]
# ## 2. Os dados
#
# O MNIST tem 60.000 imagens de treino e 10.000 de teste, de 28×28 pixels em tons de cinza, que guardamos
# com valores em $[0, 1]$. Das imagens de treino separamos, com a semente, um conjunto de **validação** que
# acompanha o treino. O **teste** não escolhe nada (a arquitetura, as épocas e a taxa de aprendizado foram
# fixadas de antemão): ele serve para medir, nas seções 7 a 12, o modelo em imagens que ele nunca viu.

# %% tags=["nbval-check-output"]
data = mnist.load_mnist(mnist.resolve_data_dir(DATA_DIR), val_size=VAL_SIZE, train_size=TRAIN_SIZE, seed=SEED)
train_x = mnist.flatten_images(data.train_x, device)  # uint8: cada lote vira float em [0, 1] no treino
val_x, test_x = mnist.to_model_input(data.val_x, device), mnist.to_model_input(data.test_x, device)
if BINARIZE:  # validação e teste: uma amostra de Bernoulli fixa; o treino sorteia outra a cada lote
    val_x, test_x = mnist.binarize_fixed(val_x, SEED), mnist.binarize_fixed(test_x, SEED + 1)
labels = data.test_y.numpy()
explore_start = mnist.nth_of_digit(data.test_y, EXPLORE_DIGIT, EXPLORE_INDEX)  # confere EXPLORE_INDEX já
for name, size in data.sizes().items():
    print(f"{name:>10}: {br_number(size):>6} imagens")

# %%
fig, axes = plt.subplots(2, 5, figsize=(8, 3.6))
for ax, image, label in zip(axes.flat, data.train_x, data.train_y):
    ax.imshow(image, cmap="gray")
    ax.set_title(f"rótulo {label.item()}")
    ax.axis("off")
fig.suptitle("Exemplos do conjunto de treino")
show_figure(fig, "01_exemplos_treino", FIGURES_DIR)

# %% [markdown]
# ## 3. Arquitetura e reparametrização
#
# Um VAE é um modelo generativo com uma variável latente $z$: $p_\theta(x) = \int p_\theta(x\mid z)\,p(z)\,dz$,
# com **distribuição a priori** (*prior*) $p(z) = \mathcal{N}(0, I)$. A integral, e com ela a **posterior**
# $p_\theta(z\mid x)$, é intratável; aprendemos junto uma aproximação da posterior:
#
# - **Codificador** $q_\phi(z\mid x) = \mathcal{N}\big(\mu_\phi(x), \operatorname{diag}\sigma^2_\phi(x)\big)$:
#   $x \in \mathbb{R}^{784} \to$ camada oculta ReLU $\to (\mu, \log\sigma^2)$, com $\log\sigma^2$ livre para ser qualquer real.
# - **Decodificador** $p_\theta(x\mid z) = \prod_i \operatorname{Bernoulli}\big(x_i;\ \operatorname{sigmoid}(f_\theta(z))_i\big)$:
#   $z \to$ camada oculta ReLU $\to$ 784 *logits*, um por pixel.
# - **Reparametrização.** A perda é uma esperança sob $q_\phi(z\mid x)$, e o treino precisa do seu gradiente
#   em $\phi$. O **estimador de função escore** (REINFORCE),
#   $\nabla_\phi\,\mathbb{E}_{q_\phi}[f(z)] = \mathbb{E}_{q_\phi}[f(z)\,\nabla_\phi \log q_\phi(z\mid x)]$, vale
#   para qualquer $q$, mas só usa o *valor* de $f$ e tem variância alta. A reparametrização escreve
#   $z = \mu + \sigma \odot \varepsilon$, $\varepsilon \sim \mathcal{N}(0, I)$: a aleatoriedade fica em
#   $\varepsilon$ e o gradiente passa por $\mu$ e $\sigma$ usando a *derivada* de $f$. A seção 5 compara os dois.
#
# O modelo, como está em `vae_core.py`:

# %% jupyter={"source_hidden": true} tags=["remove-input"]
show_source(vc.VAE)

# %% tags=["nbval-check-output"]
model = training.build(PARAMS, device)[0]
print(model)
print(f"Parâmetros treináveis: {br_number(vc.count_parameters(model))}")

# %% [markdown]
# ## 4. A função de perda
#
# **O limite inferior.** Para qualquer $q_\phi(z\mid x)$, pela desigualdade de Jensen (o logaritmo é côncavo):
#
# $$\log p_\theta(x) = \log \mathbb{E}_{q_\phi(z\mid x)}\Big[\frac{p_\theta(x\mid z)\,p(z)}{q_\phi(z\mid x)}\Big]
#   \;\ge\; \mathbb{E}_{q_\phi(z\mid x)}\Big[\log \frac{p_\theta(x\mid z)\,p(z)}{q_\phi(z\mid x)}\Big] = \mathcal{L}(x),$$
#
# o **limite inferior da evidência** (ELBO). A folga é exatamente uma divergência:
# $\log p_\theta(x) = \mathcal{L}(x) + D_{KL}\big(q_\phi(z\mid x)\,\|\,p_\theta(z\mid x)\big)$. Subir $\mathcal{L}$
# em $\phi$ (o codificador) só pode diminuir a folga; em $\theta$ (o decodificador), sobe o limite — subindo
# $\log p_\theta(x)$ ou deixando a posterior verdadeira mais parecida com $q_\phi$.
#
# **Os dois termos.** Separando o logaritmo,
# $\mathcal{L}(x) = \mathbb{E}_{q_\phi(z\mid x)}\big[\log p_\theta(x\mid z)\big] - D_{KL}\big(q_\phi(z\mid x)\,\|\,p(z)\big)$.
# A perda é $-\mathcal{L}(x)$, somada sobre os pixels e as dimensões latentes de cada imagem:
#
# - **reconstrução**: $-\log p_\theta(x\mid z) = \sum_{i=1}^{784} \operatorname{BCE}(x_i, \hat{x}_i)$, a entropia
#   cruzada binária, com um $z$ sorteado por imagem e calculada a partir dos logits (numericamente estável);
# - **regularização**: a KL entre duas gaussianas tem forma fechada (Kingma & Welling, 2013, apêndice B),
#   $D_{KL} = -\tfrac{1}{2}\sum_{j=1}^{d}\big(1 + \log\sigma_j^2 - \mu_j^2 - \sigma_j^2\big)$.
#
# **Pixels cinza.** A Bernoulli só soma 1 sobre $x_i \in \{0, 1\}$; em intensidades contínuas a BCE não é o
# logaritmo de uma verossimilhança normalizada (Loaiza-Ganem & Cunningham, 2019). Os "nats" deste capítulo
# são valores do objetivo, comparáveis entre si e não com log-verossimilhanças de artigos; com `BINARIZE=True`
# passam a ser limites de log-verossimilhança de verdade, comparáveis com os de artigos que binarizam do mesmo
# jeito. O código:

# %% jupyter={"source_hidden": true} tags=["remove-input"]
show_source(vc.kl_divergence, vc.reconstruction_bce, vc.loss_terms, vc.training_loss)

# %% jupyter={"source_hidden": true} tags=["remove-input"]
initial = vc.evaluate(model, val_x)
say(
    "Antes do treino a perda de validação é **{loss:.1f}** nats por imagem (BCE {bce:.1f} + KL {kl:.2f}): "
    "um decodificador que ainda não aprendeu prevê cerca de 0,5 em cada pixel, o que custa perto de "
    "$784 \\ln 2 \\approx 543$ nats.",
    **initial,
)

# %% [markdown]
# ## 5. Treinamento
#
# Adam, lotes em ordem aleatória (com semente) e a validação medida ao fim de cada época; todas as perdas
# são médias **por imagem**. Com `BETA` ≠ 1 o treino minimiza BCE + β·KL (um β-VAE), mas as perdas relatadas
# são sempre o −ELBO, BCE + KL. Uma época, em `vae_core.py`:

# %% jupyter={"source_hidden": true} tags=["remove-input"]
show_source(vc.train_epoch)

# %% tags=["nbval-ignore-output"]
optimizer = vc.make_optimizer(model, LEARNING_RATE)
snapshot_x = val_x[:8]
history = training.train(plan, model, optimizer, train_x, val_x, PROGRESS, snapshot_x, SNAPSHOT_EVERY)
epochs_done = len(history["train_loss"])
print(f"{'época':>5} | {'treino':>8} {'BCE':>7} {'KL':>6} | {'validação':>9} {'BCE':>7} {'KL':>6}")
for e in range(epochs_done):
    row = [br_number(history[f"{part}_{m}"][e], 2) for part in ("train", "val") for m in vc.METRICS]
    print(f"{e + 1:5d} | {row[0]:>8} {row[1]:>7} {row[2]:>6} | {row[3]:>9} {row[4]:>7} {row[5]:>6}")

# %% [markdown]
# **Por que reparametrizar.** Com o modelo treinado, estimamos o mesmo gradiente,
# $\nabla_\mu\,\mathbb{E}_{q(z\mid x)}[\log p_\theta(x\mid z)]$, para 32 imagens de validação, com 500 sorteios
# de $z$ por imagem e três estimadores de mesma esperança: a reparametrização, a função escore e a função
# escore com uma **linha de base** (a média de $\log p_\theta(x\mid z)$ nos outros sorteios).

# %%
gradients = analysis.gradient_estimators(model, val_x[:32], 500, SEED)
variances = {name: g.var(0, ddof=1).ravel() for name, g in gradients.items()}
names = {"reparameterization": "reparametrização", "score": "escore", "score_baseline": "escore com linha de base"}
fig, ax = plt.subplots(figsize=(9, 3.6))
edges = np.log10([min(v.min() for v in variances.values()), max(v.max() for v in variances.values())])
for (name, values), color in zip(variances.items(), ["tab:blue", "tab:red", "tab:orange"]):
    ax.hist(values, bins=np.logspace(*edges, 60), histtype="step", lw=1.8, color=color, label=names[name])
ax.set(xscale="log", xlabel="variância de uma coordenada do gradiente (nats², escala log)", ylabel="coordenadas")
ax.set_title(f"Variância dos estimadores de ∇μ E[log p(x|z)]: 32 imagens × {LATENT_DIM} dimensões")
ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=3, fontsize=8, frameon=False)
show_figure(fig, "02_variancia_gradientes", FIGURES_DIR)
gradient_facts = findings.estimators(variances)

# %% jupyter={"source_hidden": true} tags=["remove-input"]
say(
    "**Com os mesmos sorteios, a reparametrização estima o gradiente com muito menos ruído.** A variância "
    "mediana (entre as coordenadas) da função escore é {score_ratio:,.0f} vezes a da reparametrização; mesmo com "
    "linha de base, {baseline_ratio:,.0f} vezes. Como a variância de uma média cai com o número de sorteios, é "
    "essa a ordem do número de sorteios a mais que a função escore pede.",
    gradient_facts,
)

# %% [markdown]
# ## 6. Curvas de aprendizado

# %%
epochs = np.arange(1, epochs_done + 1)
titles = {"loss": "Perda total (−ELBO)", "bce": "Reconstrução (BCE)", "kl": "Divergência KL"}
fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
for ax, (metric, title) in zip(axes, titles.items()):
    train_curve, val_curve = history[f"train_{metric}"], history[f"val_{metric}"]
    ax.plot(epochs, train_curve, "o-", ms=3, label="treino (média durante a época)")
    ax.plot(epochs, val_curve, "s-", ms=3, label="validação (fim da época)")
    if epochs_done > 2:  # a 1ª época dominaria o eixo: a escala começa na 2ª e a 1ª fica anotada
        later = np.concatenate([train_curve[1:], val_curve[1:]])
        margin = 0.1 * (later.max() - later.min()) + 0.1
        ax.set_ylim(later.min() - margin, later.max() + margin)
        first = f"época 1: treino {br_number(train_curve[0], 1)}, validação {br_number(val_curve[0], 1)}"
        ax.annotate(first, (0.98, 0.96), xycoords="axes fraction", ha="right", va="top", fontsize=9)
    ax.set(title=title, xlabel="época", ylabel="nats por imagem")
    ax.grid(alpha=0.3)
axes[0].legend(loc="center right", fontsize=9)
plt.tight_layout()
show_figure(fig, "03_curvas_aprendizado", FIGURES_DIR)
torch.manual_seed(SEED)
train_elbo, val_elbo = analysis.elbo_per_image(model, train_x), analysis.elbo_per_image(model, val_x)
fit = findings.overfitting(history["val_loss"], train_elbo, val_elbo)

# %% jupyter={"source_hidden": true} tags=["remove-input"]
verdict = {
    Fit.GAP_STILL_IMPROVING: "**A validação ainda melhora: parar agora seria cedo.** As imagens de validação já custam mais que as de treino (uma lacuna de generalização, o primeiro sinal de sobreajuste), mas a perda de validação caiu em cada uma das {improving_epochs} últimas épocas.",
    Fit.GAP_STALLED: "**Há uma lacuna de generalização, e a validação não caiu na última época:** as imagens de validação custam mais que as de treino; se ela não voltar a cair, é hora de parar.",
    Fit.OVERFITTING: "**O modelo sobreajusta:** a perda de validação parou de cair e subiu nas últimas épocas.",
    Fit.NO_GAP: "**Não há sinal de sobreajuste:** com os pesos finais, treino e validação custam o mesmo dentro do ruído.",
}[fit.verdict]
say(
    verdict + " Com os pesos finais, validação − treino = {gap:.2f} ± {gap_se:.2f} nats por imagem (erro padrão); "
    "a melhor validação é a da época {best_epoch} de {epochs}.",
    fit,
)

# %% [markdown]
# Os mesmos oito dígitos de validação, reconstruídos (decodificando $\mu$) ao fim de algumas épocas:

# %%
snapshots = torch.stack(history["snapshots"]).numpy().astype(np.float32) / 255
snapshot_epochs = history["snapshot_epochs"]
shown_rows = [i for i, e in enumerate(snapshot_epochs) if e in (1, 2, 3, 5, 10) or i == len(snapshot_epochs) - 1]
rows = np.concatenate([snapshot_x.cpu().numpy().reshape(1, -1, 28, 28), snapshots[shown_rows]])
fig, ax = plt.subplots(figsize=(5, 0.62 * len(rows) + 0.5))
ax.imshow(image_grid(rows.reshape(-1, 28, 28), ncols=8), cmap="gray")
ax.set_yticks(np.arange(len(rows)) * 28 + 14, ["original"] + [f"época {snapshot_epochs[i]}" for i in shown_rows])
ax.set_xticks([])
ax.set_title("Reconstruções ao longo do treino")
show_figure(fig, "04_progresso_treino", FIGURES_DIR)
progress = findings.progress(snapshots, snapshot_epochs, at=3)

# %% jupyter={"source_hidden": true} tags=["remove-input"]
speed = {
    True: "**As reconstruções mudam depressa no começo e devagar depois.**",
    False: "**As reconstruções mudam num ritmo quase constante ao longo do treino.**",
}[progress.front_loaded]
say(
    speed + " Da época 1 à última, as reconstruções destes oito dígitos se aproximam das finais; na época {epoch}, "
    "depois de {pace:.0%} desse trecho do treino, já tinham feito {covered:.0%} da aproximação (distância média "
    "dos pixels).",
    progress,
)

# %% [markdown]
# ## 7. Reconstruções, e de onde vem o erro
#
# Acima, dez imagens de teste; abaixo, o que o VAE devolve ao codificá-las e decodificar a média $\mu$.

# %%
mu_test, logvar_test = vc.encode_dataset(model, test_x)
originals = test_x[:10].cpu().numpy().reshape(-1, 28, 28)
fig, ax = plt.subplots(figsize=(10, 2.3))
ax.imshow(image_grid(np.concatenate([originals, vc.decode_latent(model, mu_test[:10])]), ncols=10), cmap="gray")
ax.set_title("Originais (acima) e reconstruções (abaixo)")
ax.axis("off")
show_figure(fig, "05_reconstrucoes", FIGURES_DIR)

# %% [markdown]
# Com pixels cinza a BCE tem um **piso** por imagem: $\operatorname{BCE}(x, \hat{x}) \ge H(x) = \sum_i -x_i \ln x_i - (1-x_i)\ln(1-x_i)$,
# com igualdade só em $\hat{x} = x$, e esse piso cresce com as bordas cinza do traço. O **erro de fato** é o
# que passa dele, $\sum_i D_{KL}\big(\operatorname{Bern}(x_i)\,\|\,\operatorname{Bern}(\hat{x}_i)\big)$ — é ele
# que ordena as melhores e as piores reconstruções abaixo.

# %%
bce = analysis.reconstruction_errors(model, test_x, mu_test)
floor = analysis.bernoulli_entropy(test_x.cpu())
excess, ink = bce - floor, test_x.cpu().numpy().sum(axis=1)  # "tinta": a soma das intensidades
order = np.argsort(excess)
fig = plt.figure(figsize=(15, 6.4))
cells = fig.add_gridspec(2, 2, width_ratios=[1, 2.2], hspace=0.35)
ax = fig.add_subplot(cells[:, 0])
digit_floor, digit_excess = (np.bincount(labels, weights=v) / np.bincount(labels) for v in (floor, excess))
ax.bar(range(10), digit_floor, color="lightgray", label="piso H(x)")
ax.bar(range(10), digit_excess, bottom=digit_floor, color="tab:blue", label="erro de fato (BCE − H(x))")
ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), frameon=False)
ax.set(title="BCE média por dígito", xlabel="dígito", ylabel="nats por imagem", xticks=range(10))
for row, (idx, title) in enumerate([(order[:8], "As 8 melhores"), (order[::-1][:8].copy(), "As 8 piores")]):
    sub = fig.add_subplot(cells[row, 1])
    shown = np.concatenate([test_x[idx].cpu().numpy().reshape(-1, 28, 28), vc.decode_latent(model, mu_test[idx])])
    sub.imshow(image_grid(shown, ncols=8), cmap="gray")
    sub.set_xticks(np.arange(8) * 28 + 14, [f"{labels[i]}: {br_number(excess[i], 1)}" for i in idx], fontsize=10)
    sub.set_yticks([14, 42], ["original", "reconstrução"])
    sub.set_title(f"{title} reconstruções pelo erro de fato (abaixo: o dígito e o erro de fato, em nats)")
show_figure(fig, "06_erro_reconstrucao", FIGURES_DIR)
errors = findings.reconstruction_error(bce, floor, ink, labels)

# %% jupyter={"source_hidden": true} tags=["remove-input"]
ink_sentence = {
    Ink.GROWS: "Dentro de um mesmo dígito, o erro de fato cresce com a quantidade de tinta: correlação média {within_ink_correlation:.2f} (com todas as imagens juntas, {pooled_ink_excess_correlation:.2f} com o erro de fato e {pooled_ink_correlation:.2f} com a BCE, que inclui o piso).",
    Ink.SHRINKS: "Dentro de um mesmo dígito, o erro de fato diminui com a quantidade de tinta: correlação média {within_ink_correlation:.2f} (com todas as imagens juntas, {pooled_ink_excess_correlation:.2f} com o erro de fato e {pooled_ink_correlation:.2f} com a BCE, que inclui o piso).",
    Ink.WEAK: "Dentro de um mesmo dígito, a quantidade de tinta quase não explica o erro de fato: correlação média {within_ink_correlation:.2f} (com todas as imagens juntas, {pooled_ink_excess_correlation:.2f} com o erro de fato e {pooled_ink_correlation:.2f} com a BCE, que inclui o piso).",
}[errors.ink]
say(
    "**Boa parte da BCE é um piso que nenhum modelo baixa.** Da BCE média de {bce:.1f} nats (decodificando μ), "
    "{floor:.1f} ({floor_share:.0%}) são a entropia dos pixels cinza; o erro de fato é {excess:.1f}, e na média de "
    "cada dígito vai de {easiest_excess:.1f} (no {easiest}) a {hardest_excess:.1f}. " + ink_sentence,
    errors,
)

# %% [markdown]
# ## 8. Amostragem: médias, não sorteios
#
# Um modelo generativo cria dígitos novos: sorteamos $z \sim \mathcal{N}(0, I)$ e decodificamos. O
# decodificador devolve, para cada pixel, a **média** $\mathbb{E}[x_i\mid z] = \operatorname{sigmoid}(f_\theta(z))_i$
# da sua Bernoulli — não um sorteio de $p_\theta(x\mid z)$. À direita, para os oito primeiros $z$, a média ao
# lado de dois sorteios de Bernoulli dela: o que o modelo, tomado ao pé da letra, gera. Dado $z$, cada pixel é
# sorteado independentemente dos vizinhos, e o sorteio sai salpicado; por isso se mostram médias, como neste curso.

# %%
z_prior = torch.randn(48, LATENT_DIM, generator=torch.Generator().manual_seed(SEED))
means = vc.decode_latent(model, z_prior)
draws = analysis.bernoulli_draws(means[:8], SEED, 2)
fig = plt.figure(figsize=(14, 5.4))
cells = fig.add_gridspec(1, 2, width_ratios=[1, 1.05])
ax = fig.add_subplot(cells[0])
ax.imshow(image_grid(means, ncols=8), cmap="gray")
ax.set_title("48 médias do decodificador, z ~ N(0, I)")
ax.axis("off")
ax = fig.add_subplot(cells[1])
ax.imshow(image_grid(np.concatenate([means[:8], *draws]), ncols=8), cmap="gray")
ax.set_yticks([14, 42, 70], ["média", "sorteio 1", "sorteio 2"])
ax.set_xticks([])
ax.set_title("Os 8 primeiros z: a média e dois sorteios de Bernoulli")
show_figure(fig, "07_amostras", FIGURES_DIR)
many = vc.decode_latent(model, torch.randn(2000, LATENT_DIM, generator=torch.Generator().manual_seed(SEED + 1)))
real, rebuilt = test_x[:2000].cpu().numpy(), vc.reconstruct(model, test_x[:2000])
sample_blur = findings.blur(many, analysis.bernoulli_draws(many, SEED)[0], real, rebuilt)

# %% jupyter={"source_hidden": true} tags=["remove-input"]
blurrier = {
    Compared.BETTER: "**As médias em $z$ do *prior* são mais borradas que as reconstruções, embora as duas sejam médias:**",
    Compared.TIE: "**As médias em $z$ do *prior* são tão borradas quanto as reconstruções, médias também:**",
    Compared.WORSE: "**As médias em $z$ do *prior* são menos borradas que as reconstruções:**",
}[sample_blur.blurrier]
say(
    blurrier + " da tinta de cada imagem (pixels acima de 0,1), {gray_means:.1%} ± {gray_means_se:.1%} é "
    "cinza nas médias do *prior*, {gray_reconstructions:.1%} ± {gray_reconstructions_se:.1%} nas reconstruções e "
    "{gray_real:.1%} nas imagens de teste. Um sorteio de Bernoulli não tem cinza, mas difere da média arredondada "
    "em {flips:.0f} dos 784 pixels.",
    sample_blur,
)

# %% [markdown]
# ## 9. O termo KL e a informação do código
#
# É tentador ler a KL média, $\mathbb{E}_x D_{KL}(q(z\mid x)\,\|\,p(z))$, como "a informação que o código
# carrega". Hoffman & Johnson (2016) a dividem em duas partes, com $q(z) = \frac{1}{N}\sum_n q(z\mid x_n)$, a
# **posterior agregada** (a mistura das posteriores de todas as imagens):
#
# $$\mathbb{E}_x\, D_{KL}\big(q(z\mid x)\,\|\,p(z)\big) = I_q(x; z) + D_{KL}\big(q(z)\,\|\,p(z)\big).$$
#
# A primeira é a informação mútua entre a imagem e o código; a segunda mede quanto a nuvem de todos os códigos
# difere do *prior*. Estimamos as duas por Monte Carlo nas $N$ = 10.000 imagens de teste, com um $z$ sorteado
# por imagem. Sobre $N$ imagens a informação nunca passa de $\log N$: a divisão depende de $N$.

# %%
kl_parts = findings.kl_split(analysis.kl_split(mu_test, logvar_test, SEED))

# %% jupyter={"source_hidden": true} tags=["remove-input"]
information = {
    Information.SATURATED: "A informação estimada bate no teto de $\\log N$ = {cap:.2f} nats: os códigos destas imagens quase não se sobrepõem, e a divisão não pode dizer quanto da KL seria informação sobre mais imagens.",
    Information.BELOW_CAP: "A informação estimada fica abaixo do teto de $\\log N$ = {cap:.2f} nats: os códigos de parte destas imagens se sobrepõem.",
}[kl_parts.verdict]
say(
    "**A KL média limita por cima a informação que o código carrega.** Sobre as {images:,} imagens de teste, dos "
    "{kl:.1f} nats de KL por imagem, {information:.2f} ± {information_se:.2f} são informação sobre qual imagem foi "
    "codificada e {mismatch:.2f} ± {mismatch_se:.2f} são o desencontro entre a mistura das suas posteriores e o "
    "*prior* (o ± é só o ruído de Monte Carlo). " + information,
    kl_parts,
)

# %% [markdown]
# ## 10. O espaço latente
#
# Para ver os códigos $\mu$ no plano usamos duas projeções: o **t-SNE**, não linear, que preserva vizinhanças
# (em `TSNE_SAMPLES` imagens de teste sorteadas; ver `tsne_2d` em `vae_tools/analysis.py`), e a **PCA**, linear,
# que preserva variância e é a base dos controles deslizantes da seção 11.

# %% tags=["nbval-check-output"]
pca = PCA(random_state=SEED).fit(mu_test.numpy())
pca_2d = pca.transform(mu_test.numpy())[:, :2]
tsne_idx = torch.randperm(len(mu_test), generator=torch.Generator().manual_seed(SEED))[:TSNE_SAMPLES].numpy()
tsne_2d = analysis.tsne_2d(mu_test[tsne_idx].numpy(), SEED)
print(f"t-SNE de {br_number(len(tsne_2d))} pontos")

# %%
ratios = pca.explained_variance_ratio_
fig, axes = plt.subplots(1, 2, figsize=(14, 5.8))
scatter_digits(axes[0], tsne_2d, labels[tsne_idx])
axes[0].set(title=f"t-SNE de μ ({br_number(len(tsne_2d))} imagens de teste)", xlabel="t-SNE 1", ylabel="t-SNE 2")
scatter_digits(axes[1], pca_2d[tsne_idx], labels[tsne_idx])
axes[1].set(
    title=f"PCA de μ (as mesmas {br_number(len(tsne_2d))} imagens)",
    xlabel=f"CP 1 ({br_number(100 * ratios[0], 1)}% da variância)",
    ylabel=f"CP 2 ({br_number(100 * ratios[1], 1)}% da variância)",
)
plt.tight_layout()
show_figure(fig, "08_espaco_latente", FIGURES_DIR)
same, known = labels[tsne_idx], mnist.to_model_input(data.train_x[:10000], device)  # vizinhos: 10.000 de treino
correct = {
    "mu": analysis.knn_correct_against(
        vc.encode_dataset(model, known)[0], data.train_y[:10000], mu_test[tsne_idx], same
    ),
    "pixels": analysis.knn_correct_against(known.cpu(), data.train_y[:10000], test_x[tsne_idx].cpu(), same),
    "pca": analysis.knn_correct(pca_2d[tsne_idx], same),
    "tsne": analysis.knn_correct(tsne_2d, same),
    "mu_tsne_images": analysis.knn_correct(mu_test[tsne_idx].numpy(), same),
}
space_facts = findings.separation(correct)

# %% jupyter={"source_hidden": true} tags=["remove-input"]
versus = {
    Compared.BETTER: "**O VAE nunca viu um rótulo, e ainda assim os seus códigos separam os dígitos melhor que os próprios pixels.**",
    Compared.TIE: "**Os códigos separam os dígitos tão bem quanto os próprios pixels, com muito menos números.**",
    Compared.WORSE: "**Os códigos separam os dígitos pior que os próprios pixels: comprimir custou parte da identidade do dígito.**",
}[space_facts.versus_pixels]
say(
    versus + " Um classificador de 5 vizinhos que conhece 10.000 imagens de treino acerta, nas mesmas imagens de "
    "teste, {mu:.1%} dos dígitos com μ e {pixels:.1%} com os pixels (diferença pareada {difference:.1p} ± "
    "{difference_se:.1p}). Por validação cruzada nessas imagens: {mu_tsne_images:.1%} com μ, {tsne:.1%} no plano do "
    "t-SNE e {pca:.1%} no das duas primeiras componentes principais, que achatam um código de muitas direções.",
    space_facts,
)

# %% [markdown]
# ## 11. Exploração interativa
#
# O painel parte do código $\mu$ de uma imagem de teste — escolha o **dígito** e o **exemplo** — e mostra a
# original ao lado da decodificada. Os controles movem o código nas primeiras **componentes principais** de
# $\mu$ (as direções em que os códigos reais mais variam) ou nas **dimensões de $z$** de mais KL; cada um cobre
# a média ±3 desvios-padrão dos códigos, e "voltar ao início" volta à imagem de partida. No JupyterLab a imagem
# muda ao vivo; abaixo do painel, a figura estática da mesma função, para quem lê sem kernel.

# %% tags=["nbval-ignore-output"]
kl_dims = analysis.kl_per_dimension(mu_test, logvar_test)
space = LatentSpace(pca, mu_test.numpy(), kl_dims, N_SLIDERS)
explorer = LatentExplorer(
    model, space, mu_test.numpy(), labels, test_x.cpu().numpy(), EXPLORE_MODE, EXPLORE_DIGIT, EXPLORE_INDEX
)
display(explorer)

# %%
sweep = traversal(model, space, EXPLORE_MODE, mu_test[explore_start].numpy())
fig, ax = plt.subplots(figsize=(9, N_SLIDERS + 0.6))
ax.imshow(image_grid(sweep.reshape(-1, 28, 28), ncols=9), cmap="gray")
ax.set_yticks(np.arange(N_SLIDERS) * 28 + 14, space.labels(EXPLORE_MODE))
ax.set_xticks(np.arange(9) * 28 + 14, [f"{br_number(s, 2)}σ" for s in np.linspace(-3, 3, 9)])
ax.set_title(f"Varredura ({MODES[EXPLORE_MODE]}) a partir do {EXPLORE_DIGIT} de teste nº {EXPLORE_INDEX}")
show_figure(fig, "09_varredura_explorador", FIGURES_DIR)

# %% [markdown]
# Cada linha anda numa direção, com as outras fixas no código de partida; as colunas são posições absolutas
# (a média dos códigos ± k desvios-padrão naquela direção), não distâncias a partir do dígito de partida.
#
# ## 12. Avaliação final
#
# Por último, a perda de teste do modelo final. O código clássico de onde este curso partiu (o mesmo modelo
# 784-400-20, 20 épocas, Adam 1e-3, lotes de 128, BCE em pixels cinza) chega a cerca de 103,9 nats por imagem;
# quanto esse número varia entre sementes, o laboratório mede.

# %% tags=["nbval-check-output"]
torch.manual_seed(SEED)  # o z sorteado de cada imagem de teste: o mesmo no capítulo e no laboratório
test = findings.final_test(vc.evaluate(model, test_x), errors.bce)
print(f"Perda de teste (−ELBO): {br_number(test.loss, 2)} nats por imagem (referência clássica: 103,9)")
print(f"  reconstrução (BCE): {br_number(test.bce, 2)} | KL: {br_number(test.kl, 2)}")

# %% jupyter={"source_hidden": true} tags=["remove-input"]
noise = {
    True: "**O ruído da posterior custa {noise_cost:.1f} nats de reconstrução.** O decodificador recebe um $z$ perto do código da imagem, não o próprio código:",
    False: "**Aqui o ruído da posterior não custa reconstrução:**",
}[test.noise_costs]
say(
    noise + " a BCE de teste, com um $z$ sorteado de $q(z\\mid x)$ como o ELBO exige, é {bce:.1f}; decodificando a "
    "média $\\mu$ (seção 7), {bce_mu:.1f}.",
    test,
)

# %% [markdown]
# ## Conclusão
#
# - **O ELBO é um limite, e a reparametrização o torna treinável**: a folga é a KL até a posterior verdadeira,
#   e o gradiente reparametrizado tem muito menos variância que o da função escore.
# - **Leia as curvas pela validação**: enquanto ela cai, ainda não é hora de parar, mesmo com uma lacuna
#   entre treino e validação.
# - **Nem todo erro é erro**: com pixels cinza a BCE tem um piso, e o que se compara entre imagens é o que
#   passa dele.
# - **Figuras de amostras mostram médias**: um sorteio do modelo é binário e salpicado; a seção 8 compara o
#   borrado das médias do *prior* com o das reconstruções.
# - **A KL limita a informação por cima**: uma parte é informação sobre a imagem, o resto é o desencontro da
#   posterior agregada com o *prior* — e sobre $N$ imagens a informação não passa de $\log N$.
# - **Sem rótulos, o código organiza os dígitos**, e o t-SNE mostra isso melhor que a PCA.
#
# Limites desta execução: uma semente, 20 épocas e pixels cinza (os "nats" não são log-verossimilhanças). A
# variação entre sementes e entre configurações está no laboratório; a qualidade das amostras, o limite de
# importância, as dimensões ativas, a interpolação e um espaço de duas dimensões, no notebook `avaliacao`.
