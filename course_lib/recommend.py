"""Recommendations for a person: a history typed as titles (or item ids) -> the top-k items, with reasons.

    from course_lib.bundle import load_bundle
    from course_lib.recommend import recommend
    bundle = load_bundle("models/sasrec")
    recommend(bundle, ["Star Wars (1977)", "fargo"], k=10)      # a DataFrame: rank, item_id, title, score, because

Titles match case-insensitively, with or without the year ("fargo" finds "Fargo (1996)"); an integer (or a
string of digits) is a raw item id. Items in the history are never recommended; equal scores are ordered by item
id. The person need not be in the training data: the model reads the history itself.

Reasons (``because``): for each recommended item, the history items whose removal lowers that item's probability
the most (occlusion: the history is scored again without each of its items in turn, and the log-softmax of the
scores compared, since raw scores shift as a whole when the history changes). Unlike attention weights, which
say where a layer looked and are the same for every candidate, this measures each history item's effect on each
recommended item's score.
"""

from __future__ import annotations

import difflib
import re

import numpy as np
import pandas as pd
import torch

from course_lib.sequences import pad_left

_YEAR = re.compile(r"\s*\(\d{4}\)\s*$")


class TitleError(ValueError):
    """A title matches no item, or several; the message lists the closest titles."""


def _normalise(title: str) -> str:
    return " ".join(str(title).lower().split())


def match_items(queries, item_ids: np.ndarray, titles: np.ndarray) -> list[int]:
    """Internal ids of ``queries`` (titles, with or without the year, or raw item ids); TitleError if one is unclear."""
    full = {}
    bare = {}
    for internal in range(1, len(titles)):
        full.setdefault(_normalise(titles[internal]), []).append(internal)
        bare.setdefault(_normalise(_YEAR.sub("", str(titles[internal]))), []).append(internal)
    raw_to_internal = {int(raw): i for i, raw in enumerate(item_ids) if i > 0}
    found = []
    for query in queries:
        text = str(query).strip()
        if text.isdigit():
            if int(text) not in raw_to_internal:
                raise TitleError(f"item id {text} is not in this model's catalogue")
            found.append(raw_to_internal[int(text)])
            continue
        hits = full.get(_normalise(text)) or bare.get(_normalise(_YEAR.sub("", text)), [])
        if len(hits) == 1:
            found.append(hits[0])
            continue
        if hits:
            options = "; ".join(titles[i] for i in hits[:8])
            raise TitleError(f"{text!r} matches {len(hits)} items: {options}. Add the year, e.g. {titles[hits[0]]!r}")
        names = {_normalise(_YEAR.sub("", str(t))): str(t) for t in titles[1:]}
        close = [names[c] for c in difflib.get_close_matches(_normalise(_YEAR.sub("", text)), list(names), n=5, cutoff=0.6)]
        hint = f"; closest titles: {'; '.join(close)}" if close else ""
        raise TitleError(f"no item titled {text!r}{hint}")
    return found


@torch.no_grad()
def _scores(model, histories: list[np.ndarray]) -> torch.Tensor:
    """(B, N+1) scores of left-padded histories on the CPU (float32)."""
    max_len = model.config.max_len
    return model.scores(pad_left(histories, max_len)).float().cpu()


def recommend(bundle, history, k: int = 10, reasons: int = 2) -> pd.DataFrame:
    """The top-``k`` items for ``history`` (oldest first), with the ``reasons`` history items behind each.

    Returns a DataFrame: rank, item_id (raw), title, score, because (list of history titles, strongest first).
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    items = match_items(list(history), bundle.item_ids, bundle.titles)
    if not items:
        raise TitleError("the history is empty: give at least one title or item id")
    seq = np.array(items, dtype=np.int64)
    scores, top = _top_k(bundle.model, [seq], k)                                # (1, N+1), (1, k)
    scores = scores[0]
    order = [int(i) for i in top[0] if np.isfinite(scores[i])]
    drops = _occlusion(bundle.model, seq, order) if reasons and len(seq) > 1 else None
    rows = []
    for rank, item in enumerate(order, start=1):
        because = []
        if drops is not None:
            strongest = np.argsort(-drops[:, rank - 1], kind="stable")[:reasons]
            because = [str(bundle.titles[seq[j]]) for j in strongest if drops[j, rank - 1] > 0]
        rows.append({"rank": rank, "item_id": int(bundle.item_ids[item]), "title": str(bundle.titles[item]),
                     "score": float(scores[item]), "because": because})
    return pd.DataFrame(rows)


def _log_probs(model, histories: list[np.ndarray]) -> torch.Tensor:
    """(B, N+1) log-softmax of the scores over the items (raw scores shift with the history; these do not)."""
    scores = _scores(model, histories)
    scores[:, 0] = float("-inf")
    return torch.log_softmax(scores, dim=1)


def _occlusion(model, seq: np.ndarray, items: list[int]) -> np.ndarray:
    """(H, k) drop in each recommended item's log-probability when history position h is removed (larger = more)."""
    full = _log_probs(model, [seq])[0, items]                                   # (k,)
    without = [np.delete(seq, h) for h in range(len(seq))]
    reduced = _log_probs(model, without)[:, items]                              # (H, k)
    return (full[None, :] - reduced).numpy()


def recommend_all(bundle, split, k: int = 10, part: str = "test", batch_size: int = 512) -> np.ndarray:
    """(U, k) raw item ids recommended to every user of ``split`` from their ``part`` history (history excluded)."""
    histories = split.histories(part)
    out = np.empty((len(histories), k), dtype=np.int64)
    for start in range(0, len(histories), batch_size):
        rows = histories[start:start + batch_size]
        out[start:start + len(rows)] = bundle.item_ids[_top_k(bundle.model, rows, k)[1]]
    return out


def _top_k(model, histories: list[np.ndarray], k: int) -> tuple[np.ndarray, np.ndarray]:
    """(B, N+1) scores with padding and each history's items at -inf, and (B, k) internal ids of the best.

    Ties go to the lower item id (a stable sort of the negated scores keeps the id order).
    """
    scores = _scores(model, histories)                                          # (B, N+1)
    scores[:, 0] = float("-inf")
    for row, seen in enumerate(histories):
        scores[row, torch.as_tensor(np.asarray(seen, dtype=np.int64))] = float("-inf")   # never the history
    scores = scores.numpy()
    return scores, np.argsort(-scores, axis=1, kind="stable")[:, :k]
