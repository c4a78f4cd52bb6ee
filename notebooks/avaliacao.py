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
# # Avaliação avançada do VAE no MNIST
#
# Este notebook examina o modelo que o capítulo `vae_mnist` treinou — lê o mesmo checkpoint e nunca o
# treina de novo — com as perguntas que o ELBO sozinho não responde:
#
# 1. as amostras são dígitos? Medimos com um classificador de dígitos fixo, e vemos onde o *prior* erra;
# 2. quão folgado é o ELBO? O limite de importância (IWAE) responde por baixo;
# 3. quais dimensões latentes trabalham?
# 4. o caminho entre dois códigos passa por dígitos, ou por sobreposições de dois?
# 5. como fica um espaço latente de duas dimensões, que cabe inteiro numa figura?
#
# Rode antes o capítulo com os mesmos parâmetros de treino (`make report`, depois `make avaliacao`).

# %% tags=["parameters"]
BATCH_SIZE: int = 128  # imagens por lote (identifica o checkpoint do capítulo)
NUM_EPOCHS: int = 20  # épocas de treino do modelo do capítulo
LATENT_DIM: int = 20  # dimensão do espaço latente z
HIDDEN_DIM: int = 400  # neurônios da camada oculta do modelo "mlp"
ARCH: str = "mlp"  # "mlp" ou "conv", como no capítulo
BETA: float = 1.0  # peso da KL no treino do capítulo
LEARNING_RATE: float = 1e-3  # taxa de aprendizado do Adam no capítulo
SEED: int = 42  # semente do capítulo; aqui também a das amostras e sorteios
VAL_SIZE: int = 5000  # imagens de validação tiradas das 60.000 de treino
TRAIN_SIZE: "int or None" = None  # None: todas as que sobram (55.000); um inteiro usa um subconjunto
BINARIZE: bool = False  # True: o modelo binarizado do capítulo (verossimilhança de Bernoulli de verdade)
DATA_DIR: "str or None" = None  # None: data/ na raiz do projeto (ou a variável VAE_MNIST_DATA_DIR)
DEVICE: str = "auto"  # "auto", "cpu", "cuda" ou "mps"
NUM_THREADS: "int or None" = None  # None: todos os núcleos disponíveis; fixo durante a execução
PROGRESS: bool = True  # barra de progresso do treino do VAE 2-D
CHECKPOINT_DIR: "str or None" = None  # None: checkpoints/ na raiz (ou VAE_MNIST_CHECKPOINT_DIR), como no capítulo
CHECKPOINT_PATH: "str or None" = None  # None: o arquivo da configuração em CHECKPOINT_DIR; ou o arquivo do capítulo
FIGURES_DIR: "str or None" = None  # None: não salva; uma pasta: cada figura também vira um PNG com nome fixo
QUALITY_SAMPLES: "int or None" = None  # imagens de cada conjunto nas medidas de qualidade; None: as de validação
MIXTURE_COMPONENTS: int = 10  # componentes da mistura gaussiana ajustada aos μ do treino
IWAE_SIZE: int = 2000  # imagens de teste no limite de importância com k de 1, 10 e 100
IWAE_LARGE_K: int = 1000  # um k maior, num subconjunto menor
IWAE_LARGE_SIZE: int = 200  # imagens de teste para o k maior
EPOCHS_2D: "int or None" = None  # épocas do VAE com z 2-D; None: as mesmas NUM_EPOCHS do modelo do capítulo
EXPLORE_DIGIT: int = 3  # dígito de teste de onde a varredura das dimensões parte
EXPLORE_INDEX: int = 0  # qual exemplo desse dígito no teste

# %% [markdown]
# ## 1. Preparação

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Markdown, display
from sklearn.mixture import GaussianMixture

import vae_core as vc
from vae_tools import analysis, checkpoints, findings, mnist, quality, training
from vae_tools import classifier as digits
from vae_tools.figures import br_number, image_grid, say, scatter_digits, show_figure
from vae_tools.findings import Compared, Density
from vae_tools.parameters import (
    EVALUATION_PARAMETER_NAMES,
    resolve_device,
    seed_everything,
    validate_evaluation_params,
)

