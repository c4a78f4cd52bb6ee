"""Os exploradores interativos do espaço latente e as suas figuras estáticas.

- `LatentExplorer` (relatório): escolha do modo (componentes principais de μ ou as dimensões de z
  ordenadas por KL), da imagem de partida (dígito e exemplo), controles deslizantes, a imagem original ao
  lado da decodificada e um botão que volta ao ponto de partida; `traversal` é a figura estática.
- `ConditionalExplorer` (laboratório, VAE condicional): escolha do dígito, controles sobre as dimensões
  de "estilo" com mais KL, a imagem do dígito escolhido e o mesmo z decodificado como cada um dos dez
  dígitos; `conditional_traversal` é a figura estática."""

from __future__ import annotations

import io

import numpy as np

import vae_core as vc
from vae_tools.analysis import move_along_components
from vae_tools.figures import br_number

MODES = {"pca": "componentes principais de μ", "dims": "dimensões de z (por KL)"}
SPAN = 3.0  # cada controle cobre ±3 desvios-padrão


STATIC_TEXT = "[explorador interativo: abra o notebook no JupyterLab e rode-o para mover os controles]"


def show_panel(widget):
    """Mostra o painel; onde os widgets não rodam (GitHub, HTML), o texto no lugar dele é um aviso em
    português, não a representação `VBox(children=…)` do ipywidgets."""
    from IPython.display import display

    bundle = widget._repr_mimebundle_()
    display(bundle | {"text/plain": STATIC_TEXT}, raw=True)


