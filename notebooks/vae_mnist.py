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
# **Objetivo geral.** Implementar, treinar e explorar um *Variational Autoencoder* (Kingma & Welling, 2013)
# sobre os dígitos manuscritos do MNIST, entendendo cada peça do modelo pela teoria e pelos resultados.
#
# **Objetivos específicos.**
# 1. Preparar o MNIST com partições de treino, validação e teste bem separadas.
# 2. Construir o codificador $q_\phi(z\mid x)$, o truque da reparametrização e o decodificador $p_\theta(x\mid z)$.
# 3. Derivar a função de perda (o ELBO negativo): reconstrução + divergência KL.
# 4. Treinar o modelo e acompanhar as curvas de perda de treino e de validação.
# 5. Avaliar reconstruções e amostras novas geradas a partir de $z \sim \mathcal{N}(0, I)$, e medir a
#    qualidade das amostras com um classificador de dígitos.
# 6. Visualizar o espaço latente (t-SNE e PCA) e explorá-lo interativamente.
# 7. Ir além do relatório clássico: ver o treino por dentro, onde o modelo erra, quais dimensões latentes
#    trabalham, quão folgado é o ELBO (limite de importância) e como fica um espaço latente de duas dimensões.
#
# O modelo, a perda e o treino (seções 3 a 5) ficam em `vae_core.py`, na raiz do projeto, e o código deles
# aparece aqui, lido do próprio módulo; parâmetros, dados, checkpoints, análises, o explorador e as figuras
# ficam no pacote `vae_tools`. Os parâmetros abaixo podem ser trocados sem editar o notebook:
# `papermill notebooks/vae_mnist.ipynb saida.ipynb -p NUM_EPOCHS 5`.

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
DATA_DIR: "str or None" = None  # None: data/ na raiz do projeto (ou a variável VAE_MNIST_DATA_DIR)
DEVICE: str = "auto"  # "auto", "cpu", "cuda" ou "mps"
NUM_THREADS: "int or None" = None  # None: todos os núcleos disponíveis; fixo durante a execução
PROGRESS: bool = True  # barra de progresso do treino
TSNE_SAMPLES: int = 5000  # imagens de teste projetadas pelo t-SNE (até 10.000)
N_SLIDERS: int = 5  # controles deslizantes do explorador do espaço latente
EXPLORE_DIGIT: int = 3  # dígito de teste de onde a exploração parte
EXPLORE_INDEX: int = 0  # qual exemplo desse dígito no teste (0 é o primeiro)
EXPLORE_MODE: str = "pca"  # controles nas componentes principais de μ ("pca") ou nas dimensões de z por KL ("dims")
CHECKPOINT_DIR: "str or None" = None  # None: checkpoints/ na raiz (ou VAE_MNIST_CHECKPOINT_DIR), um por configuração
CHECKPOINT_PATH: "str or None" = None  # None: o arquivo da configuração em CHECKPOINT_DIR; ou um arquivo escolhido
RESUME: bool = False  # True: exige um checkpoint para continuar; o padrão já continua ou reutiliza sozinho
SKIP_TRAINING: bool = False  # True: exige o checkpoint completo desta configuração e nunca treina
FIGURES_DIR: "str or None" = None  # None: não salva; uma pasta: cada figura também vira um PNG com nome fixo
SNAPSHOT_EVERY: int = 1  # a cada quantas épocas reconstruir os 8 dígitos de acompanhamento
BINARIZE: bool = False  # True: MNIST binarizado dinamicamente (verossimilhança de Bernoulli de verdade)
IWAE_SIZE: int = 2000  # imagens de teste no limite de importância com k de 1, 10 e 100
IWAE_LARGE_K: int = 1000  # um k maior, num subconjunto menor
IWAE_LARGE_SIZE: int = 200  # imagens de teste para o k maior
EPOCHS_2D: "int or None" = None  # épocas do VAE com z 2-D; None: as mesmas NUM_EPOCHS do modelo principal
QUALITY_SAMPLES: int = 10000  # imagens de cada conjunto nas medidas de qualidade (100 a 10.000)
MIXTURE_COMPONENTS: int = 10  # componentes da mistura gaussiana ajustada aos μ do treino (seção 10)

# %% [markdown]
# ## 1. Parâmetros, ambiente e plano de treino
#
# Antes de qualquer trabalho demorado conferimos os parâmetros (um valor inválido para aqui, com uma
# mensagem que diz qual parâmetro, o valor recebido e o que é permitido) e decidimos de onde cada treino
# parte: cada configuração tem o seu checkpoint, e um já treinado é reutilizado ou continuado, nunca
# sobrescrito. Depois fixamos a semente e o número de threads: com a mesma semente, na mesma máquina, as
# perdas se repetem exatamente — e os pesos iniciais de cada modelo saem da semente da sua configuração.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Markdown, display
from sklearn.decomposition import PCA
from sklearn.mixture import GaussianMixture

import vae_core as vc
from vae_tools import analysis, checkpoints, mnist, quality, training
from vae_tools import classifier as digits
from vae_tools.explorer import MODES, LatentExplorer, LatentSpace
from vae_tools.explorer import traversal as explorer_traversal
from vae_tools.figures import br_number, image_grid, markdown_table, scatter_digits, show_figure, show_source
from vae_tools.parameters import PARAMETER_NAMES, resolve_device, seed_everything, validate_params

report_start = time.perf_counter()
PARAMS = validate_params({name: globals()[name] for name in PARAMETER_NAMES})
globals().update(PARAMS)  # os parâmetros passam a ter os tipos certos (o papermill pode mandar texto)
plan = checkpoints.plan_run(PARAMS)
PARAMS_2D = PARAMS | {
    "LATENT_DIM": 2,
    "NUM_EPOCHS": EPOCHS_2D,
    "CHECKPOINT_PATH": None,
    "RESUME": False,
    "SKIP_TRAINING": False,
    "CHECKPOINT_DIR": CHECKPOINT_DIR or plan.path.parent,
}
plan_2d = checkpoints.plan_run(PARAMS_2D)  # o VAE 2-D da seção 16
threads = seed_everything(SEED, NUM_THREADS)
device = resolve_device(DEVICE)
data_dir = mnist.resolve_data_dir(DATA_DIR)
print(f"PyTorch {torch.__version__} | dispositivo: {device} | threads: {threads} | semente: {SEED}")
print(plan.describe())

# %% [markdown]
# ## 2. Preparação dos dados
#
# O MNIST tem 60.000 imagens de treino e 10.000 de teste, em tons de cinza de 28×28 pixels. Guardamos cada
# partição inteira na memória como um único tensor (o treino em bytes, convertido lote a lote), com os
# pixels em $[0, 1]$. Das imagens de treino separamos, com a semente, um conjunto de **validação** para
# acompanhar o treino; as imagens de **teste** só são usadas na avaliação final. Com `BINARIZE=True` cada
# pixel vira 0 ou 1 por sorteio de Bernoulli com a intensidade como probabilidade (uma amostra nova a cada
# lote de treino; amostras fixas para validação e teste) — veja a seção 4.

# %% tags=["nbval-check-output"]
data = mnist.load_mnist(data_dir, val_size=VAL_SIZE, train_size=TRAIN_SIZE, seed=SEED)
train_x = mnist.flatten_images(data.train_x, device)  # uint8: cada lote vira float em [0, 1] no treino
val_x, test_x = mnist.to_model_input(data.val_x, device), mnist.to_model_input(data.test_x, device)
if BINARIZE:  # validação e teste: uma amostra de Bernoulli fixa; o treino sorteia outra a cada lote
    val_x, test_x = mnist.binarize_fixed(val_x, SEED), mnist.binarize_fixed(test_x, SEED + 1)
explore_start = mnist.nth_of_digit(data.test_y, EXPLORE_DIGIT, EXPLORE_INDEX)  # confere EXPLORE_INDEX já
for name, size in data.sizes().items():
    print(f"{name:>10}: {br_number(size):>6} imagens")
print(f"pixels em [{val_x.min():.0f}, {val_x.max():.0f}], vetores de {val_x.shape[1]} valores")

# %%
fig, axes = plt.subplots(2, 5, figsize=(8, 3.6))
for ax, image, label in zip(axes.flat, data.train_x, data.train_y):
    ax.imshow(image, cmap="gray")
    ax.set_title(f"rótulo {label.item()}")
    ax.axis("off")
fig.suptitle("Exemplos do conjunto de treino")
show_figure(fig, "01_exemplos_treino", FIGURES_DIR)

