"""``course train item2vec`` / ``course train glove`` recipes on a small synthetic log."""

import numpy as np
import pandas as pd
import pytest

from course_lib import recipes
from course_lib.embeddings.synthetic import planted_pairs_corpus
from course_lib.sequences import leave_one_out


@pytest.fixture(scope="module")
def split():
    sequences, _ = planted_pairs_corpus(num_symbols=40, num_pairs=8, num_sequences=120, length=12, seed=0)
    rows = [(user, int(item), t) for user, seq in enumerate(sequences) for t, item in enumerate(seq)]
    return leave_one_out(pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"]))


@pytest.mark.parametrize("name", ["item2vec", "glove"])
def test_registered_recipe_follows_the_contract(split, name):
    from course_lib.recipes.run import run_training

    report = run_training(name, split, seed=0, fast=True)
    assert report.model == name and report.epochs > 0
    for part in ("valid", "test", "test_history_kept"):
        assert 0.0 <= getattr(report, part)["hr@10"] <= 1.0
    # the planted structure is easy: far better than picking 10 of 40 items at random (0.25)
    assert report.valid["hr@10"] > 0.4
    assert "decay" in report.params


def test_recipe_returns_item_table(split):
    result = recipes.get_trainer("glove")(split, seed=0, fast=True)
    assert result["item_emb"].shape[0] == split.num_items + 1
    assert not np.asarray(result["item_emb"])[0].any()
    scores = result["recommender"].scores(np.array([[0, 1, 2]]))
    assert scores.shape == (1, split.num_items + 1)
