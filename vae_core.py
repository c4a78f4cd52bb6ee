"""O VAE do relatório, na ordem das seções 3 a 5: o modelo, a função de perda e o treinamento.

Kingma & Welling (2013), *Auto-Encoding Variational Bayes*. Este arquivo não importa nenhum outro
módulo do projeto: dados, parâmetros, checkpoints, análises e figuras ficam no pacote `vae_tools`.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

IMAGE_SIDE = 28
INPUT_DIM = IMAGE_SIDE * IMAGE_SIDE
METRICS = ("loss", "bce", "kl")
EVAL_BATCH_SIZE = 2048
ARCHITECTURES = ("mlp", "conv", "cvae", "ae", "pixelcnn")
NUM_CLASSES = 10  # rótulos do MNIST, condição do VAE condicional
LABEL_SCALE = 10.0  # o one-hot × 10: uma escolha de projeto do curso, não um valor medido no laboratório
CONV_CHANNELS = 16  # canais da primeira convolução do ConvVAE (a segunda tem o dobro)
PIXELCNN_CHANNELS, PIXELCNN_LAYERS = 16, 3  # o decodificador autorregressivo pequeno do laboratório


# ---------------------------------------------------------------- 3. o modelo


class VAE(nn.Module):
    """VAE totalmente conectado: 784 → oculta → (μ, log σ²) → oculta → 784 (logits)."""

    def __init__(self, input_dim: int = INPUT_DIM, hidden_dim: int = 400, latent_dim: int = 20):
        super().__init__()
        self.latent_dim = latent_dim
        self.fc1 = nn.Linear(input_dim, hidden_dim)
        self.fc_mu = nn.Linear(hidden_dim, latent_dim)
        self.fc_logvar = nn.Linear(hidden_dim, latent_dim)
        self.fc3 = nn.Linear(latent_dim, hidden_dim)
        self.fc4 = nn.Linear(hidden_dim, input_dim)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Codificador q(z|x): devolve μ e log σ²."""
        h = F.relu(self.fc1(x))
        return self.fc_mu(h), self.fc_logvar(h)

    @staticmethod
    def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """Truque da reparametrização: z = μ + σ·ε, ε ~ N(0, I); o gradiente passa por μ e σ."""
        return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """Decodificador p(x|z): logits dos 784 pixels (a sigmoide dá as intensidades)."""
        return self.fc4(F.relu(self.fc3(z)))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Intensidades dos pixels em [0, 1]."""
        return torch.sigmoid(self.decode_logits(z))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encode(x)
        return self.decode_logits(self.reparameterize(mu, logvar)), mu, logvar


class ConvVAE(VAE):
    """VAE convolucional com a mesma interface (vetores de 784 pixels, z de `latent_dim`, logits):
    codificador Conv 1→c→2c (núcleo 4, passo 2: 28 → 14 → 7) e cabeças lineares para μ e log σ²;
    decodificador espelhado, linear para 2c×7×7 e duas convoluções transpostas (7 → 14 → 28)."""

    def __init__(self, latent_dim: int = 20, channels: int = CONV_CHANNELS):
        nn.Module.__init__(self)  # herda do VAE a reparametrização, decode e forward, não as camadas
        self.latent_dim, c = latent_dim, channels
        flat = 2 * c * 7 * 7
        self.encoder = nn.Sequential(
            nn.Conv2d(1, c, 4, 2, 1), nn.ReLU(), nn.Conv2d(c, 2 * c, 4, 2, 1), nn.ReLU(), nn.Flatten()
        )
        self.fc_mu, self.fc_logvar = nn.Linear(flat, latent_dim), nn.Linear(flat, latent_dim)
        self.fc_z = nn.Linear(latent_dim, flat)
        self.decoder = nn.Sequential(
            nn.ReLU(), nn.Unflatten(1, (2 * c, 7, 7)), nn.ConvTranspose2d(2 * c, c, 4, 2, 1), nn.ReLU(),
            nn.ConvTranspose2d(c, 1, 4, 2, 1), nn.Flatten(),
        )  # fmt: skip

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(x.reshape(-1, 1, IMAGE_SIDE, IMAGE_SIDE))
        return self.fc_mu(h), self.fc_logvar(h)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """Aceita z com quaisquer dimensões à frente (…, d), como o limite de importância usa."""
        logits = self.decoder(self.fc_z(z.reshape(-1, self.latent_dim)))
        return logits.reshape(*z.shape[:-1], INPUT_DIM)


class CVAE(VAE):
    """VAE condicional (o M2 de Kingma et al., 2014, com o rótulo observado): q(z|x, y) e p(x|z, y), com o
    rótulo y como um vetor one-hot juntado (× `LABEL_SCALE`) à entrada do codificador (784 + 10) e a z
    (d + 10). Mesmo prior, mesma perda. Uso:
    `model.decode(z, y)` → imagens (n, 784) em [0, 1], para z float (n, d) e y inteiro (n,) em 0–9."""

    def __init__(self, hidden_dim: int = 400, latent_dim: int = 20):
        super().__init__(INPUT_DIM, hidden_dim, latent_dim)
        self.fc1 = nn.Linear(INPUT_DIM + NUM_CLASSES, hidden_dim)
        self.fc3 = nn.Linear(latent_dim + NUM_CLASSES, hidden_dim)

    @staticmethod
    def one_hot(y: torch.Tensor, leading: torch.Size) -> torch.Tensor:
        """O rótulo como vetor one-hot (× `LABEL_SCALE`), com as dimensões à frente `leading` de quem o recebe."""
        if not torch.is_tensor(y) or y.dtype.is_floating_point or y.dtype == torch.bool or y.shape != leading[-1:]:
            got = f"{y.dtype} de forma {tuple(y.shape)}" if torch.is_tensor(y) else type(y).__name__
            raise ValueError(f"y deve ser um tensor de inteiros de forma ({leading[-1]},); recebido {got}.")
        if len(y) and (y.min() < 0 or y.max() >= NUM_CLASSES):
            raise ValueError(f"Rótulo fora de 0–9 em y: {sorted(set(y[(y < 0) | (y >= NUM_CLASSES)].tolist()))}.")
        return LABEL_SCALE * F.one_hot(y, NUM_CLASSES).float().expand(*leading, NUM_CLASSES)

    def encode(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z|x, y): μ e log σ² a partir da imagem e do rótulo."""
        return super().encode(torch.cat([x, self.one_hot(y, x.shape[:-1])], dim=-1))

    def decode_logits(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """p(x|z, y): logits dos pixels; z pode ter dimensões à frente (…, n, d), y é (n,)."""
        return super().decode_logits(torch.cat([z, self.one_hot(y, z.shape[:-1])], dim=-1))

    def decode(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if not torch.is_tensor(z) or not z.dtype.is_floating_point or z.dim() != 2 or z.shape[1] != self.latent_dim:
            shape = tuple(z.shape) if torch.is_tensor(z) else type(z).__name__
            raise ValueError(f"z deve ser um tensor float de forma (n, {self.latent_dim}); recebido {shape}.")
        return torch.sigmoid(self.decode_logits(z, y))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encode(x, y)
        return self.decode_logits(self.reparameterize(mu, logvar), y), mu, logvar


class Autoencoder(VAE):
    """Autoencoder comum com a arquitetura do VAE clássico: código determinístico z = μ(x), sem ruído e
    sem a cabeça de log σ² (devolvida como 0 só para manter a interface). Treina-se com β = 0: só a BCE."""

    def __init__(self, hidden_dim: int = 400, latent_dim: int = 20):
        super().__init__(hidden_dim=hidden_dim, latent_dim=latent_dim)
        del self.fc_logvar

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu = self.fc_mu(F.relu(self.fc1(x)))
        return mu, torch.zeros_like(mu)

    @staticmethod
    def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        return mu


class MaskedConv2d(nn.Conv2d):
    """Convolução que só vê os pixels anteriores na ordem de leitura (as linhas de cima e, na mesma linha,
    os da esquerda): a máscara "A" exclui o próprio pixel (primeira camada), a "B" o inclui."""

    def __init__(self, mask: str, in_channels: int, out_channels: int, kernel: int):
        super().__init__(in_channels, out_channels, kernel, padding=kernel // 2)
        keep = torch.ones_like(self.weight)
        keep[:, :, kernel // 2, kernel // 2 + (mask == "B") :] = 0
        keep[:, :, kernel // 2 + 1 :] = 0
        self.register_buffer("keep", keep)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.keep, self.bias, padding=self.padding)


class PixelCNNVAE(VAE):
    """VAE com decodificador autorregressivo (no estilo da PixelCNN, van den Oord et al., 2016): p(x|z) =
    Π_i p(x_i | x_<i, z). O codificador é o do VAE clássico; z vira um mapa 28×28 (as camadas do decodificador
    clássico) somado à primeira convolução mascarada (7×7, "A"), seguida de `PIXELCNN_LAYERS` convoluções
    3×3 "B". Para MNIST binarizado: sem o código, os pixels vizinhos já predizem boa parte de cada pixel."""

    def __init__(self, hidden_dim: int = 400, latent_dim: int = 20, channels: int = PIXELCNN_CHANNELS):
        super().__init__(hidden_dim=hidden_dim, latent_dim=latent_dim)
        self.first, self.condition = MaskedConv2d("A", 1, channels, 7), nn.Conv2d(1, channels, 1)
        self.body = nn.ModuleList(MaskedConv2d("B", channels, channels, 3) for _ in range(PIXELCNN_LAYERS))
        self.out = nn.Conv2d(channels, 1, 1)

    def decode_logits(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Logits de cada pixel dados z e os pixels anteriores de `x` (no treino, a própria imagem)."""
        z_map = super().decode_logits(z).reshape(-1, 1, IMAGE_SIDE, IMAGE_SIDE)
        h = F.relu(self.first(x.reshape(-1, 1, IMAGE_SIDE, IMAGE_SIDE)) + self.condition(z_map))
        for layer in self.body:
            h = F.relu(layer(h))
        return self.out(h).reshape(-1, INPUT_DIM)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encode(x)
        return self.decode_logits(self.reparameterize(mu, logvar), x), mu, logvar

    @torch.inference_mode()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Uma amostra binária de p(x|z), pixel a pixel (784 passagens): a geração é sequencial."""
        generator = torch.Generator(z.device).manual_seed(0)
        x = torch.zeros(len(z), INPUT_DIM, device=z.device)
        for i in range(INPUT_DIM):
            p = torch.sigmoid(self.decode_logits(z, x)[:, i])
            x[:, i] = torch.bernoulli(p, generator=generator)
        return x


def build_model(arch: str = "mlp", latent_dim: int = 20, hidden_dim: int = 400) -> VAE:
    """O modelo de uma arquitetura: "mlp" (o VAE clássico, com `hidden_dim` neurônios), "conv", "cvae"
    (o condicional), "ae" (o autoencoder sem KL) ou "pixelcnn" (decodificador autorregressivo)."""
    if arch == "conv":
        return ConvVAE(latent_dim)
    if arch == "cvae":
        return CVAE(hidden_dim, latent_dim)
    if arch == "ae":
        return Autoencoder(hidden_dim, latent_dim)
    if arch == "pixelcnn":
        return PixelCNNVAE(hidden_dim, latent_dim)
    if arch == "mlp":
        return VAE(hidden_dim=hidden_dim, latent_dim=latent_dim)
    raise ValueError(f"Arquitetura desconhecida: {arch!r}; permitidas: {', '.join(ARCHITECTURES)}.")


def count_parameters(model: nn.Module) -> int:
    """Número de parâmetros treináveis."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# ---------------------------------------------------------------- 4. a função de perda


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(q(z|x) ‖ N(0, I)) em forma fechada, por imagem (Kingma & Welling 2013, apêndice B):
    −½ Σ_j (1 + log σ²_j − μ²_j − σ²_j)."""
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=-1)


def reconstruction_bce(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Entropia cruzada binária somada nos pixels, por imagem, calculada a partir dos logits
    (numericamente estável; mesmo valor que a BCE da sigmoide)."""
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=-1)


def loss_terms(
    logits: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """BCE e KL somadas no lote (o ELBO negativo do lote é a soma das duas)."""
    bce = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
    return bce, kl_divergence(mu, logvar).sum()


def training_loss(bce: torch.Tensor, kl: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
    """O que o treino minimiza: BCE + β·KL. β = 1 é o −ELBO clássico; β ≠ 1 é o β-VAE
    (Higgins et al., 2017), que muda só o peso — e o gradiente — do termo KL."""
    return bce + beta * kl


def free_bits_kl(mu: torch.Tensor, logvar: torch.Tensor, free_bits: float) -> torch.Tensor:
    """A KL do lote com "bits livres" (Kingma et al., 2016): cada dimensão paga max(λ, KL média dela no lote),
    então abaixo de λ nats nada a empurra para o prior. Com λ = 0 é a KL de `loss_terms`."""
    per_dim = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).mean(0)
    return len(mu) * per_dim.clamp(min=free_bits).sum()


def warmup_beta(beta: float, epoch: int, warmup: int) -> float:
    """O peso da KL na época `epoch` (1, 2, …) com aquecimento linear (Bowman et al., 2016): 0 na primeira
    época, β a partir da época `warmup` + 1; `warmup` = 0 é β sempre."""
    return beta if warmup == 0 else beta * min(1.0, (epoch - 1) / warmup)


# ---------------------------------------------------------------- 5. treino e avaliação


def make_optimizer(model: nn.Module, learning_rate: float) -> torch.optim.Adam:
    """Adam; na versão "fused" (um único kernel) quando a plataforma permite."""
    try:
        return torch.optim.Adam(model.parameters(), lr=learning_rate, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(model.parameters(), lr=learning_rate)


def to_float(x: torch.Tensor) -> torch.Tensor:
    """Pixels uint8 (0–255) → floats em [0, 1]; floats passam intactos."""
    return x.float().div_(255) if x.dtype == torch.uint8 else x


def _per_image(totals: torch.Tensor, n: int) -> dict[str, float]:
    bce, kl = (totals / n).tolist()
    return {"loss": bce + kl, "bce": bce, "kl": kl}


class TrainingDiverged(FloatingPointError):
    """A perda virou NaN ou infinito durante o treino (`epoch` e `batch` dizem onde)."""

    def __init__(self, message: str, batch: int = 0, epoch: int = 0):
        super().__init__(message)
        self.batch, self.epoch = batch, epoch


def train_epoch(
    model: VAE,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    batch_size: int,
    generator: torch.Generator | None = None,
    binarize: bool = False,
    beta: float = 1.0,
    y: torch.Tensor | None = None,
    free_bits: float = 0.0,
) -> dict[str, float]:
    """Uma época sobre `x` ((N, 784) no dispositivo do modelo: uint8 0–255, convertido lote a
    lote, ou floats em [0, 1]), em ordem aleatória; `y`: os rótulos, só para o VAE condicional;
    `free_bits` > 0: o treino usa `free_bits_kl` no lugar da KL (a KL relatada é a verdadeira).

    Devolve as médias por imagem de perda total (o −ELBO, com β = 1 qualquer que seja `beta`),
    BCE e KL. As somas (e o primeiro lote com perda não finita) ficam no tensor e só são lidas
    no fim da época, sem sincronizar a cada lote; uma perda NaN/Inf levanta `TrainingDiverged`.
    `binarize=True`: binarização dinâmica, uma amostra de Bernoulli nova de cada lote.
    """
    model.train()
    totals = torch.zeros(2, device=x.device)
    first_bad = torch.zeros((), dtype=torch.long, device=x.device)  # 0 = nenhum lote ruim
    for number, idx in enumerate(torch.randperm(len(x), generator=generator).split(batch_size), start=1):
        batch = to_float(x[idx.to(x.device)])
        if binarize:
            batch = torch.bernoulli(batch)
        logits, mu, logvar = model(batch, *_labels(y, idx))
        bce, kl = loss_terms(logits, batch, mu, logvar)
        loss = training_loss(bce, free_bits_kl(mu, logvar, free_bits) if free_bits else kl, beta)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        totals += torch.stack((bce.detach(), kl.detach()))
        first_bad = torch.where((first_bad == 0) & ~torch.isfinite(loss.detach()), number, first_bad)
    if first_bad.item():
        raise TrainingDiverged(f"perda não finita no lote {first_bad.item()}", first_bad.item())
    return _per_image(totals, len(x))


def _labels(y: torch.Tensor | None, idx) -> tuple:
    """Os rótulos das imagens `idx` como argumento extra do modelo; nada para um VAE sem condição."""
    return () if y is None else (y[idx],)


def batches(x: torch.Tensor, y: torch.Tensor | None, batch_size: int = EVAL_BATCH_SIZE):
    """Lotes consecutivos de `x` (convertidos a float) e os argumentos extras do modelo para cada um."""
    for start in range(0, len(x), batch_size):
        yield to_float(x[start : start + batch_size]), _labels(y, slice(start, start + batch_size))


@torch.inference_mode()
def evaluate(model: VAE, x: torch.Tensor, batch_size: int = EVAL_BATCH_SIZE, y=None) -> dict[str, float]:
    """Médias por imagem do −ELBO, da BCE e da KL em `x` (floats, ou uint8 convertido lote a lote),
    com um z amostrado por imagem (a mesma estimativa do treino), em lotes grandes e sem gradiente."""
    model.eval()
    totals = torch.zeros(2, device=x.device)
    for batch, labels in batches(x, y, batch_size):
        logits, mu, logvar = model(batch, *labels)
        totals += torch.stack(loss_terms(logits, batch, mu, logvar))
    return _per_image(totals, len(x))


def new_history() -> dict[str, list]:
    """Histórico vazio: uma lista por época de `train_*` e `val_*` para perda, BCE e KL, e dos
    segundos de treino de cada época (`seconds`, sem a avaliação)."""
    return {f"{split}_{m}": [] for split in ("train", "val") for m in METRICS} | {"seconds": []}


def fit(
    model: VAE,
    optimizer: torch.optim.Optimizer,
    train_x: torch.Tensor,
    val_x: torch.Tensor,
    num_epochs: int,
    batch_size: int,
    generator: torch.Generator,
    history: dict | None = None,
    callbacks=(),
    binarize: bool = False,
    beta: float = 1.0,
    train_y: torch.Tensor | None = None,
    val_y: torch.Tensor | None = None,
    free_bits: float = 0.0,
    warmup: int = 0,
) -> dict[str, list]:
    """Treina até a época `num_epochs` e devolve o histórico das médias por imagem.

    `generator` sorteia a ordem dos lotes. Um `history` já com k épocas continua da época k + 1
    (e é completado no lugar: uma interrupção não o perde). Depois de cada época, cada
    `callback(epoch, history)` é chamado — é por aí que checkpoints, reconstruções de
    acompanhamento e a barra de progresso se penduram no treino, como os callbacks do Keras.
    `val_x` já vem binarizado, se for o caso; `beta` pesa a KL no treino (a avaliação é o −ELBO);
    `train_y`/`val_y`: os rótulos, só para o VAE condicional; `free_bits` e `warmup` (épocas de
    aquecimento da KL): as curas do colapso posterior (`free_bits_kl`, `warmup_beta`).
    """
    history = new_history() if history is None else history
    for epoch in range(len(history["train_loss"]) + 1, num_epochs + 1):
        start = time.perf_counter()
        try:
            weight = warmup_beta(beta, epoch, warmup)
            stats = {
                "train": train_epoch(
                    model, optimizer, train_x, batch_size, generator, binarize, weight, train_y, free_bits
                )
            }
        except TrainingDiverged as error:
            error.epoch = epoch
            raise
        history["seconds"].append(time.perf_counter() - start)
        stats["val"] = evaluate(model, val_x, y=val_y)
        for split, values in stats.items():
            for m in METRICS:
                history[f"{split}_{m}"].append(values[m])
        for callback in callbacks:
            callback(epoch, history)
    return history


# ---------------------------------------------------------------- usar o modelo treinado (o condicional: com `y`)


@torch.inference_mode()
def encode_dataset(model: VAE, x: torch.Tensor, batch_size: int = EVAL_BATCH_SIZE, y=None):
    """μ e log σ² de q(z|x) para todas as imagens de `x`, como tensores na CPU."""
    model.eval()
    parts = [model.encode(batch, *labels) for batch, labels in batches(x, y, batch_size)]
    return torch.cat([p[0] for p in parts]).cpu(), torch.cat([p[1] for p in parts]).cpu()


@torch.inference_mode()
def reconstruct(model: VAE, x: torch.Tensor, y=None) -> np.ndarray:
    """Reconstruções determinísticas (decodifica μ, sem amostrar z): imagens (n, 28, 28) em [0, 1]."""
    return decode_latent(model, encode_dataset(model, x, y=y)[0], y)


@torch.inference_mode()
def decode_latent(model: VAE, z, y=None) -> np.ndarray:
    """Decodifica um ou mais vetores latentes em imagens (n, 28, 28) com valores em [0, 1]."""
    model.eval()
    device = next(model.parameters()).device
    z = torch.as_tensor(np.asarray(z), dtype=torch.float32, device=device).reshape(-1, model.latent_dim)
    labels = () if y is None else (torch.as_tensor(np.asarray(y), device=device).reshape(-1),)
    return model.decode(z, *labels).reshape(-1, IMAGE_SIDE, IMAGE_SIDE).cpu().numpy()


def sample_images(model: VAE, n: int, seed: int, y=None) -> np.ndarray:
    """Gera `n` imagens decodificando z ~ N(0, I) (semente fixa); com o VAE condicional, do rótulo `y`."""
    z = torch.randn(n, model.latent_dim, generator=torch.Generator().manual_seed(seed))
    return decode_latent(model, z, y)
