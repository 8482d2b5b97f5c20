"""Ranks and metrics checked against hand-computed values."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

from course_lib import metrics
from course_lib.sequences import leave_one_out

# 1 user, 5 items (+ padding column 0). Scores: item 3 best, then 1, then 4 = 5 (tie), then 2.
SCORES = np.array([[9.0, 0.8, 0.1, 0.9, 0.5, 0.5]])


def test_rank_by_hand():
    assert metrics.target_ranks(SCORES, [3]).tolist() == [1]
    assert metrics.target_ranks(SCORES, [1]).tolist() == [2]
    assert metrics.target_ranks(SCORES, [2]).tolist() == [5]


def test_ties_count_against_the_target():
    # items 4 and 5 share 0.5: whichever is the target, the other ranks above it
    assert metrics.target_ranks(SCORES, [4]).tolist() == [4]
    assert metrics.target_ranks(SCORES, [5]).tolist() == [4]
    constant = np.zeros((3, 11))
    assert metrics.target_ranks(constant, [1, 5, 10]).tolist() == [10, 10, 10]   # last, never "perfect"


def test_padding_column_never_competes():
    # column 0 has the highest score in SCORES; ranks above already ignore it. Also with +inf:
    scores = SCORES.copy()
    scores[0, 0] = np.inf
    assert metrics.target_ranks(scores, [3]).tolist() == [1]


def test_exclusions_remove_history_but_never_the_target():
    assert metrics.target_ranks(SCORES, [1], exclude=[[3]]).tolist() == [1]
    assert metrics.target_ranks(SCORES, [2], exclude=[[3, 4, 2]]).tolist() == [3]   # 2 itself stays
    mask = np.zeros_like(SCORES, dtype=bool)
    mask[0, [3, 4, 2]] = True
    assert metrics.target_ranks(SCORES, [2], exclude=mask).tolist() == [3]
    assert metrics.target_ranks(SCORES, [2], exclude=[[]]).tolist() == [5]


def test_minus_inf_is_allowed_and_nan_raises():
    scores = SCORES.copy()
    scores[0, 2] = -np.inf
    assert metrics.target_ranks(scores, [2]).tolist() == [5]
    assert metrics.target_ranks(scores, [1]).tolist() == [2]
    broken = np.tile(SCORES, (4, 1))
    broken[[0, 2], 3] = np.nan
    with pytest.raises(ValueError, match="NaN in 2 of 4 row"):
        metrics.target_ranks(broken, [1, 1, 1, 1])


def test_torch_and_numpy_give_identical_ranks():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 5, size=(64, 30)).astype(np.float32)   # many ties on purpose
    targets = rng.integers(1, 30, size=64)
    history = [rng.integers(1, 30, size=rng.integers(0, 6)) for _ in range(64)]
    from_numpy = metrics.target_ranks(scores, targets, history)
    from_torch = metrics.target_ranks(torch.from_numpy(scores), torch.from_numpy(targets), history)
    assert np.array_equal(from_numpy, from_torch)
    # brute force, one row at a time
    for row in range(64):
        others = [j for j in range(1, 30) if j != targets[row] and j not in set(history[row])]
        assert from_numpy[row] == 1 + sum(scores[row, j] >= scores[row, targets[row]] for j in others)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gpu_scores_rank_like_cpu_scores():
    rng = np.random.default_rng(2)
    scores = torch.from_numpy(rng.integers(0, 4, size=(32, 50)).astype(np.float32))
    targets = rng.integers(1, 50, size=32)
    history = [rng.integers(1, 50, size=4) for _ in range(32)]
    assert np.array_equal(metrics.target_ranks(scores.cuda(), targets, history),
                          metrics.target_ranks(scores, targets, history))


@pytest.mark.parametrize("scores, targets, exclude, message", [
    (np.zeros((0, 5)), [], None, "empty"),
    (np.zeros(5), [1], None, "2-D"),
    (np.zeros((2, 5)), [1], None, "1 entries but scores has 2 rows"),
    (np.zeros((2, 5)), [1, 5], None, "outside 1..4"),
    (np.zeros((2, 5)), [0, 1], None, "outside 1..4"),
    (np.zeros((2, 5)), [1.0, 2.0], None, "integer"),
    (np.zeros((2, 5)), [1, 2], [[1]], "exclude has 1 rows"),
    (np.zeros((2, 5)), [1, 2], [[1], [7]], "outside 0..4"),
    (np.zeros((2, 5)), [1, 2], np.zeros((2, 4), dtype=bool), "mask has shape"),
    (np.zeros((2, 1)), [1, 1], None, "at least one item"),
])
def test_bad_inputs_raise_clear_errors(scores, targets, exclude, message):
    with pytest.raises(ValueError, match=message):
        metrics.target_ranks(scores, targets, exclude)


def test_summarize_by_hand():
    ranks = np.array([1, 2, 4, 11])
    out = metrics.summarize(ranks, ks=(1, 10))
    assert out["hr@10"] == pytest.approx(3 / 4)
    assert out["recall@10"] == out["hr@10"]
    assert out["hr@1"] == pytest.approx(1 / 4)
    assert out["ndcg@10"] == pytest.approx((1 + 1 / math.log2(3) + 1 / math.log2(5)) / 4)
    assert out["mrr@10"] == pytest.approx((1 + 1 / 2 + 1 / 4) / 4)
    assert out["mrr"] == pytest.approx((1 + 1 / 2 + 1 / 4 + 1 / 11) / 4)
    assert out["precision@10"] == pytest.approx(3 / 4 / 10)
    p, r = out["precision@10"], out["recall@10"]
    assert out["f1@10"] == pytest.approx(2 * p * r / (p + r))
    assert set(metrics.summarize(ranks)) >= {"hr@5", "ndcg@20", "mrr@10", "f1@5", "mrr"}


def test_k_larger_than_catalogue():
    ranks = metrics.target_ranks(np.random.default_rng(1).random((20, 6)), np.arange(20) % 5 + 1)
    out = metrics.summarize(ranks, ks=(50,))
    assert out["hr@50"] == 1.0
    assert out["precision@50"] == pytest.approx(1 / 50)


def test_per_user_and_bad_metric_names():
    assert metrics.per_user([1, 3], "hr@2").tolist() == [1.0, 0.0]
    for bad in ("ndcg", "auc@10", "hr@0"):
        with pytest.raises(ValueError, match="metric"):
            metrics.per_user([1, 2], bad)
    with pytest.raises(ValueError, match="1-based"):
        metrics.summarize([0, 1])
    with pytest.raises(ValueError, match="non-empty"):
        metrics.summarize([])


def test_bootstrap_ci_contains_the_mean_and_shrinks_with_more_users():
    rng = np.random.default_rng(0)
    small = rng.random(50) < 0.3
    mean, low, high = metrics.bootstrap_ci(small, seed=1)
    assert low < mean < high
    _, low_big, high_big = metrics.bootstrap_ci(np.tile(small, 16), seed=1)
    assert high_big - low_big < (high - low) / 2


def test_compare_paired_detects_a_real_difference_only():
    rng = np.random.default_rng(0)
    good = rng.integers(1, 5, size=400)
    bad = good + rng.integers(5, 20, size=400)       # always worse
    result = metrics.compare_paired(good, bad, "ndcg@10")
    assert result["diff"] > 0 and result["low"] > 0 and result["p_value"] < 0.01
    assert result["wins"] > 0 and result["losses"] == 0
    same = metrics.compare_paired(good, good, "ndcg@10")
    assert same["diff"] == 0 and same["p_value"] > 0.5 and same["ties"] == 400
    with pytest.raises(ValueError, match="same users"):
        metrics.compare_paired(good, good[:10])


class _Oracle:
    """Scores the next item of a fixed answer key highest; also the history item 1 (to test exclusion)."""

    def __init__(self, answers: dict, num_items: int):
        self.answers, self.num_items, self.seen = answers, num_items, []

    def scores(self, seqs: torch.Tensor) -> torch.Tensor:
        self.seen.append(seqs.shape)
        out = torch.zeros(len(seqs), self.num_items + 1)
        out[:, 1] = 5.0
        for row, seq in enumerate(seqs.tolist()):
            out[row, self.answers[tuple(x for x in seq if x)]] = 1.0
        out[:, 0] = float("-inf")
        return out


def _tiny_split():
    log = pd.DataFrame({"user_id": [1, 1, 1, 1, 2, 2, 2],
                        "item_id": [10, 20, 30, 40, 10, 30, 20],
                        "timestamp": [1, 2, 3, 4, 1, 2, 3]})
    return leave_one_out(log)          # items 10,20,30,40 -> 1,2,3,4


def test_evaluate_excludes_full_history_and_batches():
    split = _tiny_split()
    answers = {tuple(h.tolist()): t for h, t in zip(split.histories("test"), split.test_targets)}
    model = _Oracle(answers, split.num_items)
    out = metrics.evaluate(model, split, part="test", ks=(1,), batch_size=1, return_ranks=True)
    assert out["hr@1"] == 1.0 and out["ranks"].tolist() == [1, 1]   # item 1 (in every history) excluded
    assert model.seen == [(1, 50), (1, 50)]
    kept = metrics.evaluate(model, split, part="test", ks=(1,), exclude_history=False, return_ranks=True)
    assert kept["ranks"].tolist() == [2, 2]                          # item 1 now outranks the target


def test_evaluate_rejects_wrong_score_width_and_restores_train_mode():
    split = _tiny_split()

    class Wrong(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.zeros(1))

        def scores(self, seqs):
            assert not self.training
            return torch.zeros(len(seqs), 3)

    model = Wrong().train()
    with pytest.raises(ValueError, match=r"expected \(2, 5\)"):
        metrics.evaluate(model, split)
    assert model.training


def test_sampled_evaluation_inflates_and_matches_full_ranking_when_it_samples_everything(capsys):
    from course_lib.evaluation import evaluate_sampled, sampled_ranks, candidate_weights

    split = _tiny_split()                                      # 4 items; valid histories [1, 2] and [1]
    answers = {tuple(h.tolist()): t for h, t in zip(split.histories("valid"), split.valid_targets)}
    model = _Oracle(answers, split.num_items)
    out = evaluate_sampled(model, split, part="valid", num_negatives=1, ks=(1,), return_ranks=True)
    assert "NOT comparable" in capsys.readouterr().out
    assert out["ranks"].tolist() == [1, 1]
    # all remaining candidates sampled -> identical to full ranking
    rng = np.random.default_rng(0)
    scores = torch.from_numpy(rng.integers(0, 4, size=(50, 21)).astype(np.float32))
    targets = rng.integers(1, 21, size=50)
    full = metrics.target_ranks(scores, targets)
    gen = torch.Generator().manual_seed(0)
    weights = torch.ones(21)
    weights[0] = 0
    assert np.array_equal(sampled_ranks(scores, targets, None, weights, 19, gen), full)
    few = sampled_ranks(scores, targets, None, weights, 5, gen)
    assert np.all(few <= full) and np.all(few <= 6)
    with pytest.raises(ValueError, match="fewer than num_negatives"):
        sampled_ranks(scores, targets, None, weights, 20, gen)
    with pytest.raises(ValueError, match="sampling"):
        candidate_weights(split, "zipf")
    assert candidate_weights(split, "popularity").tolist() == [0, 2, 1, 0, 0]   # training counts
