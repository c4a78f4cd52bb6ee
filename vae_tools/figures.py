"""Figuras e números: grade de imagens, figura mostrada e salva em PNG, números à brasileira."""

from __future__ import annotations

import os
import string
from pathlib import Path

import numpy as np


def image_grid(images: np.ndarray, ncols: int) -> np.ndarray:
    """Junta imagens (n, h, w) numa única matriz com `ncols` colunas (para um só `imshow`),
    linha a linha, sem bordas; a última linha é completada com zeros."""
    import torch
    from torchvision.utils import make_grid

    grid = make_grid(torch.as_tensor(np.asarray(images))[:, None], nrow=ncols, padding=0)
    return grid[0].numpy()


def show_figure(fig, name: str, folder: str | os.PathLike | None = None):
    """Mostra a figura no notebook e, se `folder` for dado, salva-a também como `folder/name.png`."""
    import matplotlib.pyplot as plt

    decimal_comma(fig)
    if folder is not None:
        Path(folder).mkdir(parents=True, exist_ok=True)
        fig.savefig(Path(folder) / f"{name}.png", dpi=110, bbox_inches="tight")
    plt.show()


def br_number(value: float, decimals: int | None = 0) -> str:
    """Formata um número à brasileira: milhar com ponto, decimal com vírgula e o sinal de menos "−"
    (−12.345,6). `decimals=None`: só as casas necessárias (0,25; 8). Um NaN (medida que não se aplica) é "—"."""
    if value != value:
        return "—"
    text = f"{value:,g}" if decimals is None else f"{round(value, decimals) + 0.0:,.{decimals}f}"  # nunca "-0,0"
    return text.replace(",", "_").replace(".", ",").replace("_", ".").replace("-", "−")


class _BrazilianFormatter(string.Formatter):
    """Formata cada número de um modelo de texto à brasileira: `{x:.1f}` → 104,1; `{n:,}` → 55.000;
    `{p:.1%}` → 42,7%; `{d:.1p}` → 36,3 p.p. (uma diferença de frações, em pontos percentuais); o sinal de
    menos vira "−". Texto e inteiros sem especificação passam como estão."""

    def format_field(self, value, spec: str) -> str:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            return super().format_field(value, spec)
        if spec.endswith("p"):
            return self.format_field(100 * float(value), spec[:-1] + "f") + " p.p."
        if spec and spec[-1] in "f%" and "." in spec:  # nunca "−0,0"
            decimals = int(spec.split(".")[1][:-1]) + (2 if spec[-1] == "%" else 0)
            value = round(float(value), decimals) + 0.0
        text = format(value, spec)
        return text.replace(",", "_").replace(".", ",").replace("_", ".").replace("-", "−")


def say(template: str, *facts, **values):
    """Mostra um parágrafo (Markdown) escrito como texto: `template` com os campos dos `facts`
    (dataclasses do `vae_tools.findings`) e os `values` dados, números à brasileira."""
    from IPython.display import Markdown, display

    fields = {name: value for fact in facts for name, value in vars(fact).items()} | values
    display(Markdown(_BrazilianFormatter().format(template, **fields)))


def decimal_comma(fig):
    """Troca, em cada eixo numérico da figura, o ponto decimal do matplotlib pela vírgula (e o hífen pelo "−");
    eixos com rótulos escritos à mão ficam como estão."""
    from matplotlib.ticker import FuncFormatter, ScalarFormatter

    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            if isinstance(axis.get_major_formatter(), ScalarFormatter):
                axis.set_major_formatter(FuncFormatter(lambda value, _: br_number(value, None)))


def markdown_table(header: list[str], rows: list[list]) -> str:
    """Uma tabela em Markdown (para `display(Markdown(...))`); as células já vêm formatadas."""
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(str(cell) for cell in line) + " |" for line in lines)


def show_source(*objects):
    """Mostra o código-fonte de funções ou classes, destacado, lido do próprio módulo
    (`inspect.getsource`): a página nunca diverge do código que roda."""
    import inspect

    from IPython.display import Code, display

    display(Code("\n\n".join(inspect.getsource(obj) for obj in objects), language="python"))


def scatter_digits(ax, points: np.ndarray, labels: np.ndarray, size: float = 2):
    """Pontos 2-D coloridos por dígito, com uma legenda discreta (uma cor por dígito, não uma barra contínua)."""
    import matplotlib.pyplot as plt

    colors = plt.cm.tab10(np.arange(10))
    for digit in range(10):
        chosen = labels == digit
        ax.scatter(points[chosen, 0], points[chosen, 1], color=colors[digit], s=size, alpha=0.7, label=str(digit))
    ax.legend(title="dígito", markerscale=12 / max(size, 1), loc="center left", bbox_to_anchor=(1, 0.5), frameon=False)
