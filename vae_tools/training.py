"""Um treino de verdade: `vae_core.fit` com checkpoint a cada época, reconstruções de acompanhamento
e barra de progresso pendurados como callbacks, retomada, uma trava por configuração, Ctrl+C seguro,
disco cheio e mensagens de NaN."""

from __future__ import annotations

import torch
from tqdm.auto import tqdm
from tqdm.notebook import tqdm as notebook_tqdm

import vae_core as vc
from vae_tools import checkpoints
from vae_tools.checkpoints import Action, RunPlan, restore_checkpoint, save_checkpoint, shown
from vae_tools.figures import br_number


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
        """Qual é o último checkpoint bom, e onde."""
        if self.saved:
            return f"O checkpoint da época {self.saved} está guardado em {shown(self.plan.path)}."
        if self.plan.state is not None:
            return (
                f"Nenhum checkpoint foi salvo nesta execução; o de partida, da época {self.plan.state['epoch']}, "
                f"continua em {shown(self.plan.source)}."
            )
        return "Nenhum checkpoint foi salvo nesta execução."


def snapshotter(model, snapshot_x: torch.Tensor, every: int, num_epochs: int):
    """Callback que guarda no histórico a reconstrução de `snapshot_x` (pixels uint8) a cada `every`
    épocas e na última: `history["snapshot_epochs"]` e `history["snapshots"]`."""

    def take(epoch: int, history: dict):
        if epoch % every == 0 or epoch == num_epochs:
            history["snapshot_epochs"].append(epoch)
            pixels = torch.from_numpy(vc.reconstruct(model, snapshot_x)).mul(255).round().to(torch.uint8)
            history["snapshots"].append(pixels)

    return take


BAR_FORMAT = "{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]"  # sem a taxa do tqdm (ponto decimal)


class Progress:
    """Barra de progresso (tqdm). No Jupyter é um widget que, ao fechar, é trocado por uma linha de texto
    com o estado final: quem lê o notebook guardado (GitHub, HTML) vê "20/20", não um "0%" congelado."""

    def __init__(self, total: int, done: int = 0, enabled: bool = True, description: str = "Épocas"):
        from IPython.display import display

        self.handle = None
        if enabled and issubclass(tqdm, notebook_tqdm):
            self.bar = tqdm(total=total, initial=done, desc=description, display=False, bar_format=BAR_FORMAT)
            self.handle = display(self.bar.container, display_id=True)
        else:
            self.bar = tqdm(total=total, initial=done, desc=description, disable=not enabled, bar_format=BAR_FORMAT)

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
    labels: tuple[torch.Tensor, torch.Tensor] | None = None,
    monitors=(),
) -> dict[str, list]:
    """Executa o `plan` de `checkpoints.plan_run`: treina do zero, continua ou só carrega o
    checkpoint, e devolve o histórico (com `snapshot_epochs` e `snapshots`). `labels`: os rótulos do
    treino e da validação, para o VAE condicional; `monitors`: callbacks `(época, histórico)` que
    guardam medidas por época no histórico (e com ele no checkpoint).

    - Outro processo treinando a mesma configuração: `CheckpointError` na hora, com o pid dele
      (`checkpoints.RunLock`); só carregar um checkpoint pronto nunca espera. Com a trava, o treino segue
      um plano decidido de novo (`checkpoints.locked`), para aproveitar o que outro processo tenha
      gravado; o `plan` recebido não muda.
    - Ctrl+C / "interromper o kernel", ou um checkpoint que não pôde ser gravado (disco cheio, cota,
      erro de E/S): o treino para, diz qual checkpoint ficou e como continuar, e o histórico até ali é
      devolvido (as figuras seguintes ainda funcionam, com um modelo que não completou as épocas).
    - Perda NaN/Inf: para com `TrainingDiverged`, nomeando época e lote; o último checkpoint fica.
    """
    if plan.action is Action.REUSE:
        return _start(plan, model, optimizer)[0]
    with checkpoints.locked(plan) as fresh:
        history, generator = _start(fresh, model, optimizer)
        if fresh.action is Action.REUSE:
            return history
        snapshots = [] if snapshot_x is None else [snapshotter(model, snapshot_x, snapshot_every, fresh.num_epochs)]
        callbacks = [*snapshots, *monitors]
        return _fit(fresh, model, optimizer, generator, history, (train_x, val_x, labels), progress, callbacks)


