"""Cleaning an interaction log, one counted step at a time.

Every step takes a frame with ``user_id, item_id, timestamp`` (and optionally ``rating``) and returns
``(frame, report)``; the :class:`CleaningReport` records, per step, the rows in and out and *why* rows were
dropped, so a notebook can print exactly what cleaning did::

    frame, report = clean(interactions, min_rating=None, k_core=None)   # defaults keep ML-100k whole
    print(report)                                                       # one row per step

Steps: :func:`drop_invalid` (missing/unknown ids, missing timestamps), :func:`drop_duplicates` (exact
duplicate rows), :func:`drop_bursty_users` (bot-like users: many events with a tiny median gap; off by default),
:func:`to_implicit` (keep ratings >= a threshold; off by default), :func:`k_core` (iterative: every user and
item keeps >= k interactions; off by default). ``course_lib.data.load_interactions`` returns the same report type.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

KEY = ["user_id", "item_id", "timestamp"]


@dataclass
class CleaningStep:
    """One step: rows before/after and rows dropped per reason (``{"missing timestamp": 12, ...}``)."""

    name: str
    rows_in: int
    rows_out: int
    users_out: int
    items_out: int
    dropped: dict = field(default_factory=dict)


@dataclass
class CleaningReport:
    """The steps applied to a log, in order. ``str(report)`` is a table; ``to_frame()`` a DataFrame."""

    steps: list = field(default_factory=list)
    id_maps: dict = field(default_factory=dict)   # load_interactions(encode_ids=True): {"user_id": {raw: id}}

    def record(self, name: str, before: pd.DataFrame, after: pd.DataFrame, dropped: dict | None = None) -> None:
        """Append a step; reasons with zero rows are left out."""
        users = after["user_id"].nunique() if "user_id" in after else 0
        items = after["item_id"].nunique() if "item_id" in after else 0
        reasons = {k: int(v) for k, v in (dropped or {}).items() if v}
        self.steps.append(CleaningStep(name, len(before), len(after), users, items, reasons))

    def extend(self, other: "CleaningReport") -> "CleaningReport":
        self.steps.extend(other.steps)
        return self

    @property
    def rows_dropped(self) -> int:
        return sum(s.rows_in - s.rows_out for s in self.steps)

    def dropped_by_reason(self) -> dict:
        """All reasons over all steps: ``{reason: rows}``."""
        total: dict = {}
        for step in self.steps:
            for reason, rows in step.dropped.items():
                total[reason] = total.get(reason, 0) + rows
        return total

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"step": s.name, "rows in": s.rows_in, "dropped": s.rows_in - s.rows_out,
                              "rows out": s.rows_out, "users": s.users_out, "items": s.items_out,
                              "why": "; ".join(f"{k}: {v:,}" for k, v in s.dropped.items())}
                             for s in self.steps])

    def __str__(self) -> str:
        return self.to_frame().to_string(index=False) if self.steps else "(no steps)"


def _need(frame: pd.DataFrame, columns: list) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"interactions lack column(s) {missing}; have {list(frame.columns)}")


def drop_invalid(frame: pd.DataFrame, known_items=None, known_users=None) -> tuple[pd.DataFrame, CleaningReport]:
    """Drop rows with a missing id or timestamp, or an id outside ``known_items`` / ``known_users``."""
    _need(frame, KEY)
    report, bad = CleaningReport(), pd.Series(False, index=frame.index)
    reasons = {}
    checks = [(f"missing {c}", frame[c].isna()) for c in KEY]
    if known_items is not None:
        checks.append(("unknown item_id", ~frame["item_id"].isin(pd.Index(known_items)) & frame["item_id"].notna()))
    if known_users is not None:
        checks.append(("unknown user_id", ~frame["user_id"].isin(pd.Index(known_users)) & frame["user_id"].notna()))
    for reason, mask in checks:
        new = mask & ~bad               # each row counted once, under its first reason
        reasons[reason] = int(new.sum())
        bad |= mask
    out = frame[~bad].reset_index(drop=True)
    for col in KEY:                     # NaN forced float/nullable columns; survivors are whole numbers
        if out[col].dtype.kind in "fiu" or str(out[col].dtype) in {"Int64", "Float64"}:
            out[col] = out[col].astype("int64")
    report.record("drop invalid rows", frame, out, reasons)
    return out, report


def drop_duplicates(frame: pd.DataFrame, subset: list | None = None) -> tuple[pd.DataFrame, CleaningReport]:
    """Drop exact duplicate rows (all columns, or ``subset``), keeping the first occurrence."""
    dup = frame.duplicated(subset=subset, keep="first")
    out = frame[~dup].reset_index(drop=True)
    report = CleaningReport()
    label = "exact duplicate" if subset is None else f"duplicate {'/'.join(subset)}"
    report.record("drop duplicates", frame, out, {label: int(dup.sum())})
    return out, report


def bursty_users(frame: pd.DataFrame, max_median_gap_s: float = 5.0, min_events: int = 50) -> np.ndarray:
    """Users with >= ``min_events`` events whose median gap between consecutive events is tiny (bot-like)."""
    ordered = frame.sort_values(["user_id", "timestamp"], kind="stable")
    gaps = ordered.groupby("user_id")["timestamp"].diff()
    stats = gaps.groupby(ordered["user_id"]).agg(["median", "size"])
    flagged = stats[(stats["size"] >= min_events) & (stats["median"] <= max_median_gap_s)]
    return np.asarray(flagged.index.tolist(), dtype=np.int64)


def drop_bursty_users(frame: pd.DataFrame, max_median_gap_s: float = 5.0,
                      min_events: int = 50) -> tuple[pd.DataFrame, CleaningReport]:
    """Drop every row of the users :func:`bursty_users` flags."""
    bots = bursty_users(frame, max_median_gap_s, min_events)
    mask = frame["user_id"].isin(bots)
    out = frame[~mask].reset_index(drop=True)
    report = CleaningReport()
    report.record("drop bot-like users", frame, out, {f"{len(bots)} bot-like users": int(mask.sum())})
    return out, report


def to_implicit(frame: pd.DataFrame, min_rating: float) -> tuple[pd.DataFrame, CleaningReport]:
    """Keep rows with ``rating >= min_rating`` (explicit ratings -> implicit positive feedback)."""
    _need(frame, ["rating"])
    keep = frame["rating"] >= min_rating
    out = frame[keep].reset_index(drop=True)
    report = CleaningReport()
    report.record(f"implicit (rating >= {min_rating:g})", frame, out, {f"rating < {min_rating:g}": int((~keep).sum())})
    return out, report


def k_core(frame: pd.DataFrame, k: int, max_rounds: int = 100) -> tuple[pd.DataFrame, CleaningReport]:
    """Iteratively drop users and items with fewer than ``k`` interactions until none is left."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    out, rounds, users_gone, items_gone = frame, 0, 0, 0
    while rounds < max_rounds:
        user_n = out.groupby("user_id")["item_id"].transform("size")
        item_n = out.groupby("item_id")["user_id"].transform("size")
        weak = (user_n < k) | (item_n < k)
        if not weak.any():
            break
        users_gone += int((user_n < k).sum())
        items_gone += int(((item_n < k) & (user_n >= k)).sum())
        out, rounds = out[~weak], rounds + 1
    out = out.reset_index(drop=True)
    report = CleaningReport()
    report.record(f"{k}-core (rounds: {rounds})", frame, out,
                  {f"user with < {k}": users_gone, f"item with < {k}": items_gone})
    return out, report


