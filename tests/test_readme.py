"""O README e as páginas de referência (docs/site/) como um leitor novo os usa: o README é curto, cada
exemplo de papermill (`-p`, `-y`, `-r`) ou de `make … PARAMS=…` nomeia só parâmetros da célula do seu
notebook e passa pela validação dele (um exemplo não pode parar num parâmetro que o leitor nem mudou),
cada `make` citado é um alvo do Makefile e cada link local aponta para um arquivo que existe."""

import ast
import re
import shlex
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

from vae_tools import publish

README = ROOT / "README.md"
PAGES = [README, *sorted(publish.SITE_PAGES.glob("*.md"))]
MAX_README_LINES = 200
MAKE_NOTEBOOKS = {"report": "vae_mnist", "avaliacao": "avaliacao", "experiments": "experimentos"}
SHELL_BLOCK = re.compile(r"^```(?:bash|sh|shell|console)\n(.*?)^```", re.M | re.S)
SEPARATORS = {"&&", "||", ";", "|"}


def shell_commands(text: str) -> list[list[str]]:
    """Os comandos (já divididos em palavras, como o shell os divide) dos blocos de código bash de um
    Markdown e dos trechos de código `make …` do texto corrido."""
    lines = [line for block in SHELL_BLOCK.findall(text) for line in block.replace("\\\n", " ").splitlines()]
    lines += re.findall(r"`(make [^`]+)`", text)
    found = []
    for line in lines:
        lexer = shlex.shlex(line.strip().removeprefix("$ "), posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        command = []
        for token in [*lexer, ";"]:
            if token in SEPARATORS:
                found += [command] if command else []
                command = []
            else:
                command.append(token)
    return found


def papermill_arguments(command: list[str]) -> list[str] | None:
    """Os argumentos que o papermill recebe de um comando: ele mesmo ou um alvo de notebook do make com
    PARAMS (o alvo passa o notebook, a saída e os PARAMS)."""
    if Path(command[0]).name == "papermill":
        return command[1:]
    if command[0] == "make":
        targets = [t for t in command[1:] if "=" not in t and not t.startswith("-")]
        params = [t.split("=", 1)[1] for t in command[1:] if t.startswith("PARAMS=")]
        notebooks = [MAKE_NOTEBOOKS[t] for t in targets if t in MAKE_NOTEBOOKS]
        if params and len(notebooks) == 1:
            return [f"notebooks/{notebooks[0]}.ipynb", "saida.ipynb", *shlex.split(params[0])]
    return None


def papermill_parameters(arguments: list[str]) -> tuple[str, dict]:
    """O notebook e os parâmetros que o papermill injetaria, lidos pela própria linha de comando dele (click)
    e convertidos como ele converte (`-p`: True/False/None/int/float/texto; `-y`: YAML; `-r`: texto)."""
    from papermill.cli import NoDatesSafeLoader, _resolve_type
    from papermill.cli import papermill as command

    options = command.make_context("papermill", list(arguments)).params
    assert not options["parameters_file"] and not options["parameters_base64"], "-f e -b não são conferidos aqui"
    given = {}
    for text in options["parameters_yaml"]:
        given.update(yaml.load(text, Loader=NoDatesSafeLoader) or {})
    given.update({name: _resolve_type(value) for name, value in options["parameters"]})
    given.update(dict(options["parameters_raw"]))
    return options["notebook_path"], given


EXAMPLES = [
    pytest.param(page, arguments, id=f"{page.name}: {shlex.join(command)}")
    for page in PAGES
    for command in shell_commands(page.read_text())
    if (arguments := papermill_arguments(command)) is not None
]


def test_readme_is_a_short_page():
    lines = README.read_text().splitlines()
    assert len(lines) <= MAX_README_LINES, f"o README tem {len(lines)} linhas (no máximo {MAX_README_LINES})"


def test_the_examples_are_found():
    """Os exemplos do README são achados (senão o teste abaixo passaria sem conferir nada)."""
    readme = [papermill_parameters(arguments) for page, arguments in (e.values for e in EXAMPLES) if page == README]
    assert any(Path(nb).stem == "vae_mnist" and params for nb, params in readme), readme


def check_example(arguments: list[str]):
    """Falha se o notebook do exemplo não existe, se um parâmetro do exemplo não está na célula do notebook
    ou se os valores (os do exemplo sobre os padrões da célula) não passam pela validação do notebook."""
    from vae_tools import parameters

    notebook, given = papermill_parameters(arguments)
    name = Path(notebook).stem
    assert name in publish.NOTEBOOKS, f"{notebook} não é um notebook do curso"
    script = ROOT / "notebooks" / f"{name}.py"
    assert (ROOT / notebook).exists() and script.exists(), f"{notebook} (e o seu par .py) não existe"
    defaults = {p.name: ast.literal_eval(p.default) for p in publish.notebook_parameters(script)}
    unknown = sorted(set(given) - set(defaults))
    assert not unknown, f"{unknown} não são parâmetros de {name} (os que há: {', '.join(defaults)})"
    validate = {
        "vae_mnist": parameters.validate_params,
        "avaliacao": getattr(parameters, "validate_evaluation_params", None),
        "experimentos": parameters.validate_lab_params,
    }[name]
    if validate is not None:  # sem função de validação, bastam os nomes conferidos acima
        validate(defaults | given)  # um ParameterError aqui diz o parâmetro, o valor e o permitido


@pytest.mark.parametrize(("page", "arguments"), EXAMPLES)
def test_papermill_example_names_real_parameters_and_passes_validation(page, arguments):
    check_example(arguments)


def test_a_bad_example_is_caught():
    """Um nome que o notebook não tem e um valor que para na validação sem que o leitor o tenha mudado
    (N_SLIDERS = 5 controles com LATENT_DIM 2) não passam."""
    from vae_tools.parameters import ParameterError

    text = (
        "```bash\nmake report PARAMS='-p EPOCHS 5'\n"
        ".venv/bin/papermill notebooks/vae_mnist.ipynb saida.ipynb -p LATENT_DIM 2\n```"
    )
    unknown, too_small = (papermill_arguments(command) for command in shell_commands(text))
    with pytest.raises(AssertionError, match="EPOCHS"):
        check_example(unknown)
    with pytest.raises(ParameterError, match="N_SLIDERS"):
        check_example(too_small)


def test_every_make_target_cited_exists():
    targets = set(re.findall(r"^([a-z][\w-]*)\s*:(?!=)", (ROOT / "Makefile").read_text(), re.M))
    for page in PAGES:
        for command in shell_commands(page.read_text()):
            if command[0] == "make":
                cited = {t for t in command[1:] if "=" not in t and not t.startswith("-")}
                assert cited <= targets, f"{page.name}: `{shlex.join(command)}` cita alvos que o Makefile não tem"


def test_every_local_link_points_to_a_file():
    for page in PAGES:
        for link in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if not re.match(r"[a-z]+:", link) and not link.startswith("#"):
                target = (page.parent / link.split("#")[0]).resolve()
                assert target.exists(), f"{page.relative_to(ROOT)}: o link {link} não aponta para um arquivo"
