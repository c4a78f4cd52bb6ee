# Alvos do projeto. Tudo roda no ambiente virtual .venv, criado na primeira vez.
# Uso: make report [PARAMS="-p NUM_EPOCHS 5"] | make experiments [PARAMS='-y "LATENT_SIZES: [2, 20]"'] | make test | make help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SHARED_MNIST := $(abspath ../shared/data/MNIST/raw)
NOTEBOOK := notebooks/vae_mnist.ipynb
LAB := notebooks/experimentos.ipynb
REPORTS := reports
PARAMS ?=

.PHONY: help setup data report experiments site docs test notebook bench bench-lab clean

help:  ## lista os alvos
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/.installed: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -r requirements.txt
	$(BIN)/pip install --no-deps -e .
	touch $@

setup: $(BIN)/.installed  ## cria .venv e instala as dependências fixadas

data:  ## liga data/MNIST/raw à cópia local ../shared/data/MNIST/raw, se ela existir
	@if [ ! -e data/MNIST/raw ] && [ -d $(SHARED_MNIST) ]; then \
		mkdir -p data/MNIST && ln -s $(SHARED_MNIST) data/MNIST/raw && \
		echo "data/MNIST/raw -> $(SHARED_MNIST)"; fi

report: setup data  ## executa o relatório headless em reports/: notebook, HTML e as figuras em PNG
	mkdir -p $(REPORTS)
	$(BIN)/papermill $(NOTEBOOK) $(REPORTS)/vae_mnist.ipynb -p FIGURES_DIR $(CURDIR)/$(REPORTS)/figuras $(PARAMS)
	$(BIN)/python -m vae_tools.publish html $(REPORTS)/vae_mnist.ipynb
	@echo "Relatório: $(REPORTS)/vae_mnist.ipynb, $(REPORTS)/vae_mnist.html e $(REPORTS)/figuras/*.png"

experiments: setup data  ## executa o laboratório (tamanho latente, β, arquitetura) em reports/: notebook, HTML e PNGs
	mkdir -p $(REPORTS)
	$(BIN)/papermill $(LAB) $(REPORTS)/experimentos.ipynb -p FIGURES_DIR $(CURDIR)/$(REPORTS)/figuras $(PARAMS)
	$(BIN)/python -m vae_tools.publish html $(REPORTS)/experimentos.ipynb
	@echo "Laboratório: $(REPORTS)/experimentos.ipynb, $(REPORTS)/experimentos.html e $(REPORTS)/figuras/lab_*.png"

site: setup  ## constrói o site do curso (MkDocs Material, sem rede) em build/site a partir dos notebooks guardados
	$(BIN)/python -m vae_tools.publish site
	$(BIN)/mkdocs build --strict
	@echo "Site: build/site/index.html (sirva com: $(BIN)/python -m http.server -d build/site 8000)"

docs: report  ## copia para docs/ as figuras mostradas no README (de uma execução padrão)
	mkdir -p docs
	cp $(REPORTS)/figuras/10_espaco_latente.png $(REPORTS)/figuras/14_variedade_2d.png docs/

test: setup data  ## roda todos os testes (ruff, unitários, jupytext, papermill, navegador, nbval)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest tests \
		--nbval-lax --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg $(NOTEBOOK)

# O relatório treina do zero em build/checkpoints-notebook (o notebook guardado mostra um treino de verdade);
# o laboratório usa checkpoints/ e só treina o que ainda não foi treinado (make experiments antes).
notebook: setup data  ## reexecuta os dois notebooks pareados com os parâmetros padrão (para commitar)
	$(BIN)/jupytext --sync notebooks/vae_mnist.py notebooks/experimentos.py
	mkdir -p build/checkpoints-notebook  # os VAEs treinam do zero; o classificador de dígitos fica
	find build/checkpoints-notebook -name '*.pt' ! -name 'classificador-*' -delete
	VAE_MNIST_CHECKPOINT_DIR=$(CURDIR)/build/checkpoints-notebook $(BIN)/jupyter nbconvert --to notebook \
		--execute --inplace --ExecutePreprocessor.timeout=-1 $(NOTEBOOK)
	$(BIN)/jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.timeout=-1 $(LAB)
	$(BIN)/jupytext --sync $(NOTEBOOK) $(LAB)

bench: setup data  ## mede época (clássico × projeto × piso) e o relatório inteiro (tempo e RSS)
	$(BIN)/python benchmarks/bench_epoch.py
	$(BIN)/python benchmarks/bench_report.py

bench-lab: setup data  ## mede o laboratório: tudo treinado (contra a soma das épocas) e tudo dos checkpoints
	$(BIN)/python benchmarks/bench_lab.py

clean:  ## apaga relatórios, o site construído e caches (mantém .venv, data/ e checkpoints/)
	rm -rf $(REPORTS) build .cache .pytest_cache tests/__pycache__ __pycache__ vae_tools/__pycache__