# %% [markdown]
# ## 3. Arquitetura do VAE
#
# Um VAE é um modelo generativo com uma variável latente $z$: $p_\theta(x) = \int p_\theta(x\mid z)\,p(z)\,dz$,
# com **distribuição a priori** (*prior*) $p(z) = \mathcal{N}(0, I)$. A integral, e com ela a
# **distribuição a posteriori** (*posterior*) $p_\theta(z\mid x) = p_\theta(x\mid z)\,p(z)/p_\theta(x)$, é
# intratável; aprendemos junto uma aproximação da posterior:
#
# - **Codificador** $q_\phi(z\mid x) = \mathcal{N}\big(\mu_\phi(x), \operatorname{diag}\sigma^2_\phi(x)\big)$:
#   $x \in \mathbb{R}^{784} \to$ camada oculta ReLU $\to (\mu, \log\sigma^2) \in \mathbb{R}^{d} \times \mathbb{R}^{d}$.
#   Prevemos $\log\sigma^2$ em vez de $\sigma$ para que a saída possa ser qualquer número real.
# - **Decodificador** $p_\theta(x\mid z) = \prod_i \operatorname{Bernoulli}\big(x_i;\ \operatorname{sigmoid}(f_\theta(z))_i\big)$:
#   $z \to$ camada oculta ReLU $\to$ 784 *logits*, um por pixel.
# - **Truque da reparametrização.** A perda (seção 4) é uma esperança sob $q_\phi(z\mid x)$, e o treino
#   precisa do seu gradiente em $\phi$. Um $z$ sorteado não tem derivada em relação aos parâmetros da
#   distribuição de onde saiu, então há dois caminhos. O **estimador de função escore** (*score function*,
#   ou REINFORCE) usa $\nabla_\phi\,\mathbb{E}_{q_\phi}[f(z)] = \mathbb{E}_{q_\phi}[f(z)\,\nabla_\phi \log q_\phi(z\mid x)]$:
#   vale para qualquer $q$, mas só usa o *valor* de $f$, e a sua variância é alta. A **reparametrização**
#   escreve $z = \mu + \sigma \odot \varepsilon$, com $\varepsilon \sim \mathcal{N}(0, I)$: a aleatoriedade
#   fica em $\varepsilon$, $\nabla_\phi\,\mathbb{E}[f(z)] = \mathbb{E}_\varepsilon[\nabla_\phi f(\mu + \sigma\odot\varepsilon)]$,
#   e o gradiente flui por $\mu$ e $\sigma = e^{\frac{1}{2}\log\sigma^2}$ usando a *derivada* de $f$. A
#   seção 5 mede a variância dos dois num lote real.
#
# O modelo clássico (`ARCH="mlp"`), como está em `vae_core.py`:

# %% jupyter={"source_hidden": true} tags=["remove-input"]
show_source(vc.VAE)

# %% [markdown]
# Com `ARCH="conv"` codificador e decodificador são convolucionais (mesma interface latente, mesma perda);
# o laboratório (`experimentos`) compara os dois.

# %% tags=["nbval-check-output"]
model = vc.build_model(ARCH, LATENT_DIM, HIDDEN_DIM).to(device)
n_params = vc.count_parameters(model)
print(model)
print(f"Parâmetros treináveis: {br_number(n_params)}")

# %% [markdown]
# ## 4. Função de perda
#
# **O limite inferior.** Para qualquer $q_\phi(z\mid x)$, multiplicando e dividindo por ela dentro da integral
# e usando a desigualdade de Jensen (o logaritmo é côncavo):
#
# $$\log p_\theta(x) = \log \mathbb{E}_{q_\phi(z\mid x)}\Big[\frac{p_\theta(x\mid z)\,p(z)}{q_\phi(z\mid x)}\Big]
#   \;\ge\; \mathbb{E}_{q_\phi(z\mid x)}\Big[\log \frac{p_\theta(x\mid z)\,p(z)}{q_\phi(z\mid x)}\Big] = \mathcal{L}(x),$$
#
# o **limite inferior da evidência** (ELBO). **Quanto falta.** Como $p_\theta(x) = p_\theta(x\mid z)\,p(z)/p_\theta(z\mid x)$
# para todo $z$, tomando a esperança sob $q_\phi$ e somando e subtraindo $\log q_\phi(z\mid x)$:
#
# $$\log p_\theta(x) = \mathbb{E}_{q_\phi}\Big[\log \frac{p_\theta(x\mid z)\,p(z)}{q_\phi(z\mid x)}\Big]
#   + \mathbb{E}_{q_\phi}\Big[\log \frac{q_\phi(z\mid x)}{p_\theta(z\mid x)}\Big]
#   = \mathcal{L}(x) + D_{KL}\big(q_\phi(z\mid x)\,\|\,p_\theta(z\mid x)\big).$$
#
# A folga do ELBO é exatamente a KL entre a aproximação e a posterior verdadeira: maximizar $\mathcal{L}$
# sobe $\log p_\theta(x)$ e aproxima $q_\phi$ da posterior ao mesmo tempo. Cremer, Li & Duvenaud (2018)
# dividem a folga em duas: a **lacuna de aproximação** (nem a melhor gaussiana diagonal para aquele $x$ é
# igual à posterior) e a **lacuna de amortização** (um só codificador para todas as imagens não entrega a
# melhor gaussiana de cada uma). A seção 15 mede um limite inferior da folga total.
#
# **Os dois termos.** Escrevendo $\log p_\theta(x\mid z) + \log p(z) - \log q_\phi(z\mid x)$ em duas partes,
# $\mathcal{L}(x) = \mathbb{E}_{q_\phi(z\mid x)}\big[\log p_\theta(x\mid z)\big] - D_{KL}\big(q_\phi(z\mid x)\,\|\,p(z)\big)$.
# A perda é $-\mathcal{L}(x)$, somada sobre os pixels e as dimensões latentes de cada imagem:
#
# - **Reconstrução**: $-\log p_\theta(x\mid z) = \sum_{i=1}^{784} \operatorname{BCE}(x_i, \hat{x}_i)$, a entropia
#   cruzada binária, estimada com um $z$ amostrado por imagem e calculada a partir dos logits
#   (`binary_cross_entropy_with_logits`: o mesmo valor que a sigmoide seguida da BCE, mas numericamente estável).
# - **Regularização**: a KL entre duas gaussianas tem forma fechada (Kingma & Welling, 2013, apêndice B):
#   $D_{KL} = -\tfrac{1}{2}\sum_{j=1}^{d}\big(1 + \log\sigma_j^2 - \mu_j^2 - \sigma_j^2\big)$.
#
# **Pixels cinza.** A densidade de Bernoulli só soma 1 sobre $x_i \in \{0, 1\}$; com intensidades contínuas
# em $[0, 1]$ a BCE não é o logaritmo de uma verossimilhança normalizada (falta a constante da Bernoulli
# contínua de Loaiza-Ganem & Cunningham, 2019). Com os pixels cinza do padrão, os "nats" deste relatório
# são valores do objetivo — comparáveis entre si, não com log-verossimilhanças de artigos; com
# `BINARIZE=True` eles passam a ser log-verossimilhanças de verdade.
#
# O código, em `vae_core.py`:

# %% jupyter={"source_hidden": true} tags=["remove-input"]
show_source(vc.kl_divergence, vc.reconstruction_bce, vc.loss_terms, vc.training_loss)

# %% jupyter={"source_hidden": true} tags=["remove-input"]
initial = vc.evaluate(model, val_x)
display(
    Markdown(
        f"Antes do treino, a perda média de validação é **{br_number(initial['loss'], 1)}** por imagem "
        f"(BCE {br_number(initial['bce'], 1)} + KL {br_number(initial['kl'], 2)}): um decodificador que "
        f"ainda não aprendeu nada prevê cerca de 0,5 em cada pixel, o que custa perto de "
        f"${vc.INPUT_DIM} \\ln 2 \\approx {br_number(vc.INPUT_DIM * np.log(2))}$ nats."
    )
)

# %% [markdown]
# ## 5. Treinamento
#
# Otimizamos com Adam; a cada época percorremos o treino em ordem aleatória (com semente) e medimos a
# validação. Todas as perdas abaixo são médias **por imagem**. Com `BETA` ≠ 1 o treino minimiza
# BCE + β·KL (um β-VAE), mas as perdas relatadas são sempre o −ELBO verdadeiro, BCE + KL. Uma época, em
# `vae_core.py`:

# %% jupyter={"source_hidden": true} tags=["remove-input"]
show_source(vc.train_epoch)

# %% [markdown]
# Ao fim de cada época um checkpoint é salvo (modelo, otimizador, histórico, configuração e estados
# aleatórios) num arquivo cujo nome diz a configuração: um treino interrompido continua de onde parou, e um
# completo é reutilizado. Checkpoint, barra de progresso e as reconstruções de oito dígitos fixos da
# validação (seção 7) se penduram no treino como *callbacks* chamados ao fim de cada época
# (`vae_tools.training`).

# %% tags=["nbval-ignore-output"]
optimizer = vc.make_optimizer(model, LEARNING_RATE)
snapshot_x = val_x[:8]
train_start = time.perf_counter()
history = training.train(plan, model, optimizer, train_x, val_x, PROGRESS, snapshot_x, SNAPSHOT_EVERY)
train_seconds = time.perf_counter() - train_start
epochs_done = len(history["train_loss"])
print(f"{'época':>5} | {'treino':>8} {'BCE':>7} {'KL':>6} | {'validação':>9} {'BCE':>7} {'KL':>6}")
for e in range(epochs_done):
    tr = [br_number(history[f"train_{m}"][e], 2) for m in vc.METRICS]
    va = [br_number(history[f"val_{m}"][e], 2) for m in vc.METRICS]
    print(f"{e + 1:5d} | {tr[0]:>8} {tr[1]:>7} {tr[2]:>6} | {va[0]:>9} {va[1]:>7} {va[2]:>6}")
