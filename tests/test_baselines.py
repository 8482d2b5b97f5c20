"""The classical baselines on tiny hand-made logs: the expected top items, the shared interface."""

import numpy as np
import pandas as pd
import pytest
import torch

from course_lib.metrics import evaluate
from course_lib.models.itemknn import ItemKNNRecommender, cosine_similarity, user_item_matrix
from course_lib.models.markov import MarkovRecommender, transition_counts
from course_lib.models.popularity import PopularityRecommender
from course_lib.models.random import RandomRecommender
from course_lib.sequences import leave_one_out, pad_left


def _log(sequences: dict) -> pd.DataFrame:
    rows = [(user, item, t) for user, items in sequences.items() for t, item in enumerate(items)]
    return pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"])


# raw item ids 1..5 map to internal 1..5. Training parts = all but the last two items of each user.
LOG = _log({1: [1, 2, 3, 1, 2, 9, 9], 2: [1, 2, 4, 5, 5], 3: [3, 1, 2, 4, 9, 9], 4: [2, 3, 1, 1, 2]})


@pytest.fixture()
def split():
    data = LOG.copy()
    # give the duplicate (valid, test) items distinct ids so every user keeps 3+ rows
    data.loc[data.groupby("user_id").cumcount(ascending=False) == 1, "item_id"] = 7
    data.loc[data.groupby("user_id").cumcount(ascending=False) == 0, "item_id"] = 8
    return leave_one_out(data)


def test_split_is_what_the_tests_assume(split):
    assert [s.tolist() for s in split.train] == [[1, 2, 3, 1, 2], [1, 2, 4], [3, 1, 2, 4], [2, 3, 1]]


def test_popularity_counts_training_interactions_only(split):
    model = PopularityRecommender().fit(split)
    assert model.top_items(3).tolist() == [1, 2, 3]            # counts 5, 5, 3 (ties: lower id first)
    scores = model.scores(pad_left(split.histories("test"), 4))
    assert scores.shape == (4, split.num_items + 1) and torch.isinf(scores[:, 0]).all()
    seven = split.item_index[7]                                # raw 7: every user's validation item
    assert scores[0, seven] == 0 and scores[0, 1] == 5 and scores[0, 4] == 2
    with_valid = PopularityRecommender(include_valid=True).fit(split)
    assert with_valid.scores(torch.zeros(1, 2, dtype=torch.long))[0, seven] == 4


def test_markov_transitions_and_top_item(split):
    counts = transition_counts(split).toarray()
    assert counts[1, 2] == 4 and counts[2, 3] == 2 and counts[2, 4] == 2 and counts[3, 1] == 3
    assert counts.sum() == 4 + 2 + 3 + 2                       # one count per consecutive pair
    model = MarkovRecommender(beta=1.0).fit(split)
    after_one = model.scores(torch.tensor([[0, 1]]))[0]
    assert int(after_one[1:].argmax()) + 1 == 2                # 1 is always followed by 2
    after_three = model.scores(torch.tensor([[2, 3]]))[0]
    assert int(after_three[1:].argmax()) + 1 == 1
    unseen = model.scores(torch.tensor([[0, split.item_index[8]]]))[0]   # never precedes anything: popularity
    assert torch.allclose(unseen[1:], torch.from_numpy(model.popularity[1:]).float())
    with pytest.raises(ValueError, match="beta"):
        MarkovRecommender(beta=-1)


def test_markov_smoothing_backs_off_to_popularity(split):
    strong = MarkovRecommender(beta=1e9).fit(split).scores(torch.tensor([[0, 3]]))[0]
    popular = PopularityRecommender().fit(split).scores(torch.tensor([[0, 3]]))[0]
    assert torch.argsort(strong[1:], descending=True)[:3].tolist() == torch.argsort(popular[1:], descending=True)[:3].tolist()


def test_itemknn_cosine_by_hand(split):
    users_items = user_item_matrix(split)
    assert users_items.toarray()[0].tolist() == [0, 1, 1, 1, 0, 0, 0, 0, 0][: split.num_items + 1]
    sim = cosine_similarity(users_items).toarray()
    # items 1 and 2: both in all 4 users -> cosine 1; items 1 and 4: 2 common users of 4 and 2 -> 2/sqrt(8)
    assert sim[1, 2] == pytest.approx(1.0) and sim[1, 4] == pytest.approx(2 / np.sqrt(8))
    assert np.allclose(np.diag(sim), 0) and np.allclose(sim, sim.T)
    model = ItemKNNRecommender(num_recent=1, shrink=0.0).fit(split)
    scores = model.scores(torch.tensor([[3, 4]]))[0]           # only item 4 (the most recent) counts
    top = torch.argsort(scores[1:], descending=True)[:2] + 1
    assert set(top.tolist()) == {1, 2}


def test_random_is_seeded_and_every_baseline_shares_the_interface(split):
    seqs = pad_left(split.histories("valid"), 6)
    a = RandomRecommender(3).fit(split).scores(seqs)
    b = RandomRecommender(3).fit(split).scores(seqs)
    assert torch.equal(a, b)
    for model in (RandomRecommender(0), PopularityRecommender(), MarkovRecommender(), ItemKNNRecommender()):
        with pytest.raises(RuntimeError, match="before fit"):
            model.scores(seqs)
        out = model.fit(split).scores(seqs)
        assert out.shape == (len(seqs), split.num_items + 1) and out.dtype == torch.float32
        assert torch.isinf(out[:, 0]).all() and not torch.isnan(out).any()
        result = evaluate(model, split, part="test", ks=(1, 50))
        assert 0.0 <= result["hr@1"] <= 1.0 and result["hr@50"] == 1.0


def test_sequential_pattern_is_learned_by_markov_not_by_popularity():
    rng = np.random.default_rng(0)
    # 60 users walk a cycle 1 -> 2 -> ... -> 20 -> 1 from random starts: the next item is predictable
    walks = {u: [(s + t) % 20 + 1 for t in range(12)] for u, s in enumerate(rng.integers(0, 20, 60))}
    split = leave_one_out(_log(walks))
    markov = evaluate(MarkovRecommender().fit(split), split, ks=(1,))["hr@1"]
    pop = evaluate(PopularityRecommender().fit(split), split, ks=(1,))["hr@1"]
    assert markov == 1.0 and pop < 0.3
