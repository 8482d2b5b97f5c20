"""Checkers of notebooks 03 and 04, both ways: a right answer passes, a typical wrong one fails with its hint.

Right answers are computed here without the checkers' helpers where that is cheap (counts, pairs, ranks).
"""

from functools import lru_cache

import numpy as np
import pandas as pd
import pytest
import torch

from course_lib.embeddings import GloVeConfig, cooccurrence_matrix, train_glove, train_item2vec
from course_lib.embeddings.inspect import genre_agreement, item_genres
from course_lib.exercises.core import movielens_split
from course_lib.exercises.embeddings import (check_bias_popularity, check_cooc_nnz, check_dropped_test_targets,
                                             check_mean_glove_weight, check_mittens_penalty,
                                             check_output_norm_popularity, check_subsample_keep, check_thread_race,
                                             check_w_only_agreement)
from exercise_cases import Case, run_both_ways


def split():
    return movielens_split()[1]


def rank_corr(a, b) -> float:
    return float(pd.Series(np.asarray(a, dtype=float)).rank().corr(pd.Series(np.asarray(b, dtype=float)).rank()))


def train_counts() -> np.ndarray:
    counts = np.zeros(split().num_items + 1, dtype=int)
    for seq in split().train:
        for item in seq:
            counts[item] += 1
    return counts


def dropped_targets() -> int:
    counts = train_counts()
    return sum(counts[t] < 5 for t in split().test_targets)


@lru_cache(maxsize=1)
def item2vec():
    return train_item2vec(split().train, seed=0, epochs=1)


def output_norm_rho(vectors_name: str) -> float:
    model = item2vec()
    items = [int(k) for k in model.wv.index_to_key]                     # row r of syn1neg is index_to_key[r]
    table = model.syn1neg if vectors_name == "out" else model.wv.vectors
    return rank_corr(np.linalg.norm(table, axis=1), train_counts()[items])


def keep(counts, t):
    f = counts / counts.sum()
    return np.minimum(1.0, np.sqrt(t / f))


@lru_cache(maxsize=4)
def cooc(window=5, weighting="harmonic"):
    return cooccurrence_matrix(split().train, split().num_items + 1, window=window, weighting=weighting)


def mean_weight(x_max: float) -> float:
    x = cooc().data
    return float(np.mean([min(1.0, (v / x_max) ** 0.75) for v in x]))


def pairs_within(window: int) -> int:
    pairs = set()
    for seq in split().train:
        for d in range(1, window + 1):
            pairs.update(zip(seq[:-d].tolist(), seq[d:].tolist()))
            pairs.update(zip(seq[d:].tolist(), seq[:-d].tolist()))
    return len(pairs)


@lru_cache(maxsize=1)
def glove():
    return train_glove(cooc(), GloVeConfig(dim=8, x_max=20.0, num_epochs=2, lr=0.05, seed=0))


def agreement(table) -> float:
    ml, s = movielens_split()
    table = np.array(table, dtype=float)
    table[0] = 0.0
    return genre_agreement(table, item_genres(ml.items, s.item_ids), k=10)


def bias_rho() -> float:
    return rank_corr(glove().model.b_c.detach().numpy()[1:], train_counts()[1:])


def penalty(W, R, has_init, mu):
    return mu * ((W - R)[has_init] ** 2).sum()


def penalty_mean(W, R, has_init, mu):
    return mu * ((W - R)[has_init] ** 2).sum(1).mean()


A = np.random.default_rng(0).normal(size=(20, 4))

CASES = [
    Case(check_dropped_test_targets, right=lambda: ((dropped_targets(),), {}),
         wrong=lambda: ((int((train_counts()[1:] < 5).sum()),), {}), hint="test target"),
    Case(check_thread_race, right=lambda: ((A, A + 1e-4, False), {}), wrong=lambda: ((A, A + 1e-4, True), {}),
         hint="compare"),
    Case(check_output_norm_popularity, right=lambda: ((item2vec(), output_norm_rho("out")), {}),
         wrong=lambda: ((item2vec(), output_norm_rho("in")), {}), hint="syn1neg"),
    Case(check_subsample_keep, right=lambda: ((keep,), {}),
         wrong=lambda: ((lambda c, t: 1 - keep(c, t),), {}), hint="keeping"),
    Case(check_mean_glove_weight, right=lambda: ((mean_weight(100.0),), {}),
         wrong=lambda: ((mean_weight(20.0),), {}), hint="x_max", secret=round(mean_weight(100.0), 4)),
    Case(check_cooc_nnz, right=lambda: ((pairs_within(2),), {}), wrong=lambda: ((pairs_within(5),), {}),
         hint="window", secret=pairs_within(2)),
    Case(check_w_only_agreement, right=lambda: ((glove(), agreement(glove().model.W.detach().numpy())), {}),
         wrong=lambda: ((glove(), agreement(glove().model.W.detach().numpy()) + 0.05), {}), hint="genre_agreement"),
    Case(check_bias_popularity, right=lambda: ((glove(), bias_rho()), {}),
         wrong=lambda: ((glove(), -bias_rho()), {}), hint="b_c"),
    Case(check_mittens_penalty, right=lambda: ((penalty,), {}), wrong=lambda: ((penalty_mean,), {}), hint="sum"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_checker_both_ways(case, capsys):
    run_both_ways(case, capsys)


def test_bad_input_is_a_hint_not_a_traceback(capsys):
    assert not check_dropped_test_targets("many").ok
    assert not check_thread_race("a", None, False).ok
    assert not check_subsample_keep(lambda c, t: 1 / 0).ok
    assert not check_mittens_penalty(None).ok
    assert not check_w_only_agreement(object(), 0.5).ok
    assert "Hint:" in capsys.readouterr().out