def _start(plan: RunPlan, model, optimizer) -> tuple[dict, torch.Generator]:
    """O histórico e o gerador dos lotes de onde o treino parte: os do checkpoint, ou novos (do zero,
    o ruído da reparametrização também parte da semente da configuração)."""
    generator = torch.Generator().manual_seed(plan.config["SEED"])
    if plan.state is not None:
        return restore_checkpoint(plan.state, model, optimizer, generator), generator
    torch.manual_seed(plan.config["SEED"])
    return vc.new_history() | {"snapshot_epochs": [], "snapshots": []}, generator


def _fit(plan: RunPlan, model, optimizer, generator, history: dict, data: tuple, progress: bool, measures) -> dict:
    """O laço de épocas com os callbacks (medidas por época, checkpoint, barra) e as paradas seguras."""
    (train_x, val_x, labels), config = data, plan.config
    checkpointer = Checkpointer(plan, model, optimizer, generator)
    bar = Progress(plan.num_epochs, len(history["train_loss"]), progress)

    def advance(epoch: int, history: dict):
        bar.advance(
            f"treino {br_number(history['train_loss'][-1], 2)}, validação {br_number(history['val_loss'][-1], 2)}"
        )

    callbacks = [*measures, checkpointer, advance]
    cures = {key: config.get(key, off) for key, off in checkpoints.CURES.items()}
    try:
        vc.fit(model, optimizer, train_x, val_x, plan.num_epochs, config["BATCH_SIZE"], generator, history,
               callbacks, config["BINARIZE"], config["BETA"], *(labels or (None, None)),
               free_bits=cures["FREE_BITS"], warmup=cures["WARMUP"])  # fmt: skip
    except KeyboardInterrupt:
        print(interrupted_message(len(history["train_loss"]) + 1, checkpointer))
    except checkpoints.CheckpointWriteError as error:
        print(write_failed_message(error, checkpointer, len(history["train_loss"])))
    except vc.TrainingDiverged as error:
        raise vc.TrainingDiverged(diverged_message(error, checkpointer), error.batch, error.epoch) from None
    finally:
        bar.close()
    return history


def require_snapshots(plan: RunPlan):
    """O capítulo mostra as reconstruções de cada época, guardadas no histórico do treino: um checkpoint
    completo sem elas (de um laboratório anterior a elas) é recusado antes de qualquer trabalho, com o que fazer."""
    if plan.action is Action.REUSE and not plan.state["history"].get("snapshots"):
        raise checkpoints.CheckpointError(
            f"O checkpoint {shown(plan.path)} não guarda as reconstruções de cada época que o capítulo mostra "
            f"(foi treinado por uma versão anterior do laboratório). Rode o capítulo com outra CHECKPOINT_DIR, ou "
            f"apague esse arquivo para treiná-lo de novo: os pesos saem iguais, porque são função da configuração."
        )


def diverged_message(error: vc.TrainingDiverged, checkpointer: Checkpointer) -> str:
    return (
        f"Treino interrompido: a perda virou NaN/infinito na época {error.epoch}, lote {error.batch}. "
        f"Causa provável: taxa de aprendizado alta demais (LEARNING_RATE) para este modelo. " + checkpointer.kept()
    )


def interrupted_message(epoch: int, checkpointer: Checkpointer) -> str:
    kept = checkpointer.saved or checkpointer.plan.state is not None
    how = " Para continuar dele, rode de novo com os mesmos parâmetros." if kept else ""
    return f"Treino interrompido pelo usuário durante a época {epoch}. " + checkpointer.kept() + how


def write_failed_message(error: checkpoints.CheckpointWriteError, checkpointer: Checkpointer, epochs: int) -> str:
    return (
        f"Treino interrompido ao gravar o checkpoint da época {epochs}. {error} {checkpointer.kept()} "
        f"O histórico das {epochs} épocas treinadas fica disponível para as figuras, mas o treino NÃO chegou "
        f"às {checkpointer.plan.num_epochs} épocas pedidas: o que vem a seguir mostra um modelo incompleto. "
        f"Libere espaço (ou escolha outra pasta com CHECKPOINT_DIR) e rode de novo com os mesmos parâmetros "
        f"para continuar do último checkpoint."
    )


def build(params: dict, device: torch.device | str = "cpu") -> tuple[vc.VAE, torch.optim.Optimizer]:
    """O modelo e o otimizador que os parâmetros pedem, no dispositivo.

    A inicialização dos pesos é sorteada com a semente da configuração (`SEED`), num gerador à parte
    (`fork_rng`): os pesos iniciais são função só da configuração, não do que rodou antes no processo,
    e o gerador global segue intocado."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(params["SEED"])
        model = vc.build_model(params["ARCH"], params["LATENT_DIM"], params["HIDDEN_DIM"]).to(device)
    return model, vc.make_optimizer(model, params["LEARNING_RATE"])