print(f"Tempo desta célula: {br_number(train_seconds, 1)} s para {epochs_done} épocas")
if epochs_done < plan.num_epochs:  # Ctrl+C ou disco cheio: o histórico até ali segue para as figuras
    print(
        f"Atenção: treino incompleto, {epochs_done} de {plan.num_epochs} épocas; o resto do relatório usa este modelo."
    )

# %% [markdown]
# ### Por que reparametrizar: os dois estimadores do mesmo gradiente
#
# Com o modelo treinado, estimamos o mesmo gradiente, $\nabla_\mu\,\mathbb{E}_{q(z\mid x)}[\log p_\theta(x\mid z)]$,
# para 32 imagens de validação, sorteando 500 vezes $z \sim q(z\mid x)$ com cada estimador: a
# reparametrização, a função escore e a função escore com uma **linha de base** (a média de
# $\log p_\theta(x\mid z)$ nas outras amostras, o truque padrão para reduzir a variância do REINFORCE).
# Os três têm a mesma esperança; a figura mostra a variância de cada coordenada do gradiente.

# %%
GRADIENT_IMAGES, GRADIENT_DRAWS = 32, 500
gradients = analysis.gradient_estimators(model, val_x[:GRADIENT_IMAGES], GRADIENT_DRAWS, SEED)
variances = {name: g.var(0, ddof=1).ravel() for name, g in gradients.items()}
fig, ax = plt.subplots(figsize=(9, 3.6))
bins = np.logspace(
    np.log10(min(v.min() for v in variances.values())), np.log10(max(v.max() for v in variances.values())), 60
)
for (name, values), color in zip(variances.items(), ["tab:blue", "tab:red", "tab:orange"]):
    ax.hist(values, bins=bins, alpha=0.6, color=color, label=f"{name} (mediana {br_number(np.median(values), 1)})")
ax.set(xscale="log", xlabel="variância de uma coordenada do gradiente (escala log)", ylabel="coordenadas")
ax.set_title(f"Variância dos estimadores de ∇μ E[log p(x|z)]: {GRADIENT_IMAGES} imagens × {LATENT_DIM} dimensões")
ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=3, fontsize=8, frameon=False)
show_figure(fig, "02_variancia_gradientes", FIGURES_DIR)

# %% jupyter={"source_hidden": true} tags=["remove-input"]
median = {name: np.median(v) for name, v in variances.items()}
ratio_score = median["escore"] / median["reparametrização"]
ratio_baseline = median["escore com linha de base"] / median["reparametrização"]
display(
    Markdown(
        f"A variância mediana (entre as coordenadas) da função escore é {br_number(ratio_score)} vezes a da "
        f"reparametrização, e a da função escore com linha de base, {br_number(ratio_baseline)} vezes. Como a "
        f"variância de uma média cai com o número de amostras, a função escore com linha de base precisaria de "
        f"cerca de {br_number(ratio_baseline)} vezes mais amostras de $z$ por imagem para estimar o gradiente tão "
        f"bem quanto a reparametrização: é por isso que o VAE treina com um único $z$ por imagem."
    )
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

# %% jupyter={"source_hidden": true} tags=["remove-input"]
OVERFIT_NATS = 1.5  # diferença validação − treino a partir da qual falamos em sobreajuste
torch.manual_seed(SEED)
final = {"treino": -analysis.elbo_per_image(model, train_x), "validação": -analysis.elbo_per_image(model, val_x)}
gap = final["validação"].mean() - final["treino"].mean()  # os dois com os pesos finais
gap_se = np.sqrt(sum(v.var(ddof=1) / len(v) for v in final.values()))  # duas amostras independentes
below = [e + 1 for e in range(epochs_done) if history["val_loss"][e] < history["train_loss"][e]]
kl_trend = "sobe" if history["train_kl"][-1] > history["train_kl"][0] else "cai"
display(
    Markdown(
        f"A perda total de treino caiu de {br_number(history['train_loss'][0], 1)} na primeira época para "
        f"{br_number(history['train_loss'][-1], 1)} na última (validação: {br_number(history['val_loss'][-1], 1)}). "
        f"A BCE cai, enquanto a KL **{kl_trend}** de {br_number(history['train_kl'][0], 1)} para "
        f"{br_number(history['train_kl'][-1], 1)}: o código passa a carregar "
        f"{'mais' if kl_trend == 'sobe' else 'menos'} informação sobre cada imagem. "
        + (
            f"A validação fica abaixo do treino nas épocas {', '.join(map(str, below))}: a perda de treino de "
            f"uma época é a média durante a época, com os pesos ainda melhorando, e a de validação é medida no "
            f"fim, com os pesos melhores. "
            if below
            else ""
        )
        + f"Com os pesos finais, medidos nas duas partições inteiras, validação − treino = {br_number(gap, 2)} ± "
        f"{br_number(gap_se, 2)} nats por imagem (erro padrão); tomando {br_number(OVERFIT_NATS, 1)} nats como o "
        f"limiar de sobreajuste, "
        + (
            "o intervalo de dois erros padrão fica todo abaixo dele: sem sinal de sobreajuste."
            if gap + 2 * gap_se < OVERFIT_NATS
            else "o intervalo de dois erros padrão fica todo acima dele: há sobreajuste."
            if gap - 2 * gap_se > OVERFIT_NATS
            else f"o intervalo de dois erros padrão ({br_number(gap - 2 * gap_se, 2)} a {br_number(gap + 2 * gap_se, 2)}) "
            "o contém: com estas imagens, não dá para dizer se há sobreajuste."
        )
    )
)

# %% [markdown]
# ## 7. O treino visto por dentro
#
# Os mesmos oito dígitos de validação, reconstruídos (decodificando $\mu$) ao fim de algumas épocas: a
# primeira linha é o original.

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

# %% jupyter={"source_hidden": true} tags=["remove-input"]
to_final = 255 * np.abs(snapshots - snapshots[-1]).mean(axis=(1, 2, 3))  # níveis de cinza por pixel até a final
covered = {e: 1 - d / to_final[0] for e, d in zip(snapshot_epochs, to_final) if e in (2, 3, 5, 10)}
display(
    Markdown(
        f"Da época {snapshot_epochs[0]} à última, as reconstruções destes oito dígitos mudam, em média, "
        f"{br_number(to_final[0], 1)} níveis de cinza (de 255) por pixel. Medindo quanto desse caminho cada "
        f"época já percorreu (1 − distância à final ÷ distância da época 1 à final): "
        + ", ".join(f"{br_number(100 * c)}% na época {e}" for e, c in covered.items())
        + "."
        if covered and to_final[0] > 0
        else "Com poucas reconstruções guardadas não há progresso a comparar."
    )
)

# %% [markdown]
# ## 8. Reconstruções e onde elas falham
#
# Acima, dez imagens de teste; abaixo, o que o VAE devolve ao codificá-las e decodificar a média $\mu$ da
# posterior (sem ruído de amostragem).

# %%
mu_test, logvar_test = vc.encode_dataset(model, test_x)
labels = data.test_y.numpy()
originals = test_x[:10].cpu().numpy().reshape(-1, 28, 28)
reconstructions = vc.decode_latent(model, mu_test[:10])
fig, ax = plt.subplots(figsize=(10, 2.3))
ax.imshow(image_grid(np.concatenate([originals, reconstructions]), ncols=10), cmap="gray")
ax.set_title("Originais (acima) e reconstruções (abaixo)")
ax.axis("off")
show_figure(fig, "05_reconstrucoes", FIGURES_DIR)

# %% [markdown]
# Para ver **onde** o modelo erra, medimos o erro de reconstrução (BCE da reconstrução de $\mu$) de cada
# imagem de teste.

# %%
errors = analysis.reconstruction_errors(model, test_x, mu_test)
per_digit = np.bincount(labels, weights=errors) / np.bincount(labels)
order = np.argsort(errors)
fig = plt.figure(figsize=(15, 6.4))
cells = fig.add_gridspec(2, 2, width_ratios=[1, 2.2], hspace=0.35)
ax = fig.add_subplot(cells[:, 0])
ax.bar(range(10), per_digit, color=plt.cm.tab10(np.arange(10)))
ax.axhline(errors.mean(), color="k", ls="--", lw=1, label=f"média geral ({br_number(errors.mean(), 1)})")
ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), frameon=False)
ax.set(title="Erro médio por dígito", xlabel="dígito", ylabel="BCE (nats por imagem)", xticks=range(10))
for row, (idx, title) in enumerate([(order[:8], "As 8 melhores"), (order[::-1][:8].copy(), "As 8 piores")]):
    sub = fig.add_subplot(cells[row, 1])
    shown = np.concatenate([test_x[idx].cpu().numpy().reshape(-1, 28, 28), vc.decode_latent(model, mu_test[idx])])
    sub.imshow(image_grid(shown, ncols=8), cmap="gray")
    sub.set_xticks(np.arange(8) * 28 + 14, [br_number(errors[i], 1) for i in idx], fontsize=10)
    sub.set_yticks([14, 42], ["original", "reconstrução"])
    sub.set_title(f"{title} reconstruções (erro em nats abaixo de cada uma)")
