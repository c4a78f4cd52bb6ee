"""O laboratório (notebooks/experimentos): parâmetros em lista, execuções sem repetição, uma execução
mínima com papermill e uma segunda execução que não treina nada."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import run_notebook

from vae_tools import lab
from vae_tools.checkpoints import Action
from vae_tools.parameters import ParameterError, validate_lab_params

ROOT = Path(__file__).resolve().parents[1]
LAB = ROOT / "notebooks" / "experimentos.ipynb"
FIGURES = ["lab_01_curvas", "lab_02_perda_por_dimensao", "lab_03_amostras_por_dimensao", "lab_04_taxa_distorcao",
           "lab_05_beta_imagens", "lab_06_autoencoder", "lab_07_colapso", "lab_08_colapso_amostras", "lab_09_pixelcnn",
           "lab_10_pixelcnn_amostras", "lab_11_arquiteturas", "lab_12_condicional_amostras", "lab_13_analogias",
           "lab_15_condicional_controles", "lab_16_elbo_frechet"]  # fmt: skip
TINY = {"LATENT_SIZES": [2, 4], "BETAS": [0.5, 1], "BETA_LATENT_DIM": 4, "ARCH_LATENT_DIM": 4, "NUM_EPOCHS": 1,
        "TRAIN_SIZE": 1000, "VAL_SIZE": 200, "IWAE_SIZE": 50, "IWAE_K": 10, "PROGRESS": False, "SEEDS": [43],
        "CONDITIONAL_LATENT_SIZES": [4], "QUALITY_SAMPLES": 200, "WARMUP_EPOCHS": 1, "PIXELCNN_TRAIN_SIZE": 300,
        "NUM_THREADS": 1}  # fmt: skip


def parameters_cell(notebook: Path) -> str:
    nb = nbformat.read(notebook, as_version=4)
    return next(c.source for c in nb.cells if "parameters" in c.metadata.get("tags", []))


def defaults(notebook: Path) -> dict:
    values: dict = {}
    exec(parameters_cell(notebook), {}, values)
    return {name: value for name, value in values.items() if not name.startswith("__")}


def outputs_text(nb) -> str:
    parts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            parts += [output.get("text", ""), data.get("text/plain", ""), data.get("text/markdown", "")]
    return "".join(parts)


# ---------------------------------------------------------------- parâmetros


@pytest.mark.parametrize(
    ("name", "value", "detail"),
    [
        ("LATENT_SIZES", [], "lista não vazia"),
        ("LATENT_SIZES", [2, -1], "o elemento -1 não é"),
        ("LATENT_SIZES", ["dois"], "o elemento 'dois' não é"),
        ("LATENT_SIZES", 20, "lista não vazia"),
        ("LATENT_SIZES", [2, 2], "sem repetições"),
        ("BETAS", [1, 0], "o elemento 0 não é"),
        ("BETAS", ["muito"], "o elemento 'muito' não é"),
        ("BETAS", "[]", "lista não vazia"),
        ("ARCHS", ["mlp", "rnn"], "o elemento 'rnn' não é"),
        ("IWAE_K", 0, "inteiro ≥ 1"),
    ],
)
def test_bad_lab_parameter_names_culprit_value_and_allowed(name, value, detail):
    with pytest.raises(ParameterError) as error:
        validate_lab_params(defaults(LAB) | {name: value})
    assert str(error.value).startswith(f"Parâmetro {name} inválido: recebido {value!r}")
    assert detail in str(error.value)


def test_lab_defaults_are_valid_and_lists_also_come_as_text():
    expected = defaults(LAB) | {"BETAS": [0.25, 0.5, 1.0, 2.0, 4.0, 8.0], "QUALITY_SAMPLES": 5000}  # VAL_SIZE
    assert validate_lab_params(defaults(LAB)) == expected
    assert validate_lab_params(defaults(LAB) | {"LATENT_SIZES": "[2, 20]"})["LATENT_SIZES"] == [2, 20]


def test_runs_are_planned_once_each_even_when_comparisons_share_them(tmp_path):
    p = validate_lab_params(defaults(LAB) | {"CHECKPOINT_DIR": str(tmp_path)})
    runs, groups = lab.plan_lab(p)
    sizes = {g: len(names) for g, names in groups.items()}
    assert sizes == {"latente": 6, "beta": 6, "arquitetura": 2, "sementes": 5, "condicional": 4, "autoencoder": 2,
                     "colapso": 4, "pixelcnn": 3, "sementes_cvae": 5, "sementes_conv": 5}  # fmt: skip
    # a referência (z = 20, β = 1, mlp, semente 42) é de várias comparações; o cvae e o conv de semente 42 também
    assert len(runs) == sum(sizes.values()) - 9 == 33
    classic = "mlp400-z20-beta1-lr0.001-b128-seed42-val5000-n55000-e20"
    assert all(classic in groups[g] for g in ("latente", "beta", "arquitetura", "sementes", "autoencoder", "colapso"))
    assert groups["sementes"][1:] == [classic.replace("seed42", f"seed{s}") for s in (43, 44, 45, 46)]
    assert groups["colapso"][1:] == [
        classic.replace("beta1", "beta784"),
        classic.replace("beta1", "beta784").replace("-e20", "-warm10-e20"),
        classic.replace("beta1", "beta784").replace("-e20", "-fb0.5-e20"),
    ]
    assert groups["autoencoder"][0] == classic.replace("mlp400", "ae400").replace("beta1", "beta0")
    assert groups["pixelcnn"] == [
        "mlp400-z20-beta1-lr0.001-b128-seed42-val5000-n10000-bin-e20",
        "pixelcnn400-z20-beta1-lr0.001-b128-seed42-val5000-n10000-bin-e20",
        "pixelcnn400-z20-beta1-lr0.001-b128-seed42-val5000-n10000-bin-fb0.5-e20",
    ]
    assert groups["sementes_conv"][0] == groups["arquitetura"][1]
    assert groups["sementes_cvae"][0] == groups["condicional"][0]
    assert all(run.plan.action is Action.TRAIN and run.plan.path.parent == tmp_path for run in runs.values())


@pytest.mark.parametrize("notebook", ["vae_mnist", "avaliacao", "experimentos"])
def test_papermill_lists_every_parameter_with_its_type_and_help(notebook):
    path = ROOT / "notebooks" / f"{notebook}.ipynb"
    expected = {}
    for line, node in zip(parameters_cell(path).splitlines(), ast.parse(parameters_cell(path)).body):
        assert isinstance(node, ast.AnnAssign), f"parâmetro sem tipo: {line}"
        kind = node.annotation.value if isinstance(node.annotation, ast.Constant) else ast.unparse(node.annotation)
        expected[node.target.id] = (kind, line.split("  # ", 1)[1])
    papermill = Path(sys.executable).with_name("papermill")
    listing = subprocess.run([papermill, "--help-notebook", str(path)], capture_output=True, text=True).stdout
    found = {
        m["name"]: (m["kind"], " ".join(m["help"].split()))
        for m in re.finditer(
            r"^  (?P<name>[A-Z_0-9]+): (?P<kind>.+?) \(default .*?\)(?P<help>(?:\s+(?!\s*[A-Z_0-9]+: ).*)*)",
            listing,
            re.MULTILINE,
        )  # fmt: skip
    }
    assert found == expected


# ---------------------------------------------------------------- o notebook


def latent_table(nb) -> str:
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    return next(
        o["data"]["text/markdown"] for o in outputs if o.get("data", {}).get("text/markdown", "").startswith("| z |")
    )


def run_lab(tmp_path, name, **parameters):
    return run_notebook(LAB, tmp_path / f"{name}.ipynb", **parameters)


def test_committed_lab_is_an_executed_default_run():
    nb = nbformat.read(LAB, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code) and not any(o.output_type == "error" for c in code for o in c.outputs)
    text = outputs_text(nb)
    assert "33 execuções de 20 épocas" in text and "treino: 55.000" in text
    assert "Execuções: 100%|██████████| 33/33" in text and not re.search(r"(?<!10)0%\|", text), "barra congelada"
    assert sum("image/png" in o.get("data", {}) for c in code for o in c.outputs) == len(FIGURES) + 1  # e a 2-D


@pytest.mark.usefixtures("mnist_dir")
def test_tiny_lab_runs_headless_and_a_second_run_trains_nothing(tmp_path):
    folder, figures = tmp_path / "ck", tmp_path / "figuras"
    nb, error = run_lab(tmp_path, "lab", **TINY, CHECKPOINT_DIR=str(folder), FIGURES_DIR=str(figures))
    assert error is None, error
    text = outputs_text(nb)
    assert "15 execuções de 1 épocas" in text and "Treinadas agora: 15; reutilizadas: 0" in text
    assert sorted(p.stem for p in figures.glob("*.png")) == FIGURES  # sem z = 2 no condicional, sem a grade 2-D
    checkpoints = {p: p.read_bytes() for p in folder.glob("*.pt")}  # só os VAEs: o classificador vem pronto
    assert len(checkpoints) == 15 and not any(p.name.startswith("classificador") for p in checkpoints)
    for start in ("conv16-z4-", "cvae400-z4-", "ae400-z4-beta0-", "pixelcnn400-z4-"):
        assert sum(p.name.startswith(start) for p in checkpoints) == 1 + start.startswith(("conv", "cvae", "pixel"))
    for piece in ("-seed43-", "-warm1-", "-fb0.5-", "-n300-bin-"):
        assert any(piece in p.name for p in checkpoints), piece
    for name in ("Kingma & Welling observaram", "inclinação da corda", "**Colapso posterior**", "t · s · √2"):
        assert name in text

    again, error = run_lab(tmp_path, "de_novo", **TINY, CHECKPOINT_DIR=str(folder))
    assert error is None, error
    assert "Treinadas agora: 0; reutilizadas: 15" in outputs_text(again)
    assert {p: p.read_bytes() for p in folder.glob("*.pt")} == checkpoints
    assert latent_table(again) == latent_table(nb), "as medidas mudaram ao reutilizar os checkpoints"


def test_bad_list_stops_the_lab_in_its_first_cell(tmp_path):
    nb, error = run_lab(tmp_path, "ruim", LATENT_SIZES=[])
    assert error is not None and error.ename == "ParameterError" and "LATENT_SIZES" in error.evalue
    code = [c for c in nb.cells if c.cell_type == "code"]
    failed = next(i for i, c in enumerate(code) if any(o.output_type == "error" for o in c.outputs))
    assert "validate_lab_params" in code[failed].source
    assert not any(c.execution_count for c in code[failed + 1 :])


def test_summary_table_puts_the_real_anchor_first_and_dashes_what_does_not_apply():
    from types import SimpleNamespace

    metrics = {"seconds": 61.0, "test_loss": 104.12, "test_bce": 78.9, "test_kl": 25.2, "active": 20}
    vae = lab.Run({"ARCH": "mlp", "LATENT_DIM": 20, "BETA": 0.25, "SEED": 42}, SimpleNamespace(path=Path("vae.pt")))
    ae = lab.Run({"ARCH": "ae", "LATENT_DIM": 20, "BETA": 0.0, "SEED": 42}, SimpleNamespace(path=Path("ae.pt")))
    vae.metrics = metrics | {"fd": 218.6, "precision": 0.631, "recall": 0.545, "confident": 0.428}
    ae.metrics = metrics | {"test_loss": float("nan")}  # sem ELBO e sem as medidas de qualidade
    rows = lab.summary_table({"vae": vae, "ae": ae}, {"frechet_distance": 16.8, "precision": 0.859, "recall": 0.879,
                                                     "confident_fraction": 0.975}).splitlines()[2:]  # fmt: skip
    assert rows[0].startswith("| imagens reais de validação (âncora) |") and rows[0].endswith(
        "| 16,8 | 0,859 | 0,879 | 97,5 |"
    )
    assert "| `vae` | mlp | 20 | 0,25 | 42 | 61,0 | 104,12 |" in rows[1] and rows[1].endswith(
        "| 218,6 | 0,631 | 0,545 | 42,8 |"
    )
    assert (
        "| `ae` | ae | 20 | — | 42 |" in rows[2]
        and rows[2].endswith("| — | — | — | — |")
        and "| — | 78,90 |" in rows[2]
    )
