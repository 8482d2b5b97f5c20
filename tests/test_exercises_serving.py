"""Checkers of notebook 09 (recommending for a person), both ways; truths recomputed here by hand."""

from functools import lru_cache

import numpy as np
import pytest
import torch

from course_lib import explain
from course_lib.bundle import in_memory
from course_lib.exercises.core import movielens_split
from course_lib.exercises.serving import (check_attention_agreement, check_because_count, check_paired_hr,
                                          check_pop_coverage)
from course_lib.leaderboard import leaderboard_path, load_leaderboard
from course_lib.models.sasrec import SASRec, SASRecConfig
from exercise_cases import Case, run_both_ways

HISTORY = ["Star Wars (1977)", "Fargo", "Toy Story", "pulp fiction", "The Princess Bride"]


@lru_cache(maxsize=1)
def tiny_bundle():
    """An untrained one-layer SASRec over MovieLens-100k: explanations work on any weights."""
    torch.manual_seed(0)
    ml, split = movielens_split()
    model = SASRec(SASRecConfig(num_items=split.num_items, hidden_dim=16, num_layers=1, dropout=0.0)).eval()
    return in_memory(model, split, ml.items, name="sasrec")


def _top_and_occlusion(k):
    bundle = tiny_bundle()
    seq = np.array([1 + list(bundle.titles[1:]).index(t) for t in
                    ("Star Wars (1977)", "Fargo (1996)", "Toy Story (1995)", "Pulp Fiction (1994)",
                     "Princess Bride, The (1987)")])
    with torch.no_grad():
        scores = bundle.model.scores(torch.as_tensor(seq)[None]).float()[0]
    scores[0], scores[seq] = -np.inf, -np.inf
    top = np.argsort(-scores.numpy(), kind="stable")[:k].tolist()
    return seq, top, explain.occlusion(bundle.model, seq, top)


def because_count(k=10):
    seq, top, occ = _top_and_occlusion(k)
    last = len(seq) - 1
    return sum(last in [h for h in np.argsort(-occ[:, j], kind="stable")[:2] if occ[h, j] > 0] for j in range(k))


def agreement(k=5):
    seq, top, occ = _top_and_occlusion(k)
    looked_at = int(np.argmax(explain.attention(tiny_bundle().model, seq, top)[:, 0]))
    return int((occ.argmax(axis=0) == looked_at).sum())


def pop_coverage(k=50):
    _, split = movielens_split()
    counts = np.bincount(np.concatenate(split.histories("valid")), minlength=split.num_items + 1).astype(float)
    counts[0] = -np.inf
    order = np.argsort(-counts, kind="stable")
    seen = set()
    for history in split.histories("test"):
        mask = ~np.isin(order, history)
        seen.update(order[mask][:k].tolist())
    return len(seen) / split.num_items


def hr_diff():
    models = {row["model"]: np.asarray(row["ranks"]) for row in load_leaderboard(leaderboard_path())["models"]}
    ndcg = {m: np.mean(np.where(r <= 10, 1 / np.log2(r + 1), 0)) for m, r in models.items()}
    best, second = sorted(ndcg, key=ndcg.get, reverse=True)[:2]
    return float((models[best] <= 10).mean() - (models[second] <= 10).mean())


CASES = [
    Case(check_because_count, right=lambda: ((because_count(), tiny_bundle(), HISTORY), {}),
         wrong=lambda: ((because_count() + 1, tiny_bundle(), HISTORY), {}), hint="last"),
    Case(check_pop_coverage, right=lambda: ((pop_coverage(),), {}),
         wrong=lambda: ((5 * pop_coverage(10),), {}), hint="top_k_lists", secret=round(pop_coverage(), 3)),
    Case(check_attention_agreement, right=lambda: ((agreement(), tiny_bundle(), HISTORY), {}),
         wrong=lambda: ((agreement() + 1, tiny_bundle(), HISTORY), {}), hint="occlusion"),
    Case(check_paired_hr, right=lambda: ((hr_diff(), "no"), {}),
         wrong=lambda: ((hr_diff(), "yes"), {}), hint="interval"),
    Case(check_paired_hr, right=lambda: ((hr_diff(), " No "), {}),
         wrong=lambda: ((-hr_diff(), "no"), {}), hint="sign", id="check_paired_hr_sign"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_checker_both_ways(case, capsys):
    run_both_ways(case, capsys)


def test_bad_input_is_a_hint_not_a_traceback(capsys):
    assert not check_because_count("three", tiny_bundle(), HISTORY)
    assert not check_because_count(2, "bundle", HISTORY)
    assert not check_attention_agreement(1, tiny_bundle(), ["Star Warz"])
    assert not check_pop_coverage(float("nan"))
    assert not check_pop_coverage(260)
    assert not check_paired_hr(0.0, "maybe")
    assert capsys.readouterr().out.count("Hint:") == 6
