"""Um classificador de dígitos do próprio projeto: uma CNN pequena no espírito da LeNet-5 que lê as
imagens geradas e cujo penúltimo nível (128 atributos) é o espaço onde a qualidade das amostras é medida
(`vae_tools.quality`).

Arquitetura: conv 3×3 com 32 canais → max-pool 2 → conv 3×3 com 64 canais → max-pool 2 → 128 unidades
(os atributos) → 10 logits. Treinado com Adam (taxa descendo em cosseno; deslocamentos aleatórios de até
1 pixel como aumento de dados) nas imagens de treino do projeto; a época guardada é a de maior acurácia
na validação, e o teste só é medido para ser relatado.

O classificador é treinado uma vez por máquina: o arquivo de pesos tem o nome da configuração
(`classificador-lenet-lr0.001-b128-shift1-seed42-val5000-n55000-e8.pt`), fica na mesma pasta dos
checkpoints do VAE, é gravado de forma atômica e lido sem executar código
(`checkpoints.write_state` / `checkpoints.read_state`), e nunca é sobrescrito.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import vae_core as vc
from vae_tools import checkpoints
from vae_tools.checkpoints import CheckpointError
from vae_tools.mnist import MNISTData

FORMAT, VERSION = "vae-mnist-classificador", 1
ARCH = "lenet"
NUM_FEATURES = 128
NUM_CLASSES = 10
EVAL_BLOCK = 64  # imagens por bloco na avaliação: cabem no cache e poupam memória (medido: 64 mais rápido que 256)
STATE_KEYS = {"format", "version", "config", "model", "best_epoch", "val_accuracy", "test_accuracy", "seconds"}


class DigitClassifier(nn.Module):
    """CNN pequena (LeNet-5 moderna): `forward` devolve logits (N, 10); `features`, os atributos (N, 128)
    da penúltima camada (depois da ReLU), o espaço da distância de Fréchet e da precisão/cobertura.

    Aceita imagens achatadas (N, 784) ou (N, 28, 28), em floats em [0, 1] ou em uint8 (0–255).
    """

    num_features = NUM_FEATURES  # o torchmetrics lê este atributo em vez de sondar a rede com uma imagem falsa

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, kernel_size=3, padding=1)
        self.hidden = nn.Linear(64 * 7 * 7, NUM_FEATURES)
        self.out = nn.Linear(NUM_FEATURES, NUM_CLASSES)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = vc.to_float(x).reshape(-1, 1, vc.IMAGE_SIDE, vc.IMAGE_SIDE)
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)  # 32 × 14 × 14
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)  # 64 × 7 × 7
        return F.relu(self.hidden(x.flatten(1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.features(x))


def build_classifier(seed: int, device: torch.device | str = "cpu") -> DigitClassifier:
    """O classificador com pesos iniciais sorteados pela semente, num gerador à parte (`fork_rng`):
    os pesos são função só da configuração, e o gerador global fica intocado."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = DigitClassifier()
    return model.to(device, memory_format=torch.channels_last)


# ---------------------------------------------------------------- avaliação em blocos


def embed(
    classifier: DigitClassifier, images: torch.Tensor, block: int = EVAL_BLOCK
) -> tuple[torch.Tensor, torch.Tensor]:
    """Atributos (N, 128) e logits (N, 10) de `images` numa só passada, em blocos, sem gradiente; na CPU."""
    classifier.eval()
    device = next(classifier.parameters()).device
    features, logits = [], []
    with torch.inference_mode():
        for start in range(0, len(images), block):
            h = classifier.features(images[start : start + block].to(device))
            features.append(h.cpu())
            logits.append(classifier.out(h).cpu())
    return torch.cat(features), torch.cat(logits)


def read(classifier: DigitClassifier, images) -> tuple[np.ndarray, np.ndarray]:
    """Como o classificador lê cada imagem (N, 784): o dígito previsto e a sua probabilidade (a confiança)."""
    x = torch.as_tensor(images)
    probabilities = torch.softmax(embed(classifier, x.float() if x.is_floating_point() else x)[1], dim=1)
    confidence, predicted = probabilities.max(dim=1)
    return predicted.numpy(), confidence.numpy()


