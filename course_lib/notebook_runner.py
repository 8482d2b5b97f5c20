"""Execute the course notebooks, each on a fresh kernel, and collect status, time and headline numbers.

Used by ``course run``. A notebook records its headline numbers with ``runtime.headline(...)``; the runner
points ``$COURSE_HEADLINE_FILE`` at a per-notebook JSON file that the kernel inherits.

The kernel stack (ipykernel, nbclient, nbformat) is not a base requirement: Colab brings its own and the
course must not replace it. Locally it comes with ``pip install -e ".[lab]"``; this module imports it only
when a notebook is executed, and ``missing_kernel_stack()`` says what is absent.
"""

from __future__ import annotations

import importlib.util
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from course_lib.files import atomic_path

# What executing a notebook needs: import name -> distribution name.
KERNEL_STACK = {"ipykernel": "ipykernel", "nbclient": "nbclient", "nbformat": "nbformat"}
LAB_FIX = 'pip install -e ".[lab]"'


def missing_kernel_stack() -> list[str]:
    """The distributions of the kernel stack that cannot be imported here (empty when all are there)."""
    missing = []
    for module, dist in KERNEL_STACK.items():
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):  # a broken or half-removed install
            found = False
        if not found:
            missing.append(dist)
    return missing


@dataclass
class NotebookResult:
    """What happened to one notebook."""

    name: str
    ok: bool
    seconds: float
    headline: dict = field(default_factory=dict)
    failed_cell: int | None = None  # index in the notebook (0-based, counting every cell)
    error: str = ""

    @property
    def status(self) -> str:
        return "ok" if self.ok else "FAILED"


def find_notebooks(folder: Path, only: list[str] | None = None) -> list[Path]:
    """Numbered notebooks ``NN_*.ipynb`` in order; ``only`` keeps those whose number is listed (e.g. "01")."""
    books = sorted(p for p in Path(folder).glob("[0-9][0-9]_*.ipynb"))
    if only:
        wanted = {f"{int(n):02d}" if str(n).isdigit() else str(n) for n in only}
        books = [p for p in books if p.name[:2] in wanted]
        missing = wanted - {p.name[:2] for p in books}
        if missing:
            raise ValueError(f"no notebook numbered {', '.join(sorted(missing))} in {folder}")
    return books


def _failed_cell(nb) -> tuple[int | None, str]:
    for index, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                return index, f"{out.get('ename')}: {out.get('evalue', '')}"
    return None, ""


def execute_notebook(path: Path, output: Path, env: dict[str, str], cell_timeout: int) -> NotebookResult:
    """Run ``path`` top to bottom on a fresh kernel; write the executed copy to ``output`` (atomically)."""
    import nbformat
    from jupyter_client.kernelspec import NoSuchKernel
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as tmp:
        headline_file = Path(tmp) / "headline.json"
        saved = dict(os.environ)
        os.environ.update(env)
        os.environ["COURSE_HEADLINE_FILE"] = str(headline_file)
        start = time.perf_counter()
        client = NotebookClient(nb, timeout=cell_timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}})
        error, failed = "", None
        try:
            client.execute()
        except (CellExecutionError, CellTimeoutError, DeadKernelError) as err:
            failed, error = _failed_cell(nb)
            if failed is None:
                error = f"{type(err).__name__}: {str(err).strip().splitlines()[-1] if str(err).strip() else ''}"
        except NoSuchKernel:
            error = f"no Jupyter kernel named 'python3' for this Python: {LAB_FIX}"
        finally:
            os.environ.clear()
            os.environ.update(saved)
        seconds = time.perf_counter() - start
        headline = json.loads(headline_file.read_text()) if headline_file.exists() else {}
    with atomic_path(output) as part:
        nbformat.write(nb, part)
    return NotebookResult(path.name, not error, seconds, headline, failed, error)


def format_results(results: list[NotebookResult]) -> str:
    """The summary table printed by ``course run``."""
    width = max([len(r.name) for r in results] + [8])
    lines = [f"{'notebook':<{width}}  {'status':<6}  {'minutes':>7}  headline", "-" * (width + 40)]
    for r in results:
        numbers = ", ".join(f"{k}={v:.4g}" for k, v in r.headline.items()) if r.headline else "-"
        lines.append(f"{r.name:<{width}}  {r.status:<6}  {r.seconds / 60:7.2f}  {numbers}")
        if not r.ok:
            where = f"cell {r.failed_cell}" if r.failed_cell is not None else "kernel"
            lines.append(f"{'':<{width}}  -> failed at {where}: {r.error}")
    return "\n".join(lines)