show_figure(fig, "06_qualidade_reconstrucao", FIGURES_DIR)

# %% jupyter={"source_hidden": true} tags=["remove-input"]
easiest, hardest = int(per_digit.argmin()), int(per_digit.argmax())
ink = test_x.cpu().numpy().sum(axis=1)  # "tinta": soma das intensidades de cada imagem
ink_correlation = np.corrcoef(ink, errors)[0, 1]
best_digits, worst_digits = labels[order[:8]], labels[order[-8:]]
display(
    Markdown(
        f"O erro médio de reconstrução no teste é {br_number(errors.mean(), 1)} nats por imagem e varia com o "
        f"dígito: o {easiest} é o mais fácil ({br_number(per_digit[easiest], 1)}) e o {hardest} o mais difícil "
        f"({br_number(per_digit[hardest], 1)}, {br_number(per_digit[hardest] / per_digit[easiest], 1)} vezes "
        f"mais). O erro acompanha a quantidade de tinta (correlação de {br_number(ink_correlation, 2)} entre a "
        f"soma das intensidades e o erro de cada imagem): as 8 melhores reconstruções são dos dígitos "
        f"{', '.join(map(str, sorted(best_digits)))}, com tinta (soma das intensidades) de {br_number(ink[order[:8]].mean())} em média; "
        f"as 8 piores, dos dígitos {', '.join(map(str, sorted(worst_digits)))}, com "
        f"{br_number(ink[order[-8:]].mean())} — contra {br_number(ink.mean())} na média do teste."
    )
)

# %% [markdown]
# ## 9. Amostragem
#
# Um modelo generativo cria dígitos novos: sorteamos $z \sim \mathcal{N}(0, I)$ do *prior* e decodificamos.

# %%
samples = vc.sample_images(model, 64, seed=SEED)
fig, ax = plt.subplots(figsize=(6, 6))
ax.imshow(image_grid(samples, ncols=8), cmap="gray")
ax.set_title("64 amostras de z ~ N(0, I)")
ax.axis("off")
show_figure(fig, "07_amostras_prior", FIGURES_DIR)

# %% [markdown]
# Quantas delas são dígitos? A próxima seção mede.
#
# ## 10. Qualidade das amostras
#
# O ELBO mede o ajuste do modelo, não a qualidade das amostras: um modelo pode ter um ELBO melhor e
# amostras piores (Theis, van den Oord & Bethge, 2016). Para medir se uma amostra **é um dígito**,
# treinamos um classificador de dígitos próprio (uma CNN pequena no espírito da LeNet-5, `vae_tools.classifier`:
# treino na partição de treino, escolha da época na validação, teste só para relatar; treinado uma vez por
# máquina e guardado como os checkpoints). Nos 128 atributos da sua penúltima camada medimos:
#
# - a **distância de Fréchet** entre as gaussianas ajustadas aos atributos das imagens reais e aos das
#   geradas — a "FID", mas na escala deste classificador: **não** se compara com as FIDs de artigos, que
#   usam a rede Inception do ImageNet (por exemplo, 16,6 de um VAE no MNIST em Dai & Wipf, 2019);
# - a **precisão** e a **cobertura** (*recall*) de Kynkäänniemi et al. (2019), com 3 vizinhos: a fração das
#   amostras que caem perto de alguma imagem real (fidelidade) e a fração das imagens reais que têm alguma
#   amostra perto (diversidade) — a distância de Fréchet sozinha não diz qual das duas falta;
# - como o classificador lê as amostras: a fração lida com confiança ≥ 0,9, o **escore do classificador**
#   $\exp \mathbb{E}_x\, D_{KL}(p(y\mid x)\,\|\,p(y))$ (de 1 a 10) e a KL entre o histograma dos rótulos
#   lidos e as frequências do teste.
#
# Comparamos com as imagens de teste (a referência) quatro fontes de imagens: amostras do *prior*
# $\mathcal{N}(0, I)$, amostras de uma **mistura de gaussianas** ajustada aos $\mu$ do treino (a estimação de
# densidade *ex post* de Ghosh et al., 2020, que troca o *prior* pela forma que os códigos realmente ocupam),
# reconstruções e imagens reais de treino (o piso); duas degradações conhecidas das imagens de treino
# (desfoque e ruído) dão a escala. Todas vêm de fora da referência, como as amostras: uma imagem de teste
# degradada ficaria ao lado da sua própria original e pareceria melhor do que é.

# %% tags=["nbval-ignore-output"]
classifier, classifier_info = digits.load_or_train_classifier(data, CHECKPOINT_DIR, device, PROGRESS, SEED)

# %% tags=["nbval-check-output"]
print(f"Acurácia do classificador no teste: {br_number(100 * classifier_info['test_accuracy'], 2)}%")

# %%
n_quality = QUALITY_SAMPLES
reference = quality.make_reference(classifier, test_x[:n_quality], data.test_y[:n_quality])
mu_train = vc.encode_dataset(model, train_x)[0].numpy()
mixture = GaussianMixture(MIXTURE_COMPONENTS, covariance_type="full", random_state=SEED).fit(mu_train)
z_prior = torch.randn(n_quality, LATENT_DIM, generator=torch.Generator().manual_seed(SEED)).numpy()
z_mixture = analysis.sample_mixture(mixture, n_quality, SEED)
real_train = mnist.to_model_input(data.train_x[:n_quality], device)  # fora da referência, como as amostras
sources = {  # cada conjunto é gerado na hora de ser medido: um só fica na memória por vez
    "imagens de treino (o piso da distância)": lambda: real_train,
    "reconstruções (de μ, treino)": lambda: vc.reconstruct(model, real_train),
    f"mistura de {MIXTURE_COMPONENTS} gaussianas": lambda: vc.decode_latent(model, z_mixture),
    "prior N(0, I)": lambda: vc.decode_latent(model, z_prior),
    "treino desfocado (σ = 1 pixel)": lambda: quality.gaussian_blur(real_train, 1.0),
    "treino com ruído (σ = 0,25)": lambda: quality.add_gaussian_noise(real_train, 0.25, SEED),
}
scores = {
    name: quality.measure_images(classifier, torch.as_tensor(make()).reshape(n_quality, -1), reference)
    for name, make in sources.items()
}

# %% jupyter={"source_hidden": true} tags=["remove-input"]
display(
    Markdown(
        markdown_table(
            [
                "imagens (contra as de teste)",
                "Fréchet",
                "precisão",
                "cobertura",
                "confiança ≥ 0,9",
                "escore",
                "KL dos rótulos",
            ],
            [
                [
                    name,
                    br_number(m["frechet_distance"], 1),
                    br_number(m["precision"], 3),
                    br_number(m["recall"], 3),
                    f"{br_number(100 * m['confident_fraction'], 1)}%",
                    br_number(m["classifier_score"], 2),
                    br_number(m["label_kl"], 3),
                ]
                for name, m in scores.items()
            ],
        )
    )
)

# %%
# a mistura é o retrato da posterior agregada: a sua log-densidade em cada z diz se ali há códigos reais
log_density = {
    name: mixture.score_samples(z)
    for name, z in [("códigos do treino (μ)", mu_train[:n_quality]), ("mistura", z_mixture), ("prior", z_prior)]
}
hole = np.percentile(log_density["códigos do treino (μ)"], 5)  # abaixo disso: só 5% dos códigos reais
prior_images = torch.as_tensor(vc.decode_latent(model, z_prior)).reshape(n_quality, -1)
prior_confident = digits.read(classifier, prior_images)[1] >= quality.CONFIDENCE
density = log_density["prior"]
in_hole = density < hole
emptiest, densest = np.argsort(density)[:10], np.argsort(-density)[:10]
rows = [
    ("reais (teste)", test_x[:10].cpu().numpy()),
    ("mistura", vc.decode_latent(model, z_mixture[:10]).reshape(10, -1)),
    ("prior", prior_images[:10].numpy()),
    ("prior: z mais denso", prior_images[densest].numpy()),
    ("prior: z mais vazio", prior_images[emptiest].numpy()),
]
fig = plt.figure(figsize=(15, 5.2))
cells = fig.add_gridspec(1, 2, width_ratios=[1.9, 1])
ax = fig.add_subplot(cells[0])
ax.imshow(image_grid(np.concatenate([r for _, r in rows]).reshape(-1, 28, 28), ncols=10), cmap="gray")
ax.set_yticks(np.arange(len(rows)) * 28 + 14, [name for name, _ in rows])
ax.set_xticks([])
ax.set_title("Imagens reais e geradas; as duas últimas linhas: z do prior onde a mistura é mais e menos densa")
ax = fig.add_subplot(cells[1])
bins = np.linspace(min(v.min() for v in log_density.values()), max(v.max() for v in log_density.values()), 60)
for (name, values), color in zip(log_density.items(), ["tab:gray", "tab:orange", "tab:blue"]):
    ax.hist(values, bins=bins, density=True, histtype="step", lw=1.5, color=color, label=name)
