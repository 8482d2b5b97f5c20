"""Checkers for notebooks 00 (welcome: the tools, the input format) and 01 (data cleaning).

Each checker recomputes the truth from the course's own code and data (``course doctor``'s rows, ``pad_left``,
``course badges``, MovieLens-100k, the synthetic shop) in about a second, and never prints it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable
from unittest import mock

import numpy as np
import pandas as pd

from course_lib.exercises.core import Verdict, checker, movielens_split, number_or_hint, verdict

FORK_URL = "https://github.com/someone-else/llm-seqrec-course"   # any repository but the checkout's own


def _names(answer: Any) -> set[str] | None:
    """A list/tuple/set of names as a set of lower-case stripped strings; None when it is not one."""
    if isinstance(answer, str) or not isinstance(answer, (list, tuple, set, frozenset)):
        return None
    if not all(isinstance(a, (str, Path)) for a in answer):
        return None
    return {str(a).strip().lower() for a in answer}


def _compare_names(exercise: str, answer: Any, truth: set[str], look: str, praise: str) -> Verdict:
    """Right when the set of names equals ``truth``; the hint counts what is missing and what is extra."""
    given = _names(answer)
    if given is None:
        return verdict(exercise, False, f"pass a list of names as strings (got {type(answer).__name__}).")
    missing, extra = len(truth - given), len(given - truth)
    return verdict(exercise, given == truth,
                   f"{missing} name(s) missing and {extra} that do not belong. {look}", praise)


@checker("00.1")
def check_doctor_warning_rows(rows: Any) -> Verdict:
    """``rows``: the names of the ``course doctor`` rows that can only ever *warn* (never FAIL), as printed
    in its table (e.g. ``"nbformat"``)."""
    from course_lib.commands import doctor

    with mock.patch.dict(os.environ, {"HF_HUB_OFFLINE": "1"}):          # no network: the row's kind is the same
        optional = doctor.check_kernel_stack() + [doctor.check_dataset(), doctor.check_hub()]
    truth = {r.name.lower() for r in optional if not r.required}
    return _compare_names("00.1", rows, truth,
                          "Rows built with required=False only warn; look for them in course_lib/commands/doctor.py "
                          "(the device row can FAIL when COURSE_DEVICE names a missing device).",
                          "What the course can do without (a hub, a notebook front end, a cached file) only warns.")


def _as_int_matrix(value: Any) -> np.ndarray | None:
    """A tensor, array or (nested) list of integers as a 2-D int64 array; None when it is not one."""
    try:
        if hasattr(value, "detach"):
            value = value.detach().cpu().numpy()
        array = np.asarray(value)
        if array.dtype == object or not np.issubdtype(array.dtype, np.number):
            return None
        array = array.reshape(1, -1) if array.ndim == 1 else array
        return array.astype(np.int64) if array.ndim == 2 and np.all(array == np.round(array)) else None
    except (TypeError, ValueError):
        return None


@checker("00.2")
def check_pad_left_prediction(prediction: Any) -> Verdict:
    """``prediction``: what you predict ``pad_left([np.array([1, 2, 3])], max_len=2)`` returns, as a list of rows
    (or one row)."""
    from course_lib.sequences import pad_left

    truth = pad_left([np.array([1, 2, 3])], max_len=2).numpy()
    given = _as_int_matrix(prediction)
    if given is None or given.shape != truth.shape:
        return verdict("00.2", False, "the result has one row per history and max_len columns: "
                                      "pass one row of max_len item ids.")
    return verdict("00.2", np.array_equal(given, truth),
                   "when a history is longer than max_len, which end holds the most recent items, and which "
                   "item does a next-item model need most?",
                   "The oldest item goes: the most recent ones carry the most signal about the next one.")


PAD_CASES = ([[3, 1, 4, 1, 5], [9], []], 3), ([[7, 8], [1, 2, 3, 4]], 1), ([np.array([5, 6, 7])], 6)


@checker("00.3")
def check_pad_left_function(my_pad_left: Callable) -> Verdict:
    """``my_pad_left(histories, max_len)``: your own version of ``pad_left`` (NumPy or torch), returning the
    (B, max_len) matrix of item ids."""
    from course_lib.sequences import pad_left

    if not callable(my_pad_left):
        return verdict("00.3", False, f"pass the function itself, not a {type(my_pad_left).__name__}.")
    for histories, max_len in PAD_CASES:
        truth = pad_left(histories, max_len).numpy()
        try:
            got = _as_int_matrix(my_pad_left(histories, max_len))
        except Exception as err:  # the learner's code
            return verdict("00.3", False, f"your function raised {type(err).__name__}: {err} on histories of "
                                          f"lengths {[len(h) for h in histories]} (an empty one included?).")
        if got is None or got.shape != truth.shape:
            return verdict("00.3", False, f"with {len(histories)} histories and max_len={max_len} the result must "
                                          f"have shape ({len(histories)}, {max_len}), one row per history.")
        if not np.array_equal(got, truth):
            return verdict("00.3", False, f"wrong values for max_len={max_len}: zeros go on the left, the most "
                                          "recent item in the last column, and only the last max_len items stay.")
    return verdict("00.3", True, "", "Same matrix as course_lib's pad_left on every test input.")


@checker("00.5")
def check_badge_files(files: Any) -> Verdict:
    """``files``: the files ``course badges`` rewrites when ``[project.urls] Repository`` points at a fork
    (paths or file names, e.g. ``"notebooks/00_welcome.ipynb"``)."""
    from course_lib import runtime
    from course_lib.commands.badges import rewrite, targets

    root = runtime.repo_root()
    if root is None:
        return verdict("00.5", False, "run this from a checkout of the course (a folder with pyproject.toml).")
    truth = {p.name.lower() for p in targets(root)
             if p.exists() and rewrite(p.read_text(encoding="utf-8"), FORK_URL) != p.read_text(encoding="utf-8")}
    given = _names(files)
    answer = [Path(f).name for f in files] if given is not None else files
    return _compare_names("00.5", answer, truth,
                          "Read course badges' output, or course_lib/commands/badges.py: which files does targets() "
                          "list, and which of them hold a Colab badge or a clone URL?",
                          "Every page with a Colab badge or a clone URL follows the repository named once in pyproject.")


@checker("01.1")
def check_kcore_drop(n_dropped: Any) -> Verdict:
    """``n_dropped``: how many rows ``cleaning.clean(interactions, k=20)`` drops from MovieLens-100k."""
    from course_lib import cleaning

    ml, _ = movielens_split()
    truth = cleaning.clean(ml.interactions, k=20)[1].rows_dropped
    value, bad = number_or_hint("01.1", n_dropped, "the number of dropped rows")
    if bad is not None:
        return bad
    hint = ("every user has 20 ratings, but items are filtered too, and dropping an item's rows can push a user "
            "below 20: the k-core repeats until nothing changes. Read the report's 'dropped' column.")
    if value == 0:
        hint = "the users all pass, but do all 1,682 items have 20 ratings? " + hint[0].upper() + hint[1:]
    return verdict("01.1", value == truth, hint, "Items fail the 20-core first, and then some users follow.")


def _genre_loss(interactions: pd.DataFrame, items: pd.DataFrame, min_rating: int, min_ratings: int) -> pd.Series:
    """Share of each genre's ratings below ``min_rating``, for genres with at least ``min_ratings`` ratings."""
    rows = interactions[["item_id", "rating"]].merge(items[["item_id", "genres"]], on="item_id").explode("genres")
    grouped = (rows["rating"] < min_rating).groupby(rows["genres"])
    return grouped.mean()[grouped.size() >= min_ratings].sort_values(ascending=False)


