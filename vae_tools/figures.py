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


# O texto alternativo (em português) de cada figura dos notebooks, pelo nome com que `show_figure` a salva: o
# leitor de tela lê o que a figura mostra; a interpretação dos números fica no texto da página.
FIGURE_DESCRIPTIONS = {
    "01_exemplos_treino": "Dez imagens do conjunto de treino do MNIST, cada uma com o seu rótulo.",
    "02_variancia_gradientes": "Histogramas da variância de cada coordenada do gradiente em relação a μ, pelo "
    "truque da reparametrização, pelo estimador de escore e pelo escore com linha de base, em escala logarítmica.",
    "03_curvas_aprendizado": "Curvas de aprendizado por época, no treino e na validação: a perda total, a "
    "reconstrução e a KL, em nats por imagem.",
    "04_progresso_treino": "Oito dígitos de validação e as suas reconstruções depois de várias épocas do treino, "
    "uma linha por época.",
    "05_reconstrucoes": "Dez imagens de teste (acima) e as suas reconstruções pelo VAE (abaixo).",
    "06_erro_reconstrucao": "Barras da BCE média por dígito, divididas no piso de entropia e no erro de fato, e as "
    "oito melhores e as oito piores reconstruções do teste pelo erro de fato.",
    "07_amostras": "Quarenta e oito médias do decodificador para z sorteado da N(0, I) e, para os oito primeiros "
    "z, a média ao lado de dois sorteios de Bernoulli dos pixels.",
    "08_espaco_latente": "Dois gráficos de dispersão dos códigos μ das imagens de teste, um por t-SNE e outro nas "
    "duas primeiras componentes principais, com uma cor e um marcador por dígito.",
    "09_varredura_explorador": "Grade de dígitos decodificados: cada linha percorre um controle do explorador, da "
    "média −3 à média +3 desvios-padrão, a partir do código de uma imagem de teste.",
    "aval_01_qualidade_amostras": "À esquerda, imagens reais e médias decodificadas de z sorteado da mistura e do "
    "prior; à direita, a fração lida pelo classificador com confiança de pelo menos 0,9 em cada faixa de "
    "densidade da posterior agregada.",
    "aval_02_kl_por_dimensao": "Barras da KL média de cada dimensão latente no teste, em ordem decrescente, com as "
    "dimensões ativas destacadas.",
    "aval_03_varredura_dimensoes": "Grade de dígitos decodificados ao varrer, uma por linha, as dimensões latentes "
    "de mais KL e as de menos, nos quantis da N(0, 1).",
    "aval_04_interpolacao": "Interpolação entre duas imagens de teste: uma linha no espaço latente e outra na "
    "mistura dos pixels, com as mesmas pontas.",
    "aval_05_variedade_2d": "À esquerda, a grade de dígitos decodificados pelo VAE com z de duas dimensões; à "
    "direita, os códigos μ das imagens de teste nesse plano, com uma cor e um marcador por dígito.",
    "curvas_aprendizado": "Exercícios: curvas do treino curto, por época, da perda total, da reconstrução e da "
    "KL, em nats por imagem.",
    "reconstrucoes": "Exercícios: dez imagens de teste (acima) e as suas reconstruções pelo VAE treinado com o "
    "código do aluno (abaixo).",
    "amostras": "Exercícios: médias do decodificador para z sorteado da N(0, I) e, ao lado, sorteios de Bernoulli "
    "dos pixels das primeiras.",
    "espaco_latente": "Exercícios: os códigos μ das imagens de teste nas duas primeiras componentes principais, "
    "com uma cor e um marcador por dígito.",
    "lab_01_curvas": "Três painéis de curvas de validação por época: os modelos de cada tamanho de z, os de cada "
    "β e os de cada arquitetura (com o condicional e o autoencoder), em nats por imagem.",
    "lab_02_perda_por_dimensao": "Perda no treino e no teste e os seus dois termos, reconstrução e KL, em função "
    "do número de dimensões latentes, em escala logarítmica.",
    "lab_03_amostras_por_dimensao": "Médias do decodificador para z sorteado da N(0, I), uma linha por tamanho do "
    "espaço latente, com a distância de Fréchet de cada um.",
    "lab_04_taxa_distorcao": "Plano taxa × distorção no teste: um ponto por valor de β, ligados em ordem, cada um "
    "com um segmento vermelho da inclinação −β que a teoria prevê.",
    "lab_05_beta_imagens": "À esquerda, reconstruções de imagens de teste; à direita, médias do decodificador para "
    "z sorteado da N(0, I) ao lado de imagens reais; uma linha por valor de β.",
    "lab_06_autoencoder": "Seis linhas de oito imagens: originais de teste, reconstruções do autoencoder e do VAE, "
    "e imagens geradas pelo autoencoder com z da N(0, I) e de uma mistura ajustada, e pelo VAE com z da N(0, I).",
    "lab_07_colapso": "Dois painéis por época: a taxa (KL) e as unidades ativas dos modelos com β = 784, com "
    "aquecimento e com bits livres, com os valores finais da referência tracejados.",
    "lab_08_colapso_amostras": "Médias do decodificador nos mesmos z da N(0, I): uma linha para a referência e uma "
    "para cada modelo com β = 784 (sozinho, com aquecimento, com bits livres).",
    "lab_09_pixelcnn": "Dois painéis por época, em MNIST binarizado: a taxa (KL) e as unidades ativas do modelo "
    "totalmente conectado, do decodificador autorregressivo e dele com bits livres.",
    "lab_10_pixelcnn_amostras": "Imagens geradas dos mesmos z da N(0, I): médias do modelo totalmente conectado e "
    "sorteios pixel a pixel do decodificador autorregressivo, sem e com bits livres.",
    "lab_11_arquiteturas": "Os mesmos dígitos de teste reconstruídos pelo modelo totalmente conectado e pelo "
    "convolucional, com as originais.",
    "lab_12_condicional_amostras": "Médias do VAE condicional: uma linha por rótulo pedido, de 0 a 9, com a fração "
    "lida como o rótulo e a distância de Fréchet de cada dígito à direita.",
    "lab_13_analogias": "Analogias do VAE condicional: o estilo de cada imagem de teste (linhas) decodificado com "
    "cada rótulo (colunas).",
    "lab_14_estilo_2d": "Grade de dígitos de um mesmo rótulo decodificados pelo VAE condicional com z de duas "
    "dimensões, varrendo o plano do estilo.",
    "lab_15_condicional_controles": "Grade de dígitos do explorador condicional: cada linha percorre um controle "
    "de estilo, com o rótulo fixo.",
    "lab_16_elbo_frechet": "Dois gráficos de dispersão das configurações distintas do laboratório, o segundo "
    "ampliado: −ELBO de teste no eixo horizontal e distância de Fréchet no vertical.",
}