ax.axvline(hole, color="k", ls="--", lw=1, label="percentil 5 dos códigos")
ax.set(xlabel="log-densidade da mistura no z", ylabel="densidade", title="Onde cada z cai na posterior agregada")
ax.legend(fontsize=8)
plt.tight_layout()
show_figure(fig, "08_qualidade_amostras", FIGURES_DIR)

# %% jupyter={"source_hidden": true} tags=["remove-input"]
prior_m, mix_m = scores["prior N(0, I)"], scores[f"mistura de {MIXTURE_COMPONENTS} gaussianas"]
reference_confident = (digits.read(classifier, test_x[:n_quality])[1] >= quality.CONFIDENCE).mean()
recon_m, floor_m = scores["reconstruções (de μ, treino)"], scores["imagens de treino (o piso da distância)"]
blur_m, noise_m = scores["treino desfocado (σ = 1 pixel)"], scores["treino com ruído (σ = 0,25)"]
recon_read = (digits.read(classifier, vc.reconstruct(model, real_train))[0] == data.train_y[:n_quality].numpy()).mean()
legible_64 = int((digits.read(classifier, torch.as_tensor(samples).reshape(64, -1))[1] >= quality.CONFIDENCE).sum())
mixture_better = mix_m["frechet_distance"] < prior_m["frechet_distance"]
hole_drop = prior_confident[~in_hole].mean() - prior_confident[in_hole].mean()
hole_se = np.sqrt(
    sum(p.mean() * (1 - p.mean()) / len(p) for p in (prior_confident[in_hole], prior_confident[~in_hole]))
)
precision_loss, recall_loss = recon_m["precision"] - prior_m["precision"], recon_m["recall"] - prior_m["recall"]
blur_paradox = blur_m["frechet_distance"] > prior_m["frechet_distance"] and (
    blur_m["confident_fraction"] > prior_m["confident_fraction"]
)
display(
    Markdown(
        f"O classificador acerta {br_number(100 * classifier_info['test_accuracy'], 2)}% do teste. Na sua escala, "
        f"imagens de treino ficam a {br_number(floor_m['frechet_distance'], 1)} das de teste (o piso), o desfoque "
        f"de 1 pixel leva a {br_number(blur_m['frechet_distance'], 1)} e o ruído a {br_number(noise_m['frechet_distance'], 1)}. "
        f"As reconstruções ficam a {br_number(recon_m['frechet_distance'], 1)}, e o classificador lê "
        f"{br_number(100 * recon_read, 1)}% delas como o rótulo da imagem original. As amostras do *prior* ficam a "
        f"{br_number(prior_m['frechet_distance'], 1)}, com {br_number(100 * prior_m['confident_fraction'], 1)}% "
        f"lidas com confiança ≥ 0,9; das 64 da seção 9, {legible_64}. Frente às reconstruções, elas perdem "
        f"{br_number(precision_loss, 3)} em precisão ({br_number(recon_m['precision'], 3)} → "
        f"{br_number(prior_m['precision'], 3)}) e {br_number(recall_loss, 3)} em cobertura "
        f"({br_number(recon_m['recall'], 3)} → {br_number(prior_m['recall'], 3)}): o que mais lhes falta é "
        f"{'fidelidade' if precision_loss > recall_loss else 'cobertura'}. A cobertura não mede só variedade: "
        f"o treino desfocado, com toda a variedade do treino, tem cobertura {br_number(blur_m['recall'], 3)}. "
        + (
            f"E a distância de Fréchet pune o desfoque ({br_number(blur_m['frechet_distance'], 1)}) mais que as "
            f"amostras do *prior*, embora o classificador leia com confiança "
            f"{br_number(100 * blur_m['confident_fraction'], 1)}% das desfocadas: leia a distância ao lado da "
            f"confiança.\n\n"
            if blur_paradox
            else "\n\n"
        )
        + f"Sortear $z$ da mistura em vez do *prior* {'baixa' if mixture_better else 'sobe'} a distância de Fréchet "
        f"para {br_number(mix_m['frechet_distance'], 1)} e {'sobe' if mix_m['confident_fraction'] > prior_m['confident_fraction'] else 'baixa'} "
        f"a fração lida com confiança para {br_number(100 * mix_m['confident_fraction'], 1)}%"
        + (
            " — a mesma direção que Ghosh et al. (2020) relatam (FID 23,92 → 9,81 num autoencoder regularizado, "
            "em atributos da Inception, outra escala). "
            if mixture_better
            else ". "
        )
        + f"No gráfico à direita, a mistura faz o papel da posterior agregada: "
        f"{br_number(100 * in_hole.mean())}% dos $z$ do *prior* caem onde a densidade dela é menor que a de 95% "
        f"dos próprios códigos de treino — os **buracos** que a posterior agregada deixa no *prior* —, contra "
        f"{br_number(100 * (log_density['mistura'] < hole).mean())}% dos $z$ da mistura. Nos buracos, "
        f"{br_number(100 * prior_confident[in_hole].mean())}% das amostras do *prior* são lidas com confiança; "
        f"fora deles, {br_number(100 * prior_confident[~in_hole].mean())}%"
        + (
            f": nos buracos a legibilidade cai, mais que dois erros padrão ({br_number(200 * hole_se, 1)} pontos)."
            if hole_drop > 2 * hole_se
            else f": a diferença fica dentro de dois erros padrão ({br_number(200 * hole_se, 1)} pontos), e a "
            f"legibilidade quase não depende de cair num buraco."
        )
        + (
            f" Mesmo fora deles, as amostras do *prior* são menos legíveis que as da mistura "
            f"({br_number(100 * mix_m['confident_fraction'])}%): os buracos não explicam toda a diferença."
            if prior_confident[~in_hole].mean() < mix_m["confident_fraction"] - 0.05
            else ""
        )
    )
)

# %% [markdown]
# ## 11. Interpolação no espaço latente
#
# Ligamos por um segmento de reta os códigos $\mu$ de dois dígitos de teste e decodificamos pontos
# igualmente espaçados (linhas "z"). Para comparar, a linha "pixels" de cada par é a média ponderada das duas
# imagens, $(1-t)\,x_a + t\,x_b$. As pontas são os primeiros exemplos de teste de cada dígito que o
# classificador da seção 10 lê corretamente.

# %%
pairs = [(3, 8), (4, 9), (1, 7)]
read_right = digits.read(classifier, test_x)[0] == labels
first_of = {d: int(np.flatnonzero((labels == d) & read_right)[0]) for d in range(10)}
steps = np.linspace(0, 1, 11)
latent_paths = np.stack(
    [analysis.latent_path(mu_test[first_of[a]], mu_test[first_of[b]], len(steps)) for a, b in pairs]
)
test_images = test_x.cpu().numpy()
pixel_paths = np.stack(
    [analysis.latent_path(test_images[first_of[a]], test_images[first_of[b]], len(steps)) for a, b in pairs]
).reshape(len(pairs), len(steps), 28, 28)
decoded_paths = vc.decode_latent(model, latent_paths).reshape(len(pairs), len(steps), 28, 28)
path_rows = np.stack([row for pair in zip(decoded_paths, pixel_paths) for row in pair])
fig, ax = plt.subplots(figsize=(11, 6.6))
ax.imshow(image_grid(path_rows.reshape(-1, 28, 28), ncols=len(steps)), cmap="gray")
ax.set_yticks(
    np.arange(2 * len(pairs)) * 28 + 14, [f"{a} → {b} ({kind})" for a, b in pairs for kind in ("z", "pixels")]
)
ax.set_xticks(np.arange(len(steps)) * 28 + 14, [f"t={br_number(t, 1)}" for t in steps], fontsize=8)
ax.set_title("Interpolação entre dois dígitos de teste: no espaço latente (z) e nos pixels")
show_figure(fig, "09_interpolacao", FIGURES_DIR)

