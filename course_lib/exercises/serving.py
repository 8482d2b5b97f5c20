"""Checkers for notebook 09 (recommending for a person): reasons, coverage, explanations, a paired comparison.

Each checker recomputes the truth from what it is given (a bundle and a history) or from the course's own data
(MovieLens-100k, the stored leaderboard), in well under a second, and never prints it.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from course_lib.exercises.core import Verdict, checker, close_to, movielens_split, number_or_hint, same_choice, verdict


def _bundle_problem(bundle: Any) -> str | None:
    """A hint when ``bundle`` is not a Bundle (``load_bundle`` / ``in_memory``), else None."""
    if not all(hasattr(bundle, name) for name in ("model", "item_ids", "titles")):
        return ("pass the bundle itself (what load_bundle or bundle.in_memory returns) as the second argument, "
                f"not a {type(bundle).__name__}.")
    return None


def _recomputed(exercise: str, bundle: Any, compute: Callable[[], int]) -> tuple[int | None, Verdict | None]:
    """Run ``compute`` on the learner's bundle and history; a wrong-input verdict when that is impossible."""
    problem = _bundle_problem(bundle)
    if problem:
        return None, verdict(exercise, False, problem)
    try:
        return int(compute()), None
    except Exception as err:  # a title that matches nothing, an empty history, ...
        return None, verdict(exercise, False, f"the history could not be scored ({type(err).__name__}: {err}); "
                                              "pass the same list of titles or item ids you gave to recommend.")


@checker("09.1")
def check_because_count(count: Any, bundle: Any, history: list, k: int = 10) -> Verdict:
    """``count``: in how many of the top-``k`` rows of ``recommend(bundle, history, k)`` the ``because`` column
    names the most recent film of ``history`` (its last entry)."""
    from course_lib.recommend import match_items, recommend

    def compute() -> int:
        last = str(bundle.titles[match_items(list(history), bundle.item_ids, bundle.titles)[-1]])
        table = recommend(bundle, history, k=k)
        return sum(last in because for because in table["because"])

    truth, bad = _recomputed("09.1", bundle, compute)
    if bad is not None:
        return bad
    value, bad = number_or_hint("09.1", count, "the number of rows")
    if bad is not None:
        return bad
    return verdict("09.1", value == truth,
                   f"count the rows of recommend(bundle, history, k={k}) whose `because` list contains the *last* "
                   "title of the history (the most recent film), not the first one. Titles appear as the catalogue "
                   "spells them, e.g. 'Princess Bride, The (1987)'.",
                   "The most recent film is often, but not always, the strongest reason.")


@checker("09.2")
def check_pop_coverage(coverage: Any, k: int = 50) -> Verdict:
    """``coverage``: catalogue coverage (a share between 0 and 1) of popularity's top-``k`` lists for every
    MovieLens-100k user, each user's test history removed, as in section 8."""
    from course_lib.beyond_accuracy import coverage as coverage_of
    from course_lib.models.popularity import PopularityRecommender
    from course_lib.recommend import top_k_lists

    value, bad = number_or_hint("09.2", coverage, "the coverage")
    if bad is not None:
        return bad
    _, split = movielens_split()
    lists = top_k_lists(PopularityRecommender().fit(split), split, k=k)
    truth = coverage_of(lists, split.num_items)
    if value > 1:
        return verdict("09.2", False, "coverage is a share of the catalogue: divide the number of distinct "
                                      "recommended items by the number of items.")
    return verdict("09.2", close_to(value, truth, abs_tol=5e-4),
                   f"build popularity's top-{k} lists with top_k_lists (history removed for every user) and apply "
                   "section 8's coverage formula. A list five times longer does not reach five times as many films: "
                   "every user's list starts with the same blockbusters.",
                   "Longer lists reach further down the same popularity order, so coverage grows far slower than K.")


@checker("09.3")
def check_attention_agreement(count: Any, bundle: Any, history: list, k: int = 5) -> Verdict:
    """``count``: among the top-``k`` recommendations for ``history``, how many have as their strongest occlusion
    reason the history film that receives the highest last-layer attention weight."""
    from course_lib import explain
    from course_lib.recommend import match_items, recommend

    def compute() -> int:
        seq = np.array(match_items(list(history), bundle.item_ids, bundle.titles), dtype=np.int64)
        raw = recommend(bundle, history, k=k, reasons=0)["item_id"].to_numpy()
        items = [int(np.flatnonzero(bundle.item_ids == r)[0]) for r in raw]
        looked_at = int(np.argmax(explain.attention(bundle.model, seq, items)[:, 0]))
        strongest = np.argmax(explain.occlusion(bundle.model, seq, items), axis=0)      # (k,)
        return int((strongest == looked_at).sum())

    truth, bad = _recomputed("09.3", bundle, compute)
    if bad is not None:
        return bad
    value, bad = number_or_hint("09.3", count, "the number of recommendations")
    if bad is not None:
        return bad
    return verdict("09.3", value == truth,
                   f"attention gives one weight per history film, the same for every candidate: find its largest. "
                   f"Occlusion gives one column per recommendation: find each column's largest Δ log p among the top "
                   f"{k}, and count the columns where the two films coincide.",
                   "Attention is one distribution for the whole list; occlusion is measured per recommendation.")


@checker("09.4")
def check_paired_hr(diff: Any, significant: Any) -> Verdict:
    """``diff``: HR@10 of the best model of the stored leaderboard (by NDCG@10) minus that of the second best,
    from ``metrics.compare_paired``; ``significant``: "yes" or "no", whether its 95 % paired interval excludes 0."""
    from course_lib import leaderboard, metrics

    path = leaderboard.leaderboard_path()
    if path is None:
        return verdict("09.4", False, "there is no stored leaderboard here (install from the repository).")
    ranks = {row["model"]: row["ranks"] for row in leaderboard.load_leaderboard(path)["models"]}
    best, second = sorted(ranks, key=lambda m: -metrics.per_user(ranks[m], "ndcg@10").mean())[:2]
    paired = metrics.compare_paired(ranks[best], ranks[second], "hr@10")
    value, bad = number_or_hint("09.4", diff, "the HR@10 difference")
    if bad is not None:
        return bad
    word = same_choice(significant, "yes" if paired["low"] > 0 or paired["high"] < 0 else "no", ("yes", "no"))
    if word is None:
        return verdict("09.4", False, 'answer `significant` with "yes" or "no".')
    if close_to(-value, paired["diff"], abs_tol=1e-6) and not close_to(value, 0.0, abs_tol=1e-9):
        return verdict("09.4", False, "the sign is reversed: take the best model as ranks_a, the second as ranks_b.")
    hint = ("pass metric='hr@10' to compare_paired with the two models at the top of the NDCG@10 table "
            "(best first); the difference is mean_a - mean_b.")
    if close_to(value, paired["diff"], abs_tol=1e-6) and not word:
        hint = "the difference is right; now read its interval (low, high): does it contain 0?"
    return verdict("09.4", close_to(value, paired["diff"], abs_tol=1e-6) and bool(word), hint,
                   "A difference of a few users out of 943 is well inside what resampling the users produces.")