@checker("01.2")
def check_rating_five_survivors(users: Any, items: Any, genre: Any) -> Verdict:
    """``users``, ``items``: how many survive ``clean(interactions, min_rating=5, k=5)``; ``genre``: the genre
    (with at least 100 ratings) that loses the largest share of its ratings when only 5s are kept."""
    from course_lib import cleaning

    ml, _ = movielens_split()
    kept = cleaning.clean(ml.interactions, min_rating=5, k=5)[0]
    n_users, bad = number_or_hint("01.2", users, "the number of users (first argument)")
    if bad is not None:
        return bad
    n_items, bad = number_or_hint("01.2", items, "the number of items (second argument)")
    if bad is not None:
        return bad
    if (n_users, n_items) != (kept["user_id"].nunique(), kept["item_id"].nunique()):
        return verdict("01.2", False, "count users and items in the frame clean(..., min_rating=5, k=5) returns "
                                      "(after the 5-core too), or read the last row of its report.")
    top = _genre_loss(ml.interactions, ml.items, 5, 100).index[0]
    if not isinstance(genre, str) or genre.strip().lower() != top.lower():
        return verdict("01.2", False, "users and items are right. For the genre, divide each genre's ratings "
                                      "below 5 by all its ratings (a film counts once per genre it has), and leave "
                                      "out genres with fewer than 100 ratings: a share of a handful is noise.")
    return verdict("01.2", True, "", "Keeping only 5s removes most of the log, and the 5-core then removes more than half of the catalogue.")