PARAMS = validate_evaluation_params({name: globals()[name] for name in EVALUATION_PARAMETER_NAMES})
globals().update(PARAMS)
plan = checkpoints.trained_plan(PARAMS, "o capítulo (notebooks/vae_mnist)")
PARAMS_2D = PARAMS | {"LATENT_DIM": 2, "NUM_EPOCHS": EPOCHS_2D, "CHECKPOINT_PATH": None, "SKIP_TRAINING": False}
plan_2d = checkpoints.plan_run(PARAMS_2D | {"CHECKPOINT_DIR": CHECKPOINT_DIR or plan.path.parent})
threads = seed_everything(SEED, NUM_THREADS)
device = resolve_device(DEVICE)
print(f"PyTorch {torch.__version__} | dispositivo: {device} | threads: {threads} | semente: {SEED}")
print(plan.describe())
print(f"VAE 2-D: {plan_2d.describe()}")

# %% tags=["nbval-check-output"]
data = mnist.load_mnist(mnist.resolve_data_dir(DATA_DIR), val_size=VAL_SIZE, train_size=TRAIN_SIZE, seed=SEED)
train_x = mnist.flatten_images(data.train_x, device)
val_x, test_x = mnist.to_model_input(data.val_x, device), mnist.to_model_input(data.test_x, device)
if BINARIZE:
    val_x, test_x = mnist.binarize_fixed(val_x, SEED), mnist.binarize_fixed(test_x, SEED + 1)
labels = data.test_y.numpy()
model = training.build(PARAMS, device)[0]
history = training.train(plan, model, vc.make_optimizer(model, LEARNING_RATE), train_x, val_x, False)
mu_test, logvar_test = vc.encode_dataset(model, test_x)
classifier, classifier_info = digits.load_classifier(device)
print(f"Modelo do capítulo: {len(history['train_loss'])} épocas; {br_number(len(mu_test))} códigos de teste")

# %% [markdown]
# ## 2. As amostras são dígitos?
#
# O ELBO mede o ajuste do modelo, não a qualidade das amostras (Theis, van den Oord & Bethge, 2016). Para
# medir se uma imagem **é um dígito** usamos um classificador de dígitos do projeto (uma CNN pequena,
# `vae_tools.classifier`), treinado uma vez com semente fixa e guardado no repositório: toda máquina mede
# com a mesma régua. Nos 128 atributos da sua penúltima camada, contra as imagens de teste:
#
# - a **distância de Fréchet** entre as gaussianas ajustadas aos atributos reais e aos gerados — a "FID",
#   mas na escala deste classificador, que **não** se compara com FIDs de artigos (rede Inception);
# - a **precisão** e a **revocação** (*recall*) de Kynkäänniemi et al. (2019), com 3 vizinhos: a fração das
#   imagens geradas perto de alguma real, e das reais perto de alguma gerada. Imagens borradas e parecidas com
#   um dígito médio ganham precisão alta sem serem boas (Naeem et al., 2020);
# - a fração que o classificador lê com confiança ≥ 0,9.
#
# As fontes: imagens reais de validação (a âncora da escala, o que seria um gerador perfeito: o VAE não as viu,
# e o classificador só escolheu por elas a sua época), as suas reconstruções, $z$ do *prior* $\mathcal{N}(0, I)$ e de uma **mistura
# de gaussianas** ajustada aos $\mu$ do treino (Ghosh et al., 2020) e, para calibrar, as imagens de validação
# desfocadas. O que o VAE produz aparece sempre como **médias** do decodificador, como no capítulo.

