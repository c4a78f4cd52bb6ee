"""Os testes dos exercícios (`vae_tools.exercises`), escritos como matemática: cada verificação recebe a função
do aluno e levanta `AssertionError` com uma explicação em português do que está errado e por quê.

Cada exercício é testado sozinho: as funções dos outros exercícios que a do aluno chama (a KL dentro da perda,
a perda dentro da época de treino) são trocadas, durante a verificação, pelas de `vae_core` — um erro na KL
não tira pontos da perda. Os testes das células do otter (públicos e ocultos) só chamam estas funções.
"""

from __future__ import annotations

import math
from contextlib import contextmanager

import numpy as np
import torch
import torch.nn.functional as F

import vae_core as vc
from vae_tools.figures import br_number

LN2 = math.log(2)


def _call(fn, name: str, *args):
    """Chama a função do aluno; ausência, exceção ou `None` viram uma explicação (e não um erro do corretor)."""
    if not callable(fn):
        raise AssertionError(f"`{name}` não está definida no notebook: escreva-a na célula do exercício.")
    try:
        out = fn(*args)
    except (Exception, SystemExit) as error:  # o código do aluno pode falhar de qualquer jeito, até com exit()
        raise AssertionError(f"`{name}` levantou {type(error).__name__}: {error}") from None
    if out is None or out is Ellipsis:
        raise AssertionError(f"`{name}` devolveu None: a função ainda não foi escrita (troque o `...` pelo código).")
    return out


@contextmanager
def _reference(fn, **names):
    """Enquanto durar o bloco, os nomes globais que `fn` usa (as funções dos outros exercícios) são os de
    `vae_core`; depois, voltam a ser os do aluno."""
    scope = getattr(fn, "__globals__", {})
    saved = {name: scope[name] for name in names if name in scope}
    scope.update(names)
    try:
        yield
    finally:
        for name in names:
            scope.pop(name, None)
        scope.update(saved)


def _tensor(out, name: str, shape: tuple) -> torch.Tensor:
    if not torch.is_tensor(out):
        raise AssertionError(f"`{name}` deve devolver um tensor do torch; devolveu {type(out).__name__}.")
    if tuple(out.shape) != shape:
        raise AssertionError(f"`{name}` devolveu forma {tuple(out.shape)}; esperada {shape}.")
    return out


def _near(value: float, target: float, rel: float = 1e-3) -> bool:
    return abs(value - target) <= rel * max(abs(target), 1e-6)


def _fmt(values) -> str:
    return "[" + "; ".join(br_number(float(v), 4) for v in np.ravel(values)) + "]"


# ---------------------------------------------------------------- q1: reparametrização


def reparameterization_gradients(reparameterize):
    """z = μ + σ·ε tem a forma de μ e deixa passar o gradiente: ∂z/∂μ = 1 e ∂z/∂log σ² = ½·σ·ε = ½·(z − μ)."""
    torch.manual_seed(0)
    mu = torch.randn(8, 3, requires_grad=True)
    logvar = (0.3 * torch.randn(8, 3)).requires_grad_()
    z = _tensor(_call(reparameterize, "reparameterize", mu, logvar), "reparameterize", (8, 3))
    if not z.requires_grad:
        raise AssertionError("z não carrega gradiente: o z tem de ser uma conta com μ e log σ² (não um sorteio novo).")
    z.sum().backward()
    if mu.grad is None or not torch.allclose(mu.grad, torch.ones_like(mu)):
        raise AssertionError("∂z/∂μ deveria ser 1 em cada coordenada: z = μ + σ·ε soma μ uma vez.")
    if logvar.grad is None or not logvar.grad.abs().sum() > 0:
        raise AssertionError("O gradiente não chega a σ (∂z/∂log σ² = 0): falta o ruído σ·ε, com ε ~ N(0, I).")
    expected = 0.5 * (z - mu).detach()
    if torch.allclose(logvar.grad, 2 * expected, atol=1e-5):
        raise AssertionError("∂z/∂log σ² = z − μ, o dobro do certo: σ é exp(½ log σ²), não exp(log σ²) = σ².")
    if not torch.allclose(logvar.grad, expected, atol=1e-5):
        raise AssertionError("∂z/∂log σ² deveria ser ½·σ·ε = ½·(z − μ), com σ = exp(½ log σ²).")


