"""Notebook hygiene (the anatomy every course notebook follows) and the notebook test harness itself.

nbval executes every notebook (pytest collects notebooks/*.ipynb, see pyproject.toml); these tests check
what a reader sees in the committed files, without running them.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
MACHINE_PATHS = re.compile(r"(/work/|/root/|/home/\w+|/tmp/|/farm/|[A-Z]:\\Users\\|/Users/\w+|site-packages)")
MAX_BYTES = 3_000_000


def source(cell) -> str:
    return cell.source if isinstance(cell.source, str) else "".join(cell.source)


def output_texts(cell):
    for out in cell.get("outputs", []):
        if "text" in out:
            yield out["text"] if isinstance(out["text"], str) else "".join(out["text"])
        for mime, value in out.get("data", {}).items():
            if mime.startswith("text/"):
                yield value if isinstance(value, str) else "".join(value)


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found"
    names = [p.name for p in NOTEBOOKS]
    assert all(re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", n) for n in names), names
    assert len({n[:2] for n in names}) == len(names), "two notebooks share a number"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_anatomy(path):
    nb = nbformat.read(path, as_version=4)
    cells = nb.cells
    first = source(cells[0])
    assert cells[0].cell_type == "markdown" and re.match(r"# \d\d · ", first), "title '# NN · Title' first"
    assert f"blob/main/notebooks/{path.name}" in first and "colab.research.google.com" in first, "Colab badge"
    markdown = "\n".join(source(c) for c in cells if c.cell_type == "markdown")
    for heading in ("Learning objectives", "Exercises", "Summary"):
        assert re.search(rf"^##+ {heading}", markdown, re.M), f"missing '## {heading}'"
    code = [c for c in cells if c.cell_type == "code"]
    assert "google.colab" in source(code[0]) and "%pip install" in source(code[0]), "setup cell with Colab guard"
    assert "parameters" in code[1].metadata.get("tags", []), "second code cell must be tagged 'parameters'"
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_markdown_is_clean_and_links_to_notebooks_resolve(path):
    nb = nbformat.read(path, as_version=4)
    for index, cell in enumerate(nb.cells):
        text = source(cell)
        # a lost backslash (a Python string's "\t" or "\r" eating LaTeX's \text or \right) leaves a control char
        control = r"[\x00-\x09\x0b-\x1f]" if cell.cell_type == "markdown" else r"[\x00-\x08\x0b-\x1f]"
        assert not re.search(control, text), f"cell {index} holds a control character (tab allowed in code only)"
        if cell.cell_type == "markdown":
            for target in re.findall(r"\]\((\d\d_[a-z0-9_]+\.ipynb)\)", text):
                assert (ROOT / "notebooks" / target).exists(), f"cell {index} links to missing {target}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_executed_in_order_without_errors(path):
    assert path.stat().st_size < MAX_BYTES, "notebook over 3 MB: shrink figures or outputs"
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code" and source(c).strip()]
    counts = [c.execution_count for c in code]
    assert counts == list(range(1, len(code) + 1)), "restart the kernel and run all, then commit"
    for index, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            assert out.get("output_type") != "error", f"cell {index} stores an error"
        for text in [source(cell), *output_texts(cell)]:
            assert "Traceback (most recent call last)" not in text, f"cell {index} shows a traceback"
            leak = MACHINE_PATHS.search(text)
            assert not leak, f"cell {index} shows a machine-specific path {leak.group(0)!r}"
    images = sum("image/png" in out.get("data", {}) for c in code for out in c.get("outputs", []))
    assert images >= 1, "no figure in the outputs"


def test_notebook_kernels_inherit_the_test_environment(tmp_path):
    """nbval starts kernels as children of pytest: the kernel sees COURSE_FAST and HF_HUB_OFFLINE."""
    assert os.environ["COURSE_FAST"] == "1" and os.environ["HF_HUB_OFFLINE"] == "1"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import os\n"
        "assert os.environ.get('COURSE_FAST') == '1', os.environ.get('COURSE_FAST')\n"
        "assert os.environ.get('HF_HUB_OFFLINE') == '1'\n"
        "assert os.environ.get('HF_HUB_DISABLE_PROGRESS_BARS') == '1'\n"
        "from course_lib import runtime\n"
        "assert runtime.is_fast() and runtime.is_offline()")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "env_probe.ipynb")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "-p", "no:cacheprovider",
         "-q", "--rootdir", str(tmp_path), "-c", os.devnull, str(tmp_path / "env_probe.ipynb")],
        capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0 and "1 passed" in done.stdout, done.stdout + done.stderr


def test_pytest_collects_the_notebooks_with_nbval():
    import tomllib

    with open(ROOT / "pyproject.toml", "rb") as fh:
        options = tomllib.load(fh)["tool"]["pytest"]["ini_options"]
    assert "notebooks" in options["testpaths"]
    for flag in ("--nbval-lax", "--nbval-current-env", "--nbval-cell-timeout"):
        assert flag in options["addopts"]


def test_environment_yml_installs_the_project():
    import yaml
    from packaging.requirements import Requirement

    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["name"] and "conda-forge" in env["channels"]
    deps = env["dependencies"]
    assert any(str(d).startswith("python=3.11") for d in deps) and "pip" in deps
    pip_section = next(d["pip"] for d in deps if isinstance(d, dict))
    for line in pip_section:
        if line.startswith("-e"):
            assert line.split()[-1] in (".", "..", ".[test]"), line
        else:
            Requirement(line)  # raises on a malformed requirement
    assert any(line.startswith("-e") for line in pip_section), "the project itself must be installed"
    json.dumps(env)


def test_readme_and_course_map_list_every_notebook():
    from course_lib.course_map import COURSE_MAP

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    planned = {lesson.filename for lesson in COURSE_MAP}
    for path in NOTEBOOKS:
        assert path.name in planned, f"{path.name} missing from course_lib.course_map.COURSE_MAP"
        assert f"(notebooks/{path.name})" in readme, f"README's course map has no row for {path.name}"
        assert f"blob/main/notebooks/{path.name}" in readme, f"README has no Colab badge for {path.name}"
