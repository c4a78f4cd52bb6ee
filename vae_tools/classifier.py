"""Um classificador de dígitos do próprio projeto: uma CNN pequena no espírito da LeNet-5 que lê as
imagens geradas e cujo penúltimo nível (128 atributos) é o espaço onde a qualidade das amostras é medida
(`vae_tools.quality`).

Arquitetura: conv 3×3 com 32 canais → max-pool 2 → conv 3×3 com 64 canais → max-pool 2 → 128 unidades
(os atributos) → 10 logits. Treinado com Adam (taxa descendo em cosseno; deslocamentos aleatórios de até
1 pixel como aumento de dados) nas imagens de treino da partição padrão (validação de 5.000 imagens com a
semente 42, as 55.000 restantes de treino); a época guardada é a de maior acurácia na validação, e o teste
só é medido para ser relatado.

O classificador é um **instrumento fixo**, como a rede Inception da FID: os pesos vêm no repositório
(`vae_tools/classificador.pt`, só tensores e tipos simples), são lidos sem executar código
(`checkpoints.read_state`) e nunca são treinados de novo sem que se peça: toda máquina e toda execução
medem na mesma escala. Só `make classificador` (`python -m vae_tools.classifier`) os treina de novo — e
isso muda a régua: a soma SHA-256 conferida em `tests/test_classifier.py` precisa ser atualizada.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import vae_core as vc
from vae_tools import checkpoints, mnist
from vae_tools.checkpoints import CheckpointError
from vae_tools.mnist import MNISTData
from vae_tools.parameters import seed_everything

FORMAT, VERSION = "vae-mnist-classificador", 1
CLASSIFIER_PATH = Path(__file__).resolve().with_name("classificador.pt")  # o instrumento, no repositório
DEFAULT_VAL_SIZE, DEFAULT_SEED = 5_000, 42  # a partição padrão do projeto, a do instrumento
ARCH = "lenet"
NUM_FEATURES = 128
NUM_CLASSES = 10
EVAL_BLOCK = 64  # imagens por bloco na avaliação: cabem no cache e poupam memória (medido: 64 mais rápido que 256)
STATE_KEYS = {"format", "version", "config", "model", "best_epoch", "val_accuracy", "test_accuracy", "seconds"}


class DigitClassifier(nn.Module):
    """CNN pequena (LeNet-5 moderna): `forward` devolve logits (N, 10); `features`, os atributos (N, 128)
    da penúltima camada (depois da ReLU), o espaço da distância de Fréchet e da precisão/revocação.

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
    """Impressão digital curta das partições de treino e validação em que o classificador foi treinado
    (guardada na configuração do arquivo: diz exatamente quais imagens ele viu)."""
    digest = hashlib.sha256()
    for tensor in (data.train_x, data.train_y, data.val_x, data.val_y):
        digest.update(tensor.contiguous().cpu().numpy().tobytes())
    return digest.hexdigest()[:16]


def classifier_config(
    data: MNISTData, seed: int = DEFAULT_SEED, num_epochs: int = 8, learning_rate: float = 1e-3,
    batch_size: int = 128, shift: int = 1,
) -> dict:  # fmt: skip
    """A configuração que identifica um classificador (o que define os seus pesos).

    `SHIFT`: deslocamento aleatório de até tantos pixels em cada eixo (aumento de dados); `SCHEDULE`: a taxa
    de aprendizado desce em cosseno até 0 ao longo das épocas; `DATA`: impressão digital das partições."""
    return {
        "ARCH": ARCH, "NUM_EPOCHS": num_epochs, "SEED": seed, "VAL_SIZE": len(data.val_x),
        "TRAIN_SIZE": len(data.train_x), "LEARNING_RATE": learning_rate, "SCHEDULE": "cosine",
        "BATCH_SIZE": batch_size, "SHIFT": shift, "DATA": data_fingerprint(data),
    }  # fmt: skip