def reparameterization_moments(reparameterize):
    """Para μ = 1,5 e σ = 0,5, 200.000 sorteios de z têm média 1,5 e desvio-padrão 0,5 (± 0,01)."""
    torch.manual_seed(1)
    n, mu, sigma = 200_000, 1.5, 0.5
    z = _call(reparameterize, "reparameterize", torch.full((n, 1), mu), torch.full((n, 1), 2 * math.log(sigma)))
    z = _tensor(z, "reparameterize", (n, 1)).detach()
    mean, std = z.mean().item(), z.std().item()
    if std < 1e-3:
        raise AssertionError("Os sorteios não variam (desvio-padrão 0): falta o ruído σ·ε, com ε ~ N(0, I).")
    if abs(std - sigma**2) < 0.01:
        raise AssertionError(
            f"Desvio-padrão {br_number(std, 3)} = σ²: você multiplicou ε por exp(log σ²) = σ²; σ = exp(½ log σ²)."
        )
    if abs(mean - mu) > 0.01 or abs(std - sigma) > 0.01:
        raise AssertionError(
            f"Esperado média 1,5 e desvio-padrão 0,5; obtido média {br_number(mean, 3)}, desvio {br_number(std, 3)}."
        )


# ---------------------------------------------------------------- q2: KL em forma fechada

# (μ, σ) conhecidos e a KL por imagem, ½ Σ_j (σ² + μ² − 1 − ln σ²), feita à mão:
# imagem 1: (1, 1) → 0,5 e (0, 2) → ½ (3 − ln 4); imagem 2: (0,5; 0,5) → ½ (−0,5 + ln 4) e (−2, 1) → 2
KNOWN_MU = torch.tensor([[1.0, 0.0], [0.5, -2.0]])
KNOWN_SIGMA = torch.tensor([[1.0, 2.0], [0.5, 1.0]])
KNOWN_KL = torch.tensor([0.5 + 0.5 * (3 - math.log(4)), 0.5 * (math.log(4) - 0.5) + 2.0])


def kl_standard_normal_is_zero(kl_divergence):
    """KL(N(0, 1) ‖ N(0, 1)) = 0: com μ = 0 e log σ² = 0, uma KL nula por imagem, forma (n,)."""
    out = _call(kl_divergence, "kl_divergence", torch.zeros(5, 20), torch.zeros(5, 20))
    if torch.is_tensor(out) and out.shape != (5,):
        raise AssertionError(
            f"`kl_divergence` devolveu forma {tuple(out.shape)}; esperada (5,): some nas 20 dimensões latentes e "
            "devolva uma KL por imagem."
        )
    out = _tensor(out, "kl_divergence", (5,))
    if not torch.allclose(out, torch.zeros(5), atol=1e-6):
        raise AssertionError(f"KL(N(0, 1) ‖ N(0, 1)) deveria ser 0; obtido {_fmt(out)}.")


def kl_closed_form(kl_divergence):
    """A KL de (μ, σ) conhecidos bate com ½ Σ_j (σ²_j + μ²_j − 1 − ln σ²_j), calculada à mão."""
    out = _call(kl_divergence, "kl_divergence", KNOWN_MU, 2 * KNOWN_SIGMA.log())
    out = _tensor(out, "kl_divergence", (2,)).detach()
    if torch.allclose(out, KNOWN_KL, rtol=1e-4):
        return
    if torch.allclose(out, -KNOWN_KL, rtol=1e-4):
        why = "o sinal está trocado: a KL nunca é negativa, e é −½ Σ (1 + log σ² − μ² − σ²)"
    elif torch.allclose(out, 2 * KNOWN_KL, rtol=1e-4):
        why = "o valor é o dobro do certo: faltou o ½ da forma fechada"
    else:
        why = "confira a forma fechada −½ Σ_j (1 + log σ²_j − μ²_j − σ²_j), somada nas dimensões latentes"
    raise AssertionError(f"KL esperada {_fmt(KNOWN_KL)}, obtida {_fmt(out)}: {why}.")


# ---------------------------------------------------------------- q3: a perda


def _loss_case(n: int = 4):
    generator = torch.Generator().manual_seed(2)
    logits = 3 * torch.randn(n, vc.INPUT_DIM, generator=generator)
    x = torch.rand(n, vc.INPUT_DIM, generator=generator)
    mu, logvar = torch.randn(n, 5, generator=generator), 0.5 * torch.randn(n, 5, generator=generator)
    return logits, x, mu, logvar


def _loss(loss_terms, *args) -> tuple[float, float]:
    with _reference(loss_terms, kl_divergence=vc.kl_divergence):
        out = _call(loss_terms, "loss_terms", *args)
    if not (isinstance(out, tuple | list) and len(out) == 2 and all(torch.is_tensor(t) for t in out)):
        raise AssertionError("`loss_terms` deve devolver dois tensores, (bce, kl), as somas do lote.")
    if any(t.dim() != 0 for t in out):
        raise AssertionError(
            f"`loss_terms` devolveu formas {[tuple(t.shape) for t in out]}; esperados dois escalares (somas do lote)."
        )
    return out[0].item(), out[1].item()


