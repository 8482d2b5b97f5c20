"""Tests of course_lib.coldstart (long-tail groups, cold-start split) and the zero-shot text scorer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from course_lib import coldstart
from course_lib.embeddings.recommender import normalise_rows
from course_lib.models.text_zero_shot import TextZeroShot
from course_lib.sequences import leave_one_out


def make_log(num_users: int = 60, num_items: int = 40, length: int = 12, seed: int = 0) -> pd.DataFrame:
    """Users watch items drawn from a skewed (Zipf-like) popularity; raw item ids 101..100+num_items."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, num_items + 1)
    rows = []
    for user in range(num_users):
        items = rng.choice(np.arange(101, 101 + num_items), size=length, replace=False, p=weights / weights.sum())
        rows += [(user, int(item), t) for t, item in enumerate(items)]
    return pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"])


def test_popularity_groups_split_head_and_tail():
    split = leave_one_out(make_log())
    groups = coldstart.popularity_groups(split, head_fraction=0.2)
    counts = split.train_item_counts()
    head = np.flatnonzero(groups == "head")
    tail = np.flatnonzero(groups == "tail")
    assert groups[0] == "" and len(head) == int(np.ceil(0.2 * split.num_items)) and len(head) + len(tail) == split.num_items
    assert counts[head].min() >= counts[tail].max()
    with pytest.raises(ValueError, match="head_fraction"):
        coldstart.popularity_groups(split, head_fraction=1.5)


def test_cold_items_really_absent_from_training():
    cold = coldstart.cold_start_split(make_log(), cold_fraction=0.2, seed=3)
    trained = np.concatenate(cold.split.train)
    assert len(cold.cold_items) == 8
    assert not np.isin(trained, cold.cold_items).any()
    assert cold.split.train_item_counts()[cold.cold_items].sum() == 0
    targets = np.concatenate([cold.split.valid_targets, cold.split.test_targets])
    assert np.isin(targets, cold.cold_items).any()          # cold items remain reachable as targets
    assert all(len(t) == len(s) for t, s in zip(cold.split.train_times, cold.split.train))
    labels = cold.item_groups()
    assert set(labels[cold.cold_items]) == {"cold"} and (labels == "warm").sum() == cold.split.num_items - 8


def test_group_metrics_from_ranks():
    class Fixed:
        def scores(self, seqs):
            return torch.tensor([[0.0, 0.5, 0.5, 0.9, 0.1]]).repeat(len(seqs), 1)

    log = pd.DataFrame({"user_id": [0, 0, 0, 0, 1, 1, 1], "item_id": [4, 3, 1, 2, 2, 1, 4],
                        "timestamp": [0, 1, 2, 3, 0, 1, 2]})
    split = leave_one_out(log)           # internal ids = raw ids; test targets: user 0 -> 2, user 1 -> 4
    groups = np.array(["", "head", "head", "head", "tail"], dtype=object)
    kept = coldstart.evaluate_by_group(Fixed(), split, groups, exclude_history=False)
    # user 0: item 2 ties with 1 and trails 3 -> rank 3; user 1: item 4 (0.1) trails 1, 2, 3 -> rank 4
    assert kept.loc["head", "ndcg@10"] == pytest.approx(0.5) and kept.loc["tail", "ndcg@10"] == pytest.approx(1 / np.log2(5))
    removed = coldstart.evaluate_by_group(Fixed(), split, groups)   # user 0's history 4, 3, 1 leaves the race
    assert removed.loc["head", "hr@10"] == 1.0 and removed.loc["head", "ndcg@10"] == pytest.approx(1.0)
    assert removed.loc["all", "users"] == 2
    assert np.isnan(coldstart.metrics_from_ranks(np.array([]))["hr@10"])
    with pytest.raises(ValueError, match="N\\+1"):
        coldstart.evaluate_by_group(Fixed(), split, groups[:3])


def test_zero_shot_recommends_cold_items_by_text():
    cold = coldstart.cold_start_split(make_log(), cold_fraction=0.2, seed=3)
    split = cold.split
    rng = np.random.default_rng(0)
    # Items share a "topic" vector with item id parity; a cold target's topic matches its user's history.
    topics = rng.normal(size=(2, 16))
    emb = np.vstack([np.zeros(16)] + [topics[i % 2] + 0.1 * rng.normal(size=16) for i in range(1, split.num_items + 1)])
    model = TextZeroShot(emb, decay=0.0).fit(split)
    seqs = torch.tensor([[0, 0, 2]])
    scores = model.scores(seqs)[0]
    assert scores[0] == float("-inf") and scores.shape == (split.num_items + 1,)
    assert scores[2:: 2].mean() > scores[1:: 2].mean()                 # same-topic items score higher
    assert torch.isfinite(scores[torch.as_tensor(cold.cold_items)]).all()
    table = coldstart.evaluate_by_group(model, split, cold.item_groups(), part="test")
    assert {"all", "cold", "warm"} <= set(table.index) and table.loc["all", "users"] == split.num_users


def test_zero_shot_profile_is_recency_weighted_and_padding_free():
    emb = np.eye(4)[[0, 1, 2, 3]].astype(np.float32)                  # item i -> unit vector e_i (row 0 padding)
    model = TextZeroShot(emb, decay=0.5)

    def unit_profile(seqs):                      # the direction the scores use (cosine to each item)
        return normalise_rows(model.profiles(seqs))

    profile = unit_profile(torch.tensor([[0, 0, 1, 2, 3], [0, 3, 2, 2, 3]]))
    expected = torch.tensor([0.25, 0.5, 1.0])
    expected = torch.cat([torch.zeros(1), expected / expected.norm()])
    assert torch.allclose(profile[0], expected, atol=1e-6)             # weights 0.25, 0.5, 1 for items 1, 2, 3
    repeated = torch.tensor([0.0, 0.0, 0.5 + 0.25, 1.0 + 0.125])
    assert torch.allclose(profile[1], repeated / repeated.norm(), atol=1e-6)
    more_padding = unit_profile(torch.tensor([[0, 0, 0, 0, 0, 1, 2, 3]]))
    assert torch.allclose(more_padding[0], expected, atol=1e-6)
    assert torch.equal(unit_profile(torch.zeros(1, 3, dtype=torch.long)), torch.zeros(1, 4))
    with pytest.raises(ValueError, match="decay"):
        TextZeroShot(emb, decay=1.5)