def file_sha256(path: str | os.PathLike) -> str:
    """Soma SHA-256 (hexadecimal) do arquivo: a identidade do instrumento."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def classifier_state(model: DigitClassifier, config: dict, measures: dict) -> dict:
    """O conteúdo do arquivo do classificador: só tensores e tipos simples (lido com `weights_only=True`)."""
    return {
        "format": FORMAT, "version": VERSION, "config": config,
        "model": {key: value.detach().cpu().contiguous() for key, value in model.state_dict().items()},
        "best_epoch": measures["best_epoch"], "val_accuracies": measures["val_accuracies"],
        "val_accuracy": measures["val_accuracy"], "test_accuracy": measures["test_accuracy"],
        "seconds": measures["seconds"], "torch_version": str(torch.__version__), "num_threads": torch.get_num_threads(),
    }  # fmt: skip


def read_classifier_state(path: str | os.PathLike) -> dict:
    """Lê o arquivo do classificador sem executar código e confere formato, versão e chaves; qualquer problema
    vira `CheckpointError` em português, que nomeia o arquivo e diz como refazê-lo (`make classificador`)."""
    path = Path(path)
    redo = (
        "Restaure-o do repositório (`git checkout -- vae_tools/classificador.pt`) ou treine-o de novo com "
        "`make classificador` (o que muda a régua das medidas)."
    )
    if not path.is_file():
        raise CheckpointError(f"Não há o classificador de dígitos em {path}: ele vem com o repositório. {redo}")
    try:
        state = checkpoints.read_state(path)
    except CheckpointError as error:
        raise CheckpointError(f"O classificador de dígitos {path} não pôde ser lido. {error} {redo}") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT or not STATE_KEYS <= state.keys():
        raise CheckpointError(
            f"O arquivo {path} não é um classificador deste projeto (formato {FORMAT} versão {VERSION}). {redo}"
        )
    if state["version"] != VERSION:
        raise CheckpointError(
            f"O classificador {path} foi gravado pela versão {state['version']} do formato, e esta é a {VERSION}. "
            f"{redo}"
        )
    return state


def load_classifier(
    device: torch.device | str = "cpu", path: str | os.PathLike | None = None
) -> tuple[DigitClassifier, dict]:
    """O classificador de dígitos do projeto, lido do arquivo do repositório (`vae_tools/classificador.pt`);
    nunca treina.

    Devolve `(classificador em modo de avaliação, info)`, com `info` contendo `test_accuracy`,
    `val_accuracy`, `seconds` (do treino original), `best_epoch`, `config`, `path` e `sha256`. Um arquivo
    ausente, truncado, de outro formato ou com objetos que executariam código é recusado com
    `CheckpointError`, que nomeia o arquivo e diz que `make classificador` o treina de novo. `path` serve
    para ler outro arquivo no mesmo formato (nos testes)."""
    path = Path(path) if path is not None else CLASSIFIER_PATH
    state = read_classifier_state(path)
    model = DigitClassifier()
    try:
        model.load_state_dict(state["model"])
    except (RuntimeError, TypeError, AttributeError) as error:
        raise CheckpointError(
            f"Os pesos em {path} não servem para esta arquitetura ({type(error).__name__}). "
            f"Restaure o arquivo do repositório ou treine-o de novo com `make classificador`."
        ) from None
    model = model.to(device, memory_format=torch.channels_last).eval()
    info = {
        "test_accuracy": state["test_accuracy"], "val_accuracy": state["val_accuracy"], "seconds": state["seconds"],
        "best_epoch": state["best_epoch"], "config": state["config"], "path": path, "sha256": file_sha256(path),
    }  # fmt: skip
    return model, info


# ---------------------------------------------------------------- make classificador


def train_default(
    path: str | os.PathLike = CLASSIFIER_PATH, data_dir: str | os.PathLike | None = None, progress: bool = True
) -> tuple[DigitClassifier, dict]:
    """Treina o instrumento na partição padrão (validação de 5.000 imagens, semente 42, as 55.000 restantes
    de treino), com todos os núcleos, e o grava em `path` (`checkpoints.write_state`: atômico, só
    tensores e tipos simples). Devolve o classificador e o estado gravado."""
    seed_everything(DEFAULT_SEED)  # fixa as threads: os pesos só se repetem bit a bit com o mesmo número delas
    data = mnist.load_mnist(mnist.resolve_data_dir(data_dir), val_size=DEFAULT_VAL_SIZE, seed=DEFAULT_SEED)
    config = classifier_config(data)
    model, measures = train_classifier(config, data, progress=progress)
    state = classifier_state(model, config, measures)
    checkpoints.write_state(state, Path(path))
    return model, state


def main(argv: list[str] | None = None):
    """`python -m vae_tools.classifier`: treina o classificador de novo e grava `vae_tools/classificador.pt`."""
    parser = argparse.ArgumentParser(
        description="Treina o classificador de dígitos do projeto (a régua das medidas de qualidade) na "
        "partição padrão e grava os pesos no arquivo do repositório."
    )
    parser.add_argument("--output", type=Path, default=CLASSIFIER_PATH, help="arquivo de pesos (padrão: %(default)s)")
    parser.add_argument("--data-dir", help="pasta do MNIST (padrão: data/ ou VAE_MNIST_DATA_DIR)")
    parser.add_argument("--no-progress", action="store_true", help="sem barra de progresso")
    args = parser.parse_args(argv)
    from vae_tools.figures import br_number

    train_default(args.output, args.data_dir, progress=not args.no_progress)
    _, info = load_classifier(path=args.output)  # relido como todos o leem: weights_only, formato conferido
    state = read_classifier_state(args.output)
    size = args.output.stat().st_size
    print(f"Classificador gravado em {checkpoints.shown(args.output.resolve())} ({br_number(size / 2**20, 2)} MiB)")
    print(
        f"  acurácia: validação {br_number(100 * state['val_accuracy'], 2)} %, "
        f"teste {br_number(100 * state['test_accuracy'], 2)} % (época {state['best_epoch']} de "
        f"{state['config']['NUM_EPOCHS']}, a de maior acurácia na validação)"
    )
    threads = f"{state['num_threads']} threads, PyTorch {torch.__version__}"
    print(f"  treino: {br_number(state['seconds'], 1)} s ({threads})")
    print(f"  SHA-256: {info['sha256']}")
    print(
        "AVISO: treinar o classificador de novo muda a régua das medidas de qualidade (distância de Fréchet, "
        "precisão, revocação, leituras confiantes): os números de antes e os de depois não se comparam. "
        "Atualize CLASSIFIER_SHA256 em tests/test_classifier.py com a soma acima e reexecute os notebooks."
    )


if __name__ == "__main__":
    main()
