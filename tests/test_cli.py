"""The ``course`` command: doctor, run (on temporary notebooks), badges."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course_lib import cli, runtime
from course_lib.commands import badges, doctor

ROOT = Path(__file__).resolve().parent.parent


def test_help_lists_subcommands(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    for name in ("doctor", "run", "badges"):
        assert name in out


def test_python_dash_m_is_the_same_command():
    done = subprocess.run([sys.executable, "-m", "course_lib", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and "course" in done.stdout


def test_doctor_passes_here(capsys):
    assert cli.main(["doctor", "--no-network"]) == 0
    out = capsys.readouterr().out
    assert "torch" in out and "offline text encoder" in out and "All required checks passed" in out


def test_doctor_fails_with_a_fix_when_a_required_package_is_missing(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "gensim", None)  # makes `import gensim` raise ImportError
    assert cli.main(["doctor", "--no-network"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  gensim" in out and 'fix: pip install "gensim>=4.4"' in out


def test_doctor_reports_the_kernel_stack(capsys):
    assert cli.main(["doctor", "--no-network"]) == 0
    out = capsys.readouterr().out
    for name in ("ipykernel", "jupyter_client", "nbclient", "nbformat", "notebook front end"):
        assert f"ok    {name}" in out, out


def test_doctor_without_ipykernel_warns_with_the_lab_fix(capsys, monkeypatch):
    """Colab or a base install: the kernel stack is not the course's to require, so a warning, not a failure."""
    monkeypatch.setitem(sys.modules, "ipykernel", None)
    assert cli.main(["doctor", "--no-network"]) == 0
    out = capsys.readouterr().out
    assert "warn  ipykernel" in out and 'fix: pip install -e ".[lab]"' in out and "Traceback" not in out


def test_doctor_flags_too_old_versions():
    row = doctor.check_package("json", "pytest", "999.0")
    assert not row.ok and "< 999.0" in row.detail and row.fix


def test_doctor_respects_offline_flag(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    row = doctor.check_hub()
    assert row.ok and "offline" in row.detail


def write_notebook(path: Path, sources: list[str]) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in sources]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def test_run_executes_in_order_and_reports_headlines(tmp_path, capsys):
    books = tmp_path / "notebooks"
    books.mkdir()
    write_notebook(books / "01_ok.ipynb", [
        "import os\nfrom course_lib import runtime\nFAST = os.environ.get('COURSE_FAST')",
        "runtime.headline(**{'ndcg@10': 0.125}); print('fast =', FAST)"])
    write_notebook(books / "02_other.ipynb", ["x = 1"])
    out = tmp_path / "out"
    code = cli.main(["run", "--fast", "--notebooks", str(books), "--output", str(out), "--only", "1"])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "01_ok.ipynb" in text and "ndcg@10=0.125" in text and "02_other" not in text
    executed = nbformat.read(out / "01_ok.ipynb", as_version=4)
    assert "fast = 1" in executed.cells[1].outputs[0]["text"]


def test_run_failing_cell_names_notebook_and_cell(tmp_path, capsys):
    books = tmp_path / "notebooks"
    books.mkdir()
    write_notebook(books / "01_fine.ipynb", ["a = 1"])
    write_notebook(books / "02_broken.ipynb", ["a = 1", "raise ValueError('planted failure')", "b = 2"])
    original = (books / "02_broken.ipynb").read_text()
    code = cli.main(["run", "--notebooks", str(books), "--in-place", "--timeout", "60"])
    text = capsys.readouterr().out
    assert code == 1
    assert "02_broken.ipynb failed at cell 1" in text and "planted failure" in text
    assert (books / "02_broken.ipynb").read_text() == original  # a failed run never overwrites
    assert not list(books.glob("*.executed.ipynb"))


@pytest.mark.parametrize("module", ["ipykernel", "nbclient"])
def test_run_without_the_kernel_stack_names_the_fix(tmp_path, capsys, monkeypatch, module):
    write_notebook(tmp_path / "01_a.ipynb", ["1"])
    monkeypatch.setitem(sys.modules, module, None)  # as if not installed (Colab-style base install)
    assert cli.main(["run", "--notebooks", str(tmp_path), "--output", str(tmp_path / "out")]) == 2
    out = capsys.readouterr().out
    assert module in out and 'pip install -e ".[lab]"' in out and "Traceback" not in out
    assert not (tmp_path / "out").exists()


def test_run_without_a_python3_kernel_names_the_fix(tmp_path, capsys, monkeypatch):
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    def no_kernel(self, name):
        raise NoSuchKernel(name)

    monkeypatch.setattr(KernelSpecManager, "get_kernel_spec", no_kernel)
    write_notebook(tmp_path / "01_a.ipynb", ["1"])
    assert cli.main(["run", "--notebooks", str(tmp_path), "--output", str(tmp_path / "out")]) == 1
    out = capsys.readouterr().out
    assert "no Jupyter kernel named 'python3'" in out and 'pip install -e ".[lab]"' in out


def test_run_unknown_notebook_number(tmp_path, capsys):
    (tmp_path / "nb").mkdir()
    write_notebook(tmp_path / "nb" / "01_a.ipynb", ["1"])
    assert cli.main(["run", "--notebooks", str(tmp_path / "nb"), "--only", "07"]) == 2
    assert "no notebook numbered 07" in capsys.readouterr().out


def test_badges_are_in_sync_with_pyproject(capsys):
    assert cli.main(["badges", "--check"]) == 0, capsys.readouterr().out


def test_badges_rewrite_a_moved_repository(tmp_path):
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "notebooks").mkdir()
    shutil.copy(ROOT / "README.md", tmp_path / "README.md")
    for book in (ROOT / "notebooks").glob("*.ipynb"):
        shutil.copy(book, tmp_path / "notebooks" / book.name)
    project = tmp_path / "pyproject.toml"
    old_url = badges.repository_url(tmp_path)
    project.write_text(project.read_text().replace(old_url, "https://github.com/someone-else/fork"))
    assert cli.main(["badges", "--root", str(tmp_path)]) == 0
    readme = (tmp_path / "README.md").read_text()
    assert "github/someone-else/fork/blob/main/notebooks/" in readme
    assert old_url.split("github.com/")[1] + "/blob" not in readme
    for book in (tmp_path / "notebooks").glob("*.ipynb"):
        text = book.read_text()
        assert "someone-else/fork" in text and old_url not in text
        assert "!git clone -q --depth 1 https://github.com/someone-else/fork {COURSE_DIR}" in text, book.name
        json.loads(text)  # still valid JSON
    assert cli.main(["badges", "--root", str(tmp_path), "--check"]) == 0


def test_badges_rewrite_clone_and_install_urls_only():
    url = "https://github.com/me/fork"
    cases = {
        "!git clone -q --depth 1 https://github.com/a/b {COURSE_DIR}": f"!git clone -q --depth 1 {url} {{COURSE_DIR}}",
        "git clone https://github.com/a/b.git course": f"git clone {url}.git course",
        '"git clone https://github.com/a/b"': f'"git clone {url}"',
        '%pip install "x @ git+https://github.com/a/b@v1"': f'%pip install "x @ git+{url}@v1"',
        "see https://github.com/a/b/issues": "see https://github.com/a/b/issues",  # not a clone or install
    }
    for before, after in cases.items():
        assert badges.rewrite(before, url) == after, before


def test_repo_root_is_this_checkout():
    assert runtime.repo_root() == ROOT
