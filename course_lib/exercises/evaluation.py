"""Checkers for notebook 02 (honest evaluation and classical baselines).

Each checker recomputes the truth on MovieLens-100k's leave-one-out split (the baselines fit in well under a
second) or on small inputs of its own, and never prints it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable

import numpy as np

from course_lib.exercises.core import (Verdict, as_number, checker, close_to, movielens_split, number_or_hint,
                                      same_choice, verdict)

BETAS = (1, 100, 1000, 10000)


@checker("02.1")
def check_random_hit_rate(prediction: Any) -> Verdict:
    """``prediction``: the random model's expected test HR@10 with the history excluded, averaged over users."""
    _, split = movielens_split()
    unseen = np.array([split.num_items - len(np.unique(h)) for h in split.histories("test")])
    truth = float(np.mean(10 / unseen))
    value, bad = number_or_hint("02.1", prediction, "the expected HR@10")
    if bad is not None:
        return bad
    hint = ("A user with history length h has N - h candidates, and a random score puts the target in the top 10 "
            "with probability 10 / (N - h); average that over the users of split.histories('test').")
    if close_to(value, 10 / split.num_items, rel=0.005):
        hint = "10 / N forgets that the history is removed from the candidates. " + hint
    elif not close_to(value, truth, rel=0.01):
        hint = hint[0].lower() + hint[1:]
    return verdict("02.1", close_to(value, truth, rel=0.01), hint,
                   "One run of the random model is one draw around this expectation.")


@lru_cache(maxsize=1)
def _popularity_both_ways() -> tuple[dict, dict]:
    """The popularity model's test metrics (K = 1, 50) with the history excluded, then kept."""
    from course_lib import metrics
    from course_lib.models.popularity import PopularityRecommender

    _, split = movielens_split()
    pop = PopularityRecommender().fit(split)
    return tuple(metrics.evaluate(pop, split, ks=(1, 50), exclude_history=e) for e in (True, False))


@checker("02.2")
def check_history_kept_metric(metric: Any) -> Verdict:
    """``metric``: which of ``"hr@1"``, ``"hr@50"``, ``"mrr"`` of the popularity model loses the largest *share* of
    its value when the history is kept among the candidates (``exclude_history=False``)."""
    excluded, kept = _popularity_both_ways()
    choices = ("hr@1", "hr@50", "mrr")
    truth = max(choices, key=lambda m: (excluded[m] - kept[m]) / excluded[m])
    right = same_choice(metric, truth, choices)
    if right is None:
        return verdict("02.2", False, f"answer with one of {', '.join(choices)} (got {metric!r:.40}).")
    return verdict("02.2", right, "compare each metric's relative drop (excluded - kept) / excluded, not the "
                                  "absolute one. Which slots do already-seen popular films take first?",
                   "The top slots go first to films the user has already seen.")


@checker("02.3")
def check_sampled_random_hit_rate(prediction: Any, num_negatives: int = 10) -> Verdict:
    """``prediction``: the random model's expected *sampled* HR@10 with ``num_negatives`` uniform negatives per user."""
    value, bad = number_or_hint("02.3", prediction, "the expected sampled HR@10")
    if bad is not None:
        return bad
    candidates = num_negatives + 1                                   # the target competes with the negatives only
    truth = min(10, candidates) / candidates
    hint = ("Count the candidates: the target plus the negatives, not the catalogue. A random score puts the target "
            "at each of those positions with equal probability.")
    if close_to(value, 10 / 101, rel=0.01):
        hint = f"that is the answer for 100 negatives; this asks about {num_negatives}. " + hint
    elif not close_to(value, truth, abs_tol=0.005):
        hint = hint[0].lower() + hint[1:]
    return verdict("02.3", close_to(value, truth, abs_tol=0.005), hint,
                   "With so few negatives even a random model looks good: sampled numbers say little.")


@lru_cache(maxsize=1)
def _validation_curve(betas: tuple) -> dict:
    from course_lib import metrics
    from course_lib.models.markov import MarkovRecommender

    _, split = movielens_split()
    return {b: metrics.evaluate(MarkovRecommender(beta=b).fit(split), split, part="valid")["ndcg@10"] for b in betas}


@checker("02.4")
def check_markov_beta_curve(curve: Any) -> Verdict:
    """``curve``: ``{beta: validation NDCG@10}`` of ``MarkovRecommender(beta=beta)`` for beta in 1, 100, 1000, 10000
    (full ranking, history excluded)."""
    if not isinstance(curve, dict) or not set(BETAS) <= {as_key(k) for k in curve}:
        return verdict("02.4", False, f"pass a dict {{beta: validation ndcg@10}} with the betas {list(BETAS)}.")
    given = {as_key(k): v for k, v in curve.items()}
    if any(as_number(given[b]) is None for b in BETAS):
        return verdict("02.4", False, "each value must be one number: the 'ndcg@10' entry of metrics.evaluate(...).")
    truth = _validation_curve(BETAS)
    off = [b for b in BETAS if not close_to(given[b], truth[b], abs_tol=5e-4)]
    return verdict("02.4", not off, f"the values for beta = {off} differ: evaluate each fitted chain on "
                                    "part='valid' (not test), with the history excluded, and read 'ndcg@10'.",
                   "Small betas give the same list: beta * pop(j) only breaks ties between equal counts.")


def as_key(value: Any) -> Any:
    """A beta given as 1, 1.0 or '1' as the int 1 (other values unchanged)."""
    try:
        number = float(value)
        return int(number) if number.is_integer() else number
    except (TypeError, ValueError):
        return value


WINDOW_CASES = (([[1, 2, 3, 4, 5], [2, 1, 2], [5, 4]], 5, 3), ([[1, 2, 3, 1, 2, 3]], 3, 1), ([[4], []], 4, 3))


def _windowed_by_hand(sequences: list, num_items: int, window: int) -> np.ndarray:
    counts = np.zeros((num_items + 1, num_items + 1))
    for seq in sequences:
        for p, i in enumerate(seq):
            for q, j in enumerate(seq):
                if p != q and abs(p - q) <= window and i != j:
                    counts[i, j] += 1
    return counts


@checker("02.5")
def check_windowed_cooccurrence(cooccurrence: Callable) -> Verdict:
    """``cooccurrence(sequences, num_items, window) -> (N+1, N+1)``: counts of item pairs at most ``window``
    positions apart in the same sequence (both orders, zero diagonal); dense or scipy sparse."""
    if not callable(cooccurrence):
        return verdict("02.5", False, f"pass the function itself, not a {type(cooccurrence).__name__}.")
    for sequences, num_items, window in WINDOW_CASES:
        truth = _windowed_by_hand(sequences, num_items, window)
        try:
            got = cooccurrence([np.asarray(s, dtype=np.int64) for s in sequences], num_items, window)
            got = np.asarray(got.toarray() if hasattr(got, "toarray") else got, dtype=float)
        except Exception as err:  # the learner's code
            return verdict("02.5", False, f"your function raised {type(err).__name__}: {err} (sequences of lengths "
                                          f"{[len(s) for s in sequences]}, an empty one included?).")
        if got.shape != truth.shape:
            return verdict("02.5", False, f"return a ({num_items + 1}, {num_items + 1}) matrix: row and column 0 "
                                          "are padding and stay zero.")
        if not np.allclose(got, truth):
            return verdict("02.5", False, f"wrong counts for window={window}: count every pair of positions p != q "
                                          "with |p - q| <= window (both orders, so the matrix is symmetric), "
                                          "repeated pairs again each time, and leave the diagonal at zero.")
    return verdict("02.5", True, "", "Same counts as a brute-force loop on every test input.")