def figure_description(name: str) -> str:
    """O texto alternativo da figura `name`; uma figura nova precisa da sua descrição em `FIGURE_DESCRIPTIONS`."""
    if name not in FIGURE_DESCRIPTIONS:
        raise ValueError(
            f"A figura {name!r} não tem texto alternativo: acrescente a descrição dela em "
            f"FIGURE_DESCRIPTIONS (vae_tools/figures.py)."
        )
    return FIGURE_DESCRIPTIONS[name]


def show_figure(fig, name: str, folder: str | os.PathLike | None = None):
    """Mostra a figura no notebook, com o texto alternativo de `FIGURE_DESCRIPTIONS` nos metadados da saída
    (`alt`, que o site usa), e, se `folder` for dado, salva-a também como `folder/name.png`."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    alt = figure_description(name)
    decimal_comma(fig)
    if folder is not None:
        Path(folder).mkdir(parents=True, exist_ok=True)
        fig.savefig(Path(folder) / f"{name}.png", dpi=110, bbox_inches="tight")
    display(fig, metadata={"image/png": {"alt": alt}})
    plt.close(fig)


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


# Uma cor e um marcador por dígito: a paleta "tableau-colorblind10" do matplotlib (legível com daltonismo) e
# marcadores diferentes, para que nenhum dígito dependa só da cor. O mapa 2-D do site usa os mesmos.
DIGIT_COLORS = ("#006BA4", "#FF800E", "#ABABAB", "#595959", "#5F9ED1", "#C85200", "#898989", "#A2C8EC", "#FFBC79",
                "#CFCFCF")  # fmt: skip
DIGIT_MARKERS = ("o", "s", "^", "v", "D", "P", "X", "*", "<", ">")


def scatter_digits(ax, points: np.ndarray, labels: np.ndarray, size: float = 7):
    """Pontos 2-D por dígito, cada um com a sua cor e o seu marcador (`DIGIT_COLORS`, `DIGIT_MARKERS`), com
    uma legenda discreta (não uma barra contínua). Um contorno escuro fino deixa visíveis os tons claros da
    paleta sobre o fundo branco."""
    for digit in range(10):
        chosen = labels == digit
        ax.scatter(
            points[chosen, 0], points[chosen, 1], color=DIGIT_COLORS[digit], marker=DIGIT_MARKERS[digit], s=size,
            alpha=0.8, label=str(digit), linewidths=0.25, edgecolors="0.25",
        )  # fmt: skip
    ax.legend(title="dígito", markerscale=12 / max(size, 1), loc="center left", bbox_to_anchor=(1, 0.5), frameon=False)
