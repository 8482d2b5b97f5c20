"""Explanations (course_lib.explain), beyond-accuracy metrics, the leaderboard and the side-by-side table."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from course_lib import beyond_accuracy as ba
from course_lib import cli
from course_lib.bundle import in_memory, save_bundle
from course_lib.embeddings.recommender import EmbeddingRecommender
from course_lib.explain import attention, default_method, occlusion, strengths
from course_lib.leaderboard import dumps, load_leaderboard, ranking_table
from course_lib.models.bert4rec import Bert4Rec, Bert4RecConfig
from course_lib.models.markov import MarkovRecommender
from course_lib.models.popularity import PopularityRecommender
from course_lib.models.sasrec import SASRec, SASRecConfig
from course_lib.recommend import recommend, side_by_side, top_k_lists
from course_lib.sequences import leave_one_out


@pytest.fixture(scope="module")
def data():
    """20 users over 12 items; item i+1 always follows item i (mod 12) and odd items are 'Comedy'."""
    rows = [(u, (u + t) % 12 + 1, t) for u in range(20) for t in range(8)]
    split = leave_one_out(pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"]))
    items = pd.DataFrame({"item_id": range(1, 13), "title": [f"Film {i} (1990)" for i in range(1, 13)],
                          "genres": [["Comedy"] if i % 2 else ["Drama", "War"] for i in range(1, 13)]})
    return split, items


def sasrec(split, max_len=6):
    torch.manual_seed(0)
    return SASRec(SASRecConfig(num_items=split.num_items, max_len=max_len, hidden_dim=16, num_layers=2)).eval()


def test_attention_is_a_distribution_over_what_the_model_reads(data):
    split, _ = data
    seq = np.arange(1, 10)                                       # 9 items, max_len 6: the 3 oldest are not read
    for model in (sasrec(split), Bert4Rec(Bert4RecConfig(num_items=split.num_items, max_len=6, hidden_dim=16,
                                                         num_heads=2, num_layers=1)).eval()):
        weights = attention(model, seq, [10, 11])
        read = 5 if isinstance(model, Bert4Rec) else 6          # BERT4Rec keeps one slot for [MASK]
        assert weights.shape == (9, 2) and np.allclose(weights[:, 0], weights[:, 1])
        assert np.all(weights[:-read] == 0) and np.all(weights[-read:] > 0)
        assert weights[:, 0].sum() == pytest.approx(1.0, abs=1e-5) or isinstance(model, Bert4Rec)
        inner = getattr(model, "gpt", None) or model.bert
        assert inner.config._attn_implementation == "sdpa"      # switched back after reading the weights


def test_occlusion_finds_the_item_a_rule_depends_on(data):
    split, items = data
    markov = MarkovRecommender(beta=0.0).fit(split)              # reads only the last item
    drops = occlusion(markov, np.array([3, 7]), [8, 4])
    assert drops[1, 0] > 0 and drops[0, 0] == pytest.approx(0.0)     # Film 8 follows 7, never 3
    assert drops[1, 1] < 0                                          # without 7, Film 4 (after 3) rises
    assert default_method(markov) == "transitions"
    table = recommend(in_memory(markov, split, items, name="markov"), ["Film 3", "Film 7"], k=2)
    assert table["title"].tolist()[0] == "Film 8 (1990)" and table["because"][0] == ["Film 7 (1990)"]


def test_neighbours_and_bad_methods(data):
    split, items = data
    vectors = np.zeros((13, 2))
    vectors[1:, 0] = 1.0
    vectors[1::2, 1] = 1.0                                        # odd ids lean one way
    model = EmbeddingRecommender(vectors, decay=1.0)
    assert default_method(model) == "neighbours"
    strength = strengths(model, np.array([1, 2]), [3, 4], "neighbours")
    assert strength[0, 0] > strength[1, 0] and strength[1, 1] > strength[0, 1]
    with pytest.raises(ValueError, match="expected one of"):
        strengths(model, np.array([1]), [3], "gradients")
    with pytest.raises(ValueError, match="needs SASRec or BERT4Rec"):
        strengths(model, np.array([1]), [3], "attention")


def test_side_by_side_and_top_k_lists_for_any_model(data):
    split, items = data
    models = {"pop": PopularityRecommender().fit(split), "markov": MarkovRecommender().fit(split)}
    table = side_by_side({n: in_memory(m, split, items, name=n) for n, m in models.items()}, ["Film 1"], k=4)
    assert table.shape == (4, 2) and "Film 1 (1990)" not in table.values
    lists = top_k_lists(models["markov"], split, k=3)
    assert lists.shape == (split.num_users, 3)
    for user, history in enumerate(split.histories("test")):
        assert not set(lists[user]) & set(history.tolist())


def test_beyond_accuracy_on_hand_computed_lists(data):
    split, items = data
    features = ba.genre_matrix(split, items)
    same_genre = np.array([[split.item_index[1], split.item_index[3]]] * split.num_users)
    mixed = np.array([[split.item_index[1], split.item_index[2]]] * split.num_users)
    assert ba.coverage(same_genre, split.num_items) == pytest.approx(2 / 12)
    assert ba.intra_list_diversity(same_genre, features) == pytest.approx(0.0)
    assert ba.intra_list_diversity(mixed, features) == pytest.approx(1.0)
    share = ba.item_user_share(split)[split.item_index[1]]
    assert ba.novelty(same_genre[:, :1], split) == pytest.approx(-np.log2(share))
    assert ba.average_popularity(mixed, split) == pytest.approx(
        split.train_item_counts()[mixed].mean())
    with pytest.raises(ValueError, match="internal item ids"):
        ba.coverage(np.array([[0, 1]]), split.num_items)


def test_ranking_table_pairs_models_with_the_best(tmp_path):
    rng = np.random.default_rng(0)
    good = rng.integers(1, 8, size=400)
    ranks = {"good": good, "worse": good + 5, "same": good.copy()}
    table = ranking_table(ranks, metric="ndcg@10", num_resamples=300)
    assert table["model"][0] in ("good", "same") and table["model"].iloc[-1] == "worse"
    worse = table.set_index("model").loc["worse"]
    assert worse["diff_high"] < 0 and worse["p_value"] < 0.01 and worse["wins"] == 0
    assert worse["ndcg@10_low"] <= worse["ndcg@10"] <= worse["ndcg@10_high"]
    path = tmp_path / "lb.json"
    path.write_text(dumps({"models": [{"model": n, "ranks": r.tolist()} for n, r in ranks.items()]}))
    loaded = load_leaderboard(path)
    assert np.array_equal(loaded["models"][0]["ranks"], good)
    assert len(path.read_text().splitlines()) < 20                   # ranks on one line each
    path.write_text(json.dumps({"models": [{"model": "a"}]}))
    with pytest.raises(ValueError, match="not a file written by"):
        load_leaderboard(path)


def test_course_recommend_explains_by_attention(data, tmp_path, capsys):
    split, items = data
    folder = save_bundle(tmp_path / "s", sasrec(split), split, items, name="sasrec")
    assert cli.main(["recommend", str(folder), "--history", "Film 1", "Film 2", "-k", "2",
                     "--explain", "attention", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["explain"] == "attention" and len(out["recommendations"]) == 2
    assert out["recommendations"][0]["because"] == out["recommendations"][1]["because"]


def test_bad_input_is_refused_clearly(data, tmp_path):
    from course_lib.demo import recommend_demo
    from course_lib.files import atomic_path, write_text

    split, items = data
    with pytest.raises(ValueError, match="give at least one model"):
        ranking_table({})
    with pytest.raises(ValueError, match="default is empty"):
        recommend_demo({"pop": in_memory(PopularityRecommender().fit(split), split, items, name="pop")}, [], [])
    with pytest.raises(ValueError, match="at least 2 items"):
        ba.intra_list_diversity(np.ones((3, 1), dtype=int), ba.genre_matrix(split, items))
    target = write_text(tmp_path / "kept.txt", "old")
    with pytest.raises(RuntimeError), atomic_path(target) as part:      # a crash while writing
        part.write_text("half")
        raise RuntimeError("crash")
    assert target.read_text() == "old" and not list(tmp_path.glob("*.part"))
