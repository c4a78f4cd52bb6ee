"""Classificador e medidas de qualidade: acurácia, tempo de treino, linhas de calibração e tempo de pontuação.

Lê o classificador do projeto (`vae_tools/classificador.pt`, os pesos fixos do repositório, treinados por
`make classificador` na partição padrão: validação de 5.000 imagens, semente 42, as 55.000 restantes de
treino) e mede, contra a referência das 10.000 imagens de teste:
  - o piso: 10.000 imagens de treino (dígitos reais, outros que os da referência);
  - essas mesmas imagens de treino desfocadas e com ruído (conjuntos independentes da referência, como
    as amostras de um modelo);
  - as imagens de teste desfocadas e com ruído (as mesmas imagens da referência: precisão e cobertura
    saem otimistas, porque cada imagem degradada ainda fica perto da sua original);
e o tempo de pontuar um conjunto de 10.000 imagens (o mais rápido de algumas repetições).
Uso: .venv/bin/python benchmarks/bench_quality.py [--repeats 3]
"""

import argparse
import subprocess
import time

import torch

from vae_tools import classifier, mnist, quality
from vae_tools.checkpoints import shown
from vae_tools.figures import br_number

N_IMAGES = 10_000
BLURS = (0.5, 1.0, 2.0)
NOISES = (0.1, 0.25, 0.5)


def cpu_line() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        return next(line for line in out.splitlines() if line.startswith("Model name"))
    except (OSError, subprocess.CalledProcessError, StopIteration):
        return "Model name: desconhecido"


def percent(value: float) -> str:
    return br_number(100 * value, 2) + " %"


def row(name: str, m: dict) -> str:
    cells = [
        br_number(m["frechet_distance"], 2), br_number(m["precision"], 3), br_number(m["recall"], 3),
        percent(m["confident_fraction"]), br_number(m["classifier_score"], 2), br_number(m["label_kl"], 4),
    ]  # fmt: skip
    return f"{name:<36}" + "".join(f"{cell:>12}" for cell in cells)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="repetições da medida de tempo (vale a mais rápida)")
    args = parser.parse_args()

    print(cpu_line())
    print(f"PyTorch {torch.__version__} | threads: {torch.get_num_threads()}")
    data = mnist.load_mnist(mnist.resolve_data_dir(), val_size=5_000, seed=42)
    model, info = classifier.load_classifier()
    print(f"\nClassificador {shown(info['path'])} (SHA-256 {info['sha256'][:16]}…; tempo do treino original)")
    print(f"  treino: {br_number(info['seconds'], 1)} s ({info['config']['NUM_EPOCHS']} épocas; guardada a época "
          f"{info['best_epoch']}, a de maior acurácia na validação)")  # fmt: skip
    print(f"  acurácia: validação {percent(info['val_accuracy'])}, teste {percent(info['test_accuracy'])}")

    test = mnist.flatten_images(data.test_x)
    train = mnist.flatten_images(data.train_x[:N_IMAGES])
    start = time.perf_counter()
    reference = quality.make_reference(model, test, data.test_y)
    print(f"\nReferência: as {br_number(len(reference))} imagens de teste "
          f"({br_number(time.perf_counter() - start, 2)} s, uma vez só)")  # fmt: skip

    rows = {"treino (piso)": train}
    for sigma in BLURS:
        rows[f"treino, desfoque σ = {br_number(sigma, 1)} px"] = quality.gaussian_blur(train, sigma)
    for std in NOISES:
        rows[f"treino, ruído σ = {br_number(std, 2)}"] = quality.add_gaussian_noise(train, std, seed=0)
    for sigma in BLURS:
        rows[f"teste, desfoque σ = {br_number(sigma, 1)} px"] = quality.gaussian_blur(test, sigma)
    for std in NOISES:
        rows[f"teste, ruído σ = {br_number(std, 2)}"] = quality.add_gaussian_noise(test, std, seed=0)

    header = ["distância", "precisão", "cobertura", "conf. ≥ 0,9", "escore", "KL rótulos"]
    print(f"\n{'conjunto de 10.000 imagens':<36}" + "".join(f"{cell:>12}" for cell in header))
    for name, images in rows.items():
        print(row(name, quality.measure_images(model, images, reference)))

    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        quality.measure_images(model, train, reference)
        times.append(time.perf_counter() - start)
    start = time.perf_counter()
    features, _ = classifier.embed(model, train)
    embed_s = time.perf_counter() - start
    start = time.perf_counter()
    quality.precision_recall(reference.features, features, reference.k, real_radii=reference.radii)
    pr_s = time.perf_counter() - start
    start = time.perf_counter()
    quality.frechet_distance(reference.features, features)
    fd_s = time.perf_counter() - start
    print(f"\nPontuar 10.000 imagens (measure_images, a mais rápida de {args.repeats}): {br_number(min(times), 2)} s "
          f"(classificador {br_number(embed_s, 2)} s, precisão/cobertura {br_number(pr_s, 2)} s, "
          f"distância de Fréchet {br_number(fd_s, 3)} s)")  # fmt: skip


if __name__ == "__main__":
    main()
