"""Checkers of notebook 02, both ways; the right answers are worked out here by hand or by simulation."""

from functools import lru_cache

import numpy as np
import pytest
import scipy.sparse as sp

from course_lib import metrics
from course_lib.exercises.core import movielens_split
from course_lib.exercises.evaluation import (check_history_kept_metric, check_markov_beta_curve,
                                             check_random_hit_rate, check_sampled_random_hit_rate,
                                             check_windowed_cooccurrence)
from course_lib.models.markov import MarkovRecommender
from exercise_cases import Case, run_both_ways


def expected_random_hr():
    _, split = movielens_split()
    lengths = np.array([len(h) for h in split.histories("test")])       # ML-100k: no item twice per user
    return float(np.mean(np.minimum(10, split.num_items - lengths) / (split.num_items - lengths)))


def simulated_sampled_hr(num_negatives=10, users=20_000):
    ranks = 1 + np.random.default_rng(0).integers(0, num_negatives + 1, size=users)   # target's rank among n + 1
    return float(np.mean(ranks <= 10))


def history_kept_answer():
    from course_lib.models.popularity import PopularityRecommender

    _, split = movielens_split()
    pop = PopularityRecommender().fit(split)
    a, b = (metrics.evaluate(pop, split, ks=(1, 50), exclude_history=e) for e in (True, False))
    return max(("hr@1", "hr@50", "mrr"), key=lambda m: 1 - b[m] / a[m])


@lru_cache(maxsize=2)
def markov_curve(part="valid"):
    _, split = movielens_split()
    return {b: metrics.evaluate(MarkovRecommender(beta=b).fit(split), split, part=part)["ndcg@10"]
            for b in (1, 100, 1000, 10000)}


def windowed(sequences, num_items, window):
    rows, cols = [], []
    for seq in sequences:
        for offset in range(1, window + 1):
            a, b = np.asarray(seq[:-offset]), np.asarray(seq[offset:])
            rows += [a, b]
            cols += [b, a]
    rows = np.concatenate(rows) if rows else np.empty(0, int)
    cols = np.concatenate(cols) if cols else np.empty(0, int)
    keep = rows != cols
    return sp.csr_matrix((np.ones(keep.sum()), (rows[keep], cols[keep])), shape=(num_items + 1,) * 2)


CASES = [
    Case(check_random_hit_rate, right=lambda: ((expected_random_hr(),), {}), wrong=lambda: ((10 / 1682,), {}),
         hint="history is removed"),
    Case(check_history_kept_metric, right=lambda: ((history_kept_answer(),), {}), wrong=lambda: (("mrr",), {}),
         hint="relative drop"),
    Case(check_sampled_random_hit_rate, right=lambda: ((simulated_sampled_hr(),), {}),
         wrong=lambda: ((10 / 101,), {}), hint="100 negatives"),
    Case(check_markov_beta_curve, right=lambda: ((markov_curve(),), {}), wrong=lambda: ((markov_curve("test"),), {}),
         hint="part='valid'"),
    Case(check_windowed_cooccurrence, right=lambda: ((windowed,), {}),
         wrong=lambda: ((lambda s, n, w: windowed(s, n, w) + sp.eye(n + 1),), {}), hint="diagonal"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_checker_both_ways(case, capsys):
    run_both_ways(case, capsys)


def test_bad_input_is_a_wrong_answer_not_a_traceback(capsys):
    assert not check_random_hit_rate(float("nan")) and not check_history_kept_metric(3)
    assert not check_markov_beta_curve({1: "x", 100: 0, 1000: 0, 10000: 0})
    assert not check_windowed_cooccurrence(lambda *a: 1 / 0) and not check_sampled_random_hit_rate(None)
    assert "Hint:" in capsys.readouterr().out