# %%
n = QUALITY_SAMPLES
reference = quality.make_reference(classifier, test_x[:n], data.test_y[:n])
real_x = val_x[:n]  # imagens que nem o VAE nem o classificador viram no treino
mu_train, logvar_train = (t.numpy() for t in vc.encode_dataset(model, train_x[:10000]))  # os códigos do treino
mixture = GaussianMixture(MIXTURE_COMPONENTS, covariance_type="full", random_state=SEED).fit(mu_train)
z_prior = torch.randn(n, LATENT_DIM, generator=torch.Generator().manual_seed(SEED)).numpy()
z_mixture = analysis.sample_mixture(mixture, n, SEED)
sources = {  # cada conjunto é gerado na hora de ser medido: um só fica na memória por vez
    "real": lambda: real_x,
    "reconstructions": lambda: vc.reconstruct(model, real_x),
    "mixture": lambda: vc.decode_latent(model, z_mixture),
    "prior": lambda: vc.decode_latent(model, z_prior),
    "blurred": lambda: quality.gaussian_blur(real_x, 1.0),
}
scores = {
    name: quality.measure_images(classifier, torch.as_tensor(make()).reshape(n, -1), reference)
    for name, make in sources.items()
}
test_confident = float((digits.read(classifier, test_x[:n])[1] >= quality.CONFIDENCE).mean())
sampling = findings.sampling(scores, test_confident)

# %% jupyter={"source_hidden": true} tags=["remove-input"]
names = {
    "real": "imagens reais de validação (âncora)",
    "reconstructions": "reconstruções das de validação (médias)",
    "mixture": f"médias em z de uma mistura de {MIXTURE_COMPONENTS} gaussianas",
    "prior": "médias em z do prior N(0, I)",
    "blurred": "validação desfocada (σ = 1 pixel)",
}
display(Markdown(quality.score_table(scores, names)))

# %% jupyter={"source_hidden": true} tags=["remove-input"]
mixture = {
    Compared.BETTER: "Sortear $z$ da mistura ajustada aos códigos melhora a legibilidade: {mixture_confident:.1%} lidas com confiança ({gain:.1p} ± {gain_se:.1p} a mais) e distância {mixture:,.1f}.",
    Compared.TIE: "Sortear $z$ da mistura ajustada aos códigos não muda a legibilidade além do ruído: {mixture_confident:.1%} lidas com confiança e distância {mixture:,.1f}.",
    Compared.WORSE: "Sortear $z$ da mistura ajustada aos códigos piora a legibilidade: {mixture_confident:.1%} lidas com confiança e distância {mixture:,.1f}.",
}[sampling.mixture_vs_prior]
say(
    "**As médias decodificadas em $z$ do *prior* ficam longe das reconstruções do mesmo modelo:** em {n:,} imagens "
    "de cada conjunto, as reconstruções ficam a {reconstructions:,.1f} das de teste ({reconstructions_confident:.1%} "
    "lidas com confiança); as médias do *prior*, a {prior:,.1f} ({prior_confident:.1%}). " + mixture + " A revocação "
    "é {prior_recall:.3f} com o *prior* e {mixture_recall:.3f} com a mistura.",
    sampling,
)

# %% [markdown]
# **A densidade explica a vantagem da mistura?** A posterior agregada de um conjunto de imagens,
# $q(z) = \frac{1}{N}\sum_n \mathcal{N}(z;\mu_n,\sigma_n^2)$, não coincide com o *prior* (capítulo, seção 9), e a
# mistura sorteia $z$ onde os códigos estão. Calculamos $\log q(z)$ — a mistura das posteriores de 10.000 imagens
# de treino, não um ajuste aos $\mu$ — em cada $z$ das duas fontes e comparamos a legibilidade delas **na mesma
# densidade**: por faixas de $\log q(z)$ (os decis das duas juntas). Se a densidade explicasse tudo, as duas curvas
# coincidiriam.

