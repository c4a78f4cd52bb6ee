"""O explorador interativo do espaço latente: escolha do modo (componentes principais de μ ou as
dimensões de z ordenadas por KL), da imagem de partida (dígito e exemplo), controles deslizantes, a
imagem original ao lado da decodificada e um botão que volta ao ponto de partida."""

from __future__ import annotations

import io

import numpy as np

import vae_core as vc
from vae_tools.analysis import move_along_components
from vae_tools.figures import br_number

MODES = {"pca": "componentes principais de μ", "dims": "dimensões de z (por KL)"}
SPAN = 3.0  # cada controle cobre ±3 desvios-padrão


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
    """

    def __init__(self, pca, mu: np.ndarray, kl_dims: np.ndarray, n_sliders: int):
        self.pca, self.n = pca, n_sliders
        self.dims = np.argsort(kl_dims)[::-1][:n_sliders]
        self.kl = np.asarray(kl_dims)
        self.stds = {"pca": np.sqrt(pca.explained_variance_[:n_sliders]), "dims": np.asarray(mu).std(0)[self.dims]}
        self.centers = {"pca": np.zeros(n_sliders), "dims": np.asarray(mu).mean(0)[self.dims]}

    def ranges(self, mode: str) -> np.ndarray:
        """Mínimo e máximo de cada controle: (n, 2)."""
        center, std = self.centers[mode], self.stds[mode]
        return np.stack([center - SPAN * std, center + SPAN * std], axis=1)

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
        coords, ranges = self.space.coordinates(mode, self.z0), self.space.ranges(mode)
        for slider, label, value, (low, high) in zip(self.sliders, self.space.labels(mode), coords, ranges):
            low, high = round(float(low), 2), round(float(high), 2)
            slider.min, slider.max = min(slider.min, low), max(slider.max, high)  # alarga antes de mover
            slider.value = float(np.clip(value, low, high))
            slider.min, slider.max, slider.step = low, high, round((high - low) / 60, 3)
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
        from IPython.display import display

        display(self.widget)


def traversal(model, space: LatentSpace, mode: str, z0: np.ndarray, steps: int = 9) -> np.ndarray:
    """A figura estática equivalente aos controles: cada linha percorre o intervalo de um controle
    em `steps` passos, com os outros no ponto de partida `z0`: imagens (n, steps, 28, 28)."""
    start = space.coordinates(mode, z0)
    rows = []
    for i, (low, high) in enumerate(space.ranges(mode)):
        coords = np.tile(start, (steps, 1))
        coords[:, i] = np.linspace(low, high, steps)
        rows.append([space.point(mode, z0, c) for c in coords])
    return vc.decode_latent(model, np.array(rows)).reshape(space.n, steps, vc.IMAGE_SIDE, vc.IMAGE_SIDE)
