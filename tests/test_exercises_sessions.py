"""Checkers of notebook 11 (shop sessions and news), both ways, on small synthetic logs."""

from functools import lru_cache

import numpy as np
import pytest

from course_lib import sessions
from course_lib.data import streams
from course_lib.exercises.sessions import check_chain_share, check_mean_live, check_session_counts
from exercise_cases import Case, run_both_ways

USERS = 60


@lru_cache(maxsize=1)
def shop():
    return streams.make_shop_sessions(seed=0, num_users=USERS).interactions


def counts():
    """Session counts at 5 minutes and 1 day, from the library's cut_sessions."""
    return [sessions.cut_sessions(shop(), gap_seconds=g)["session_id"].nunique() for g in (300, 86400)]


@lru_cache(maxsize=1)
def news():
    log = streams.make_news_stream(seed=0, num_users=50, days=4)
    return log.items, np.sort(log.interactions["timestamp"].to_numpy())[-200:]


def mean_live(hours):
    items, times = news()
    published = np.r_[0, items["published"].to_numpy()]
    return float((~sessions.available_mask(published, times, hours * 3600)[:, 1:]).sum(1).double().mean())


def chain_share(follow_prob):
    truth = streams.make_shop_sessions(seed=0, num_users=USERS, follow_prob=follow_prob).truth
    return float(np.mean(np.asarray(truth["mechanism"]) == "chain"))


CASES = [
    Case(check_session_counts, right=lambda: ((*counts(), shop()), {}), wrong=lambda: ((*counts()[::-1], shop()), {}),
         hint="swapped"),
    Case(check_session_counts, right=lambda: ((*counts(), shop()), {}),
         wrong=lambda: ((sessions.cut_sessions(shop(), gap_seconds=5)["session_id"].nunique(), counts()[1], shop()), {}),
         hint="seconds", id="check_session_counts_minutes"),
    Case(check_mean_live, right=lambda: ((mean_live(24 * 14), *news()), {}),
         wrong=lambda: ((mean_live(48), *news()), {}), hint="48-hour", secret=round(mean_live(24 * 14), 2)),
    Case(check_chain_share, right=lambda: ((chain_share(0.2),), {"num_users": USERS}),
         wrong=lambda: ((chain_share(0.7),), {"num_users": USERS}), hint="follow_prob"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_checker_both_ways(case, capsys):
    run_both_ways(case, capsys)


def test_bad_input_is_a_hint_not_a_traceback(capsys):
    assert not check_session_counts("many", 3, shop())
    assert not check_session_counts(1, 2, "shop")
    assert not check_mean_live(70.0, "items", [1, 2])
    assert not check_mean_live(float("nan"), *news())
    assert not check_chain_share(16, num_users=USERS)
    assert capsys.readouterr().out.count("Hint:") == 5