# %%
z_sources = {"prior": z_prior, "mixture": z_mixture}
log_q = {name: analysis.aggregate_log_density(z, mu_train, logvar_train) for name, z in z_sources.items()}
images = {name: torch.as_tensor(vc.decode_latent(model, z)).reshape(n, -1) for name, z in z_sources.items()}
confident = {name: digits.read(classifier, x)[1] >= quality.CONFIDENCE for name, x in images.items()}
hole_facts = findings.holes(*((log_q[name], confident[name]) for name in z_sources))
edges = findings.density_edges(log_q["prior"], log_q["mixture"])
fig, axes = plt.subplots(1, 2, figsize=(15, 4.6), width_ratios=[1.7, 1])
rows = {"reais (teste)": test_x[:10].cpu().numpy(), "mistura": images["mixture"][:10], "prior": images["prior"][:10]}
axes[0].imshow(
    image_grid(np.concatenate([np.asarray(r) for r in rows.values()]).reshape(-1, 28, 28), ncols=10), cmap="gray"
)
axes[0].set_yticks(np.arange(len(rows)) * 28 + 14, list(rows))
axes[0].set_xticks([])
axes[0].set_title("Imagens reais e médias decodificadas de z da mistura e do prior")
for (name, label), color in zip({"prior": "prior N(0, I)", "mixture": "mistura"}.items(), ["tab:blue", "tab:orange"]):
    means, ses, counts = analysis.binned(log_q[name], confident[name], edges)
    shown = counts >= findings.MIN_BIN
    axes[1].errorbar(
        np.arange(1, len(edges))[shown],
        100 * means[shown],
        yerr=200 * ses[shown],
        fmt="o-",
        capsize=3,
        color=color,
        label=label,
    )
axes[1].axhline(100 * sampling.test_confident, color="k", ls=":", label="imagens de teste")
axes[1].set(
    xlabel="faixa de log q(z): quantis das duas fontes juntas (1: a mais vazia)",
    ylabel="% lidas com confiança ≥ 0,9",
    xticks=range(1, len(edges)),
    title="Legibilidade na mesma densidade da posterior agregada",
)
axes[1].legend(fontsize=8)
plt.tight_layout()
show_figure(fig, "aval_01_qualidade_amostras", FIGURES_DIR)

# %% jupyter={"source_hidden": true} tags=["remove-input"]
density = {
    Density.NOT_EXPLAINED: "**Na mesma densidade da posterior agregada, as médias da mistura são mais legíveis que as do *prior*:** a densidade de $q(z)$ no $z$ sorteado não explica a vantagem da mistura. A mistura é mais legível, além de dois erros padrão, em todas as {bins} faixas em que as duas fontes têm amostras (na mais vazia, {mixture_low:.1%} contra {prior_low:.1%}; na mais densa, {mixture_high:.1%} contra {prior_high:.1%}).",
    Density.EXPLAINED: "**Na mesma densidade da posterior agregada, as médias da mistura e as do *prior* são igualmente legíveis:** a vantagem da mistura vem de sortear onde $q(z)$ é denso. Em nenhuma das {bins} faixas com amostras das duas a mistura é mais legível além de dois erros padrão.",
    Density.PARTLY: "**Só em parte das faixas de densidade as médias da mistura são mais legíveis que as do *prior*:** em {better_bins} das {bins} faixas com amostras das duas, além de dois erros padrão; a densidade de $q(z)$ explica parte da vantagem da mistura.",
    Density.DISJOINT: "**As duas fontes sorteiam em faixas de densidade diferentes:** nenhuma faixa tem amostras bastantes de ambas, e não há como compará-las na mesma densidade.",
}[hole_facts.verdict]
say(
    density
    + " A mediana de $\\log q(z)$ é {mixture_median:.1f} nos $z$ da mistura e {prior_median:.1f} nos do *prior*.",
    hole_facts,
)

# %% [markdown]
# ## 3. O limite de importância
#
# O ELBO é só um limite inferior de $\log p(x)$. Burda et al. (2015) o apertam com $k$ amostras de $q(z\mid x)$:
#
# $$\log p(x) \;\ge\; \mathbb{E}\Big[\log \tfrac{1}{k}\textstyle\sum_{i=1}^{k} w_i\Big], \qquad
#   \log w_i = \log p(x\mid z_i) + \log p(z_i) - \log q(z_i\mid x),\quad z_i \sim q(z\mid x).$$
#
# Com $k = 1$ é o próprio ELBO; o limite não diminui com $k$ e tende a $\log p(x)$. A folga do ELBO é
# $D_{KL}(q(z\mid x)\,\|\,p(z\mid x))$, soma de duas lacunas (Cremer, Li & Duvenaud, 2018): a de
# **aproximação** (nem a melhor gaussiana diagonal é a posterior) e a de **amortização** (um codificador para
# todas as imagens não acha a melhor gaussiana de cada uma); o limite com $k$ grande mede quanto dessa folga
# já se vê, sem separar as duas. Comparamos estimativas pela diferença **imagem a imagem** (erro pareado).