def accuracy(classifier: DigitClassifier, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Fração de `images` cujo rótulo previsto é `labels`."""
    _, logits = embed(classifier, images)
    return (logits.argmax(1) == labels.cpu()).double().mean().item()


# ---------------------------------------------------------------- treino


def shift_images(x: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Desloca cada imagem (N, 1, 28, 28) por um número inteiro de pixels sorteado em [−max_shift, max_shift]
    em cada eixo, preenchendo com fundo preto (o aumento de dados leve da LeNet)."""
    if max_shift == 0:
        return x
    n, side = len(x), x.shape[-1]
    padded = F.pad(x[:, 0], (max_shift,) * 4)  # (N, 28 + 2s, 28 + 2s)
    dy, dx = torch.randint(0, 2 * max_shift + 1, (2, n), generator=generator).to(x.device)
    span = torch.arange(side, device=x.device)
    rows = (dy[:, None] + span)[:, :, None]  # (N, 28, 1)
    cols = (dx[:, None] + span)[:, None, :]  # (N, 1, 28)
    return padded[torch.arange(n, device=x.device)[:, None, None], rows, cols].unsqueeze(1)


def train_classifier(
    config: dict, data: MNISTData, device: torch.device | str = "cpu", progress: bool = False
) -> tuple[DigitClassifier, dict]:
    """Treina o classificador pela configuração; devolve o modelo da época de maior acurácia na validação
    e as medidas (acurácia de validação por época, época escolhida, acurácia no teste, segundos)."""
    from vae_tools.training import Progress

    model = build_classifier(config["SEED"], device)
    optimizer = vc.make_optimizer(model, config["LEARNING_RATE"])
    steps = config["NUM_EPOCHS"] * -(-len(data.train_x) // config["BATCH_SIZE"])
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)  # a taxa desce até 0 em cosseno
    generator = torch.Generator().manual_seed(config["SEED"])  # ordem dos lotes e deslocamentos
    train_x, train_y = data.train_x.to(device).unsqueeze(1), data.train_y.to(device)
    val_accuracies, best, best_state = [], -1.0, None
    bar = Progress(config["NUM_EPOCHS"], enabled=progress, description="Classificador")
    start = time.perf_counter()
    try:
        for _ in range(config["NUM_EPOCHS"]):
            model.train()
            order = torch.randperm(len(train_x), generator=generator).to(device)
            for batch in order.split(config["BATCH_SIZE"]):
                x = shift_images(vc.to_float(train_x[batch]), config["SHIFT"], generator)
                loss = F.cross_entropy(model(x), train_y[batch])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                schedule.step()
            val_accuracies.append(accuracy(model, data.val_x, data.val_y))
            if val_accuracies[-1] > best:  # seleção de modelo só pela validação
                best = val_accuracies[-1]
                best_state = {key: value.detach().clone() for key, value in model.state_dict().items()}
            bar.advance(f"validação={100 * val_accuracies[-1]:.2f}%")
    finally:
        bar.close()
    seconds = time.perf_counter() - start
    model.load_state_dict(best_state)
    model.eval()
    measures = {
        "val_accuracies": val_accuracies,
        "best_epoch": val_accuracies.index(best) + 1,
        "val_accuracy": best,
        "test_accuracy": accuracy(model, data.test_x, data.test_y),  # só para relatar
        "seconds": seconds,
    }
    return model, measures


# ---------------------------------------------------------------- identidade, arquivo, carga


def data_fingerprint(data: MNISTData) -> str:
    """Impressão digital curta das partições de treino e validação: dois conjuntos com os mesmos tamanhos,
    mas partidos com outra semente, dão classificadores diferentes e não podem dividir um arquivo."""
    digest = hashlib.sha256()
    for tensor in (data.train_x, data.train_y, data.val_x, data.val_y):
        digest.update(tensor.contiguous().cpu().numpy().tobytes())
    return digest.hexdigest()[:16]


def classifier_config(
    data: MNISTData, seed: int = 42, num_epochs: int = 8, learning_rate: float = 1e-3, batch_size: int = 128,
    shift: int = 1,
) -> dict:  # fmt: skip
    """A configuração que identifica um classificador (o que define os seus pesos; o nome do arquivo vem dela).

    `SHIFT`: deslocamento aleatório de até tantos pixels em cada eixo (aumento de dados); `SCHEDULE`: a taxa
    de aprendizado desce em cosseno até 0 ao longo das épocas; `DATA`: impressão digital das partições."""
    return {
        "ARCH": ARCH, "NUM_EPOCHS": num_epochs, "SEED": seed, "VAL_SIZE": len(data.val_x),
        "TRAIN_SIZE": len(data.train_x), "LEARNING_RATE": learning_rate, "SCHEDULE": "cosine",
        "BATCH_SIZE": batch_size, "SHIFT": shift, "DATA": data_fingerprint(data),
    }  # fmt: skip


def classifier_name(config: dict) -> str:
    """Nome do arquivo, por exemplo `classificador-lenet-lr0.001-b128-shift1-seed42-val5000-n55000-e8.pt`."""
    parts = [
        "classificador", config["ARCH"], f"lr{config['LEARNING_RATE']:g}", f"b{config['BATCH_SIZE']}",
        *([f"shift{config['SHIFT']}"] if config["SHIFT"] else []), f"seed{config['SEED']}",
        f"val{config['VAL_SIZE']}", f"n{config['TRAIN_SIZE']}", f"e{config['NUM_EPOCHS']}",
    ]  # fmt: skip
    return "-".join(parts) + ".pt"


def load_classifier_state(path: Path, config: dict) -> dict:
    """Lê o arquivo do classificador sem executar código e confere formato, versão e configuração;
    qualquer diferença é recusada em português, nomeando o arquivo e a chave."""
    state = checkpoints.read_state(path)
    if not isinstance(state, dict) or state.get("format") != FORMAT or not STATE_KEYS <= state.keys():
        raise CheckpointError(
            f"O arquivo {path} não é um classificador deste projeto (formato {FORMAT} versão {VERSION}): "
            f"apague-o ou mova-o, e ele será treinado de novo."
        )
    if state["version"] != VERSION:
        raise CheckpointError(
            f"O classificador {path} foi gravado pela versão {state['version']} do formato, e esta é a {VERSION}. "
            f"Mova-o para outra pasta (ele não é apagado) e rode de novo para treiná-lo."
        )
    saved = state["config"] if isinstance(state["config"], dict) else {}
    differences = [
        f"{key}: arquivo {saved.get(key)!r}, pedido {value!r}"
        for key, value in config.items()
        if saved.get(key) != value
    ]
    if differences:
        raise CheckpointError(
            f"O classificador {path} não combina com a configuração pedida:\n  "
            + "\n  ".join(differences)
            + "\nEle não é sobrescrito: mova-o para outra pasta (ou use outra pasta de checkpoints) para treinar "
            "esta configuração."
        )
    return state


def load_or_train_classifier(
    data: MNISTData,
    folder: str | os.PathLike | None = None,
    device: torch.device | str = "cpu",
    progress: bool = False,
    seed: int = 42,
    num_epochs: int = 8,
    learning_rate: float = 1e-3,
    batch_size: int = 128,
    shift: int = 1,
) -> tuple[DigitClassifier, dict]:
    """O classificador desta configuração: lido do seu arquivo se ele existe, senão treinado e gravado.

    `data` é o que `vae_tools.mnist.load_mnist` devolve; `folder` é a pasta dos checkpoints (None: a
    variável de ambiente `VAE_MNIST_CHECKPOINT_DIR`, senão `checkpoints/` na raiz). Devolve
    `(classificador em modo de avaliação, info)`, com `info` contendo `test_accuracy`, `val_accuracy`,
    `seconds` (do treino, mesmo quando lido), `best_epoch`, `trained` (True se treinado agora), `path`
    e `config`. Um arquivo existente nunca é sobrescrito: se não combina, é recusado com a diferença.
    """
    config = classifier_config(data, seed, num_epochs, learning_rate, batch_size, shift)
    path = checkpoints.resolve_checkpoint_dir(folder) / classifier_name(config)
    if path.exists():
        state = load_classifier_state(path, config)
        model = DigitClassifier().to(device, memory_format=torch.channels_last)
        model.load_state_dict(state["model"])
        trained = False
    else:
        checkpoints.ensure_writable(path)  # antes de treinar, não depois
        model, measures = train_classifier(config, data, device, progress)
        state = {
            "format": FORMAT, "version": VERSION, "config": config,
            "model": {key: value.cpu() for key, value in model.state_dict().items()},
            "best_epoch": measures["best_epoch"], "val_accuracies": measures["val_accuracies"],
            "val_accuracy": measures["val_accuracy"], "test_accuracy": measures["test_accuracy"],
            "seconds": measures["seconds"],
        }  # fmt: skip
        checkpoints.write_state(state, path)
        trained = True
    model.eval()
    info = {
        "test_accuracy": state["test_accuracy"], "val_accuracy": state["val_accuracy"], "seconds": state["seconds"],
        "best_epoch": state["best_epoch"], "trained": trained, "path": path, "config": config,
    }  # fmt: skip
    return model, info