def loss_at_half(loss_terms):
    """Com logits 0 (cada pixel previsto em 0,5) e x = 0,5, a BCE é ln 2 por pixel: 784 ln 2 ≈ 543,4 por imagem,
    somada nas 3 imagens do lote; KL 0 para μ = 0, log σ² = 0."""
    n, zeros = 3, torch.zeros(3, 5)
    bce, kl = _loss(loss_terms, torch.zeros(n, vc.INPUT_DIM), torch.full((n, vc.INPUT_DIM), 0.5), zeros, zeros)
    _explain_bce(bce, n * vc.INPUT_DIM * LN2, n, None)
    if abs(kl) > 1e-5:
        raise AssertionError(f"Com μ = 0 e log σ² = 0 a KL do lote é 0; obtido {br_number(kl, 4)}.")


def loss_sums_per_image(loss_terms):
    """BCE somada nos 784 pixels de cada imagem e nas imagens do lote, a partir dos logits; KL somada no lote."""
    logits, x, mu, logvar = _loss_case()
    bce, kl = _loss(loss_terms, logits, x, mu, logvar)
    expected = F.binary_cross_entropy_with_logits(logits, x, reduction="sum").item()
    _explain_bce(bce, expected, len(x), F.binary_cross_entropy_with_logits(logits.sigmoid(), x, reduction="sum"))
    if not _near(kl, vc.kl_divergence(mu, logvar).sum().item()):
        raise AssertionError("A KL do lote deveria ser a soma das KLs de cada imagem (kl_divergence(...).sum()).")


def _explain_bce(bce: float, expected: float, n: int, with_probabilities):
    if _near(bce, expected):
        return
    if _near(bce, expected / (n * vc.INPUT_DIM)):
        why = (
            "a perda usa a média dos pixels: isso equivale a β = 784 (a KL pesa 784 vezes mais que no ELBO, e o "
            'modelo colapsa para a média). Some nos pixels e nas imagens (reduction="sum")'
        )
    elif _near(bce, expected / n):
        why = "a BCE foi dividida pelo tamanho do lote: `loss_terms` devolve as somas do lote (o treino divide no fim)"
    elif with_probabilities is not None and _near(bce, with_probabilities.item()):
        why = (
            "você passou probabilidades (a sigmoide dos logits) a uma perda que espera logits: a sigmoide fica "
            "aplicada duas vezes. Passe os logits direto para binary_cross_entropy_with_logits"
        )
    else:
        why = "a BCE do lote é Σ_imagens Σ_pixels BCE(x, sigmoid(logits)), calculada a partir dos logits"
    raise AssertionError(f"BCE esperada {br_number(expected, 2)}, obtida {br_number(bce, 2)}: {why}.")


# ---------------------------------------------------------------- q4: uma época de treino


def _train(train_epoch, x, epochs: int, hidden: int, latent: int) -> list[dict]:
    torch.manual_seed(3)
    model = vc.VAE(hidden_dim=hidden, latent_dim=latent)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    before = [p.detach().clone() for p in model.parameters()]
    generator = torch.Generator().manual_seed(3)
    stats = []
    with _reference(train_epoch, loss_terms=vc.loss_terms, kl_divergence=vc.kl_divergence):
        for _ in range(epochs):
            stats.append(_call(train_epoch, "train_epoch", model, optimizer, x, 128, generator))
    if all(torch.equal(a, b) for a, b in zip(before, model.parameters())):
        raise AssertionError("Os pesos não mudaram: falta loss.backward() e optimizer.step() em cada lote.")
    for s in stats:
        if not isinstance(s, dict) or not {"loss", "bce", "kl"} <= set(s):
            raise AssertionError("`train_epoch` deve devolver um dicionário com as médias 'loss', 'bce' e 'kl'.")
    return stats


def train_epoch_means(train_epoch):
    """Uma época devolve as médias por imagem: perda = BCE + KL, entre 0 e 784 ln 2 ≈ 543 nats mais a KL."""
    x = (torch.rand(300, vc.INPUT_DIM, generator=torch.Generator().manual_seed(4)) > 0.8).float()
    s = _train(train_epoch, x, 1, 32, 2)[0]
    loss, bce, kl = (br_number(s[m], 2) for m in ("loss", "bce", "kl"))
    if not _near(s["loss"], s["bce"] + s["kl"]):
        raise AssertionError(f"A perda deveria ser BCE + KL: {loss} ≠ {bce} + {kl}.")
    if not 0 < s["bce"] < 2 * vc.INPUT_DIM:
        raise AssertionError(
            f"BCE média {bce} fora do razoável para uma imagem (0 a ~784 ln 2 ≈ 543): divida as somas do lote "
            "pelo número de imagens da época (não pelo de lotes)."
        )