def to_png(image: np.ndarray, scale: int = 6) -> bytes:
    """PNG em tons de cinza de uma imagem em [0, 1], ampliada `scale` vezes sem borrar."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    plt.imsave(buffer, np.kron(image, np.ones((scale, scale))), cmap="gray", vmin=0, vmax=1, format="png")
    return buffer.getvalue()


class LatentSpace:
    """As direções que os controles movem, nos dois modos, a partir dos códigos μ do teste.

    - "pca": as primeiras componentes principais de μ (`pca` ajustada em μ); controle i = coordenada
      na componente i.
    - "dims": as dimensões de z em ordem decrescente de KL (`kl_dims`); controle i = valor de z nessa
      dimensão.
    Cada controle cobre a média dos códigos ±3 desvios-padrão: o intervalo de quase todos os códigos reais.
    Com `pca=None` só existe o modo "dims" (o do explorador condicional). Há no máximo d controles.
    """

    def __init__(self, pca, mu: np.ndarray, kl_dims: np.ndarray, n_sliders: int):
        mu = np.asarray(mu)
        self.pca, self.kl = pca, np.asarray(kl_dims)
        self.dims = np.argsort(self.kl)[::-1][:n_sliders]
        self.n = len(self.dims)
        self.mean = mu.mean(0)
        self.stds, self.centers = {"dims": mu.std(0)[self.dims]}, {"dims": self.mean[self.dims]}
        if pca is not None:
            self.stds["pca"], self.centers["pca"] = np.sqrt(pca.explained_variance_[: self.n]), np.zeros(self.n)

    def ranges(self, mode: str) -> np.ndarray:
        """Mínimo e máximo de cada controle: (n, 2)."""
        center, std = self.centers[mode], self.stds[mode]
        return np.stack([center - SPAN * std, center + SPAN * std], axis=1)

    def sliders(self, mode: str) -> list[tuple[float, float, float]]:
        """Mínimo, máximo e passo de cada controle como o painel os usa: faixa em 2 casas, 60 passos."""
        rounded = [(round(float(low), 2), round(float(high), 2)) for low, high in self.ranges(mode)]
        return [(low, high, round((high - low) / 60, 3)) for low, high in rounded]

    def labels(self, mode: str) -> list[str]:
        if mode == "pca":
            return [f"CP {i + 1}" for i in range(self.n)]
        return [f"z{j} ({br_number(self.kl[j], 1)} nats)" for j in self.dims]

    def coordinates(self, mode: str, z0: np.ndarray) -> np.ndarray:
        """Onde `z0` está em cada controle."""
        if mode == "pca":
            return self.pca.transform(np.asarray(z0, dtype=np.float64).reshape(1, -1))[0, : self.n]
        return np.asarray(z0, dtype=np.float64)[self.dims]

    def point(self, mode: str, z0: np.ndarray, coords) -> np.ndarray:
        """O ponto latente cujas coordenadas nos controles são `coords` (o resto fica como em `z0`)."""
        if mode == "pca":
            return move_along_components(self.pca, z0, coords)
        z = np.array(z0, dtype=np.float64)
        z[self.dims] = coords
        return z


class LatentExplorer:
    """O painel de exploração (ipywidgets): modo, dígito, exemplo, controles, original × decodificada e
    "voltar ao início". `.result` guarda a última imagem decodificada (28×28); `.widget` é o painel."""

    def __init__(self, model, space: LatentSpace, mu, labels, images, mode="pca", digit=3, index=0):
        import ipywidgets as widgets

        self.model, self.space = model, space
        self.mu, self.labels, self.images = np.asarray(mu), np.asarray(labels), np.asarray(images)
        self.mode = widgets.ToggleButtons(
            options=[(t, m) for m, t in MODES.items()], value=mode, description="modo", style={"button_width": "auto"}
        )
        self.digit = widgets.Dropdown(options=list(range(10)), value=digit, description="dígito")
        self.index = widgets.BoundedIntText(value=index, min=0, max=self.count(digit) - 1, description="exemplo")
        self.sliders = [
            widgets.FloatSlider(readout_format=".2f", style={"description_width": "110px"}) for _ in range(space.n)
        ]
        self.reset = widgets.Button(description="voltar ao início", icon="undo")
        layout = widgets.Layout(width="168px", height="168px")
        self.original = widgets.Image(format="png", layout=layout)
        self.decoded = widgets.Image(format="png", layout=layout)
        pictures = widgets.HBox(
            [widgets.VBox([widgets.Label("original"), self.original]),
             widgets.VBox([widgets.Label("decodificada"), self.decoded])]
        )  # fmt: skip
        choices = widgets.HBox([self.digit, self.index, self.reset])
        self.widget = widgets.VBox([self.mode, choices, widgets.HBox([widgets.VBox(self.sliders), pictures])])
        self.widget.add_class("explorador-latente")
        self._quiet = False
        for control in (self.mode, self.digit, self.index):
            control.observe(self.restart, names="value")
        for slider in self.sliders:
            slider.observe(self.redraw, names="value")
        self.reset.on_click(self.restart)
        self.restart()

    def count(self, digit: int) -> int:
        return int((self.labels == digit).sum())

    def start_index(self) -> int:
        """Posição, no conjunto de teste, do exemplo `index` do dígito escolhido."""
        return int(np.flatnonzero(self.labels == self.digit.value)[self.index.value])

    def restart(self, *_):
        """Põe os controles no ponto de partida (modo, dígito e exemplo atuais) e redesenha."""
        self._quiet = True
        self.index.max = self.count(self.digit.value) - 1
        start = self.start_index()
        self.z0 = self.mu[start]
        mode = self.mode.value
        coords, ranges = self.space.coordinates(mode, self.z0), self.space.sliders(mode)
        for slider, label, value, (low, high, step) in zip(self.sliders, self.space.labels(mode), coords, ranges):
            slider.min, slider.max = min(slider.min, low), max(slider.max, high)  # alarga antes de mover
            slider.value = float(np.clip(value, low, high))
            slider.min, slider.max, slider.step = low, high, step
            slider.description = label
        self._quiet = False
        self.original.value = to_png(self.images[start].reshape(vc.IMAGE_SIDE, vc.IMAGE_SIDE))
        self.redraw()

    def redraw(self, *_):
        if self._quiet:
            return
        coords = [slider.value for slider in self.sliders]
        self.result = vc.decode_latent(self.model, self.space.point(self.mode.value, self.z0, coords))[0]
        self.decoded.value = to_png(self.result)

    def _ipython_display_(self):
        show_panel(self.widget)


def traversal(model, space: LatentSpace, mode: str, z0: np.ndarray, steps: int = 9, digit=None) -> np.ndarray:
    """A figura estática equivalente aos controles: cada linha percorre o intervalo de um controle
    em `steps` passos, com os outros no ponto de partida `z0`: imagens (n, steps, 28, 28). Com o VAE
    condicional, `digit` é o rótulo de todas as imagens."""
    start = space.coordinates(mode, z0)
    rows = []
    for i, (low, high) in enumerate(space.ranges(mode)):
        coords = np.tile(start, (steps, 1))
        coords[:, i] = np.linspace(low, high, steps)
        rows.append([space.point(mode, z0, c) for c in coords])
    labels = None if digit is None else np.full(space.n * steps, digit)
    return vc.decode_latent(model, np.array(rows), labels).reshape(space.n, steps, vc.IMAGE_SIDE, vc.IMAGE_SIDE)


class ConditionalExplorer:
    """O painel do VAE condicional (ipywidgets): o dígito y (0–9), controles sobre as `n_sliders`
    dimensões de z com mais KL (o "estilo": cada uma da média −3 a +3 desvios-padrão dos códigos `mu`,
    começando na média; as outras ficam na média), a imagem de p(x|z, y) do dígito escolhido e o mesmo z
    decodificado como cada um dos dez dígitos, e "voltar ao início". `mu`: os códigos do teste (N, d),
    codificados com os rótulos verdadeiros; `kl_dims`: a KL de cada dimensão. `.result` guarda a imagem
    do dígito escolhido (28×28) e `.row` as dez (10, 28, 28); `.widget` é o painel."""

    def __init__(self, model, mu, kl_dims, digit: int = 7, n_sliders: int = 5):
        import ipywidgets as widgets

        self.model, self.space = model, LatentSpace(None, mu, kl_dims, n_sliders)
        self.digit = widgets.ToggleButtons(
            options=list(range(vc.NUM_CLASSES)), value=digit, description="dígito", style={"button_width": "36px"}
        )
        self.sliders, wide = [], widgets.Layout(width="420px")
        for label, center, (low, high) in zip(
            self.space.labels("dims"), self.space.centers["dims"], self.space.ranges("dims")
        ):
            low, high = float(low), float(high)
            self.sliders.append(
                widgets.FloatSlider(
                    value=float(center), min=low, max=high, step=(high - low) / 60, description=label,
                    readout_format=".2f", style={"description_width": "110px"}, layout=wide,
                )
            )  # fmt: skip
        self.reset = widgets.Button(description="voltar ao início", icon="undo")
        self.decoded = widgets.Image(format="png", layout=widgets.Layout(width="224px", height="224px"))
        small = widgets.Layout(width="64px", height="64px")
        self.row_images = [widgets.Image(format="png", layout=small) for _ in range(vc.NUM_CLASSES)]
        row = widgets.HBox([widgets.VBox([widgets.Label(str(d)), image]) for d, image in enumerate(self.row_images)])
        style = widgets.VBox(
            [widgets.Label("estilo: as dimensões de z com mais KL (média ± 3 desvios-padrão)"), *self.sliders]
        )
        self.widget = widgets.VBox(
            [
                widgets.HBox([self.digit, self.reset]),
                widgets.HBox(
                    [style, widgets.VBox([widgets.Label("p(x | z, dígito)"), self.decoded])],
                    layout=widgets.Layout(grid_gap="32px"),
                ),
                widgets.Label("o mesmo estilo em todos os dígitos"),
                row,
            ]
        )
        self.widget.add_class("explorador-condicional")
        self.digit.observe(self.redraw, names="value")
        for slider in self.sliders:
            slider.observe(self.redraw, names="value")
        self.reset.on_click(self.restart)
        self.restart()

    def z(self) -> np.ndarray:
        """O ponto latente dos controles (as outras dimensões na média dos códigos)."""
        return self.space.point("dims", self.space.mean, [slider.value for slider in self.sliders])

    def restart(self, *_):
        """Põe os controles de estilo na média dos códigos e redesenha (o dígito fica)."""
        self._quiet = True
        for slider, center in zip(self.sliders, self.space.centers["dims"]):
            slider.value = float(center)
        self._quiet = False
        self.redraw()

    def redraw(self, *_):
        if self._quiet:
            return
        digits = np.arange(vc.NUM_CLASSES)
        self.row = vc.decode_latent(self.model, np.tile(self.z(), (len(digits), 1)), digits)
        self.result = self.row[self.digit.value]
        self.decoded.value = to_png(self.result, scale=8)
        for image, picture in zip(self.row_images, self.row):
            image.value = to_png(picture, scale=2)

    def _ipython_display_(self):
        show_panel(self.widget)


def conditional_traversal(model, mu, kl_dims, digit: int, n_sliders: int, steps: int = 9) -> np.ndarray:
    """A figura estática do explorador condicional: cada linha percorre o intervalo de um controle de
    estilo em `steps` passos, com os outros (e o resto de z) na média de `mu`, todas do dígito `digit`:
    imagens (n_sliders, steps, 28, 28)."""
    space = LatentSpace(None, mu, kl_dims, n_sliders)
    return traversal(model, space, "dims", space.mean, steps, digit=digit)