# %%
torch.manual_seed(SEED)
iwae_x, iwae_large_x = test_x[:IWAE_SIZE], test_x[:IWAE_LARGE_SIZE]
elbo_subset = analysis.elbo_per_image(model, iwae_x)
iwae = {k: analysis.iwae_bound(model, iwae_x, k) for k in (1, 10, 100)}
iwae_large = {k: analysis.iwae_bound(model, iwae_large_x, k) for k in (1, 100, IWAE_LARGE_K)}
print(f"{'k':>6} | {'imagens':>7} | {'limite (nats)':>13} | {'erro padrão':>11} | {'ganho sobre k = 1, pareado':>26}")
for group in (iwae, iwae_large):
    for k, values in group.items():
        diff, paired = analysis.paired_difference(values, group[1])
        gain = f"{br_number(diff, 2)} ± {br_number(paired, 2)}" if k > 1 else "—"
        stderr = br_number(values.std(ddof=1) / np.sqrt(len(values)), 2)
        print(
            f"{br_number(k):>6} | {br_number(len(values)):>7} | {br_number(values.mean(), 2):>13} | {stderr:>11} | {gain:>26}"
        )
bound = findings.bound(elbo_subset, iwae, iwae_large, IWAE_LARGE_K)

# %% jupyter={"source_hidden": true} tags=["remove-input"]
shrinking = {
    True: "Os ganhos por década de k diminuem ({gain_10:.2f}, {gain_100:.2f} e, em {large_images} imagens, {gain_large:.2f} nats), mas um limite inferior que sobe cada vez menos não mostra quanto ainda falta até $\\log p(x)$.",
    False: "Os ganhos por década de k não diminuem ({gain_10:.2f}, {gain_100:.2f} e, em {large_images} imagens, {gain_large:.2f} nats): o limite ainda sobe depressa.",
}[bound.shrinking]
say(
    "**A folga do ELBO é de pelo menos {gap:.2f} ± {gap_se:.2f} nats por imagem:** é quanto o limite com k = "
    "{k:,} sobe acima do ELBO amostrado (k = 1), nas mesmas {large_images} imagens. " + shrinking,
    bound,
)

# %% jupyter={"source_hidden": true} tags=["remove-input"]
literature = {
    True: "Com pixels binarizados a comparação com a literatura vale: {large_bound:.2f} nats com k = {k:,}, contra −86,76 nats do VAE de uma camada estocástica de Burda et al. (2015) com k = 5.000 — uma rede maior, treinada por 3.280 épocas.",
    False: "Com pixels cinza estes números **não** são log-verossimilhanças comparáveis com artigos; para isso, rode o capítulo e esta avaliação com `BINARIZE=True`.",
}[BINARIZE]
say(literature, bound)

# %% [markdown]
# ## 4. Quais dimensões trabalham?
#
# A KL total é a soma das KLs de cada dimensão. Uma dimensão cuja posterior é o *prior* para toda imagem tem
# KL zero e não carrega nada (*posterior collapse*). Burda et al. (2015) chamam de **ativa** a dimensão $j$ em
# que $\operatorname{Var}_x\big(\mathbb{E}_{q(z\mid x)}[z_j]\big) > 0{,}01$, isto é, em que $\mu_j$ muda de
# imagem para imagem.

# %%
kl_dims = analysis.kl_per_dimension(mu_test, logvar_test)
active = analysis.active_units(mu_test)
by_kl = np.argsort(kl_dims)[::-1]
fig, ax = plt.subplots(figsize=(10, 3.4))
ax.bar(range(LATENT_DIM), kl_dims[by_kl], color=np.where(active[by_kl], "tab:blue", "tab:gray"))
ax.set_xticks(range(LATENT_DIM), [f"z{j}" for j in by_kl], fontsize=8)
legend = {True: "azul: ativa; cinza: inativa", False: "todas ativas"}[bool((~active).any())]
ax.set(
    title=f"KL média por dimensão no teste, em ordem decrescente ({legend})",
    xlabel="dimensão latente",
    ylabel="nats por imagem",
)
show_figure(fig, "aval_02_kl_por_dimensao", FIGURES_DIR)
unit_facts = findings.units(kl_dims, active)

