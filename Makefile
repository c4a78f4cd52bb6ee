# Alvos do projeto. Tudo roda no ambiente virtual .venv, criado na primeira vez.
# Uso: make report [PARAMS="-p NUM_EPOCHS 5"] | make avaliacao [PARAMS=…] | make experiments | make test | make help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SHARED_MNIST := $(abspath ../shared/data/MNIST/raw)
NOTEBOOK := notebooks/vae_mnist.ipynb
EVALUATION := notebooks/avaliacao.ipynb
LAB := notebooks/experimentos.ipynb
REPORTS := reports
PARAMS ?=
SUBMISSOES ?=
SAIDA ?= build/correcao

.PHONY: help setup data report avaliacao experiments classificador explorador site docs test notebook bench bench-lab \
	clean exercicios corrigir bench-correcao

help:  ## lista os alvos
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

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

report: setup data  ## executa o capítulo (treina ou reutiliza o modelo) em reports/: notebook, HTML e figuras em PNG
	mkdir -p $(REPORTS)
	$(BIN)/papermill $(NOTEBOOK) $(REPORTS)/vae_mnist.ipynb -p FIGURES_DIR $(CURDIR)/$(REPORTS)/figuras $(PARAMS)
	$(BIN)/python -m vae_tools.publish html $(REPORTS)/vae_mnist.ipynb
	@echo "Capítulo: $(REPORTS)/vae_mnist.ipynb, $(REPORTS)/vae_mnist.html e $(REPORTS)/figuras/*.png"

avaliacao: setup data  ## avalia o modelo do capítulo (rode make report antes, com os mesmos PARAMS) em reports/
	mkdir -p $(REPORTS)
	$(BIN)/papermill $(EVALUATION) $(REPORTS)/avaliacao.ipynb -p FIGURES_DIR $(CURDIR)/$(REPORTS)/figuras $(PARAMS)
	$(BIN)/python -m vae_tools.publish html $(REPORTS)/avaliacao.ipynb
	@echo "Avaliação: $(REPORTS)/avaliacao.ipynb, $(REPORTS)/avaliacao.html e $(REPORTS)/figuras/aval_*.png"

experiments: setup data  ## executa o laboratório (tamanho latente, β, arquitetura) em reports/: notebook, HTML e PNGs
	mkdir -p $(REPORTS)
	$(BIN)/papermill $(LAB) $(REPORTS)/experimentos.ipynb -p FIGURES_DIR $(CURDIR)/$(REPORTS)/figuras $(PARAMS)
	$(BIN)/python -m vae_tools.publish html $(REPORTS)/experimentos.ipynb
	@echo "Laboratório: $(REPORTS)/experimentos.ipynb, $(REPORTS)/experimentos.html e $(REPORTS)/figuras/lab_*.png"

# O classificador de dígitos é a régua das medidas de qualidade (como a Inception da FID): os pesos vêm no
# repositório e só mudam por este alvo; depois dele, atualize CLASSIFIER_SHA256 em tests/test_classifier.py.
classificador: setup data  ## treina de novo o classificador de dígitos (semente 42) em vae_tools/classificador.pt
	$(BIN)/python -m vae_tools.classifier

# O explorador ao vivo do site lê arquivos guardados em docs/site/explorador/ (o site se constrói sem
# checkpoints); eles só mudam por este alvo, dos checkpoints que `make notebook` grava.
explorador: setup data  ## exporta para o site os decodificadores e os dados do explorador (depois de make notebook)
	OMP_NUM_THREADS=1 $(BIN)/python -m vae_tools.webexport $(CURDIR)/build/checkpoints-notebook

site: setup  ## constrói o site do curso (MkDocs Material, sem rede) em build/site a partir dos notebooks guardados
	$(BIN)/python -m vae_tools.publish site
	$(BIN)/mkdocs build --strict
	@echo "Site: build/site/index.html (sirva com: $(BIN)/python -m http.server -d build/site 8000)"

docs: report  ## copia para docs/ as figuras mostradas no README (de uma execução padrão)
	mkdir -p docs
	$(MAKE) avaliacao
	cp $(REPORTS)/figuras/08_espaco_latente.png $(REPORTS)/figuras/aval_05_variedade_2d.png docs/

test: setup data  ## roda todos os testes (ruff, unitários, jupytext, papermill, navegador, nbval)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest tests \
		--nbval-lax --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg $(NOTEBOOK) $(EVALUATION)

# O capítulo treina do zero em build/checkpoints-notebook (o notebook guardado mostra um treino de verdade) e a
# avaliação lê esse modelo; o laboratório usa checkpoints/ e só treina o que ainda não foi treinado.
notebook: setup data  ## reexecuta os três notebooks pareados com os parâmetros padrão (para commitar)
	$(BIN)/jupytext --sync notebooks/vae_mnist.py notebooks/avaliacao.py notebooks/experimentos.py
	mkdir -p build/checkpoints-notebook  # os VAEs treinam do zero (o classificador vem no repositório)
	find build/checkpoints-notebook -name '*.pt' -delete
	VAE_MNIST_CHECKPOINT_DIR=$(CURDIR)/build/checkpoints-notebook $(BIN)/jupyter nbconvert --to notebook \
		--execute --inplace --ExecutePreprocessor.timeout=-1 $(NOTEBOOK) $(EVALUATION)
	$(BIN)/jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.timeout=-1 $(LAB)
	$(BIN)/jupytext --sync $(NOTEBOOK) $(EVALUATION) $(LAB)
	$(MAKE) explorador

bench: setup data  ## mede época (clássico × projeto × piso) e o relatório inteiro (tempo e RSS)
	$(BIN)/python benchmarks/bench_epoch.py
	$(BIN)/python benchmarks/bench_report.py

bench-lab: setup data  ## mede o laboratório: tudo treinado (contra a soma das épocas) e tudo dos checkpoints
	$(BIN)/python benchmarks/bench_lab.py

exercicios: setup  ## gera a versão do aluno (exercicios/) e o autograder (build/exercicios/, não distribua)
	$(BIN)/python -m vae_tools.exercises

corrigir: exercicios data  ## corrige SUBMISSOES=pasta de .ipynb em $(SAIDA)/notas.csv e $(SAIDA)/devolutivas/
	@test -n "$(SUBMISSOES)" || { echo "Uso: make corrigir SUBMISSOES=pasta_com_os_notebooks"; exit 2; }
	$(BIN)/python -m vae_tools.grading $(SUBMISSOES) --saida $(SAIDA)

bench-correcao: exercicios data  ## mede a correção de uma submissão (meta: até 60 s)
	$(BIN)/python benchmarks/bench_grading.py

clean:  ## apaga relatórios, o site construído e caches (mantém .venv, data/ e checkpoints/)
	rm -rf $(REPORTS) build .cache .pytest_cache tests/__pycache__ __pycache__ vae_tools/__pycache__
