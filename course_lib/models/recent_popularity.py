"""Recent popularity: what everybody clicked in the last hours, the baseline that news recommenders must beat.

For an event at time ``t`` the score of item ``j`` is the number of clicks on ``j`` in ``[t - window, t)``::

    score_j(t) = #{ clicks c on j : t - window <= time(c) < t }

Only clicks *before* ``t`` count, as a live counter would see them, so no event counts itself. The model is
time-aware: it has ``scores_at(seqs, times)`` (``course_lib.sessions.evaluate_events`` calls it) and ignores the
history. Ties between equal counts go against the target, as everywhere in the course.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch


class RecentPopularity:
    """Click counts in a sliding window before each event (see module docstring)."""

    def __init__(self, window_seconds: float = 24 * 3600.0):
        if not window_seconds > 0:
            raise ValueError(f"window_seconds must be > 0, got {window_seconds}")
        self.window = float(window_seconds)
        self.click_times = None                       # list over internal ids of sorted click times

    def fit_log(self, frame: pd.DataFrame, item_index: dict, num_items: int) -> "RecentPopularity":
        """Index every click of ``frame`` (``item_id`` raw, ``timestamp``); ``item_index`` maps raw -> internal."""
        internal = frame["item_id"].map(item_index)
        known = internal.notna()
        order = np.lexsort((frame["timestamp"].to_numpy()[known], internal[known].to_numpy()))
        ids = internal[known].to_numpy(np.int64)[order]
        times = frame["timestamp"].to_numpy(np.int64)[known.to_numpy()][order]
        bounds = np.searchsorted(ids, np.arange(num_items + 2))
        self.click_times = [times[bounds[j]:bounds[j + 1]] for j in range(num_items + 1)]
        return self

    def scores_at(self, seqs: torch.Tensor, times) -> torch.Tensor:
        """(B, L) histories (unused) and (B,) event times -> (B, N+1) window counts; column 0 is -inf."""
        if self.click_times is None:
            raise RuntimeError("RecentPopularity used before fit_log(frame, item_index, num_items)")
        times = np.asarray(times, dtype=np.int64)
        counts = np.stack([np.searchsorted(c, times, side="left")
                           - np.searchsorted(c, times - self.window, side="left") for c in self.click_times], 1)
        scores = torch.as_tensor(counts, dtype=torch.float32)
        scores[:, 0] = float("-inf")
        return scores

    def scores(self, seqs: torch.Tensor) -> torch.Tensor:
        raise TypeError("RecentPopularity needs the event times: use scores_at(seqs, times) "
                        "(course_lib.sessions.evaluate_events does)")


class RecencyBlend:
    """``base``'s scores plus ``weight`` x log(1 + recent clicks): content or sequence evidence, nudged towards
    what is being read right now. ``base.scores(seqs)`` is standardised per row (mean 0, std 1 over items 1..N)
    so that one ``weight`` means the same for any base model; choose it on validation."""

    def __init__(self, base, recent: RecentPopularity, weight: float):
        if weight < 0:
            raise ValueError(f"weight must be >= 0, got {weight}")
        self.base, self.recent, self.weight = base, recent, float(weight)

    def scores_at(self, seqs: torch.Tensor, times) -> torch.Tensor:
        """(B, L), (B,) -> (B, N+1); column 0 is -inf."""
        base = self.base.scores(seqs).float().cpu()[:, 1:]
        base = (base - base.mean(1, keepdim=True)) / base.std(1, keepdim=True).clamp_min(1e-8)
        recent = torch.log1p(self.recent.scores_at(seqs, times)[:, 1:])
        out = torch.full((len(base), base.shape[1] + 1), float("-inf"))
        out[:, 1:] = base + self.weight * recent
        return out
