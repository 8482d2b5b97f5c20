"""Recommendations for a person: a history typed as titles (or item ids) -> the top-k items, with reasons.

    from course_lib.bundle import load_bundle
    from course_lib.recommend import recommend
    bundle = load_bundle("models/sasrec")
    recommend(bundle, ["Star Wars (1977)", "fargo"], k=10)      # a DataFrame: rank, item_id, title, score, because

Titles match case-insensitively, with or without the year ("fargo" finds "Fargo (1996)"); an integer (or a
string of digits) is a raw item id. Items in the history are never recommended; equal scores are ordered by item
id. The person need not be in the training data: the model reads the history itself.

Reasons (``because``): for each recommended item, the history items behind it, by one of the methods of
``course_lib.explain``: occlusion (the default for the neural models: the fall in the item's log-probability when
a history item is removed), attention (SASRec, BERT4Rec), neighbours (embedding models), transitions (Markov).
Any recommender with ``scores(seqs)`` can be wrapped with ``bundle.in_memory`` and used here unsaved.
"""

from __future__ import annotations

import difflib
import re

import numpy as np
import pandas as pd
import torch

from course_lib.explain import default_method, max_len_of, scores_of, strengths

_YEAR = re.compile(r"\s*\(\d{4}\)\s*$")


class TitleError(ValueError):
    """A title matches no item, or several; the message lists the closest titles."""


_ARTICLE = re.compile(r"^(.*), (the|a|an|les|la|le|l'|il|el|das|der|die)$")


def _normalise(title: str) -> str:
    """Lower case, single spaces, and a catalogue's trailing article moved to the front, before any year:
    "Princess Bride, The (1987)" -> "the princess bride (1987)", so it matches what people type."""
    text = " ".join(str(title).lower().split())
    year = _YEAR.search(text)
    base = _YEAR.sub("", text)
    article = _ARTICLE.match(base)
    if article:
        base = f"{article[2]} {article[1]}"
    return f"{base} {year.group(0).strip()}" if year else base


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


def recommend(bundle, history, k: int = 10, reasons: int = 2, explain: str | None = None) -> pd.DataFrame:
    """The top-``k`` items for ``history`` (oldest first), with the ``reasons`` history items behind each.

    ``explain``: a method of ``course_lib.explain`` (default: the one that matches the model). Returns a
    DataFrame: rank, item_id (raw), title, score, because (list of history titles, strongest first).
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
    method = explain or default_method(bundle.model)
    strength = strengths(bundle.model, seq, order, method) if reasons else np.zeros((len(seq), len(order)))
    rows = []
    for rank, item in enumerate(order, start=1):
        strongest = np.argsort(-strength[:, rank - 1], kind="stable")[:reasons]
        because = [str(bundle.titles[seq[j]]) for j in strongest if strength[j, rank - 1] > 0]
        rows.append({"rank": rank, "item_id": int(bundle.item_ids[item]), "title": str(bundle.titles[item]),
                     "score": float(scores[item]), "because": because})
    return pd.DataFrame(rows)


def side_by_side(bundles: dict, history, k: int = 10) -> pd.DataFrame:
    """(k, models) table of titles: each model's top-``k`` for the same ``history`` (``{name: bundle}``)."""
    columns = {}
    for name, bundle in bundles.items():
        titles = recommend(bundle, history, k=k, reasons=0)["title"].tolist()
        columns[name] = titles + [""] * (k - len(titles))                       # a model may have fewer than k
    return pd.DataFrame(columns, index=pd.RangeIndex(1, k + 1, name="rank"))


def top_k_lists(model, split, k: int = 10, part: str = "test", max_len: int = 50,
                batch_size: int = 512) -> np.ndarray:
    """(U, k) internal ids of every user's top-``k`` from the ``part`` history, the history itself excluded.

    ``model``: any recommender with ``scores(seqs) -> (B, N+1)`` (a bundle's model, Markov, item-KNN, ...); it
    sees the last ``max_len`` items. Ties go to the lower item id, as in ``recommend``.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    from course_lib.metrics import score_batches

    histories = split.histories(part)
    out = np.empty((len(histories), k), dtype=np.int64)
    for rows, scores in score_batches(model, split, part, max_len=max_len, batch_size=batch_size):
        out[rows] = _best(scores.float().cpu(), histories[rows], k)
    return out


def recommend_all(bundle, split, k: int = 10, part: str = "test", batch_size: int = 512) -> np.ndarray:
    """(U, k) raw item ids recommended to every user of ``split`` from their ``part`` history (history excluded)."""
    lists = top_k_lists(bundle.model, split, k, part, max_len=max_len_of(bundle.model), batch_size=batch_size)
    return bundle.item_ids[lists]


def _top_k(model, histories: list[np.ndarray], k: int) -> tuple[np.ndarray, np.ndarray]:
    """(B, N+1) scores with padding and each history's items at -inf, and (B, k) internal ids of the best."""
    scores = scores_of(model, histories)                                        # (B, N+1)
    top = _best(scores, histories, k)
    return scores.numpy(), top


def _best(scores: torch.Tensor, histories: list[np.ndarray], k: int) -> np.ndarray:
    """(B, k) internal ids of the highest ``scores`` (B, N+1, CPU; changed in place): padding and history at -inf.

    Ties go to the lower item id (a stable sort of the negated scores keeps the id order).
    """
    scores[:, 0] = float("-inf")
    for row, seen in enumerate(histories):
        scores[row, torch.as_tensor(np.asarray(seen, dtype=np.int64))] = float("-inf")   # never the history
    return np.argsort(-scores.numpy(), axis=1, kind="stable")[:, :k]
