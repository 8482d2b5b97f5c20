"""Test-session settings shared by the unit tests and the notebook tests (nbval).

nbval starts each notebook's kernel as a child of this pytest process, so the kernel inherits this
environment (tests/test_notebooks.py proves it): every notebook runs in FAST mode, offline from the
Hugging Face hub, without progress-bar noise. Every figure a notebook draws is checked for legibility
(``course_lib.legibility``, turned on by ``runtime.describe``); the run fails if any figure had overlapping
tick labels or a title cut at its edge.
"""

import os
import tempfile
from pathlib import Path

FIGURE_LOG = Path(tempfile.mkdtemp(prefix="course-figures-")) / "illegible.log"
TEST_ENV = {
    "COURSE_FAST": "1",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    "COURSE_FIGURE_LOG": str(FIGURE_LOG),
}
os.environ.update(TEST_ENV)


def pytest_sessionfinish(session, exitstatus):
    """Fail the run when any executed notebook drew an illegible figure (the kernels log to FIGURE_LOG)."""
    found = FIGURE_LOG.read_text(encoding="utf-8").strip() if FIGURE_LOG.exists() else ""
    if found:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line("illegible figures (course_lib.legibility):\n" + found, red=True)
        session.exitstatus = 1