def count_out_of_order(frame: pd.DataFrame) -> int:
    """Rows whose timestamp is earlier than the previous row of the same user, in file order."""
    gaps = frame.groupby("user_id", sort=False)["timestamp"].diff()
    return int((gaps < 0).sum())


def clean(interactions: pd.DataFrame, *, known_items=None, known_users=None, drop_bots: bool = False,
          min_rating: float | None = None, k: int | None = None) -> tuple[pd.DataFrame, CleaningReport]:
    """The course's cleaning pipeline: invalid rows -> duplicates -> (bots) -> (implicit) -> (k-core).

    Defaults drop only invalid rows and exact duplicates, so MovieLens-100k keeps all 100,000 rows.
    Returns the cleaned frame sorted by ``user_id, timestamp, item_id`` and the report of every step.
    """
    frame, report = drop_invalid(interactions, known_items, known_users)
    frame, step = drop_duplicates(frame)
    report.extend(step)
    if drop_bots:
        frame, step = drop_bursty_users(frame)
        report.extend(step)
    if min_rating is not None:
        frame, step = to_implicit(frame, min_rating)
        report.extend(step)
    if k is not None:
        frame, step = k_core(frame, k)
        report.extend(step)
    frame = frame.sort_values(["user_id", "timestamp", "item_id"], kind="stable").reset_index(drop=True)
    return frame, report
