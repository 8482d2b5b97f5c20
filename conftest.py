"""Test-session settings shared by the unit tests and the notebook tests (nbval).

nbval starts each notebook's kernel as a child of this pytest process, so the kernel inherits this
environment (tests/test_notebooks.py proves it): every notebook runs in FAST mode, offline from the
Hugging Face hub, without progress-bar noise.
"""

import os

TEST_ENV = {
    "COURSE_FAST": "1",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "MPLBACKEND": "module://matplotlib_inline.backend_inline",
}
os.environ.update(TEST_ENV)