# %% jupyter={"source_hidden": true} tags=["remove-input"]
readings = {
    kind: [digits.read(classifier, torch.as_tensor(p).reshape(len(steps), -1))[0] for p in paths]
    for kind, paths in (("z", decoded_paths), ("pixels", pixel_paths))
}
direct = {
    kind: sum(int(r[0] == a and r[-1] == b and (np.diff(r) != 0).sum() == 1) for r, (a, b) in zip(read, pairs))
    for kind, read in readings.items()
}
misread_ends = [f"{b} (lida como {r[-1]})" for r, (a, b) in zip(readings["z"], pairs) if r[-1] != b]
display(
    Markdown(
        "O classificador da seção 10 lê, ao longo de cada caminho, "
        + "; ".join(
            f"{a} → {b}: {' '.join(map(str, readings['z'][i]))} (z) e {' '.join(map(str, readings['pixels'][i]))} (pixels)"
            for i, (a, b) in enumerate(pairs)
        )
        + f". Um caminho que vai de um dígito ao outro sem passar por um terceiro começa num, termina no outro e "
        f"muda de leitura uma vez só: {direct['z']} dos {len(pairs)} caminhos latentes e {direct['pixels']} dos "
        f"{len(pairs)} de pixels fazem isso."
        + (
            " Nas pontas do caminho latente estão reconstruções, não as imagens: a reconstrução de "
            + ", ".join(misread_ends)
            + " já não é lida como o dígito original."
            if misread_ends
            else ""
        )
    )
)

# %% [markdown]
# ## 12. Espaço latente
#
# Codificamos as imagens de teste **uma única vez** (seção 8) e reutilizamos as médias $\mu$ em todas as
# análises. Para ver o espaço latente no plano usamos duas projeções: o **t-SNE**, não linear, que preserva
# vizinhanças (inicializado por PCA, com taxa de aprendizado automática, menos iterações e uma
# aproximação de Barnes-Hut mais grossa que o padrão: um terço do custo, medido no README (Desempenho) — ver `tsne_2d`
# em `vae_tools/analysis.py`), e a **PCA**, linear, que preserva variância e é a base dos controles
# deslizantes da seção 14. O t-SNE usa, por padrão, metade das imagens de teste (`TSNE_SAMPLES`, sorteadas
# com a semente): o custo dele cresce mais depressa que o número de pontos, e a acurácia de vizinhos
# medida abaixo mostra se a amostra basta para o desenho ser fiel.

# %% tags=["nbval-check-output"]
pca = PCA(random_state=SEED).fit(mu_test.numpy())
pca_2d = pca.transform(mu_test.numpy())[:, :2]
tsne_idx = torch.randperm(len(mu_test), generator=torch.Generator().manual_seed(SEED))[:TSNE_SAMPLES].numpy()
tsne_2d = analysis.tsne_2d(mu_test[tsne_idx].numpy(), SEED)
print(
    f"μ do teste: {br_number(len(mu_test))} × {mu_test.shape[1]}; t-SNE de {br_number(len(tsne_2d))} pontos; PCA com {pca.n_components_} componentes"
)

# %%
ratios = pca.explained_variance_ratio_
fig, axes = plt.subplots(1, 2, figsize=(14, 5.8))
scatter_digits(axes[0], tsne_2d, labels[tsne_idx])
axes[0].set(title=f"t-SNE de μ ({br_number(len(tsne_2d))} imagens de teste)", xlabel="t-SNE 1", ylabel="t-SNE 2")
scatter_digits(axes[1], pca_2d, labels)
axes[1].set(
    title=f"PCA de μ ({br_number(len(pca_2d))} imagens de teste)",
    xlabel=f"CP 1 ({br_number(100 * ratios[0], 1)}% da variância)",
    ylabel=f"CP 2 ({br_number(100 * ratios[1], 1)}% da variância)",
)
plt.tight_layout()
show_figure(fig, "10_espaco_latente", FIGURES_DIR)

# %% jupyter={"source_hidden": true} tags=["remove-input"]
n_90 = int(np.searchsorted(np.cumsum(ratios), 0.9) + 1)
knn = {
    "t-SNE": analysis.knn_accuracy(tsne_2d, labels[tsne_idx]),
    "μ, mesmas imagens do t-SNE": analysis.knn_accuracy(mu_test[tsne_idx].numpy(), labels[tsne_idx]),
    "PCA 2-D": analysis.knn_accuracy(pca_2d, labels),
    "μ": analysis.knn_accuracy(mu_test.numpy(), labels),
}
display(
    Markdown(
        f"O VAE nunca viu um rótulo, mas os códigos separam os dígitos: um classificador de 5 vizinhos "
        f"(validação cruzada) acerta {br_number(100 * knn['μ'], 1)}% dos dígitos usando as {LATENT_DIM} "
        f"dimensões de μ e {br_number(100 * knn['PCA 2-D'], 1)}% no plano da PCA. Nas {br_number(len(tsne_idx))} "
        f"imagens do t-SNE, {br_number(100 * knn['t-SNE'], 1)}% no plano dele, contra "
        f"{br_number(100 * knn['μ, mesmas imagens do t-SNE'], 1)}% nos μ das mesmas imagens: "
        + (
            "o plano do t-SNE guarda as vizinhanças que importam para o rótulo."
            if knn["t-SNE"] >= knn["μ, mesmas imagens do t-SNE"] - 0.01
            else "o plano do t-SNE perde parte das vizinhanças."
        )
        + f" As duas primeiras componentes principais "
        f"explicam {br_number(100 * ratios[0], 1)}% e {br_number(100 * ratios[1], 1)}% da variância de μ, e são "
        f"precisas {n_90} das {LATENT_DIM} componentes para chegar a 90%: a PCA achata num plano um código que "
        f"usa muitas direções, e por isso separa menos que o t-SNE."
    )
)

# %% [markdown]
# ## 13. Dimensões latentes: quais trabalham?
#
# A KL total é a soma das KLs de cada dimensão. Uma dimensão cuja posterior é igual ao *prior* para toda
# imagem tem KL zero e não carrega informação (*posterior collapse*). Burda et al. (2015) chamam de
# **ativa** a dimensão $j$ em que $\operatorname{Var}_x\big(\mathbb{E}_{q(z\mid x)}[z_j]\big) > 0{,}01$,
# isto é, em que $\mu_j$ muda de imagem para imagem.

# %%
kl_dims = analysis.kl_per_dimension(mu_test, logvar_test)
active = analysis.active_units(mu_test)
mu_variances = mu_test.var(0).numpy()
by_kl = np.argsort(kl_dims)[::-1]
fig, ax = plt.subplots(figsize=(10, 3.4))
ax.bar(range(LATENT_DIM), kl_dims[by_kl], color=np.where(active[by_kl], "tab:blue", "tab:gray"))
ax.set_xticks(range(LATENT_DIM), [f"z{j}" for j in by_kl], fontsize=8)
legend = "azul: ativa; cinza: inativa" if (~active).any() else "todas ativas"
ax.set(title=f"KL média por dimensão no teste, em ordem decrescente ({legend})", ylabel="nats por imagem")
show_figure(fig, "11_kl_por_dimensao", FIGURES_DIR)

# %%
swept = np.concatenate([by_kl[:3], by_kl[-2:]]) if LATENT_DIM > 5 else by_kl
quantiles = analysis.normal_quantiles(9)
z_start = mu_test[explore_start].numpy()  # o código da imagem de partida das explorações
traversal_dims = analysis.dimension_traversal(model, z_start, swept, quantiles)
fig, ax = plt.subplots(figsize=(9, len(swept) + 0.6))
ax.imshow(image_grid(traversal_dims.reshape(-1, 28, 28), ncols=9), cmap="gray")
ax.set_yticks(np.arange(len(swept)) * 28 + 14, [f"z{j} (KL {br_number(kl_dims[j], 1)})" for j in swept])
ax.set_xticks(np.arange(9) * 28 + 14, [br_number(q, 2) for q in quantiles])
ax.set_title(
    f"As 3 dimensões de mais KL e as 2 de menos, varridas nos quantis da N(0, 1), a partir de um {EXPLORE_DIGIT}"
)
show_figure(fig, "12_varredura_dimensoes", FIGURES_DIR)

# %% jupyter={"source_hidden": true} tags=["remove-input"]
sweep_change = 255 * np.abs(traversal_dims[:, -1] - traversal_dims[:, 0]).mean(axis=(1, 2))
inactive = ~active
active_text = (
    f"variância de μ entre {br_number(mu_variances[active].min(), 2)} e {br_number(mu_variances[active].max(), 2)} "
    f"nas ativas"
    if active.any()
    else "nenhuma ativa"
)
display(
    Markdown(
        f"**{int(active.sum())} das {LATENT_DIM} dimensões estão ativas** pelo critério de Burda et al. "
        f"({active_text}"
        + (
            f"; nas inativas, no máximo {br_number(mu_variances[inactive].max(), 4)}). As inativas somam só "
            f"{br_number(kl_dims[inactive].sum(), 2)} nats de KL: o modelo as desligou, porque cada nat de "
            f"KL tem de se pagar em reconstrução."
            if inactive.any()
            else "): nenhuma dimensão colapsou."
        )
        + f" As cinco dimensões com mais KL carregam {br_number(100 * kl_dims[by_kl[:5]].sum() / kl_dims.sum())}% "
        f"da KL total ({br_number(kl_dims.sum(), 1)} nats). Na varredura, ir de uma ponta à outra muda a "
        f"imagem em média "
        + ", ".join(f"{br_number(c, 1)} (z{j})" for j, c in zip(swept, sweep_change))
        + " níveis de cinza por pixel: "
        + (
            "as dimensões de mais KL mudam a imagem mais que as de menos KL."
            if sweep_change[:3].min() > sweep_change[3:].max()
            else "a KL de uma dimensão não ordena sozinha quanto ela muda a imagem a partir deste dígito."
        )
    )
)