# %% jupyter={"source_hidden": true} tags=["remove-input"]
inactive = {
    True: "As inativas somam só {inactive_kl:.2f} nats de KL: o modelo as desligou, porque cada nat de KL tem de se pagar em reconstrução.",
    False: "Nenhuma dimensão colapsou.",
}[unit_facts.any_inactive]
say(
    "**{active} das {dims} dimensões estão ativas, e a KL não se divide por igual entre elas:** as cinco de mais "
    "KL somam {top5_share:.0%} dela ({even_share:.0%} se fosse igual em todas). " + inactive,
    unit_facts,
)

# %% [markdown]
# A varredura abaixo move, a partir do código de um dígito de teste, as três dimensões de mais KL e as duas de
# menos, uma de cada vez, pelos quantis de 5% a 95% da $\mathcal{N}(0, 1)$ (posições absolutas). A medida
# repete a varredura de todas as dimensões a partir de 100 imagens de teste.

# %%
high = min(3, LATENT_DIM)
swept = np.concatenate([by_kl[:high], by_kl[high:][-2:]])
quantiles = analysis.normal_quantiles(9)
z_start = mu_test[mnist.nth_of_digit(data.test_y, EXPLORE_DIGIT, EXPLORE_INDEX)].numpy()
traversal_dims = analysis.dimension_traversal(model, z_start, swept, quantiles)
fig, ax = plt.subplots(figsize=(9, len(swept) + 0.6))
ax.imshow(image_grid(traversal_dims.reshape(-1, 28, 28), ncols=9), cmap="gray")
ax.set_yticks(np.arange(len(swept)) * 28 + 14, [f"z{j} (KL {br_number(kl_dims[j], 1)})" for j in swept])
ax.set_xticks(np.arange(9) * 28 + 14, [br_number(q, 2) for q in quantiles])
ax.set_xlabel("valor da dimensão varrida (quantis de 5% a 95% da N(0, 1))")
ax.set_title(f"As dimensões de mais KL e as de menos, varridas nos quantis da N(0, 1), a partir de um {EXPLORE_DIGIT}")
show_figure(fig, "aval_03_varredura_dimensoes", FIGURES_DIR)
sweeps = [analysis.dimension_traversal(model, z, range(LATENT_DIM), quantiles[[0, -1]]) for z in mu_test[:100].numpy()]
change = 255 * np.mean([np.abs(s[:, -1] - s[:, 0]).mean(axis=(1, 2)) for s in sweeps], axis=0)
sweep_facts = findings.sweep(kl_dims, change, len(sweeps))

# %% jupyter={"source_hidden": true} tags=["remove-input"]
orders = {
    True: "**A KL de uma dimensão ordena quanto movê-la muda a imagem.**",
    False: "**A KL de uma dimensão não ordena, sozinha, quanto movê-la muda a imagem.**",
}[sweep_facts.orders]
say(
    orders + " Levando cada dimensão do quantil de 5% ao de 95%, a partir de {starts} imagens de teste, a imagem "
    "muda de {least:.1f} a {most:.1f} níveis de cinza por pixel, em média; a correlação de postos com a KL das "
    "dimensões é {rho:.2f}.",
    sweep_facts,
)

