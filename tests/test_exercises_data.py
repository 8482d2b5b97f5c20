"""Checkers of notebooks 00 and 01, both ways; the right answers are worked out here by hand (pandas, NumPy)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from course_lib.exercises.core import movielens_split
from course_lib.exercises.data import (check_badge_files, check_bot_rule, check_doctor_warning_rows,
                                       check_kcore_drop, check_pad_left_function, check_pad_left_prediction,
                                       check_rating_five_survivors, check_valid_targets_moved)
from exercise_cases import Case, run_both_ways

ROOT = Path(__file__).resolve().parent.parent
KERNEL_ROWS = ["ipykernel", "jupyter_client", "nbclient", "nbformat", "notebook front end"]


def by_hand_pad_left(histories, max_len):
    out = np.zeros((len(histories), max_len), dtype=np.int64)
    for row, seq in enumerate(histories):
        tail = list(seq)[-max_len:]
        out[row, max_len - len(tail):] = tail
    return out


def by_hand_kcore(frame, k):
    while True:
        users = frame.groupby("user_id")["item_id"].transform("size")
        items = frame.groupby("item_id")["user_id"].transform("size")
        if ((users >= k) & (items >= k)).all():
            return frame
        frame = frame[(users >= k) & (items >= k)]


def kcore_dropped():
    ml, _ = movielens_split()
    return len(ml.interactions) - len(by_hand_kcore(ml.interactions, 20))


def rating_five_answer():
    ml, _ = movielens_split()
    kept = by_hand_kcore(ml.interactions[ml.interactions["rating"] == 5], 5)
    rows = ml.interactions.merge(ml.items, on="item_id").explode("genres")
    counts = rows.groupby("genres")["rating"].agg(lambda r: (r < 5).mean()).to_frame("lost")
    counts["n"] = rows.groupby("genres").size()
    genre = counts[counts["n"] >= 100]["lost"].idxmax()
    return kept["user_id"].nunique(), kept["item_id"].nunique(), genre


def valid_targets(frame, descending):
    order = frame.sort_values(["user_id", "timestamp", "item_id"], ascending=[True, True, not descending])
    return order.groupby("user_id")["item_id"].nth(-2).to_numpy()


def valid_share():
    ml, _ = movielens_split()
    return float(np.mean(valid_targets(ml.interactions, False) != valid_targets(ml.interactions, True)))


def median_gap_rule(log):
    ordered = log.sort_values(["user_id", "timestamp"])
    gaps = ordered.groupby("user_id")["timestamp"].diff()
    stats = gaps.groupby(ordered["user_id"]).agg(["median", "size"])
    return stats[(stats["size"] >= 50) & (stats["median"] <= 300)].index.tolist()


def badge_files():
    """The pages course badges looks at (its own list) that carry a Colab badge or a GitHub clone URL."""
    from course_lib.commands.badges import targets

    files = [p for p in targets(ROOT) if p.exists() and any(
        mark in p.read_text(encoding="utf-8") for mark in ("colab.research.google.com/github/", "git clone"))]
    return [str(p.relative_to(ROOT)) for p in files]


CASES = [
    Case(check_doctor_warning_rows, right=lambda: ((KERNEL_ROWS + ["dataset ml-100k", "model hub"],), {}),
         wrong=lambda: ((["model hub", "device"],), {}), hint="required=False"),
    Case(check_pad_left_prediction, right=lambda: (([[2, 3]],), {}), wrong=lambda: (([[1, 2]],), {}),
         hint="most recent"),
    Case(check_pad_left_function, right=lambda: ((by_hand_pad_left,), {}),
         wrong=lambda: ((lambda h, m: by_hand_pad_left([list(s)[:m] for s in h], m),), {}), hint="last max_len"),
    Case(check_badge_files, right=lambda: ((badge_files(),), {}), wrong=lambda: ((["README.md"],), {}),
         hint="targets()"),
    Case(check_kcore_drop, right=lambda: ((kcore_dropped(),), {}), wrong=lambda: ((0,), {}), hint="items",
         secret=5557),
    Case(check_rating_five_survivors, right=lambda: (rating_five_answer(), {}),
         wrong=lambda: (rating_five_answer()[:2] + ("unknown",), {}), hint="fewer than 100", secret="Fantasy"),
    Case(check_valid_targets_moved, right=lambda: ((valid_share(),), {}), wrong=lambda: ((0.44,), {}),
         hint="valid_targets"),
    Case(check_bot_rule, right=lambda: ((median_gap_rule,), {}),
         wrong=lambda: ((lambda log: [u for u, n in log.groupby("user_id").size().items() if n >= 50 and
                                      log[log.user_id == u].timestamp.diff().median() <= 5],), {}), hint="gap"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_checker_both_ways(case, capsys):
    run_both_ways(case, capsys)


def test_bad_input_is_a_wrong_answer_not_a_traceback(capsys):
    assert not check_kcore_drop(float("nan")) and not check_pad_left_prediction("[[2, 3]]")
    assert not check_pad_left_function(42) and not check_bot_rule(lambda log: 1 / 0)
    assert not check_valid_targets_moved(54) and not check_doctor_warning_rows("model hub")
    assert "Hint:" in capsys.readouterr().out
