"""O explorador interativo do espaço latente: controles deslizantes (ipywidgets) e a imagem decodificada."""

from __future__ import annotations

import io

import numpy as np

import vae_core as vc
from vae_tools.analysis import move_along_components


def to_png(image: np.ndarray, scale: int = 6) -> bytes:
    """PNG em tons de cinza de uma imagem em [0, 1], ampliada `scale` vezes sem borrar."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    plt.imsave(buffer, np.kron(image, np.ones((scale, scale))), cmap="gray", vmin=0, vmax=1, format="png")
    return buffer.getvalue()


def latent_explorer(model: vc.VAE, pca, z0: np.ndarray, n_components: int, span: float = 3.0):
    """Controles deslizantes (ipywidgets), um por componente principal de μ, partindo de `z0`.

    Cada controle vai de −`span` a +`span` desvios-padrão da componente; mover um deles
    decodifica o novo ponto latente e troca a imagem (um `widgets.Image`, que funciona igual
    em qualquer frontend). `.result` guarda a última imagem decodificada (28×28).
    """
    import ipywidgets as widgets

    start = pca.transform(np.asarray(z0, dtype=np.float64).reshape(1, -1))[0]
    stds = np.sqrt(pca.explained_variance_)
    sliders = {
        f"cp{i + 1}": widgets.FloatSlider(
            value=round(float(start[i]), 2),
            min=round(-span * stds[i], 2),
            max=round(span * stds[i], 2),
            step=round(stds[i] / 10, 3),
            description=f"CP {i + 1}",
        )
        for i in range(n_components)
    }
    picture = widgets.Image(format="png", layout=widgets.Layout(width="168px", height="168px"))

    def show(**coords):
        image = vc.decode_latent(model, move_along_components(pca, z0, list(coords.values())))[0]
        picture.value = to_png(image)
        return image

    explorer = widgets.interactive(show, **sliders)
    explorer.children = (*explorer.children, picture)
    return explorer
