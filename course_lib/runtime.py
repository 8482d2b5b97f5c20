"""Where and how the course runs: device choice, seeding, the FAST flag, Colab detection.

Everything here reads the environment at call time (never at import time), so a test or a
notebook can change ``COURSE_FAST`` / ``COURSE_DEVICE`` and see the effect immediately.

Environment variables
---------------------
``COURSE_FAST=1``      small epochs and subsets, so every notebook runs in CI in about a minute.
``COURSE_DEVICE=cpu``  force a device (``cpu``, ``cuda``, ``cuda:1``, ``mps``); default cuda → mps → cpu.
``HF_HUB_OFFLINE=1``   never contact the Hugging Face hub (set by the tests).
"""

from __future__ import annotations

import json
import os
import platform
import random
import sys
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

import numpy as np
import torch

_TRUE = {"1", "true", "yes", "on"}


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _TRUE


def is_fast() -> bool:
    """True when ``COURSE_FAST`` is set: notebooks and trainers use their small settings."""
    return _flag("COURSE_FAST")


def fast_or_full(fast_value, full_value):
    """Pick ``fast_value`` in FAST mode, ``full_value`` otherwise (for ``parameters`` cells)."""
    return fast_value if is_fast() else full_value


def is_offline() -> bool:
    """True when the Hugging Face hub must not be contacted (``HF_HUB_OFFLINE``)."""
    return _flag("HF_HUB_OFFLINE")


def in_colab() -> bool:
    """True inside Google Colab (its runtime module is importable there and only there)."""
    return "google.colab" in sys.modules or os.environ.get("COLAB_RELEASE_TAG") is not None


def get_device(prefer: str | None = None) -> torch.device:
    """Choose the device: ``prefer`` or ``$COURSE_DEVICE`` if given, else cuda → mps → cpu.

    An explicit request for a device that is not available raises ``ValueError`` with the
    reason, instead of failing later inside a model.
    """
    wanted = prefer or os.environ.get("COURSE_DEVICE", "").strip()
    if wanted:
        try:
            device = torch.device(wanted)
        except RuntimeError:
            raise ValueError(f"COURSE_DEVICE={wanted!r}: expected cpu, cuda, cuda:N or mps") from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"COURSE_DEVICE={wanted!r} but CUDA is not available on this machine")
        if device.type == "mps" and not torch.backends.mps.is_available():
            raise ValueError(f"COURSE_DEVICE={wanted!r} but Apple MPS is not available on this machine")
        if device.type not in {"cpu", "cuda", "mps"}:
            raise ValueError(f"COURSE_DEVICE={wanted!r}: expected cpu, cuda, cuda:N or mps")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int = 42) -> int:
    """Seed Python, NumPy and PyTorch (CPU and every GPU); returns the seed.

    On CPU this makes training runs bit-for-bit repeatable. On GPU some kernels stay
    non-deterministic; the course does not force deterministic algorithms there because
    they are slower and results only differ in the last digits.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    return seed


@contextmanager
def bit_reproducible():
    """Within this block, training with a fixed seed gives the same bits run after run (on a CPU).

    Multithreaded CPU kernels split sums between threads in a varying order, so two runs of the same seed differ
    in the last bits and the differences grow over training; one thread removes that. On CUDA it also asks
    PyTorch for deterministic algorithms where they exist (``warn_only``: some kernels have none, and cuBLAS
    needs ``CUBLAS_WORKSPACE_CONFIG`` set before the first GPU call). Settings are restored on exit.
    Cost: the single thread (roughly half the speed on two cores).
    """
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.set_num_threads(1)
    if torch.cuda.is_available():
        torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def device_summary(device: torch.device | None = None) -> str:
    """One line naming the device, with GPU name and memory when there is one."""
    device = device or get_device()
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        return f"cuda ({props.name}, {props.total_memory / 2**30:.1f} GiB)"
    if device.type == "mps":
        return "mps (Apple GPU)"
    return f"cpu ({os.cpu_count()} cores)"


def describe() -> dict:
    """Print and return the versions, the device and the course flags (for a notebook's setup cell).

    When ``COURSE_FIGURE_LOG`` names a file (the tests set it), every figure drawn afterwards is checked for
    overlapping tick labels and cut titles, and problems are appended there (``course_lib.legibility``).
    """
    info = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": _version("transformers"),
        "gensim": _version("gensim"),
        "device": device_summary(),
        "fast": is_fast(),
        "offline": is_offline(),
        "colab": in_colab(),
    }
    width = max(len(k) for k in info)
    for key, value in info.items():
        print(f"{key:<{width}} : {value}")
    if os.environ.get("COURSE_FIGURE_LOG"):        # set by the tests: every figure drawn is checked for legibility
        from course_lib.legibility import watch_figures
        watch_figures(os.environ["COURSE_FIGURE_LOG"])
    return info


def repo_root() -> Path | None:
    """The checkout that holds this package (``pyproject.toml`` beside ``course_lib/``), else None."""
    root = Path(__file__).resolve().parent.parent
    project = root / "pyproject.toml"
    if project.is_file() and 'name = "llm-seqrec-course"' in project.read_text(encoding="utf-8"):
        return root
    return None


def results_dir() -> Path | None:
    """The checkout's stored benchmark results, ``<checkout>/benchmarks/results/``, else None.

    None when the course was installed without a checkout (a plain ``pip install``): notebooks then skip
    the cells that show stored runs. Never guessed from the current directory, so it works from
    ``notebooks/``, from a Colab clone (``/content/llm-seqrec-course``) and under ``course run``.
    """
    root = repo_root()
    folder = root / "benchmarks" / "results" if root else None
    return folder if folder is not None and folder.is_dir() else None


def headline(**metrics: float) -> dict:
    """Record a notebook's headline numbers for ``course run``'s summary table; returns them.

    ``course run`` points ``$COURSE_HEADLINE_FILE`` at a JSON file per notebook; outside of it this only
    returns its argument, so a notebook can call it unconditionally, e.g. ``headline(**{"ndcg@10": 0.061})``.
    """
    path = os.environ.get("COURSE_HEADLINE_FILE")
    if path:
        try:
            with open(path, encoding="utf-8") as fh:
                recorded = json.load(fh)
        except (OSError, ValueError):
            recorded = {}
        recorded.update({k: float(v) for k, v in metrics.items()})
        from course_lib.files import write_json
        write_json(path, recorded, indent=None)
    return metrics
