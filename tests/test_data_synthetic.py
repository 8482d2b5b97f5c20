"""course_lib.data.synthetic: deterministic logs whose planted structure and noise cleaning can find."""

import time

import numpy as np
import pandas as pd
import pytest

from course_lib import cleaning
from course_lib.data import synthetic

MAKERS = [synthetic.make_shop_log, synthetic.make_news_log]


@pytest.mark.parametrize("make", MAKERS)
def test_deterministic_by_seed_and_fast(make):
    start = time.perf_counter()
    a, b, c = make(seed=1), make(seed=1), make(seed=2)
    assert time.perf_counter() - start < 3.0                  # three logs; each well under a second
    pd.testing.assert_frame_equal(a.interactions, b.interactions)
    assert not a.interactions.equals(c.interactions)


@pytest.mark.parametrize("make", MAKERS)
def test_cleaning_finds_every_planted_defect(make):
    log = make(seed=3)
    truth, frame = log.truth, log.interactions
    assert cleaning.count_out_of_order(frame) == truth["late_rows"]
    assert sorted(cleaning.bursty_users(frame).tolist()) == truth["bot_users"]
    clean, report = cleaning.clean(frame, known_items=log.items["item_id"], drop_bots=True)
    reasons = report.dropped_by_reason()
    assert reasons["missing timestamp"] == truth["missing_timestamps"]
    assert reasons["unknown item_id"] == truth["unknown_item_rows"]
    assert reasons["exact duplicate"] == truth["duplicate_rows"]
    assert clean["user_id"].nunique() == truth["human_users"]
    assert len(clean) == truth["clean_rows"] - truth["missing_timestamps"] - truth["unknown_item_rows"]
    assert clean["item_id"].isin(log.items["item_id"]).all()


@pytest.mark.parametrize("make", MAKERS)
def test_planted_successor_is_the_strongest_transition(make):
    log = make(seed=4)
    clean, _ = cleaning.clean(log.interactions, known_items=log.items["item_id"], drop_bots=True)
    nxt = clean.groupby("user_id")["item_id"].shift(-1)
    pairs = pd.DataFrame({"a": clean["item_id"], "b": nxt}).dropna()
    successor = log.truth["successor"]
    share = np.mean([pairs.loc[pairs.a == a, "b"].eq(b).mean() for a, b in successor.items()
                     if (pairs.a == a).sum() >= 5])
    assert share > 0.4                                         # planted follow_prob 0.5-0.6, random ~0.01


@pytest.mark.parametrize("make", MAKERS)
def test_titles_in_english_and_chinese(make):
    items = make(seed=0).items
    assert list(items.columns) == ["item_id", "title", "title_zh", "category"]
    assert items["title"].str.isascii().all()
    assert items["title_zh"].str.contains(r"[\u4e00-\u9fff]").all()
    assert items["item_id"].is_unique