# %% [markdown]
# ## 14. Exploração interativa do espaço latente
#
# O painel abaixo parte do código $\mu$ de uma imagem de teste — escolha o **dígito** e o **exemplo** — e
# mostra a original ao lado da decodificada. Os controles movem o código em dois **modos**:
#
# - **componentes principais de $\mu$**: cada controle anda ao longo de uma das primeiras componentes
#   principais dos códigos — as direções em que as imagens reais mais variam —, mapeada de volta para $z$,
#   com as demais componentes fixas nas da imagem de partida.
# - **dimensões de $z$ por KL**: cada controle muda uma coordenada de $z$, das dimensões com mais KL (as
#   que mais carregam informação, seção 13) para as de menos.
#
# Cada controle cobre a média dos códigos ±3 desvios-padrão, o intervalo de quase todos os códigos reais;
# "voltar ao início" devolve os controles à imagem de partida. Mova-os no JupyterLab para ver a imagem
# mudar ao vivo.

# %% jupyter={"source_hidden": true} tags=["remove-input"]
space = LatentSpace(pca, mu_test.numpy(), kl_dims, N_SLIDERS)
top_dims_share = np.sort(mu_variances)[::-1][:N_SLIDERS].sum() / mu_variances.sum()
top_kl_share = mu_variances[space.dims].sum() / mu_variances.sum()
display(
    Markdown(
        f"Com {N_SLIDERS} controles, as {N_SLIDERS} primeiras componentes principais cobrem "
        f"{br_number(100 * ratios[:N_SLIDERS].sum(), 1)}% da variância de μ, contra "
        f"{br_number(100 * top_dims_share, 1)}% das {N_SLIDERS} dimensões de maior variância e "
        f"{br_number(100 * top_kl_share, 1)}% das {N_SLIDERS} de maior KL: por isso o modo padrão "
        f"(`EXPLORE_MODE`) é o das componentes principais."
    )
)

# %% tags=["nbval-ignore-output"]
explorer = LatentExplorer(
    model, space, mu_test.numpy(), labels, test_x.cpu().numpy(), EXPLORE_MODE, EXPLORE_DIGIT, EXPLORE_INDEX
)
display(explorer)

# %% [markdown]
# Para quem lê este relatório no GitHub ou em HTML (onde os controles não rodam), a figura abaixo mostra a
# mesma função, no modo e na imagem de partida dos parâmetros: cada linha percorre o intervalo de um
# controle, com os outros fixos na imagem de partida.

# %%
traversal = explorer_traversal(model, space, EXPLORE_MODE, z_start)
fig, ax = plt.subplots(figsize=(9, N_SLIDERS + 0.6))
ax.imshow(image_grid(traversal.reshape(-1, 28, 28), ncols=9), cmap="gray")
ax.set_yticks(np.arange(N_SLIDERS) * 28 + 14, space.labels(EXPLORE_MODE))
ax.set_xticks(np.arange(9) * 28 + 14, [f"{br_number(s, 1)}σ" for s in np.linspace(-3, 3, 9)])
ax.set_title(f"Varredura ({MODES[EXPLORE_MODE]}) a partir do {EXPLORE_DIGIT} de teste nº {EXPLORE_INDEX}")
show_figure(fig, "13_varredura_componentes", FIGURES_DIR)

# %% [markdown]
# ## 15. Avaliação final
#
# Só agora usamos o conjunto de teste para medir a perda, com o modelo final. A referência clássica (o mesmo
# modelo 784-400-20, 20 épocas, Adam 1e-3, lotes de 128, BCE em pixels cinza) chega a cerca de 103,9 nats
# por imagem; os testes do projeto conferem que a execução padrão fica a ±0,6 dela.

# %% tags=["nbval-check-output"]
REFERENCE_TEST_LOSS = 103.9  # o modelo clássico, 20 épocas
torch.manual_seed(SEED)  # o z sorteado de cada imagem de teste: o mesmo no relatório e no laboratório
test = vc.evaluate(model, test_x)
print(f"Perda de teste (−ELBO): {br_number(test['loss'], 2)} nats por imagem (referência clássica: 103,9)")
print(f"  reconstrução (BCE): {br_number(test['bce'], 2)} | KL: {br_number(test['kl'], 2)}")

# %% jupyter={"source_hidden": true} tags=["remove-input"]
display(
    Markdown(
        f"A BCE de teste acima, {br_number(test['bce'], 1)}, usa um $z$ sorteado de $q(z\\mid x)$, como o ELBO "
        f"exige; decodificando a média $\\mu$ (seção 8) ela é {br_number(errors.mean(), 1)}. Os "
        f"{br_number(test['bce'] - errors.mean(), 1)} nats de diferença são o custo do ruído da posterior: o "
        f"decodificador recebe um $z$ perto do código da imagem, não o próprio código."
    )
)

# %% [markdown]
# ### Além do ELBO: o limite de importância
#
# O ELBO é só um limite inferior de $\log p(x)$. Burda et al. (2015) apertam o limite com $k$ amostras de
# $q(z\mid x)$:
#
# $$\log p(x) \;\ge\; \mathbb{E}\Big[\log \tfrac{1}{k}\textstyle\sum_{i=1}^{k} w_i\Big], \qquad
#   \log w_i = \log p(x\mid z_i) + \log p(z_i) - \log q(z_i\mid x),\quad z_i \sim q(z\mid x).$$
#
# Com $k = 1$ é o próprio ELBO; o limite não diminui com $k$ e tende a $\log p(x)$. Todas as estimativas de
# um $k$ usam as mesmas imagens; comparamos duas delas pela diferença **imagem a imagem**, com o erro
# padrão dessa diferença (erro pareado), bem menor que a variação entre imagens de cada estimativa.

# %%
torch.manual_seed(SEED)
iwae_x, iwae_large_x = test_x[:IWAE_SIZE], test_x[:IWAE_LARGE_SIZE]
elbo_subset = analysis.elbo_per_image(model, iwae_x)  # KL em forma fechada, um z por imagem
iwae = {k: analysis.iwae_bound(model, iwae_x, k) for k in (1, 10, 100)}
iwae_large = {k: analysis.iwae_bound(model, iwae_large_x, k) for k in (1, 100, IWAE_LARGE_K)}
print(f"{'k':>6} | {'imagens':>7} | {'limite de log p(x)':>18} | {'erro padrão':>11} | {'− (k = 1), pareado':>20}")
for group in (iwae, iwae_large):
    for k, values in group.items():
        diff, paired = analysis.paired_difference(values, group[1])
        stderr = values.std(ddof=1) / np.sqrt(len(values))
        gain = f"{br_number(diff, 2)} ± {br_number(paired, 2)}" if k > 1 else "—"
        print(
            f"{br_number(k):>6} | {br_number(len(values)):>7} | {br_number(values.mean(), 2):>18} | {br_number(stderr, 2):>11} | {gain:>20}"
        )

# %% jupyter={"source_hidden": true} tags=["remove-input"]
CONVERGED_NATS = 1.0  # ganho de k = 100 para o k maior abaixo do qual dizemos que o limite convergiu
k1_diff, k1_paired = analysis.paired_difference(iwae[1], elbo_subset)
tightening, tightening_se = analysis.paired_difference(iwae[100], iwae[1])
large_gain, large_gain_se = analysis.paired_difference(iwae_large[IWAE_LARGE_K], iwae_large[100])
elbo_gap, elbo_gap_se = analysis.paired_difference(iwae_large[IWAE_LARGE_K], iwae_large[1])
bernoulli = (
    f"Com `BINARIZE=True` os pixels são 0 ou 1 e $p(x\\mid z)$ é uma verossimilhança de Bernoulli de verdade, "
    f"então o número é comparável com a literatura: obtivemos "
    f"**{br_number(iwae_large[IWAE_LARGE_K].mean(), 2)} nats** com k = {br_number(IWAE_LARGE_K)}, contra −86,76 nats "
    f"do VAE de uma camada estocástica de Burda et al. (2015) com k = 5.000 — uma rede maior treinada por "
    f"3.280 épocas, contra as nossas {epochs_done}."
    if BINARIZE
    else "Lembrete (seção 4): com pixels cinza estes números **não** são log-verossimilhanças comparáveis "
    "com artigos; para isso, rode com `BINARIZE=True` (binarização dinâmica no treino, fixa no teste)."
)
display(
    Markdown(
        f"Com k = 1 o limite ({br_number(iwae[1].mean(), 2)}) é o ELBO estimado por amostragem; com a KL em "
        f"forma fechada, o ELBO das mesmas imagens dá {br_number(elbo_subset.mean(), 2)} — diferença pareada de "
        f"{br_number(k1_diff, 2)} ± {br_number(k1_paired, 2)} nats, "
        f"{'dentro' if abs(k1_diff) <= 2 * k1_paired else 'fora'} de dois erros padrão. Com k = 100 o limite "
        f"sobe {br_number(tightening, 2)} ± {br_number(tightening_se, 2)} nats por imagem. Pela identidade da "
        f"seção 4, a folga do ELBO é $D_{{KL}}(q(z\\mid x)\\,\\|\\,p(z\\mid x))$, a soma das lacunas de "
        f"aproximação e de amortização; o limite de importância mede quanto dessa folga já se vê — um limite "
        f"inferior da folga total, que não separa as duas lacunas. Passar de k = 100 para k = {br_number(IWAE_LARGE_K)} "
        f"(em {len(iwae_large_x)} imagens) ainda rende {br_number(large_gain, 2)} ± {br_number(large_gain_se, 2)} "
        f"nats: {'abaixo' if large_gain < CONVERGED_NATS else 'acima'} de {br_number(CONVERGED_NATS, 0)} nat, "
        f"{'o limite está perto de convergir' if large_gain < CONVERGED_NATS else 'o limite ainda não convergiu'}."
        "\n\n" + bernoulli
    )
)

