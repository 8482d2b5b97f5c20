"""The library's floors: each imports only from below (README, "Layout"). Checked on the source, not at run time."""

import ast
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LIB = ROOT / "course_lib"


def imported_modules(path: Path) -> set[str]:
    """Every module a Python file imports (at any depth: lazy imports inside functions count too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def offenders(paths, forbidden: tuple[str, ...]) -> dict:
    out = {}
    for path in paths:
        bad = sorted(m for m in imported_modules(path) if m.startswith(forbidden))
        if bad:
            out[str(path.relative_to(ROOT))] = bad
    return out


@pytest.mark.parametrize("floor", ["models", "embeddings"])
def test_models_import_neither_the_loop_nor_the_recipes_nor_the_cli(floor):
    paths = sorted((LIB / floor).glob("*.py"))
    assert paths
    assert offenders(paths, ("course_lib.train", "course_lib.recipes", "course_lib.commands", "course_lib.cli")) == {}


def test_the_loop_and_the_recipes_never_import_the_cli():
    paths = [LIB / "train.py", LIB / "distributed.py", *sorted((LIB / "recipes").glob("*.py"))]
    assert offenders(paths, ("course_lib.commands", "course_lib.cli")) == {}
    assert offenders([LIB / "train.py"], ("course_lib.recipes",)) == {}


def test_notebooks_and_benchmarks_import_nothing_from_the_cli():
    benchmarks = sorted((ROOT / "benchmarks").glob("*.py"))
    assert offenders(benchmarks, ("course_lib.commands", "course_lib.cli")) == {}
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        assert "course_lib.commands" not in code and "course_lib.cli" not in code, notebook.name


def test_every_registered_model_has_a_recipe_module_under_recipes():
    from course_lib import recipes
    for name, target in recipes.REGISTRY.items():
        assert target.startswith("course_lib.recipes."), (name, target)
        assert callable(recipes.get_trainer(name))


def test_the_classroom_layer_sits_on_top():
    """Exercise checkers (which may check the `course` commands' results too) and the website use the library;
    nothing below them imports them back."""
    top = ("course_lib.exercises", "course_lib.site", "course_lib.legibility")
    below = [p for p in sorted(LIB.rglob("*.py")) if not p.relative_to(LIB).parts[0] in
             ("exercises", "commands", "site.py", "legibility.py", "cli.py", "__main__.py", "runtime.py")]
    assert offenders(below, top) == {}
