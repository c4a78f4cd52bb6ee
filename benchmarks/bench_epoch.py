"""Tempo de uma época de treino: pipeline clássico × o do projeto × o piso de computação.

Mede, no mesmo processo e na mesma execução, uma época sobre as 60.000 imagens de treino
(modelo 784-400-20, lotes de 128) de:
  (a) o pipeline clássico: `MNIST` + `ToTensor` por imagem, `DataLoader` com 0 e 2 workers,
      Adam comum, BCE sobre a sigmoide e `.item()` a cada lote;
  (b) o pipeline do projeto: `vae_core.train_epoch` (tensor uint8 em memória, `randperm`, Adam fused);
  (c) o piso: forward + backward + Adam fused sobre lotes já fatiados na memória.
Cada um roda algumas vezes e vale a época mais rápida (a máquina é compartilhada e ruidosa).
Mede também o checkpoint de cada época: a gravação durável (`checkpoints.write_state`: fsync do
arquivo e da pasta) contra só atômica (temporário + `os.replace`, sem fsync), numa pasta temporária ao
lado da pasta de checkpoints (o mesmo disco), e o que ela pesa na época.
Uso: .venv/bin/python benchmarks/bench_epoch.py [--repeats 3]
"""

import argparse
import os
import platform
import subprocess
import tempfile
import time
from pathlib import Path
from statistics import median

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

import vae_core as vc
from vae_tools import checkpoints, mnist
from vae_tools.figures import br_number
from vae_tools.parameters import seed_everything

BATCH_SIZE = 128


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        return next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name"))
    except (OSError, subprocess.CalledProcessError, StopIteration):
        return platform.processor() or "desconhecida"


def classic_epoch(model, optimizer, loader):
    """Como no exemplo clássico: sigmoide + BCE, KL, `zero_grad`, `.item()` por lote."""
    model.train()
    total = 0.0
    for images, _ in loader:
        x = images.view(-1, vc.INPUT_DIM)
        logits, mu, logvar = model(x)
        loss = F.binary_cross_entropy(torch.sigmoid(logits), x, reduction="sum")
        loss = loss + vc.kl_divergence(mu, logvar).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
    return total


def floor_epoch(model, optimizer, batches):
    """O mínimo: lotes prontos na memória, BCE dos logits, Adam fused, soma no tensor."""
    model.train()
    total = torch.zeros(())
    for x in batches:
        logits, mu, logvar = model(x)
        bce, kl = vc.loss_terms(logits, x, mu, logvar)
        optimizer.zero_grad(set_to_none=True)
        (bce + kl).backward()
        optimizer.step()
        total += (bce + kl).detach()
    return total.item()


def checkpoint_seconds(model, optimizer, repeats: int) -> dict[str, list[float]]:
    """Os tempos (ordenados) de gravar o estado de uma época (modelo, Adam e 20 épocas de histórico),
    durável e só atômica, alternadas, numa pasta temporária no disco dos checkpoints."""
    history = {key: [100.0] * 20 for key in vc.new_history()}
    state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "history": history}
    near = checkpoints.resolve_checkpoint_dir().parent
    with tempfile.TemporaryDirectory(dir=near, prefix=".bench-checkpoint-") as folder:
        path = Path(folder) / "vae.pt"

        def atomic():  # a gravação de antes: atômica, mas sem fsync
            torch.save(state, path.with_name("vae.pt.tmp"))
            os.replace(path.with_name("vae.pt.tmp"), path)

        runs = {"durável (fsync)": lambda: checkpoints.write_state(state, path), "só atômica": atomic}
        times = {name: [] for name in runs}
        for _ in range(repeats):
            for name, run in runs.items():
                times[name].append(timed(run))
        return {name: sorted(values) for name, values in times.items()}


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="épocas medidas por pipeline (vale a mais rápida)")
    args = parser.parse_args()
    threads = seed_everything(0)
    data_dir = mnist.resolve_data_dir()

    classic_set = datasets.MNIST(str(data_dir), train=True, download=True, transform=transforms.ToTensor())
    loaders = {
        f"(a) clássico, num_workers={w}": DataLoader(classic_set, BATCH_SIZE, shuffle=True, num_workers=w)
        for w in (0, 2)
    }
    images, _ = mnist.load_mnist_split(data_dir, train=True)
    x = mnist.flatten_images(images)  # como o relatório guarda o treino: uint8, convertido lote a lote
    batches = [b.clone() for b in vc.to_float(x).split(BATCH_SIZE)]
    generator = torch.Generator().manual_seed(0)

    def fresh(fused):
        model = vc.VAE()
        opt = vc.make_optimizer(model, 1e-3) if fused else torch.optim.Adam(model.parameters(), lr=1e-3)
        return model, opt

    runs = {name: (lambda ld=loader: classic_epoch(*fresh(False), ld)) for name, loader in loaders.items()}
    project, floor = fresh(True), fresh(True)
    runs["(b) projeto (vae_core.train_epoch)"] = lambda: vc.train_epoch(*project, x, BATCH_SIZE, generator)
    runs["(c) piso de computação"] = lambda: floor_epoch(*floor, batches)

    best = {name: float("inf") for name in runs}
    for _ in range(args.repeats):  # alterna os pipelines para que o ruído da máquina afete todos
        for name, run in runs.items():
            best[name] = min(best[name], timed(run))

    br = br_number
    print(f"CPU: {cpu_model()} | threads: {threads} | torch {torch.__version__}")
    print(f"Uma época sobre {br(len(x))} imagens, lotes de {BATCH_SIZE}, a mais rápida de {args.repeats}:")
    for name, seconds in best.items():
        print(f"  {name:<38} {br(seconds, 2):>6} s")
    a0, a2 = best["(a) clássico, num_workers=0"], best["(a) clássico, num_workers=2"]
    b, c = best["(b) projeto (vae_core.train_epoch)"], best["(c) piso de computação"]
    print(f"Razões: b/a(0 workers) = {br(b / a0, 3)} (meta ≤ 0,35) | b/a(2 workers) = {br(b / a2, 3)}")
    print(f"        b/c = {br(b / c, 3)} (meta ≤ 1,15) | c/a(0 workers) = {br(c / a0, 3)} (o piso limita b/a)")
    print(f"Meta do relatório básico (20 épocas): ≤ 20 × 1,15 × {br(c, 2)} + 30 = {br(20 * 1.15 * c + 30)} s")
    save = checkpoint_seconds(*project, repeats=10 * args.repeats)
    durable, atomic = median(save["durável (fsync)"]), median(save["só atômica"])
    ms = {name: " / ".join(br(t * 1000, 1) for t in (v[0], median(v), v[-1])) for name, v in save.items()}
    print(f"Checkpoint de uma época, {10 * args.repeats} gravações de cada (mais rápida / mediana / mais lenta):")
    print(f"  durável (fsync do arquivo e da pasta) {ms['durável (fsync)']} ms | só atômico {ms['só atômica']} ms")
    print(f"Razões: fsync/b = {br((durable - atomic) / b, 4)} (o custo do fsync por época, medianas) | "
          f"checkpoint/b = {br(durable / b, 4)}")  # fmt: skip
    print(f"        (b + checkpoint)/c = {br((b + durable) / c, 3)} (meta ≤ 1,15: a época com o seu checkpoint)")


if __name__ == "__main__":
    main()