# %% [markdown]
# ## 16. Um espaço latente de duas dimensões
#
# Com $z \in \mathbb{R}^2$ o espaço latente inteiro cabe numa figura (Kingma & Welling, 2013, fig. 4).
# Treinamos um segundo VAE, igual ao primeiro mas com duas dimensões latentes — mesmos dados, semente,
# lotes e épocas (`EPOCHS_2D`; o padrão é o `NUM_EPOCHS` do principal, e o checkpoint é o mesmo da
# execução z = 2 do laboratório) — e decodificamos uma grade que cobre onde os códigos do teste estão:
# dos percentis 1 aos 99 de $\mu$ em cada eixo.

# %% tags=["nbval-ignore-output"]
model_2d, optimizer_2d = training.build(PARAMS_2D, device)
history_2d = training.train(plan_2d, model_2d, optimizer_2d, train_x, val_x, PROGRESS)
mu_2d, logvar_2d = (t.numpy() for t in vc.encode_dataset(model_2d, test_x))
torch.manual_seed(SEED)
test_2d = vc.evaluate(model_2d, test_x)
knn_2d = analysis.knn_accuracy(mu_2d, labels)
print(plan_2d.describe())
print(f"VAE 2-D depois de {len(history_2d['train_loss'])} épocas — perda de teste: {br_number(test_2d['loss'], 2)}")

# %%
GRID = 15
low, high = np.percentile(mu_2d, [1, 99], axis=0)
z1_values, z2_values = np.linspace(low[0], high[0], GRID), np.linspace(low[1], high[1], GRID)
grid = analysis.manifold_grid(model_2d, z1_values, z2_values)
fig, axes = plt.subplots(1, 2, figsize=(14, 6.4))
axes[0].imshow(image_grid(grid.reshape(-1, 28, 28), ncols=GRID), cmap="gray")
ticks = np.arange(GRID) * 28 + 14
axes[0].set_xticks(ticks[::2], [br_number(v, 1) for v in z1_values[::2]])
axes[0].set_yticks(ticks[::2], [br_number(v, 1) for v in z2_values[::-1][::2]])
axes[0].set(title="Variedade aprendida (percentis 1–99 de μ em cada eixo)", xlabel="z₁", ylabel="z₂")
scatter_digits(axes[1], mu_2d, labels)
axes[1].add_patch(plt.Rectangle(low, *(high - low), fill=False, ls="--", color="k", label="grade"))
axes[1].set(title="μ das imagens de teste (tracejado: a área da grade)", xlabel="z₁", ylabel="z₂")
plt.tight_layout()
show_figure(fig, "14_variedade_2d", FIGURES_DIR)

# %% jupyter={"source_hidden": true} tags=["remove-input"]
central = analysis.normal_quantiles(2)  # o intervalo central de 90% da N(0, 1) em cada eixo
in_central = (np.abs(mu_2d) <= central[1]).all(axis=1).mean()
prior_central = analysis.prior_mass([central[0]] * 2, [central[1]] * 2)
aggregate_var = mu_2d.var(axis=0) + np.exp(logvar_2d).mean(axis=0)  # variância da posterior agregada
spread = "mais espalhados" if in_central < prior_central else "mais concentrados"
display(
    Markdown(
        f"A grade vai de z₁ = {br_number(low[0], 1)} a {br_number(high[0], 1)} e de z₂ = {br_number(low[1], 1)} "
        f"a {br_number(high[1], 1)}. No quadrado central de ±{br_number(central[1], 2)} (90% da N(0, 1) em "
        f"cada eixo), o *prior* põe {br_number(100 * prior_central)}% da massa e caem "
        f"{br_number(100 * in_central)}% dos μ do teste: os códigos estão {spread} que o *prior*. A "
        f"variância da posterior agregada (a de μ mais a média de σ²) é {br_number(aggregate_var[0], 2)} em z₁ e "
        f"{br_number(aggregate_var[1], 2)} em z₂, contra 1 no *prior*: a KL puxa cada posterior para o *prior*, "
        f"mas não obriga a mistura delas a ser igual a ele. "
        f"O preço de só duas dimensões está na perda: depois de {len(history_2d['train_loss'])} épocas, o −ELBO de "
        f"teste do modelo 2-D é {br_number(test_2d['loss'], 1)} nats por imagem, contra "
        f"{br_number(test['loss'], 1)} do modelo com {LATENT_DIM} dimensões depois de {epochs_done} épocas "
        f"({br_number(test_2d['loss'] - test['loss'], 1)} nats a mais). Um classificador de 5 vizinhos nos μ 2-D "
        f"acerta {br_number(100 * knn_2d, 1)}% dos dígitos, contra {br_number(100 * knn['μ'], 1)}% com as "
        f"{LATENT_DIM} dimensões."
    )
)

# %% [markdown]
# ## Conclusão

# %% jupyter={"source_hidden": true} tags=["remove-input"]
elapsed = time.perf_counter() - report_start
architecture = f"{vc.INPUT_DIM}-{HIDDEN_DIM}-{LATENT_DIM}" if ARCH == "mlp" else f"convolucional com z de {LATENT_DIM}"
architecture += f" (β = {br_number(BETA, 2)})" if BETA != 1 else ""
how = "carregado de um checkpoint" if plan.action == "reutilizar" else f"em {br_number(train_seconds)} s"
display(
    Markdown(
        f"- Treinamos um VAE {architecture} com {br_number(n_params)} parâmetros por {epochs_done} épocas em "
        f"{br_number(len(train_x))} imagens ({how}; {device}, {threads} threads, semente {SEED}, "
        f"PyTorch {torch.__version__}).\n"
        f"- No teste, a perda (−ELBO) é **{br_number(test['loss'], 2)}** nats por imagem: "
        f"{br_number(test['bce'], 2)} de reconstrução e {br_number(test['kl'], 2)} de KL; diante da "
        f"referência clássica de {br_number(REFERENCE_TEST_LOSS, 1)}, a diferença é de "
        f"{br_number(test['loss'] - REFERENCE_TEST_LOSS, 2)}. A validação terminou em "
        f"{br_number(history['val_loss'][-1], 2)}.\n"
        f"- O limite de importância com k = {br_number(IWAE_LARGE_K)} fica {br_number(elbo_gap, 2)} ± "
        f"{br_number(elbo_gap_se, 2)} nats acima do ELBO amostrado nas mesmas {len(iwae_large_x)} imagens: "
        f"um limite inferior da folga do ELBO neste modelo.\n"
        f"- O erro de reconstrução depende do dígito (do {easiest}, o mais fácil, ao {hardest}, o mais difícil) "
        f"e acompanha a quantidade de tinta (correlação {br_number(ink_correlation, 2)}).\n"
        f"- Amostras: o classificador do projeto lê com confiança ≥ 0,9 {br_number(100 * prior_m['confident_fraction'], 1)}% "
        f"das amostras do *prior* (distância de Fréchet {br_number(prior_m['frechet_distance'], 1)}) e "
        f"{br_number(100 * mix_m['confident_fraction'], 1)}% das da mistura ajustada aos códigos "
        f"({br_number(mix_m['frechet_distance'], 1)}); as imagens de teste, {br_number(100 * reference_confident, 1)}%.\n"
        f"- Sem ver rótulos, os códigos separam os dígitos: {br_number(100 * knn['μ'], 1)}% de acerto de 5 "
        f"vizinhos em μ; {int(active.sum())} das {LATENT_DIM} dimensões estão ativas.\n"
        f"- Com duas dimensões latentes o espaço inteiro cabe numa figura, ao custo de "
        f"{br_number(test_2d['loss'] - test['loss'], 1)} nats por imagem no teste.\n"
        f"- O relatório inteiro rodou em {br_number(elapsed)} s."
    )
)
