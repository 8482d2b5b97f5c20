"""One leaderboard of every model of the course, with honest uncertainty.

``benchmarks/leaderboard.py`` trains every model ``course train`` knows on one protocol (the course's split, test
targets, full ranking, history removed, one seed) and stores each user's rank of the test target. From those
ranks this module computes, for every model:

* the mean metric and its 95 % percentile-bootstrap interval over users (``metrics.bootstrap_ci``), and
* a paired comparison with the best model on the same users (``metrics.compare_paired``): the mean per-user
  difference, its bootstrap interval, a sign-flip permutation p-value, and wins / losses / ties.

Paired is the right comparison here: every model ranks the same 943 targets, so most of the user-to-user spread
cancels in the differences, and two models whose separate intervals overlap can still differ clearly.
The intervals are over users for one trained model; they do not include the spread between training seeds.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from course_lib.metrics import bootstrap_ci, compare_paired, per_user

FILE_NAME = "leaderboard.json"


def leaderboard_path(folder=None) -> Path | None:
    """``leaderboard.json`` in ``folder`` (default: the checkout's ``benchmarks/results``), or None if absent."""
    from course_lib import runtime

    folder = Path(folder) if folder is not None else runtime.results_dir()
    path = folder / FILE_NAME if folder is not None else None
    return path if path is not None and path.is_file() else None


def load_leaderboard(path) -> dict:
    """The stored file, with each model's ``ranks`` as an int64 array; ValueError if it is not a leaderboard."""
    path = Path(path)
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ValueError(f"{path} cannot be read as a leaderboard file ({err})") from None
    rows = report.get("models")
    if not rows or any("ranks" not in r or "model" not in r for r in rows):
        raise ValueError(f"{path} has no models with ranks: not a file written by benchmarks/leaderboard.py")
    lengths = {len(r["ranks"]) for r in rows}
    if len(lengths) != 1:
        raise ValueError(f"{path}: the models were ranked on different numbers of users {sorted(lengths)}")
    for r in rows:
        r["ranks"] = np.asarray(r["ranks"], dtype=np.int64)
    return report


def ranking_table(ranks: dict, metric: str = "ndcg@10", num_resamples: int = 1000, seed: int = 0) -> pd.DataFrame:
    """One row per model (best first) from ``{model: (U,) ranks}``, all on the same users in the same order.

    Columns: model, ``metric`` (mean), ``<metric>_low`` / ``_high`` (its bootstrap CI; what
    ``plotting.plot_leaderboard`` draws as error bars), diff (model - best), diff_low / diff_high
    (CI of the paired difference), p_value (NaN for the best itself), wins / losses (users better / worse than
    the best).
    """
    if not ranks:
        raise ValueError("ranks is empty: give at least one model")
    means = {name: float(per_user(r, metric).mean()) for name, r in ranks.items()}
    best = max(means, key=lambda name: (means[name], name))
    rows = []
    for name, r in ranks.items():
        mean, low, high = bootstrap_ci(per_user(r, metric), num_resamples, seed=seed)
        row = {"model": name, metric: mean, f"{metric}_low": low, f"{metric}_high": high}
        if name == best:
            row.update(diff=0.0, diff_low=0.0, diff_high=0.0, p_value=np.nan, wins=0, losses=0)
        else:
            paired = compare_paired(r, ranks[best], metric, num_resamples, seed=seed)
            row.update(diff=paired["diff"], diff_low=paired["low"], diff_high=paired["high"],
                       p_value=paired["p_value"], wins=paired["wins"], losses=paired["losses"])
        rows.append(row)
    return pd.DataFrame(rows).sort_values(metric, ascending=False, kind="stable").reset_index(drop=True)


def dumps(report: dict) -> str:
    """JSON with one key per line but each list of numbers (the ranks) on one line: readable and diffable."""
    text = json.dumps(report, indent=1, default=float)
    return re.sub(r"\[\s+([-\d.,\s eE+]+?)\s+\]", lambda m: "[" + " ".join(m.group(1).split()) + "]", text)