# %% [markdown]
# ## 5. Interpolação: dígitos no caminho, ou sobreposições?
#
# Entre os códigos $\mu$ de dois dígitos de teste traçamos um segmento e decodificamos pontos igualmente
# espaçados (linhas "z"). Para comparar, a linha "pixels" mistura, $(1-t)\,\hat{x}_a + t\,\hat{x}_b$, as
# **mesmas pontas**: as reconstruções das duas imagens, de modo que os dois caminhos começam e terminam nas
# mesmas figuras. Uma mistura de pixels é uma **dupla exposição**: imprime cada dígito pela metade, e os
# traços de ambos viram cinza; o classificador pode até lê-la como um dos dois, e uma troca de leitura não
# a denuncia. Medimos a **tinta fantasma**: quanto a fração de pixels cinza (entre 0,1 e 0,9) dos pontos
# intermediários passa da média das duas pontas — ela sobe também num dígito só borrado, então é um limite
# superior da sobreposição. E a fração dos pontos com **cara de dígito real** (os atributos caem na bola de 3
# vizinhos de alguma imagem de teste, o critério da precisão). A figura mostra três pares; as medidas usam 200
# pares sorteados de dígitos diferentes.

# %%
steps = np.linspace(0, 1, 11)
rng = np.random.default_rng(SEED)
ends = rng.choice(len(mu_test), size=(400, 2), replace=False)
ends = ends[labels[ends[:, 0]] != labels[ends[:, 1]]][:200]
shown = [
    (mnist.nth_of_digit(data.test_y, a, 0), mnist.nth_of_digit(data.test_y, b, 0)) for a, b in [(3, 8), (4, 9), (1, 7)]
]
pairs = np.concatenate([np.array(shown), ends])
latent = vc.decode_latent(model, np.stack([analysis.latent_path(mu_test[a], mu_test[b], len(steps)) for a, b in pairs]))
latent = latent.reshape(len(pairs), len(steps), -1)
pixels = np.stack([analysis.latent_path(p[0], p[-1], len(steps)) for p in latent])  # as mesmas pontas
inner = slice(1, -1)
realistic = {
    kind: quality.realistic(classifier, paths[:, inner].reshape(-1, 784), reference).reshape(len(pairs), -1)
    for kind, paths in (("latent", latent), ("pixels", pixels))
}
rows = np.stack([row for pair in zip(latent[:3], pixels[:3]) for row in pair])
fig, ax = plt.subplots(figsize=(11, 6.6))
ax.imshow(image_grid(rows.reshape(-1, 28, 28), ncols=len(steps)), cmap="gray")
ax.set_yticks(
    np.arange(6) * 28 + 14, [f"{a} → {b} ({kind})" for a, b in [(3, 8), (4, 9), (1, 7)] for kind in ("z", "pixels")]
)
ax.set_xticks(np.arange(len(steps)) * 28 + 14, [f"t={br_number(t, 1)}" for t in steps], fontsize=8)
ax.set_title("Interpolação entre as mesmas pontas: no espaço latente (z) e nos pixels")
show_figure(fig, "aval_04_interpolacao", FIGURES_DIR)
ghosts = (analysis.ghost_ink(latent[3:]), analysis.ghost_ink(pixels[3:]))
path_facts = findings.interpolation(ghosts, (realistic["latent"][3:], realistic["pixels"][3:]))

# %% jupyter={"source_hidden": true} tags=["remove-input"]
verdict = {
    Compared.BETTER: "**O caminho no espaço latente deixa bem menos tinta cinza no meio do trajeto que a mistura de pixels**, cujas duplas exposições imprimem cada dígito pela metade.",
    Compared.TIE: "**Os dois caminhos deixam a mesma tinta cinza no meio do trajeto, dentro do ruído.**",
    Compared.WORSE: "**O caminho latente deixa mais tinta cinza no meio do trajeto que a mistura de pixels.**",
}[path_facts.verdict]
say(
    verdict + " Em {pairs} pares sorteados, o meio da mistura de pixels tem, a mais que as pontas, {pixel_ghost:.1%} "
    "dos 784 pixels em cinza; o do caminho latente, {latent_ghost:.1%} (diferença pareada de {ghost_difference:.1p}"
    " ± {ghost_se:.1p}). O critério da precisão quase não os separa: {latent_real:.1%} e {pixel_real:.1%} dos "
    "pontos caem perto de um dígito real ({real_difference:.1p} ± {real_se:.1p}).",
    path_facts,
)