def train_epoch_learns(train_epoch):
    """Três épocas sobre 3.000 imagens do MNIST (784-200-10, Adam 1e-3, lotes de 128) levam a perda média da
    terceira época para a faixa de 190 a 245 nats por imagem (a solução dá cerca de 217)."""
    from vae_tools import mnist

    images, _ = mnist.load_mnist_split(mnist.resolve_data_dir(), train=True)
    stats = _train(train_epoch, mnist.flatten_images(images[:3000]), 3, 200, 10)
    losses = [s["loss"] for s in stats]
    if not losses[-1] < losses[0]:
        raise AssertionError(f"A perda não caiu em três épocas ({_fmt(losses)}): o otimizador está mexendo nos pesos?")
    if not 190 <= losses[-1] <= 245:
        raise AssertionError(
            f"Perda da 3ª época {br_number(losses[-1], 1)} nats fora da faixa 190–245 em que a solução fica "
            "(cerca de 217)."
        )


# ---------------------------------------------------------------- q5: codificar o conjunto de teste


def _model(latent: int = 4) -> vc.VAE:
    torch.manual_seed(5)
    return vc.VAE(hidden_dim=32, latent_dim=latent)


def _images(n: int) -> torch.Tensor:
    return torch.rand(n, vc.INPUT_DIM, generator=torch.Generator().manual_seed(6))


def encode_shapes(encode_dataset):
    """300 imagens em lotes de 128 (o último incompleto) → μ e log σ², cada um de forma (300, d)."""
    model, x = _model(), _images(300)
    out = _call(encode_dataset, "encode_dataset", model, x, 128)
    if not (isinstance(out, tuple | list) and len(out) == 2):
        raise AssertionError("`encode_dataset` deve devolver dois tensores: (μ, log σ²).")
    for part, name in zip(out, ("μ", "log σ²")):
        _tensor(part, f"encode_dataset ({name})", (300, model.latent_dim))


def encode_uses_mean(encode_dataset):
    """Para o gráfico do espaço latente cada imagem é o seu código μ: determinístico e igual a model.encode(x)[0]."""
    model, x = _model(), _images(300)
    first = _call(encode_dataset, "encode_dataset", model, x, 128)
    second = _call(encode_dataset, "encode_dataset", model, x, 128)
    with torch.no_grad():
        mu, logvar = model.encode(x)
    if not torch.equal(torch.as_tensor(first[0]), torch.as_tensor(second[0])):
        raise AssertionError(
            "Duas codificações das mesmas imagens deram códigos diferentes: você devolveu um z sorteado. Para o "
            "espaço latente use a média μ de q(z|x), que é determinística."
        )
    if not torch.allclose(torch.as_tensor(first[0]), mu, atol=1e-5):
        raise AssertionError("O primeiro tensor deveria ser μ = model.encode(x)[0], imagem a imagem e na mesma ordem.")
    if not torch.allclose(torch.as_tensor(first[1]), logvar, atol=1e-5):
        raise AssertionError("O segundo tensor deveria ser log σ² = model.encode(x)[1], na mesma ordem.")


# ---------------------------------------------------------------- q6: amostrar do prior


def samples_are_images(sample_images):
    """n amostras são imagens (n, 28, 28) com intensidades em [0, 1] — probabilidades, não logits."""
    out = _call(sample_images, "sample_images", _model(), 6, 0)
    if not isinstance(out, np.ndarray) or out.shape != (6, vc.IMAGE_SIDE, vc.IMAGE_SIDE):
        shape = getattr(out, "shape", type(out).__name__)
        raise AssertionError(f"`sample_images` deve devolver um array numpy (6, 28, 28); devolveu {shape}.")
    if out.min() < 0 or out.max() > 1:
        raise AssertionError(
            "Intensidades fora de [0, 1]: o decodificador devolve logits; a imagem é a sigmoide deles "
            "(use decode_latent ou model.decode)."
        )


def samples_from_prior(sample_images):
    """As amostras decodificam z ~ N(0, I) sorteado com `torch.Generator().manual_seed(seed)`: a mesma semente dá as
    mesmas imagens, e são as do decodificador nesse z."""
    model = _model()
    first, again = (_call(sample_images, "sample_images", model, 6, 7) for _ in range(2))
    if not np.array_equal(np.asarray(first), np.asarray(again)):
        raise AssertionError(
            "A mesma semente deu amostras diferentes: sorteie z com torch.Generator().manual_seed(seed)."
        )
    z = torch.randn(6, model.latent_dim, generator=torch.Generator().manual_seed(7))
    if not np.allclose(first, vc.decode_latent(model, z), atol=1e-5):
        raise AssertionError(
            "As amostras não são o decodificador em z ~ N(0, I) da semente dada: z = torch.randn(n, d, "
            "generator=torch.Generator().manual_seed(seed)), depois decode_latent(model, z)."
        )
