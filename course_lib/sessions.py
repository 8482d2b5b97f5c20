"""Sessions and time-based splits: the protocol of the shop and news case studies (notebook 11).

MovieLens is split leave-one-out per user (``course_lib.sequences``). Shops and news sites are evaluated the
way they run: train on everything before a date, then predict every next event after it.

``cut_sessions(frame, gap_seconds)`` starts a new session whenever a user is inactive for more than
``gap_seconds`` (GRU4Rec, Hidasi et al. 2016, works on such sessions). ``temporal_split(frame, valid_start,
test_start, unit=...)`` then cuts each *unit* (a session, or a user's whole history) at two dates:

- training sequences: the unit's events before ``valid_start``;
- an evaluation *event* for every later event that has at least one earlier event in its unit: its history is
  everything before it in the unit (also events after ``valid_start``: a live system sees them), its target
  the event's item. Events in [valid_start, test_start) are validation events, later ones test events.

No training row is at or after ``valid_start``, so nothing published later can leak into training.

Evaluation (``evaluate_events``) ranks every event's target in full ranking, optionally among the items
*available* at that moment only (news: published in the last ``live_hours``), and averages per unit first, so
that a long session does not count more than a short one; ``unit_ci`` gives a bootstrap interval over units.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from course_lib.metrics import bootstrap_ci, compare_values, per_user, summarize, target_ranks
from course_lib.sequences import PARTS, SplitData, pad_left


def cut_sessions(frame: pd.DataFrame, gap_seconds: float = 1800.0) -> pd.DataFrame:
    """Rows sorted by user and time (ties by item id) with a ``session_id`` column (1..S).

    A session ends when the user's next event comes more than ``gap_seconds`` later.
    """
    missing = {"user_id", "item_id", "timestamp"} - set(frame.columns)
    if missing:
        raise ValueError(f"frame lacks column(s) {sorted(missing)}; need user_id, item_id, timestamp")
    if not gap_seconds > 0:
        raise ValueError(f"gap_seconds must be > 0, got {gap_seconds}")
    out = frame.sort_values(["user_id", "timestamp", "item_id"], kind="stable").reset_index(drop=True)
    new_user = out["user_id"].ne(out["user_id"].shift())
    long_gap = out["timestamp"].diff().gt(gap_seconds)
    out["session_id"] = (new_user | long_gap).cumsum().astype(np.int64)
    return out


@dataclass
class Events:
    """The evaluation events of one part: ``histories`` (E arrays of internal ids), ``targets`` (E,), ``times``
    (E,) unix seconds, ``units`` (E,) the session or user each event belongs to, ``positions`` (E,) its index in
    the unit (1 = the unit's second event), ``rows`` (E,) the index label of its row in the split's input frame
    (to look up anything else about the event, e.g. a planted mechanism)."""

    histories: list
    targets: np.ndarray
    times: np.ndarray
    units: np.ndarray
    positions: np.ndarray
    rows: np.ndarray

    def __len__(self) -> int:
        return len(self.targets)


@dataclass
class EventSplit:
    """A time-based split: training sequences and validation/test events (see module docstring).

    ``item_ids`` (N+1,) internal -> raw id (``item_ids[0] = -1``); ``train`` the units' events before
    ``valid_start`` (internal ids, chronological); ``valid``/``test`` the events; ``unit`` the column that
    defines a sequence ("session_id" or "user_id").
    """

    num_items: int
    item_ids: np.ndarray
    item_index: dict
    train: list
    valid: Events
    test: Events
    valid_start: int
    test_start: int
    unit: str

    def events(self, part: str) -> Events:
        if part not in PARTS:
            raise ValueError(f"part={part!r}: expected one of {PARTS}")
        return self.valid if part == "valid" else self.test

    def training_split(self) -> SplitData:
        """A ``SplitData`` whose training part is the training sequences, for ``fit(split)`` and datasets.

        It holds no held-out targets of its own (zeros): evaluate on ``as_split(part)`` or ``evaluate_events``.
        """
        zeros = np.zeros(len(self.train), dtype=np.int64)
        return SplitData(self.num_items, self.item_ids, self.item_index, np.arange(len(self.train)),
                         list(self.train), [np.zeros(len(s), np.int64) for s in self.train], zeros, zeros,
                         zeros, zeros)

    def as_split(self, part: str) -> SplitData:
        """The events of ``part`` as a ``SplitData`` (one row per event, its target in the "valid" slot), so that
        ``metrics.evaluate(model, view, part="valid")`` ranks every event (the training loop's validation)."""
        ev = self.events(part)
        return SplitData(self.num_items, self.item_ids, self.item_index, ev.units, list(ev.histories),
                         [np.zeros(len(h), np.int64) for h in ev.histories], ev.targets, ev.targets,
                         ev.times, ev.times)

    def summary(self) -> dict:
        """Counts worth printing, and how many event targets never occur in training (cold targets)."""
        seen = np.zeros(self.num_items + 1, dtype=bool)
        if self.train:
            seen[np.concatenate(self.train)] = True
        out = {"items": self.num_items, "training sequences": len(self.train),
               "training events": int(sum(len(s) for s in self.train))}
        for part in PARTS:
            ev = self.events(part)
            out[f"{part} events"] = len(ev)
            out[f"{part} units"] = int(len(np.unique(ev.units)))
            out[f"{part} cold targets"] = float(np.mean(~seen[ev.targets])) if len(ev) else 0.0
        return out


def temporal_split(frame: pd.DataFrame, valid_start: int, test_start: int, unit: str = "session_id",
                   max_history: int | None = None, catalogue=None) -> EventSplit:
    """Split a log at two dates (see module docstring); items are remapped to 1..N in ascending raw-id order.

    Args:
        frame: ``user_id, item_id, timestamp`` and the ``unit`` column (``cut_sessions`` adds "session_id").
        valid_start, test_start: unix seconds, ``valid_start < test_start``.
        unit: "session_id" (session-based) or "user_id" (a user's whole history is one sequence).
        max_history: keep only the last ``max_history`` items of each history (None = all).
        catalogue: raw ids of every item that may be recommended (e.g. all published articles, clicked or
            not); default: the items of ``frame``. Must include every item of ``frame``.
    """
    need = {"user_id", "item_id", "timestamp", unit}
    if not need <= set(frame.columns):
        raise ValueError(f"frame lacks column(s) {sorted(need - set(frame.columns))}"
                         + ("; call cut_sessions first" if unit == "session_id" else ""))
    if not valid_start < test_start:
        raise ValueError(f"valid_start ({valid_start}) must come before test_start ({test_start})")
    data = frame.sort_values([unit, "timestamp", "item_id"], kind="stable")
    raw_items = np.unique(data["item_id"].to_numpy() if catalogue is None else np.asarray(catalogue))
    outside = ~np.isin(data["item_id"].to_numpy(), raw_items)
    if outside.any():
        raise ValueError(f"{int(outside.sum())} rows have items outside the catalogue, e.g. "
                         f"{data['item_id'].to_numpy()[outside][:3].tolist()}")
    items = np.searchsorted(raw_items, data["item_id"].to_numpy()) + 1
    times, units, labels = data["timestamp"].to_numpy(np.int64), data[unit].to_numpy(), data.index.to_numpy()
    starts = np.flatnonzero(np.r_[True, units[1:] != units[:-1]])
    train, parts = [], {p: ([], [], [], [], [], []) for p in PARTS}
    for s, e in zip(starts, np.r_[starts[1:], len(units)]):
        seq, when = items[s:e].astype(np.int64), times[s:e]
        cut = int(np.searchsorted(when, valid_start))
        if cut:
            train.append(seq[:cut])
        for pos in range(max(cut, 1), e - s):
            store = parts["valid" if when[pos] < test_start else "test"]
            history = seq[:pos] if max_history is None else seq[max(0, pos - max_history):pos]
            for column, value in zip(store, (history, seq[pos], when[pos], units[s], pos, labels[s + pos])):
                column.append(value)
    events = {p: Events(h, *(np.asarray(c, np.int64) for c in (t, w)), np.asarray(u),
                        *(np.asarray(c, np.int64) for c in (q, r))) for p, (h, t, w, u, q, r) in parts.items()}
    index = {int(raw): i + 1 for i, raw in enumerate(raw_items)}
    return EventSplit(len(raw_items), np.r_[-1, raw_items].astype(np.int64), index, train, events["valid"],
                      events["test"], int(valid_start), int(test_start), unit)


def available_mask(published: np.ndarray, times: np.ndarray, live_seconds: float | None = None) -> torch.Tensor:
    """(E, N+1) bool: True where item j is NOT available at event time t (published later, or no longer live).

    ``published`` (N+1,) unix seconds per internal id (row 0 ignored); ``live_seconds`` None = never expires.
    """
    pub = torch.as_tensor(np.asarray(published, dtype=np.float64)).unsqueeze(0)          # (1, N+1)
    now = torch.as_tensor(np.asarray(times, dtype=np.float64)).unsqueeze(1)              # (E, 1)
    blocked = pub > now
    if live_seconds is not None:
        blocked |= pub <= now - live_seconds
    return blocked


def evaluate_events(model, events: Events, *, exclude_history: bool = False, max_len: int = 50,
                    published: np.ndarray | None = None, live_seconds: float | None = None,
                    batch_size: int = 512) -> np.ndarray:
    """(E,) full-ranking rank of every event's target (ties against the target, ``metrics.target_ranks``).

    ``model.scores(seqs (B, max_len)) -> (B, N+1)``; a model with ``scores_at(seqs, times)`` (time-aware, e.g.
    ``RecentPopularity``) gets the event times too. With ``published`` only items available at the event's
    time compete (``available_mask``); with ``exclude_history`` the history's items do not compete.
    """
    if not len(events):
        raise ValueError("no events to evaluate: is the split's window empty?")
    ranks = np.empty(len(events), dtype=np.int64)
    if isinstance(model, torch.nn.Module):
        model.eval()
    device = next(model.parameters()).device if isinstance(model, torch.nn.Module) else torch.device("cpu")
    with torch.no_grad():
        for start in range(0, len(events), batch_size):
            rows = slice(start, start + batch_size)
            seqs = pad_left(events.histories[rows], max_len).to(device)
            times = events.times[rows]
            scores = model.scores_at(seqs, times) if hasattr(model, "scores_at") else model.scores(seqs)
            scores = scores.float().cpu()
            blocked = torch.zeros(scores.shape, dtype=torch.bool)
            if published is not None:
                blocked |= available_mask(published, times, live_seconds)
            if exclude_history:
                for row, history in enumerate(events.histories[rows]):
                    blocked[row, torch.as_tensor(np.asarray(history, np.int64))] = True
            ranks[rows] = target_ranks(scores, events.targets[rows], blocked)
    return ranks


def unit_means(ranks: np.ndarray, units: np.ndarray, metric: str = "ndcg@10") -> np.ndarray:
    """(S,) the mean of ``metric`` over each unit's events (units in sorted order)."""
    values = per_user(ranks, metric)
    _, inverse = np.unique(units, return_inverse=True)
    return np.bincount(inverse, weights=values) / np.bincount(inverse)


def unit_ci(ranks: np.ndarray, units: np.ndarray, metric: str = "ndcg@10", seed: int = 0) -> tuple:
    """(mean, low, high): the per-unit mean of ``metric`` and its 95 % bootstrap interval over units."""
    return bootstrap_ci(unit_means(ranks, units, metric), seed=seed)


def compare_units(ranks_a: np.ndarray, ranks_b: np.ndarray, units: np.ndarray, metric: str = "ndcg@10",
                  seed: int = 0) -> dict:
    """Two models ranked on the same events, compared per unit (``metrics.compare_values``: the mean
    difference, its bootstrap interval over units, a sign-flip p-value, wins/losses/ties)."""
    return compare_values(unit_means(ranks_a, units, metric), unit_means(ranks_b, units, metric), metric, seed=seed)


def event_summary(ranks: np.ndarray, units: np.ndarray) -> dict:
    """Per-unit averaged HR@10, NDCG@10 and MRR, and the event-averaged ``summarize`` for reference."""
    out = {m: float(unit_means(ranks, units, m).mean()) for m in ("hr@10", "ndcg@10", "mrr")}
    out["per event"] = {k: v for k, v in summarize(ranks, (10,)).items() if k in ("hr@10", "ndcg@10")}
    return out


def split_dates(frame: pd.DataFrame, valid_fraction: float = 0.1, test_fraction: float = 0.1,
                round_to: int = 86400) -> tuple[int, int]:
    """(valid_start, test_start): the last ``test_fraction`` of the log's time span is test, the
    ``valid_fraction`` before it validation; both dates rounded down to a multiple of ``round_to`` seconds
    (midnight UTC by default), so that a split falls between days, as a deployment would."""
    if not (0 < valid_fraction < 1 and 0 < test_fraction < 1 and valid_fraction + test_fraction < 1):
        raise ValueError(f"fractions {valid_fraction}, {test_fraction}: each in (0, 1), their sum below 1")
    low, high = int(frame["timestamp"].min()), int(frame["timestamp"].max())
    test_start = low + (1 - test_fraction) * (high - low)
    valid_start = low + (1 - test_fraction - valid_fraction) * (high - low)
    valid_start, test_start = (int(t // round_to * round_to) for t in (valid_start, test_start))
    if not low < valid_start < test_start:
        raise ValueError(f"the log spans {high - low} s: too short to split at multiples of {round_to} s")
    return valid_start, test_start