@checker("01.4")
def check_valid_targets_moved(share: Any) -> Verdict:
    """``share``: the fraction (0 to 1) of users whose *validation* target changes when ``leave_one_out`` uses
    ``tie_break="item_id_desc"`` instead of the default."""
    from course_lib.sequences import leave_one_out

    ml, split = movielens_split()
    desc = leave_one_out(ml.interactions, tie_break="item_id_desc")
    truth = float(np.mean(split.item_ids[split.valid_targets] != desc.item_ids[desc.valid_targets]))
    value, bad = number_or_hint("01.4", share, "the share as a fraction between 0 and 1")
    if bad is not None:
        return bad
    if value > 1:
        return verdict("01.4", False, "pass a fraction between 0 and 1 (a count or a percentage is not one).")
    test_share = float(np.mean(split.item_ids[split.test_targets] != desc.item_ids[desc.test_targets]))
    hint = "compare split.valid_targets of the two splits (as raw ids, via item_ids), not the test targets."
    if abs(value - test_share) < 0.005:
        hint = "that is the share of *test* targets; " + hint
    return verdict("01.4", abs(value - truth) < 0.005, hint,
                   "Ties decide validation targets too: fix the rule before any model is tuned on them.")


def _log_with_slow_bots(seed: int, n_slow: int = 3, gap_s: tuple[int, int] = (25, 36)) -> tuple[pd.DataFrame, set]:
    """The synthetic shop's log without invalid rows, plus ``n_slow`` bots clicking every ~30 s; all bot ids."""
    from course_lib import cleaning
    from course_lib.data import synthetic

    shop = synthetic.make_shop_log(seed=seed)
    log = cleaning.drop_invalid(shop.interactions, known_items=shop.items["item_id"])[0]
    log = log.astype({"timestamp": "int64"})
    rng = np.random.default_rng(seed)
    first = int(log["user_id"].max()) + 1
    slow = [pd.DataFrame({"user_id": first + b, "item_id": rng.integers(1, len(shop.items) + 1, 200),
                          "timestamp": 1_700_000_000 + np.cumsum(rng.integers(*gap_s, size=200))})
            for b in range(n_slow)]
    log = pd.concat([log, *slow], ignore_index=True)[["user_id", "item_id", "timestamp"]]
    return log, set(shop.truth["bot_users"]) | set(range(first, first + n_slow))


@checker("01.5")
def check_bot_rule(find_bots: Callable) -> Verdict:
    """``find_bots(log) -> user ids``: your rule, given a log with columns ``user_id, item_id, timestamp`` and no
    missing values; it must find the shop's fast bots and bots that click every ~30 s, and no human."""
    if not callable(find_bots):
        return verdict("01.5", False, f"pass the function itself, not a {type(find_bots).__name__}.")
    for seed in (1, 2):
        log, bots = _log_with_slow_bots(seed)
        try:
            found = {int(u) for u in np.asarray(list(find_bots(log.copy()))).ravel()}
        except Exception as err:  # the learner's code
            return verdict("01.5", False, f"your function raised {type(err).__name__}: {err}; it gets a DataFrame "
                                          "with user_id, item_id, timestamp and returns user ids.")
        missed, humans = len(bots - found), len(found - bots)
        if missed or humans:
            return verdict("01.5", False, f"on a test log your rule missed {missed} bot(s) and flagged {humans} "
                                          "human(s). Compare the two kinds of users: how many events, and what gap "
                                          "between them? Humans here wait minutes to hours.")
    return verdict("01.5", True, "", "Both kinds of bots found and every human kept, on two fresh logs.")
