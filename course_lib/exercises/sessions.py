"""Checkers for notebook 11 (case studies: shop sessions and news): session counts, live articles, planted chains.

Each recomputes its truth from the learner's log (or regenerates the synthetic log with the learner's settings)
with plain pandas/NumPy, in about a second.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from course_lib.exercises.core import Verdict, checker, close_to, number_or_hint, verdict


def _sessions_at(frame: pd.DataFrame, gap_seconds: float) -> int:
    """Number of sessions: an event opens one when it is its user's first or follows a gap > ``gap_seconds``."""
    ordered = frame.sort_values(["user_id", "timestamp"], kind="stable")
    first = ordered["user_id"].ne(ordered["user_id"].shift())
    return int((first | (ordered["timestamp"].diff() > gap_seconds)).sum())


@checker("11.1")
def check_session_counts(five_minutes: Any, one_day: Any, shop: Any) -> Verdict:
    """``five_minutes``, ``one_day``: the number of sessions of the shop log ``shop`` (columns user_id, timestamp)
    with an inactivity gap of 5 minutes and of 1 day."""
    if not isinstance(shop, pd.DataFrame) or not {"user_id", "timestamp"} <= set(shop.columns):
        return verdict("11.1", False, "pass the shop log itself (the DataFrame `shop`) as the third argument.")
    values = []
    for answer, what in ((five_minutes, "the 5-minute count"), (one_day, "the 1-day count")):
        value, bad = number_or_hint("11.1", answer, what)
        if bad is not None:
            return bad
        values.append(value)
    truth = [_sessions_at(shop, 5 * 60), _sessions_at(shop, 86400)]
    if values == truth[::-1] and truth[0] != truth[1]:
        return verdict("11.1", False, "the two counts are swapped: a shorter gap cuts more often, so more sessions.")
    hints = []
    if values[0] != truth[0]:
        hints.append("5 minutes is gap_seconds=300 (the gap is in seconds)")
    if values[1] != truth[1]:
        hints.append("1 day is gap_seconds=86400")
    return verdict("11.1", not hints, "; ".join(hints) + ". Count distinct session_id after cut_sessions.",
                   "Read both against the gap histogram: one cuts inside visits, the other merges visits.")


@checker("11.2")
def check_mean_live(mean_live: Any, news_items: Any, times: Any, live_hours: float = 24 * 14) -> Verdict:
    """``mean_live``: the mean number of live articles (published in (t - live_hours, t]) over the click times
    ``times`` (e.g. ``news_split.test.times``), from ``news_items``' ``published`` column."""
    value, bad = number_or_hint("11.2", mean_live, "the mean number of live articles")
    if bad is not None:
        return bad
    try:
        published = np.asarray(news_items["published"], dtype=np.int64)
        times = np.asarray(times, dtype=np.int64).reshape(-1)
        assert len(times) > 0
    except Exception:
        return verdict("11.2", False, "pass news_items (with its `published` column) and the click times, "
                                      "e.g. news_split.test.times.")
    def mean_count(hours: float) -> float:
        live = (published[None, :] <= times[:, None]) & (published[None, :] > times[:, None] - hours * 3600)
        return float(live.sum(axis=1).mean())

    truth = mean_count(live_hours)
    if live_hours != 48 and close_to(value, mean_count(48), rel=1e-6, abs_tol=1e-6):
        return verdict("11.2", False, f"that is the 48-hour window; set the window to {live_hours:g} hours.")
    return verdict("11.2", close_to(value, truth, rel=1e-6, abs_tol=1e-6),
                   "for every click time t count the articles with t - window < published <= t (none from the "
                   "future), then average over the clicks; the window is in hours, the times in seconds.",
                   "Many more candidates, most of them old: a model that ranks old articles high now pays for it.")


@checker("11.3")
def check_chain_share(share: Any, num_users: int = 400, seed: int = 0, follow_prob: float = 0.2) -> Verdict:
    """``share``: the fraction (0 to 1) of purchases labelled ``chain`` in ``streams.make_shop_sessions(seed=seed,
    num_users=num_users, follow_prob=follow_prob)``."""
    from course_lib.data import streams

    value, bad = number_or_hint("11.3", share, "the share")
    if bad is not None:
        return bad
    if value > 1:
        return verdict("11.3", False, "give a share between 0 and 1, not a count or a percentage.")
    truth = float((streams.make_shop_sessions(seed=seed, num_users=num_users, follow_prob=follow_prob)
                   .truth["mechanism"] == "chain").mean())
    default = float((streams.make_shop_sessions(seed=seed, num_users=num_users).truth["mechanism"] == "chain").mean())
    if close_to(value, default, abs_tol=1e-6):
        return verdict("11.3", False, f"that is the default log (follow_prob=0.7); build it with "
                                      f"follow_prob={follow_prob}.")
    return verdict("11.3", close_to(value, truth, abs_tol=1e-6),
                   f"build the log with make_shop_sessions(seed={seed}, num_users={num_users}, follow_prob={follow_prob}) "
                   "and take the mean of truth['mechanism'] == 'chain' over all purchases.",
                   "Fewer planted complements: less for a sequence model to learn beyond co-purchase counts.")
