"""A organização do código: `vae_core.py` lê como as seções 3–5 e não depende de nada do projeto;
as importações entre os módulos correm num só sentido (notebook → vae_tools → vae_core), sem ciclos."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODULES = {"vae_core": ROOT / "vae_core.py"} | {
    f"vae_tools.{p.stem}": p for p in sorted((ROOT / "vae_tools").glob("*.py")) if p.stem != "__init__"
}


def project_imports(path: Path) -> set[str]:
    """Os módulos do projeto que `path` importa (vae_core e vae_tools.*)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found & set(MODULES)


def test_vae_core_is_short_opens_with_the_model_and_imports_no_project_module():
    source = MODULES["vae_core"].read_text()
    assert len(source.splitlines()) <= 450  # o clássico e a família do laboratório (conv, cvae, ae, pixelcnn)
    definitions = [n for n in ast.parse(source).body if isinstance(n, ast.ClassDef | ast.FunctionDef)]
    assert definitions[0].name == "VAE"
    assert project_imports(MODULES["vae_core"]) == set()


def test_project_imports_have_no_cycle():
    graph = {name: project_imports(path) - {name} for name, path in MODULES.items()}
    visiting, done = set(), set()

    def visit(name, chain):
        assert name not in visiting, f"ciclo de importação: {' → '.join([*chain, name])}"
        if name in done:
            return
        visiting.add(name)
        for dep in graph[name]:
            visit(dep, [*chain, name])
        visiting.remove(name)
        done.add(name)

    for name in graph:
        visit(name, [])


def test_no_module_is_named_like_the_notebook():
    """Um kernel aberto em notebooks/ importaria o script do notebook no lugar do módulo."""
    names = {p.stem for p in ROOT.glob("*.py")} | {p.stem for p in (ROOT / "vae_tools").glob("*.py")}
    assert "vae_mnist" not in names and "experimentos" not in names
