"""Helpers shared by the benchmark scripts: peak memory, mean ± std over seeds, atomic JSON output."""

from __future__ import annotations

import resource
from pathlib import Path

import numpy as np
import torch


def peak_memory_mb(device: torch.device) -> float:
    """Peak memory so far: GPU memory allocated on CUDA, else the process's peak resident set (MiB)."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # Linux reports KiB


def summarize_runs(rows: list[dict]) -> dict:
    """Mean and sample std over seeds of every numeric column except the seed."""
    keys = [k for k in rows[0] if k != "seed"]
    values = {k: np.array([r[k] for r in rows], dtype=float) for k in keys}
    return {k: {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0}
            for k, v in values.items()}


def write_json(report: dict, path: Path) -> None:
    """Write ``report`` as indented JSON, atomically (``course_lib.files``)."""
    from course_lib import files
    files.write_json(path, report, indent=2)


def add_split_argument(parser) -> None:
    """``--split course|recbole``: which leave-one-out split of ML-100k to train and test on."""
    from course_lib.recipes.run import SPLITS
    parser.add_argument("--split", choices=tuple(SPLITS), default="course",
                        help="course (default) or recbole: RecBole 1.2.1's leave-one-out split")


def results_path(results: Path, name: str, split: str, fast: bool) -> Path:
    """Default output file: ``<name>[-recbole-split][-fast].json`` in ``results``."""
    return results / f"{name}{'-recbole-split' if split == 'recbole' else ''}{'-fast' if fast else ''}.json"


def recipe(model_name: str):
    """``(train, DEFAULTS, FAST_OVERRIDES)`` of a loop-trained model's recipe (``course_lib.recipes``)."""
    from course_lib.recipes import recipe_module
    if model_name not in ("sasrec", "bert4rec", "gru4rec"):
        raise ValueError(f"model_name={model_name!r}: expected 'sasrec', 'bert4rec' or 'gru4rec'")
    module = recipe_module(model_name)
    return getattr(module, f"train_{model_name}"), module.DEFAULTS, module.FAST_OVERRIDES


def add_deterministic_argument(parser) -> None:
    """``--deterministic``: bit-reproducible CPU training (``runtime.bit_reproducible``: one thread, slower)."""
    parser.add_argument("--deterministic", action="store_true",
                        help="bit-reproducible CPU training (one thread): two runs of a seed give the same numbers")


def reproducible(args):
    """The context a benchmark trains in: ``runtime.bit_reproducible()`` with --deterministic, else nothing."""
    import contextlib

    from course_lib import runtime
    return runtime.bit_reproducible() if getattr(args, "deterministic", False) else contextlib.nullcontext()