# %% [markdown]
# ## 6. Um espaço latente de duas dimensões
#
# Com $z \in \mathbb{R}^2$ o espaço latente cabe numa figura (Kingma & Welling, 2013, fig. 4). Treinamos
# um segundo VAE, igual ao do capítulo mas com duas dimensões latentes — mesmos dados, semente, lotes e épocas
# (`EPOCHS_2D`; o checkpoint é o mesmo da execução z = 2 do laboratório) — e decodificamos uma grade que cobre
# onde os códigos de teste estão, dos percentis 1 aos 99 de $\mu$ em cada eixo.

# %% tags=["nbval-ignore-output"]
model_2d, optimizer_2d = training.build(PARAMS_2D, device)
history_2d = training.train(plan_2d, model_2d, optimizer_2d, train_x, val_x, PROGRESS)
mu_2d, logvar_2d = (t.numpy() for t in vc.encode_dataset(model_2d, test_x))
torch.manual_seed(SEED)
test_2d, test_main = vc.evaluate(model_2d, test_x), vc.evaluate(model, test_x)
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
axes[1].add_patch(plt.Rectangle(low, *(high - low), fill=False, ls="--", color="k"))
axes[1].set(title="μ das imagens de teste (tracejado: a área da grade)", xlabel="z₁", ylabel="z₂")
plt.tight_layout()
show_figure(fig, "aval_05_variedade_2d", FIGURES_DIR)
knn = (analysis.knn_accuracy(mu_2d, labels), analysis.knn_accuracy(mu_test.numpy(), labels))
flat = findings.latent_2d(mu_2d, logvar_2d, (test_2d["loss"], test_main["loss"]), knn, LATENT_DIM)

# %% jupyter={"source_hidden": true} tags=["remove-input"]
spread = {
    True: "Os códigos estão mais espalhados que o *prior*: no quadrado central de ±{central:.2f} (90% da N(0, 1) em cada eixo) ele põe {prior_central:.0%} da massa, e ali caem só {in_central:.0%} dos μ de teste.",
    False: "Os códigos estão mais concentrados que o *prior*: no quadrado central de ±{central:.2f} (90% da N(0, 1) em cada eixo) ele põe {prior_central:.0%} da massa, e ali caem {in_central:.0%} dos μ de teste.",
}[flat.spread_wider]
say(
    "**Com duas dimensões o espaço latente cabe numa figura, ao preço de {extra:.1f} nats por imagem:** "
    "{loss_2d:.1f} no teste, contra {loss_main:.1f} do modelo do capítulo. Cinco vizinhos nos μ 2-D acertam "
    "{knn_2d:.1%} dos dígitos, contra {knn_main:.1%} nas {dims} dimensões (validação cruzada nos dois). A variância da posterior agregada é "
    "{var1:.2f} em z₁ e {var2:.2f} em z₂, contra 1 no *prior*. " + spread,
    flat,
)

# %% [markdown]
# ## Conclusão
#
# - **Meça as amostras, não só o ELBO**: um classificador fixo mostra que as médias decodificadas em $z$ do
#   *prior* ficam longe das reconstruções do mesmo modelo; a distância de Fréchet se lê ao lado da confiança e
#   de uma âncora real.
# - **Amostrar de uma mistura ajustada aos códigos** dá médias bem mais legíveis que o *prior*; a seção 2 compara
#   as duas na mesma densidade da posterior agregada para ver se é ela que explica a diferença.
# - **O limite de importância mostra a folga do ELBO por baixo**: ela é de pelo menos alguns nats.
# - **A KL não se divide por igual entre as dimensões**, e a KL de cada uma diz quanto ela muda a imagem.
# - **Interpolar no espaço latente deixa menos tinta fantasma** que misturar pixels; um critério de "cara de
#   dígito" quase não vê a diferença: escolha a medida pelo defeito que ela precisa enxergar.
# - **Duas dimensões** dão um mapa dos dígitos, ao custo de muitos nats.
#
# Limites: um modelo, uma semente, 20 épocas, pixels cinza; a régua de qualidade é um classificador do
# próprio MNIST, numa escala diferente da FID dos artigos.
