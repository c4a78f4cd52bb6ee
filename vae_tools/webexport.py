"""O explorador do site: os decodificadores treinados e os dados dos controles, em arquivos para a página.

O navegador não tem PyTorch, mas o decodificador do modelo "mlp" são dois produtos de matrizes
(z → 400, ReLU → 784, sigmoide), que `docs/site/explorador/explorador.js` faz em JavaScript puro. Este
módulo grava em `docs/site/explorador/`, de checkpoints do capítulo (z = 20) e do VAE 2-D da avaliação:

- os pesos das duas camadas do decodificador de cada modelo;
- os `EXAMPLES` primeiros exemplos de teste de cada dígito (pixels em uint8, como no MNIST) e os seus μ;
- os controles do explorador do capítulo (`LatentSpace`): média e componentes principais de μ, as
  dimensões de mais KL, as faixas e os passos, os rótulos;
- o mapa do VAE 2-D: o μ de cada imagem de teste e o seu dígito.

Cada matriz vai num binário little-endian (float32, ou uint8/int32 onde os valores são inteiros), e um
manifesto JSON (`manifesto.json`) diz a forma, o tipo e o SHA-256 de cada uma, a configuração dos
checkpoints de onde vieram e o ponto de partida do notebook. Os arquivos são guardados no repositório:
o site se constrói sem checkpoints (num clone limpo, no CI).

Uso: python -m vae_tools.webexport [PASTA_DOS_CHECKPOINTS]   (make explorador, depois de make notebook)
"""

from __future__ import annotations

import ast
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import torch

import vae_core as vc
from vae_tools import analysis, checkpoints, mnist
from vae_tools.explorer import MODES, LatentSpace
from vae_tools.figures import DIGIT_COLORS, DIGIT_MARKERS
from vae_tools.parameters import REPO_ROOT, validate_evaluation_params, validate_params

EXPORT_DIR = REPO_ROOT / "docs" / "site" / "explorador"
MANIFEST = "manifesto.json"
EXAMPLES = 10  # exemplos de teste por dígito no seletor da página
SIZE_BUDGET = 3_000_000  # bytes: tudo o que a página do explorador baixa (dados, pesos, script e estilo)
FORMAT = 1
LITTLE_ENDIAN = {"float32": "<f4", "int32": "<i4", "uint8": "u1"}


def decoder_arrays(model: vc.VAE, prefix: str) -> dict[str, np.ndarray]:
    """Os pesos do decodificador totalmente conectado (fc3, fc4) de `model`, com nomes `prefix.fc3.weight`…"""
    if type(model) is not vc.VAE:
        raise ValueError(
            f'A página só sabe rodar o decodificador totalmente conectado (vae_core.VAE, ARCH="mlp"); '
            f"recebi {type(model).__name__}."
        )
    return {
        f"{prefix}.{name}": tensor.detach().cpu().numpy().astype(np.float32)
        for name, tensor in model.state_dict().items()
        if name.startswith(("fc3.", "fc4."))
    }


def first_examples(labels: np.ndarray, count: int = EXAMPLES) -> np.ndarray:
    """As posições no teste dos `count` primeiros exemplos de cada dígito: (10, count)."""
    return np.stack([np.flatnonzero(labels == digit)[:count] for digit in range(vc.NUM_CLASSES)])


