"""Um treino de verdade: `vae_core.fit` com checkpoint a cada época, reconstruções de acompanhamento
e barra de progresso pendurados como callbacks, retomada, Ctrl+C seguro e mensagens de NaN."""

from __future__ import annotations

import torch
from tqdm.auto import tqdm
from tqdm.notebook import tqdm as notebook_tqdm

import vae_core as vc
from vae_tools.checkpoints import RunPlan, restore_checkpoint, save_checkpoint, shown


class Checkpointer:
    """Callback que grava o checkpoint ao fim de cada época e lembra a última época gravada."""

    def __init__(self, plan: RunPlan, model, optimizer, generator: torch.Generator):
        self.plan, self.model, self.optimizer, self.generator = plan, model, optimizer, generator
        self.saved = plan.state["epoch"] if plan.state and plan.source == plan.path else 0

    def __call__(self, epoch: int, history: dict):
        save_checkpoint(
            self.plan.path, self.model, self.optimizer, self.generator, history, self.plan.config, self.plan.num_epochs
        )
        self.saved = epoch

    def kept(self) -> str:
        if self.saved == 0:
            return "Nenhum checkpoint foi salvo nesta execução."
        return f"O checkpoint da época {self.saved} está guardado em {shown(self.plan.path)}."


def snapshotter(model, snapshot_x: torch.Tensor, every: int, num_epochs: int):
    """Callback que guarda no histórico a reconstrução de `snapshot_x` (pixels uint8) a cada `every`
    épocas e na última: `history["snapshot_epochs"]` e `history["snapshots"]`."""

    def take(epoch: int, history: dict):
        if epoch % every == 0 or epoch == num_epochs:
            history["snapshot_epochs"].append(epoch)
            pixels = torch.from_numpy(vc.reconstruct(model, snapshot_x)).mul(255).round().to(torch.uint8)
            history["snapshots"].append(pixels)

    return take


class Progress:
    """Barra de progresso (tqdm). No Jupyter é um widget que, ao fechar, é trocado por uma linha de texto
    com o estado final: quem lê o notebook guardado (GitHub, HTML) vê "20/20", não um "0%" congelado."""

    def __init__(self, total: int, done: int = 0, enabled: bool = True, description: str = "Épocas"):
        from IPython.display import display

        self.handle = None
        if enabled and issubclass(tqdm, notebook_tqdm):
            self.bar = tqdm(total=total, initial=done, desc=description, display=False)
            self.handle = display(self.bar.container, display_id=True)
        else:
            self.bar = tqdm(total=total, initial=done, desc=description, disable=not enabled)

    def advance(self, postfix: str = ""):
        self.bar.set_postfix_str(postfix, refresh=False)
        self.bar.update(1)

    def close(self):
        self.bar.close()
        if self.handle is not None:
            self.handle.update({"text/plain": str(self.bar)}, raw=True)


def train(
    plan: RunPlan,
    model: vc.VAE,
    optimizer: torch.optim.Optimizer,
    train_x: torch.Tensor,
    val_x: torch.Tensor,
    progress: bool = True,
    snapshot_x: torch.Tensor | None = None,
    snapshot_every: int = 1,
) -> dict[str, list]:
    """Executa o `plan` de `checkpoints.plan_run`: treina do zero, continua ou só carrega o
    checkpoint, e devolve o histórico (com `snapshot_epochs` e `snapshots`).

    - Ctrl+C / "interromper o kernel": o treino para, diz qual checkpoint ficou e como continuar,
      e o histórico até ali é devolvido (as figuras seguintes ainda funcionam).
    - Perda NaN/Inf: para com `TrainingDiverged`, nomeando época e lote; o último checkpoint fica.
    """
    config = plan.config
    generator = torch.Generator().manual_seed(config["SEED"])
    history = vc.new_history() | {"snapshot_epochs": [], "snapshots": []}
    if plan.state is not None:
        history = restore_checkpoint(plan.state, model, optimizer, generator)
    else:  # do zero: o ruído da reparametrização também parte da semente da configuração
        torch.manual_seed(config["SEED"])
    if plan.action == "reutilizar":
        return history
    checkpointer = Checkpointer(plan, model, optimizer, generator)
    bar = Progress(plan.num_epochs, len(history["train_loss"]), progress)

    def advance(epoch: int, history: dict):
        bar.advance(f"treino={history['train_loss'][-1]:.2f}, val={history['val_loss'][-1]:.2f}")

    callbacks = [checkpointer, advance]
    if snapshot_x is not None:
        callbacks.insert(0, snapshotter(model, snapshot_x, snapshot_every, plan.num_epochs))
    try:
        vc.fit(model, optimizer, train_x, val_x, plan.num_epochs, config["BATCH_SIZE"], generator, history,
               callbacks, config["BINARIZE"], config["BETA"])  # fmt: skip
    except KeyboardInterrupt:
        print(interrupted_message(len(history["train_loss"]) + 1, checkpointer))
    except vc.TrainingDiverged as error:
        raise vc.TrainingDiverged(diverged_message(error, checkpointer), error.batch, error.epoch) from None
    finally:
        bar.close()
    return history


def diverged_message(error: vc.TrainingDiverged, checkpointer: Checkpointer) -> str:
    return (
        f"Treino interrompido: a perda virou NaN/infinito na época {error.epoch}, lote {error.batch}. "
        f"Causa provável: taxa de aprendizado alta demais (LEARNING_RATE) para este modelo. " + checkpointer.kept()
    )


def interrupted_message(epoch: int, checkpointer: Checkpointer) -> str:
    how = " Para continuar dele, rode de novo com os mesmos parâmetros." if checkpointer.saved else ""
    return f"Treino interrompido pelo usuário durante a época {epoch}. " + checkpointer.kept() + how


def build(params: dict, device: torch.device | str = "cpu") -> tuple[vc.VAE, torch.optim.Optimizer]:
    """O modelo e o otimizador que os parâmetros pedem, no dispositivo.

    A inicialização dos pesos é sorteada com a semente da configuração (`SEED`), num gerador à parte
    (`fork_rng`): os pesos iniciais são função só da configuração, não do que rodou antes no processo,
    e o gerador global segue intocado."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(params["SEED"])
        model = vc.build_model(params["ARCH"], params["LATENT_DIM"], params["HIDDEN_DIM"]).to(device)
    return model, vc.make_optimizer(model, params["LEARNING_RATE"])
