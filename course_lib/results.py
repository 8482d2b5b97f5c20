"""A small results store: one JSON file of rows, so every notebook and ``course train`` add to one leaderboard.

A row is ``{model, dataset, protocol, part, seed, fast, command, <metric>: value, ...}`` (``part``: what was
evaluated, "test" or "valid"); recording a row with the same (model, dataset, protocol, part, seed, fast)
replaces the old one, so a FAST run (``fast=True``: small
epochs and subsets, numbers that only show the code runs) never overwrites a full-mode result, and the
leaderboard shows one mode at a time. The file lives at
``$COURSE_RESULTS`` if set, else ``results.json`` in the data cache folder (``course_lib.data.cache_dir()``),
or at an explicit ``path``. Writes go to ``*.part`` first and are then renamed, so a crash never leaves a
half-written file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from course_lib.files import write_json

KEY = ("model", "dataset", "protocol", "part", "seed", "fast")
DEFAULT_PROTOCOL = "full ranking, history removed"


def results_path(path=None) -> Path:
    """Where the store lives (see module docstring)."""
    if path is not None:
        return Path(path)
    env = os.environ.get("COURSE_RESULTS", "").strip()
    if env:
        return Path(env).expanduser()
    from course_lib.data import cache_dir
    return cache_dir() / "results.json"


def load_results(path=None) -> list[dict]:
    """All recorded rows ([] when there is no store yet)."""
    file = results_path(path)
    if not file.exists():
        return []
    try:
        rows = json.loads(file.read_text(encoding="utf-8"))
    except ValueError as err:
        raise ValueError(f"results store {file} is not valid JSON ({err}); delete or fix it") from None
    if not isinstance(rows, list):
        raise ValueError(f"results store {file} must hold a JSON list of rows")
    for row in rows:                        # rows written before "part" had its name called it "split"
        if "part" not in row and "split" in row:
            row["part"] = row.pop("split")
    return rows


def _key(row: dict) -> tuple:
    """A row's identity; rows written before ``fast`` was part of it count as full mode."""
    return tuple(bool(row.get(k, False)) if k == "fast" else row.get(k) for k in KEY)


def record(model: str, dataset: str, metrics: dict, *, protocol: str = DEFAULT_PROTOCOL, part: str = "test",
           seed: int | None = None, fast: bool = False, command: str | None = None, path=None, **extra) -> dict:
    """Add (or replace) one row; returns it. ``metrics``: name -> number (non-numbers are left out)."""
    numbers = {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float, np.number))}
    row = {"model": model, "dataset": dataset, "protocol": protocol, "part": part, "seed": seed,
           "fast": bool(fast), "command": command, **numbers, **extra}
    rows = [r for r in load_results(path) if _key(r) != _key(row)]
    rows.append(row)
    write_json(results_path(path), rows)
    return row


def leaderboard(path=None, metric: str = "ndcg@10", part: str = "test", protocol: str = DEFAULT_PROTOCOL,
                dataset: str | None = "ml-100k", rows: list[dict] | None = None,
                fast: bool | None = None) -> pd.DataFrame:
    """One row per model (mean over seeds), best ``metric`` first.

    ``fast``: which rows to use, FAST-mode (True) or full-mode (False) ones; None = the current mode
    (``runtime.is_fast()``), so FAST numbers are never ranked beside real ones.

    Columns: seeds, the mean of every recorded metric, ``<metric>_std`` (sample standard deviation over seeds,
    n - 1 in the denominator, as in the benchmark files; 0 for a single seed), ``<metric>_low/_high``
    (bootstrap CI, averaged over seeds, when recorded) and the ``command`` that reproduces the row.
    """
    frame = pd.DataFrame(rows if rows is not None else load_results(path))
    if frame.empty:
        return pd.DataFrame(columns=["seeds", metric, "command"]).rename_axis("model")
    if fast is None:
        from course_lib import runtime
        fast = runtime.is_fast()
    row_fast = frame["fast"].eq(True) if "fast" in frame.columns else pd.Series(False, index=frame.index)
    if "part" not in frame.columns and "split" in frame.columns:        # rows given directly, older name
        frame = frame.rename(columns={"split": "part"})
    frame = frame[(frame["part"] == part) & (frame["protocol"] == protocol) & (row_fast == bool(fast))]
    if dataset is not None:
        frame = frame[frame["dataset"] == dataset]
    if metric not in frame.columns:
        raise ValueError(f"no recorded row has metric {metric!r}")
    numeric = frame.select_dtypes("number").drop(columns=["seed"], errors="ignore")
    table = numeric.groupby(frame["model"]).mean()
    table.insert(0, "seeds", frame.groupby("model").size())
    table[f"{metric}_std"] = numeric[metric].groupby(frame["model"]).std(ddof=1).fillna(0.0)
    table["command"] = frame.groupby("model")["command"].last()
    return table.sort_values(metric, ascending=False)
