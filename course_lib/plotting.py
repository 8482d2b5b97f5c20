"""Figures that more than one notebook draws. Each function draws on ``ax`` (a new one if None) and returns it."""

from __future__ import annotations

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from matplotlib.ticker import NullFormatter, ScalarFormatter
import numpy as np
import pandas as pd


def _axes(ax):
    return ax if ax is not None else plt.subplots(figsize=(5, 3.2))[1]


def plot_long_tail(item_counts, ax=None, head_share: float = 0.2):
    """Interactions per item, most popular first (log y), with the share the top ``head_share`` items get.

    Args:
        item_counts: one count per item (any order; zeros allowed).
    """
    ax = _axes(ax)
    counts = np.sort(np.asarray(item_counts, dtype=float))[::-1]
    head = max(1, int(round(head_share * len(counts))))
    share = counts[:head].sum() / max(counts.sum(), 1.0)
    ax.plot(np.arange(1, len(counts) + 1), counts, lw=1.5)
    ax.axvline(head, color="grey", ls="--", lw=1)
    ax.set_yscale("log")
    ax.set(xlabel="item rank (most popular first)", ylabel="interactions (log)",
           title=f"Long tail: top {head_share:.0%} of items get {share:.0%}")
    return ax


def plot_count_histogram(counts, ax=None, bins: int = 40, xlabel: str = "interactions per user"):
    """Histogram of per-entity counts (e.g. sequence lengths) on log-spaced bins, median marked."""
    ax = _axes(ax)
    counts = np.asarray(counts, dtype=float)
    edges = np.logspace(np.log10(max(counts.min(), 1)), np.log10(counts.max() + 1), bins)
    ax.hist(counts, bins=edges)
    ax.axvline(np.median(counts), color="k", ls="--", lw=1, label=f"median {np.median(counts):g}")
    ax.set_xscale("log")
    ticks = [m * 10**e for e in range(7) for m in (1, 2, 5) if counts.min() <= m * 10**e <= counts.max()]
    ax.set_xticks(ticks)
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set(xlabel=xlabel + " (log)", ylabel="count")
    ax.legend(frameon=False)
    return ax


def plot_activity(timestamps, ax=None, freq: str = "W"):
    """Number of events per period (``freq``: "D", "W", "MS"...) from unix-second timestamps."""
    ax = _axes(ax)
    series = pd.Series(1, index=pd.to_datetime(np.asarray(timestamps), unit="s")).resample(freq).sum()
    ax.bar(series.index, series.to_numpy(), width=5 if freq == "W" else 0.8)
    period = {"D": "day", "W": "week", "MS": "month"}.get(freq, freq)
    ax.set(xlabel="date", ylabel=f"events per {period}", title="Activity over time")
    locator = mdates.AutoDateLocator(minticks=3, maxticks=6)     # few dates, written concisely: never overlapping
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    return ax


def plot_leaderboard(table: pd.DataFrame, metric: str = "ndcg@10", ax=None, title: str | None = None):
    """Horizontal bars of ``table[metric]`` per model (index), best on top, with error bars.

    Error bars come from ``<metric>_low`` / ``<metric>_high`` columns (e.g. bootstrap CIs) when present,
    else from ``<metric>_std`` (spread over seeds), else none. ``table``: e.g. ``results.leaderboard()``.
    """
    if metric not in table.columns:
        raise ValueError(f"table has no column {metric!r}; columns: {list(table.columns)}")
    ax = _axes(ax)
    table = table.sort_values(metric)
    values = table[metric].to_numpy(dtype=float)
    if {f"{metric}_low", f"{metric}_high"} <= set(table.columns):
        errors = np.vstack([values - table[f"{metric}_low"].to_numpy(float),
                            table[f"{metric}_high"].to_numpy(float) - values])
    elif f"{metric}_std" in table.columns:
        errors = table[f"{metric}_std"].fillna(0).to_numpy(float)
    else:
        errors = None
    ax.barh([str(m) for m in table.index], values, xerr=errors, capsize=3, color="tab:blue", alpha=0.8)
    ax.set(xlabel=metric, title=title or f"Test {metric} (full ranking)")
    ax.set_xlim(left=0)
    return ax
