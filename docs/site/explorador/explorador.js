// O explorador do espaço latente no site: os decodificadores treinados rodam na página, em JavaScript puro.
// Os pesos e os dados vêm de manifesto.json e dos binários ao lado (gravados por `make explorador`, de
// vae_tools/webexport.py). O decodificador é o de vae_core.VAE: x = sigmoide(W4 · ReLU(W3 · z + b3) + b4).
// Nada vem da rede além desta pasta. window.explorador expõe o estado para o teste de navegador.
"use strict";
(() => {
  const SIDE = 28;
  const TIPOS = { float32: Float32Array, int32: Int32Array, uint8: Uint8Array }; // little-endian, como os binários
  const numero = (v, casas = 2) =>
    v.toLocaleString("pt-BR", { minimumFractionDigits: casas, maximumFractionDigits: casas }).replace("-", "−");

  async function carregar(base) {
    const manifesto = await (await fetch(base + "manifesto.json")).json();
    const arrays = {};
    await Promise.all(
      Object.entries(manifesto.arquivos).map(async ([nome, info]) => {
        const resposta = await fetch(base + info.arquivo);
        if (!resposta.ok) throw new Error(`não consegui ler ${info.arquivo} (${resposta.status})`);
        const dados = new TIPOS[info.tipo](await resposta.arrayBuffer());
        if (dados.length !== info.forma.reduce((a, b) => a * b, 1)) throw new Error(`${info.arquivo} incompleto`);
        arrays[nome] = dados;
      }),
    );
    return { manifesto, arrays };
  }

  // O decodificador de vae_core.VAE, com somas em precisão dupla.
  function decodificador(arrays, prefixo) {
    const w3 = arrays[`${prefixo}.fc3.weight`], b3 = arrays[`${prefixo}.fc3.bias`];
    const w4 = arrays[`${prefixo}.fc4.weight`], b4 = arrays[`${prefixo}.fc4.bias`];
    const oculta = b3.length, latente = w3.length / oculta, saida = b4.length;
    return (z) => {
      const h = new Float64Array(oculta);
      for (let i = 0; i < oculta; i++) {
        let s = b3[i];
        for (let j = 0; j < latente; j++) s += w3[i * latente + j] * z[j];
        h[i] = s > 0 ? s : 0;
      }
      const x = new Float32Array(saida);
      for (let o = 0; o < saida; o++) {
        let s = b4[o];
        for (let i = 0; i < oculta; i++) s += w4[o * oculta + i] * h[i];
        x[o] = 1 / (1 + Math.exp(-s));
      }
      return x;
    };
  }

  function desenhar(canvas, pixels) {
    const contexto = canvas.getContext("2d");
    const imagem = contexto.createImageData(SIDE, SIDE);
    for (let p = 0; p < SIDE * SIDE; p++) {
      const v = Math.round(255 * pixels[p]);
      imagem.data.set([v, v, v, 255], 4 * p);
    }
    contexto.putImageData(imagem, 0, 0);
  }

  function elemento(tag, atributos = {}, filhos = []) {
    const e = document.createElement(tag);
    for (const [chave, valor] of Object.entries(atributos)) {
      if (chave === "texto") e.textContent = valor;
      else e.setAttribute(chave, valor);
    }
    e.append(...filhos);
    return e;
  }

  function imagem(id, legenda) {
    const canvas = elemento("canvas", { id, width: SIDE, height: SIDE, role: "img", class: "ex-digito" });
    return { canvas, figura: elemento("figure", {}, [canvas, elemento("figcaption", { texto: legenda })]) };
  }

  // Um controle deslizante nativo (teclado e leitor de tela de graça) que anda em passos de `passo` a partir
  // do valor em que está, como o FloatSlider do notebook: o ponto de partida não é arredondado para a grade.
  // O valor fica num número do JavaScript (o do <input> é texto, e o navegador o arredonda).
  function controle(id, rotulo, aoMudar) {
    const entrada = elemento("input", { type: "range", id, step: "any" });
    const saida = elemento("output", { for: id });
    const label = elemento("label", { for: id, texto: rotulo });
    let minimo = 0, maximo = 1, passo = 0.1, valor = 0;
    const definir = (novo) => {
      valor = Math.min(maximo, Math.max(minimo, novo));
      entrada.value = String(valor);
      saida.textContent = numero(valor);
      entrada.setAttribute("aria-valuetext", saida.textContent);
    };
    entrada.addEventListener("input", () => (definir(Number(entrada.value)), aoMudar()));
    entrada.addEventListener("keydown", (evento) => {
      const alvo = {
        ArrowRight: valor + passo, ArrowUp: valor + passo, ArrowLeft: valor - passo, ArrowDown: valor - passo,
        PageUp: valor + 10 * passo, PageDown: valor - 10 * passo, Home: minimo, End: maximo,
      }[evento.key];
      if (alvo === undefined) return;
      evento.preventDefault();
      definir(alvo);
      aoMudar();
    });
    const configurar = (texto, novoMinimo, novoMaximo, novoPasso, inicial) => {
      label.textContent = texto;
      [minimo, maximo, passo] = [novoMinimo, novoMaximo, novoPasso];
      Object.assign(entrada, { min: String(minimo), max: String(maximo) });
      definir(inicial);
    };
    const linha = elemento("div", { class: "ex-controle" }, [label, entrada, saida]);
    return { configurar, definir, valor: () => valor, linha };
  }

  // O explorador do capítulo (z = 20): modo, dígito, exemplo, controles, original × decodificada, início.
  function exploradorCapitulo(raiz, { manifesto, arrays }) {
    const decodificar = decodificador(arrays, "z20");
    const [digitos, exemplos, d] = manifesto.arquivos["exemplos.mu"].forma;
    const media = arrays["pca.media"], componentes = arrays["pca.componentes"], dims = arrays["dims.indices"];
    const n = dims.length;
    const estado = { z0: null, z: null, decodificada: null, modo: manifesto.inicio.explore_mode };

    const modos = elemento("fieldset", { class: "ex-modos" }, [elemento("legend", { texto: "Os controles movem" })]);
    for (const [modo, info] of Object.entries(manifesto.modos)) {
      const radio = elemento("input", { type: "radio", name: "ex-modo", id: `ex-modo-${modo}`, value: modo });
      radio.checked = modo === estado.modo;
      radio.addEventListener("change", () => ((estado.modo = modo), reiniciar()));
      modos.append(elemento("span", {}, [radio, elemento("label", { for: `ex-modo-${modo}`, texto: info.titulo })]));
    }
    const escolha = (id, rotulo, opcoes) => {
      const select = elemento("select", { id }, opcoes.map((t, i) => elemento("option", { value: i, texto: t })));
      return { select, linha: elemento("span", {}, [elemento("label", { for: id, texto: rotulo }), select]) };
    };
    const digito = escolha("ex-digito", "Dígito", [...Array(digitos).keys()].map(String));
    const indices = arrays["exemplos.indices"];
    const exemplo = escolha("ex-exemplo", "Exemplo", []);
    const preencherExemplos = () => {
      const dig = Number(digito.select.value);
      exemplo.select.replaceChildren(
        ...[...Array(exemplos).keys()].map((i) =>
          elemento("option", { value: i, texto: `${i} (teste nº ${indices[dig * exemplos + i]})` }),
        ),
      );
    };
    digito.select.value = String(manifesto.inicio.explore_digit);
    preencherExemplos();
    exemplo.select.value = String(manifesto.inicio.explore_index);
    digito.select.addEventListener("change", () => (preencherExemplos(), reiniciar()));
    exemplo.select.addEventListener("change", reiniciar);
    const inicio = elemento("button", { type: "button", texto: "Voltar ao início" });
    inicio.addEventListener("click", reiniciar);

    const controles = [...Array(n).keys()].map((i) => controle(`ex-controle-${i}`, "", redesenhar));
    const original = imagem("ex-original", "original"), decodificada = imagem("ex-decodificada", "decodificada");
    raiz.append(
      modos,
      elemento("div", { class: "ex-escolhas" }, [digito.linha, exemplo.linha, inicio]),
      elemento("div", { class: "ex-painel" }, [
        elemento("div", { class: "ex-controles" }, controles.map((c) => c.linha)),
        elemento("div", { class: "ex-imagens" }, [original.figura, decodificada.figura]),
      ]),
    );

    // as coordenadas de z0 nos controles e o ponto dos controles (vae_tools.explorer.LatentSpace)
    const projetar = (z) => [...Array(n).keys()].map((k) => {
      let s = 0;
      for (let j = 0; j < d; j++) s += (z[j] - media[j]) * componentes[k * d + j];
      return s;
    });
    const coordenadas = (z) => (estado.modo === "pca" ? projetar(z) : [...dims].map((j) => z[j]));
    function ponto(valores) {
      const z = Float64Array.from(estado.z0);
      if (estado.modo === "dims") {
        dims.forEach((j, k) => (z[j] = valores[k]));
        return z;
      }
      const partida = projetar(estado.z0);
      for (let k = 0; k < n; k++) for (let j = 0; j < d; j++) z[j] += (valores[k] - partida[k]) * componentes[k * d + j];
      return z;
    }

    function reiniciar() {
      const dig = Number(digito.select.value), ex = Number(exemplo.select.value);
      const posicao = dig * exemplos + ex;
      estado.z0 = Float64Array.from(arrays["exemplos.mu"].subarray(posicao * d, (posicao + 1) * d));
      const pixels = Array.from(arrays["exemplos.imagens"].subarray(posicao * 784, (posicao + 1) * 784), (v) => v / 255);
      desenhar(original.canvas, pixels);
      original.canvas.setAttribute("aria-label", `Imagem original: o ${dig} de teste nº ${indices[posicao]}`);
      const info = manifesto.modos[estado.modo], valores = coordenadas(estado.z0);
      controles.forEach((c, k) => c.configurar(info.rotulos[k], ...info.controles[k], valores[k]));
      redesenhar();
    }

    function redesenhar() {
      estado.valores = controles.map((c) => c.valor());
      estado.z = ponto(estado.valores);
      estado.decodificada = decodificar(estado.z);
      desenhar(decodificada.canvas, estado.decodificada);
      decodificada.canvas.setAttribute("aria-label", "Imagem decodificada do ponto latente dos controles");
    }
    reiniciar();
    return estado;
  }

  // Os marcadores de matplotlib usados em vae_tools.figures.scatter_digits, desenhados no canvas.
  const poligono = (lados, giro = 0) =>
    [...Array(lados).keys()].map((i) => [Math.sin(giro + (2 * Math.PI * i) / lados), -Math.cos(giro + (2 * Math.PI * i) / lados)]);
  const MAIS = [[-1, -0.35], [-0.35, -0.35], [-0.35, -1], [0.35, -1], [0.35, -0.35], [1, -0.35], [1, 0.35],
    [0.35, 0.35], [0.35, 1], [-0.35, 1], [-0.35, 0.35], [-1, 0.35]]; // prettier-ignore
  const girar = (pontos, a) => pontos.map(([x, y]) => [x * Math.cos(a) - y * Math.sin(a), x * Math.sin(a) + y * Math.cos(a)]);
  const estrela = [...Array(10).keys()].map((i) => {
    const r = i % 2 ? 0.45 : 1, a = (Math.PI * i) / 5;
    return [r * Math.sin(a), -r * Math.cos(a)];
  });
  const MARCADORES = {
    "s": poligono(4, Math.PI / 4), "^": poligono(3), "v": poligono(3, Math.PI), "D": poligono(4),
    "P": MAIS, "X": girar(MAIS, Math.PI / 4), "*": estrela, "<": poligono(3, -Math.PI / 2), ">": poligono(3, Math.PI / 2),
  };
  function marcador(contexto, tipo, x, y, r) {
    contexto.beginPath();
    if (tipo === "o") contexto.arc(x, y, r, 0, 2 * Math.PI);
    else MARCADORES[tipo].forEach(([a, b], i) => contexto[i ? "lineTo" : "moveTo"](x + r * a, y + r * b));
    contexto.closePath();
    contexto.fill();
  }

  // O explorador do VAE 2-D: o mapa dos μ do teste, um ponto que se arrasta (ou se move pelos controles z₁
  // e z₂, pelo teclado) e o dígito decodificado desse ponto.
  function exploradorMapa(raiz, { manifesto, arrays }) {
    const decodificar = decodificador(arrays, "z2");
    const mapa = manifesto.mapa, [[x0, x1], [y0, y1]] = mapa.faixa;
    const estado = { z: null, decodificada: null };
    const LADO = 420;
    const fundo = elemento("canvas", { width: LADO, height: LADO, class: "ex-mapa", role: "img",
      "aria-label": "Mapa dos códigos μ das 10.000 imagens de teste no VAE 2-D, coloridos por dígito" }); // prettier-ignore
    const mu = arrays["mapa.mu"], rotulos = arrays["mapa.rotulos"];
    const px = (z1) => ((z1 - x0) / (x1 - x0)) * LADO, py = (z2) => (1 - (z2 - y0) / (y1 - y0)) * LADO;
    const contexto = fundo.getContext("2d");
    contexto.fillStyle = "#fff";
    contexto.fillRect(0, 0, LADO, LADO);
    contexto.globalAlpha = 0.7;
    for (let i = 0; i < rotulos.length; i++) {
      contexto.fillStyle = mapa.cores[rotulos[i]];
      marcador(contexto, mapa.marcadores[rotulos[i]], px(mu[2 * i]), py(mu[2 * i + 1]), 2);
    }
    contexto.globalAlpha = 1;
    const alca = elemento("div", { class: "ex-alca", "aria-hidden": "true" });
    const area = elemento("div", { class: "ex-area", style: `width:${LADO}px;height:${LADO}px` }, [fundo, alca]);
    const legenda = elemento("ul", { class: "ex-legenda", "aria-label": "Legenda do mapa" },
      mapa.cores.map((cor, digito) => {
        const amostra = elemento("canvas", { width: 14, height: 14, "aria-hidden": "true" });
        const c = amostra.getContext("2d");
        c.fillStyle = cor;
        marcador(c, mapa.marcadores[digito], 7, 7, 6);
        return elemento("li", {}, [amostra, ` ${digito}`]);
      })); // prettier-ignore
    const eixos = [controle("ex-z1", "z₁", atualizar), controle("ex-z2", "z₂", atualizar)];
    eixos[0].configurar("z₁", x0, x1, (x1 - x0) / 60, 0);
    eixos[1].configurar("z₂", y0, y1, (y1 - y0) / 60, 0);
    const decodificada = imagem("ex-decodificada-2d", "decodificada do ponto");
    const inicio = elemento("button", { type: "button", texto: "Voltar ao início" });
    raiz.append(
      elemento("div", { class: "ex-painel" }, [
        area, legenda,
        elemento("div", { class: "ex-controles" }, [...eixos.map((e) => e.linha), inicio, decodificada.figura]),
      ]),
    );
    const partida = arrays["exemplos.indices"][manifesto.inicio.explore_digit * manifesto.arquivos["exemplos.indices"].forma[1] + manifesto.inicio.explore_index];
    function reiniciar() {
      eixos[0].definir(mu[2 * partida]);
      eixos[1].definir(mu[2 * partida + 1]);
      atualizar();
    }
    inicio.addEventListener("click", reiniciar);
    function atualizar() {
      estado.z = Float64Array.from(eixos, (e) => e.valor());
      estado.decodificada = decodificar(estado.z);
      desenhar(decodificada.canvas, estado.decodificada);
      decodificada.canvas.setAttribute("aria-label", `Dígito decodificado em z₁ = ${numero(estado.z[0])}, z₂ = ${numero(estado.z[1])}`);
      alca.style.left = `${px(estado.z[0])}px`;
      alca.style.top = `${py(estado.z[1])}px`;
    }
    const arrastar = (evento) => {
      const caixa = fundo.getBoundingClientRect();
      eixos[0].definir(x0 + ((evento.clientX - caixa.left) / caixa.width) * (x1 - x0));
      eixos[1].definir(y1 - ((evento.clientY - caixa.top) / caixa.height) * (y1 - y0));
      atualizar();
    };
    area.addEventListener("pointerdown", (evento) => {
      area.setPointerCapture(evento.pointerId);
      arrastar(evento);
    });
    area.addEventListener("pointermove", (evento) => area.hasPointerCapture(evento.pointerId) && arrastar(evento));
    reiniciar();
    return estado;
  }

  function iniciar() {
    const capitulo = document.getElementById("explorador-20"), plano = document.getElementById("explorador-2d");
    if (!capitulo || !plano) return null;
    const base = capitulo.dataset.dados;
    return carregar(base)
      .then((dados) => {
        window.explorador.capitulo = exploradorCapitulo(capitulo, dados);
        window.explorador.mapa = exploradorMapa(plano, dados);
      })
      .catch((erro) => {
        capitulo.append(elemento("p", { role: "alert", texto: `O explorador não carregou: ${erro.message}.` }));
        throw erro;
      });
  }
  window.explorador = {};
  window.explorador.pronto =
    document.readyState === "loading"
      ? new Promise((ok, falha) => document.addEventListener("DOMContentLoaded", () => iniciar().then(ok, falha)))
      : iniciar();
})();