def explorer_assets(model, model_2d, images: np.ndarray, labels: np.ndarray, params: dict) -> tuple[dict, dict]:
    """Os arrays da página e a parte do manifesto que os descreve (controles, rótulos, ponto de partida).

    `images`: o teste em uint8 (N, 28, 28), como no MNIST; `params`: os do capítulo (N_SLIDERS, SEED,
    EXPLORE_DIGIT, EXPLORE_INDEX, EXPLORE_MODE). Os μ e os controles são os do notebook: a PCA ajustada em
    μ com a mesma semente, a KL por dimensão e `LatentSpace`."""
    from sklearn.decomposition import PCA

    if params["EXPLORE_INDEX"] >= EXAMPLES:
        raise ValueError(
            f"EXPLORE_INDEX={params['EXPLORE_INDEX']}: a página tem os {EXAMPLES} primeiros exemplos de cada "
            f"dígito; use um exemplo de partida entre 0 e {EXAMPLES - 1} (ou aumente webexport.EXAMPLES)."
        )
    x = mnist.to_model_input(torch.as_tensor(images))
    mu, logvar = vc.encode_dataset(model, x)
    pca = PCA(random_state=params["SEED"]).fit(mu.numpy())
    space = LatentSpace(pca, mu.numpy(), analysis.kl_per_dimension(mu, logvar), params["N_SLIDERS"])
    chosen = first_examples(labels)
    arrays = decoder_arrays(model, "z20") | decoder_arrays(model_2d, "z2")
    arrays |= {
        "exemplos.indices": chosen.astype(np.int32),
        "exemplos.imagens": images[chosen].reshape(*chosen.shape, -1).astype(np.uint8),
        "exemplos.mu": mu.numpy()[chosen].astype(np.float32),
        "pca.media": pca.mean_.astype(np.float32),
        "pca.componentes": pca.components_[: space.n].astype(np.float32),
        "dims.indices": space.dims.astype(np.int32),
        "mapa.mu": vc.encode_dataset(model_2d, x)[0].numpy().astype(np.float32),
        "mapa.rotulos": labels.astype(np.uint8),
    }
    low, high = np.percentile(arrays["mapa.mu"], [0.5, 99.5], axis=0)
    margin = 0.1 * (high - low)
    controls = {
        mode: {"titulo": title, "rotulos": space.labels(mode), "controles": space.sliders(mode)}
        for mode, title in MODES.items()
    }
    meta = {
        "inicio": {key.lower(): params[key] for key in ("EXPLORE_DIGIT", "EXPLORE_INDEX", "EXPLORE_MODE")},
        "modos": controls,
        "mapa": {
            "faixa": [[float(a), float(b)] for a, b in zip(low - margin, high + margin)],
            "cores": list(DIGIT_COLORS),
            "marcadores": list(DIGIT_MARKERS),
        },
    }
    return arrays, meta


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def write_assets(folder: Path, arrays: dict[str, np.ndarray], meta: dict) -> Path:
    """Grava cada array num binário little-endian e o manifesto (formas, tipos, SHA-256, `meta`); devolve o
    caminho do manifesto. Os binários que sobraram de uma exportação anterior saem."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.bin"):
        old.unlink()
    files = {}
    for name, array in arrays.items():
        kind = str(array.dtype)
        if kind not in LITTLE_ENDIAN:
            raise ValueError(f"O array {name} é {kind}; a página lê só {', '.join(LITTLE_ENDIAN)}.")
        path = folder / f"{name.replace('.', '_')}.bin"
        path.write_bytes(np.ascontiguousarray(array, dtype=LITTLE_ENDIAN[kind]).tobytes())
        files[name] = {"arquivo": path.name, "forma": list(array.shape), "tipo": kind, "sha256": sha256(path)}
    manifest = {"formato": FORMAT, **meta, "arquivos": files}
    path = folder / MANIFEST
    path.write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n")
    return path


def read_assets(folder: Path = EXPORT_DIR) -> tuple[dict[str, np.ndarray], dict]:
    """Os arrays e o manifesto gravados por `write_assets`; um binário que não bate com o manifesto
    (tamanho ou SHA-256) levanta `ValueError` com o nome do arquivo."""
    folder = Path(folder)
    manifest = json.loads((folder / MANIFEST).read_text())
    arrays = {}
    for name, entry in manifest["arquivos"].items():
        path = folder / entry["arquivo"]
        if sha256(path) != entry["sha256"]:
            raise ValueError(f"{path} não é o que {MANIFEST} descreve (SHA-256 diferente): rode `make explorador`.")
        arrays[name] = np.frombuffer(path.read_bytes(), dtype=LITTLE_ENDIAN[entry["tipo"]]).reshape(entry["forma"])
    return arrays, manifest


def notebook_defaults(name: str) -> dict:
    """Os valores padrão da célula `parameters` de notebooks/`name`.py."""
    from vae_tools.publish import notebook_parameters

    script = REPO_ROOT / "notebooks" / f"{name}.py"
    return {p.name: ast.literal_eval(p.default) for p in notebook_parameters(script)}


def default_params(checkpoint_dir: Path | None = None) -> tuple[dict, dict]:
    """Os parâmetros dos dois modelos de registro: o do capítulo com os padrões de notebooks/vae_mnist.py e o
    VAE 2-D da avaliação com os de notebooks/avaliacao.py (z = 2, `EPOCHS_2D` épocas)."""
    folder = {"CHECKPOINT_DIR": None if checkpoint_dir is None else str(checkpoint_dir), "CHECKPOINT_PATH": None}
    params = validate_params(notebook_defaults("vae_mnist") | folder)
    evaluation = validate_evaluation_params(notebook_defaults("avaliacao") | folder)
    return params, evaluation | {"LATENT_DIM": 2, "NUM_EPOCHS": evaluation["EPOCHS_2D"]}


def default_plans(checkpoint_dir: Path) -> tuple[dict, checkpoints.RunPlan, checkpoints.RunPlan]:
    """Os parâmetros padrão do capítulo e os planos dos dois modelos de registro em `checkpoint_dir`; sem um
    deles, `CheckpointError` diz qual notebook rodar."""
    params, params_2d = default_params(checkpoint_dir)
    plan = checkpoints.trained_plan(params, "o capítulo (make notebook)")
    return params, plan, checkpoints.trained_plan(params_2d, "a avaliação (make notebook)")


def model_of(plan: checkpoints.RunPlan) -> vc.VAE:
    config = plan.config
    model = vc.build_model(config["ARCH"], config["LATENT_DIM"], config["HIDDEN_DIM"])
    model.load_state_dict(plan.state["model"])
    return model.eval()


def model_entry(plan: checkpoints.RunPlan) -> dict:
    """O que o manifesto diz de um modelo: o nome do checkpoint e a configuração que o identifica."""
    return {"checkpoint": checkpoints.run_name(plan.config, plan.num_epochs), "configuracao": plan.config}


def export_default(checkpoint_dir: Path, folder: Path = EXPORT_DIR) -> Path:
    """Exporta o explorador dos modelos de registro (parâmetros padrão) de `checkpoint_dir`."""
    params, plan, plan_2d = default_plans(checkpoint_dir)
    images, labels = mnist.load_mnist_split(mnist.resolve_data_dir(params["DATA_DIR"]), train=False)
    if params["BINARIZE"]:
        raise ValueError("BINARIZE=True: a página mostra os pixels cinza do MNIST; exporte um modelo sem binarizar.")
    with torch.no_grad():
        arrays, meta = explorer_assets(model_of(plan), model_of(plan_2d), images.numpy(), labels.numpy(), params)
    meta = {"modelos": {"z20": model_entry(plan), "z2": model_entry(plan_2d)}} | meta
    return write_assets(folder, arrays, meta)


if __name__ == "__main__":
    torch.set_num_threads(1)
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO_ROOT / "build" / "checkpoints-notebook"
    manifest = export_default(source)
    total = sum(p.stat().st_size for p in manifest.parent.iterdir())
    print(f"Explorador exportado em {manifest.parent} ({total / 1e6:.2f} MB, orçamento {SIZE_BUDGET / 1e6:.1f} MB)")
