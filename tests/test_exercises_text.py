"""Checkers of notebook 07, both ways: a right answer passes, a typical wrong one fails with its hint.

The right answers are computed here from the raw tables (genres, targets), not with the checkers' helpers.
"""

import numpy as np
import pytest
import torch

from course_lib.coldstart import cold_start_split
from course_lib.exercises.core import movielens_split
from course_lib.exercises.text import (check_cold_test_targets, check_id_dropout, check_last_item_genre_share,
                                       check_title_only_agreement)
from exercise_cases import Case, run_both_ways

GENRE_COLUMNS_SEP = "|"


def genre_sets():
    ml, split = movielens_split()
    by_raw = {row.item_id: set(row.genres.split(GENRE_COLUMNS_SEP)) if isinstance(row.genres, str) else set(row.genres)
              for row in ml.items.itertuples()}
    return [set()] + [by_raw[raw] for raw in split.item_ids[1:]]


def last_item_share() -> float:
    _, split = movielens_split()
    genres = genre_sets()
    return float(np.mean([len(genres[t] & genres[seq[-1]]) > 0 for seq, t in zip(split.train, split.valid_targets)]))


def cold_counts() -> tuple[int, int]:
    ml, _ = movielens_split()
    cold = cold_start_split(ml.interactions, 0.3, seed=42)
    return int(np.isin(cold.split.test_targets, cold.cold_items).sum()), len(cold.cold_items)


def row_dropout(ids, p):
    keep = (torch.rand(ids.shape[0], 1) >= p).float()
    return ids * keep


def entry_dropout(ids, p):
    return torch.nn.functional.dropout(ids, p)


CASES = [
    Case(check_title_only_agreement, right=lambda: (("down",), {}), wrong=lambda: (("up",), {}), hint="genre"),
    Case(check_last_item_genre_share, right=lambda: ((last_item_share(),), {}),
         wrong=lambda: ((last_item_share() - 0.05,), {}), hint="valid_targets", secret=round(last_item_share(), 3)),
    Case(check_cold_test_targets, right=lambda: ((cold_counts()[0],), {}), wrong=lambda: ((cold_counts()[1],), {}),
         hint="cold items", secret=cold_counts()[0]),
    Case(check_id_dropout, right=lambda: ((row_dropout,), {}), wrong=lambda: ((entry_dropout,), {}), hint="whole rows"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_checker_both_ways(case, capsys):
    run_both_ways(case, capsys)


def test_bad_input_is_a_hint_not_a_traceback(capsys):
    assert not check_title_only_agreement(3).ok
    assert not check_last_item_genre_share("half").ok
    assert not check_id_dropout(lambda ids, p: 1 / 0).ok
    assert not check_id_dropout(lambda ids, p: ids * 1.0 / (1 - p) * (torch.rand(ids.shape[0], 1) >= p)).ok
    assert "Hint:" in capsys.readouterr().out
