"""Synthetic case-study streams for notebook 11: shop sessions and a news feed, each with planted mechanisms.

Unlike ``course_lib.data.synthetic`` (logs with planted *defects*, for cleaning), these logs are clean and
carry planted *behaviour*: every row records which mechanism produced it, so a model's hits can be split by
mechanism and checked against what the mechanism predicts. Real logs never tell you that.

Shop (:func:`make_shop_sessions`): users come back every few days; a visit (a session) is a few purchases
minutes apart. Within a session, after item ``x``:

- ``"chain"`` (probability ``follow_prob``): the planted complement of ``x`` (phone -> case of the same brand
  and model -> charger -> earbuds);
- ``"category"`` (else, ``category_prob``): another product of ``x``'s category (a product's text names it);
- ``"popular"``: otherwise a product drawn from a Zipf popularity.

A session's first item is a ``"repeat"`` with probability ``repeat_prob`` when the user bought a consumable
before (grocery, home: bought again in a later session), else ``"popular"``.

News (:func:`make_news_stream`): every day each topic publishes ``stories_per_day`` new stories, and a story
runs for ``story_days`` days (part 1 on its first day, part 2 on the next...). An article is *live* for
``live_hours`` after publication and only live articles are ever clicked. Each user has a favourite topic; a
click is:

- ``"story"`` (``story_prob``): the next part of a story the user read, once it is published and live;
- ``"taste"`` (``taste_prob``): a live article of the user's favourite topic (the topic word is in the title,
  in English and in Chinese);
- ``"popular"``: otherwise a live article drawn by its planted appeal.

Both return a :class:`~course_lib.data.synthetic.SyntheticLog`: ``interactions`` (``user_id, item_id,
timestamp``, sorted by user and time), ``items`` (``item_id, title, title_zh, category`` and, for news,
``published``) and ``truth`` (``mechanism``: one label per interaction row, in row order, and the settings).
Deterministic by seed; a few thousand rows in well under a second.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from course_lib.data.synthetic import TOPICS, SyntheticLog, _shop_catalogue

START = 1_700_006_400            # a midnight (UTC), so that "day d" starts at START + d * 86400
CONSUMABLES = ("grocery", "home")
HEADLINES = [("{w}: what we know so far", "{z}：目前已知的情况"), ("{w}: the latest from the scene", "{z}：现场最新消息"),
             ("{w}: experts explain what comes next", "{z}：专家解读下一步"), ("{w}: the key numbers", "{z}：关键数字"),
             ("{w}: voices from the ground", "{z}：来自一线的声音")]


def _zipf(rng: np.random.Generator, size: int, exponent: float = 0.9) -> np.ndarray:
    """(size,) probabilities proportional to 1/rank^exponent, over a random order of the items."""
    weights = 1.0 / np.arange(1, size + 1) ** exponent
    return rng.permutation(weights / weights.sum())


def _session_items(rng, categories, successor, popularity, bought, settings) -> tuple[list, list]:
    """One session: (row indices of the items, mechanism labels); ``categories`` (M,) per catalogue row."""
    consumable = [i for i in bought if categories[i] in CONSUMABLES]
    if consumable and rng.random() < settings["repeat_prob"]:
        items, labels = [int(rng.choice(consumable))], ["repeat"]
    else:
        items, labels = [int(rng.choice(len(categories), p=popularity))], ["popular"]
    for _ in range(int(rng.integers(1, settings["max_session_length"]))):
        last = items[-1]
        nxt = successor.get(last)
        if nxt is not None and rng.random() < settings["follow_prob"]:
            items.append(nxt), labels.append("chain")
        elif rng.random() < settings["category_prob"]:
            same = np.flatnonzero(categories == categories[last])
            items.append(int(rng.choice(same[same != last]))), labels.append("category")
        else:
            items.append(int(rng.choice(len(categories), p=popularity))), labels.append("popular")
    return items, labels


def make_shop_sessions(seed: int = 0, num_users: int = 400, days: int = 60, models: int = 6,
                       follow_prob: float = 0.7, category_prob: float = 0.3, repeat_prob: float = 0.5,
                       max_session_length: int = 6) -> SyntheticLog:
    """A shop's purchase log in sessions (see module docstring); ``truth["mechanism"]`` labels every row.

    ``category_prob`` applies when the chain is not followed (no complement, or the draw said no).
    """
    for name, value in (("follow_prob", follow_prob), ("category_prob", category_prob), ("repeat_prob", repeat_prob)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name}={value}: expected a probability in [0, 1]")
    if max_session_length < 2:
        raise ValueError(f"max_session_length={max_session_length}: a session needs at least 2 items")
    rng = np.random.default_rng(seed)
    catalogue, successor = _shop_catalogue(models)
    successor = {a - 1: b - 1 for a, b in successor.items()}                 # row indices
    popularity = _zipf(rng, len(catalogue))
    settings = dict(follow_prob=follow_prob, category_prob=category_prob, repeat_prob=repeat_prob,
                    max_session_length=max_session_length)
    categories, rows = catalogue["category"].to_numpy(), []
    for user in range(1, num_users + 1):
        bought, day = [], float(rng.uniform(0, 7))
        while day < days:
            items, labels = _session_items(rng, categories, successor, popularity, bought, settings)
            stamp = START + int(day * 86400)
            for item, label in zip(items, labels):
                rows.append((user, item + 1, stamp, label))
                stamp += 30 + int(rng.exponential(180.0))                    # minutes apart
            bought += items
            day += 1.0 + rng.exponential(6.0)                                # back in about a week
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp", "mechanism"])
    truth = {"mechanism": frame.pop("mechanism").to_numpy(), "successor": {a + 1: b + 1 for a, b in successor.items()},
             "consumables": CONSUMABLES, **settings}
    return SyntheticLog("shop-sessions", frame, catalogue, truth)


def _news_catalogue(rng: np.random.Generator, days: int, stories_per_day: int, story_days: int) -> pd.DataFrame:
    """Articles of every topic and day: a story's part p is published on its (p-1)-th day after the first."""
    rows = []
    for day in range(days):
        for word, word_zh, topic in TOPICS:
            for s in range(stories_per_day):
                story = f"{topic}-{day}-{s}"
                for part in range(min(story_days, days - day)):
                    en, zh = HEADLINES[int(rng.integers(len(HEADLINES)))]
                    published = START + (day + part) * 86400 + int(rng.integers(6 * 3600, 20 * 3600))
                    rows.append((f"{en.format(w=word)} (story {day + 1}.{s + 1}, part {part + 1})",
                                 f"{zh.format(z=word_zh)}（事件{day + 1}.{s + 1}，第{part + 1}部分）",
                                 topic, story, part + 1, published))
    frame = pd.DataFrame(rows, columns=["title", "title_zh", "category", "story", "part", "published"])
    frame = frame.sort_values("published", kind="stable").reset_index(drop=True)
    frame.insert(0, "item_id", np.arange(1, len(frame) + 1))
    return frame


def _click(rng, now, articles, appeal, user_topic, read, settings) -> tuple[int, str] | None:
    """One click at time ``now``: (row index of the article, mechanism), or None if nothing is live."""
    published = articles["published"].to_numpy()
    live = (published <= now) & (published > now - settings["live_hours"] * 3600)
    live[read] = False                                                       # nobody re-reads an article
    draw = rng.random()
    if draw < settings["story_prob"] and read:
        nexts = [settings["next_part"].get(r) for r in read[-5:]]
        nexts = [n for n in nexts if n is not None and live[n]]
        if nexts:
            return nexts[-1], "story"
    if draw < settings["story_prob"] + settings["taste_prob"]:
        mine = np.flatnonzero(live & (articles["category"].to_numpy() == user_topic))
        if len(mine):
            return int(rng.choice(mine)), "taste"
    pool = np.flatnonzero(live)
    if not len(pool):
        return None
    weights = appeal[pool] / appeal[pool].sum()
    return int(rng.choice(pool, p=weights)), "popular"


def make_news_stream(seed: int = 0, num_users: int = 500, days: int = 14, stories_per_day: int = 3,
                     story_days: int = 2, live_hours: float = 48.0, story_prob: float = 0.3,
                     taste_prob: float = 0.4, visits_per_day: float = 0.8) -> SyntheticLog:
    """A news feed's click log (see module docstring); items carry ``published`` (unix seconds)."""
    rng = np.random.default_rng(seed)
    articles = _news_catalogue(rng, days, stories_per_day, story_days)
    key = articles.set_index(["story", "part"]).index
    lookup = {k: i for i, k in enumerate(key)}
    next_part = {i: lookup[(s, p + 1)] for i, (s, p) in enumerate(key) if (s, p + 1) in lookup}
    appeal = rng.pareto(1.5, size=len(articles)) + 0.05
    topics = [t[2] for t in TOPICS]
    settings = dict(story_prob=story_prob, taste_prob=taste_prob, live_hours=live_hours, next_part=next_part)
    rows = []
    for user in range(1, num_users + 1):
        user_topic, read = topics[int(rng.integers(len(topics)))], []
        for day in range(days):
            visits = np.sort(rng.integers(7 * 3600, 23 * 3600, size=int(rng.poisson(visits_per_day))))
            for start in visits:
                now = START + day * 86400 + int(start)
                for _ in range(int(rng.integers(1, 5))):
                    click = _click(rng, now, articles, appeal, user_topic, read, settings)
                    if click is None:
                        break
                    read.append(click[0])
                    rows.append((user, click[0] + 1, now, click[1], user_topic))
                    now += 20 + int(rng.exponential(120.0))
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp", "mechanism", "taste"])
    frame = frame.sort_values(["user_id", "timestamp"], kind="stable").reset_index(drop=True)
    truth = {"mechanism": frame.pop("mechanism").to_numpy(), "taste": frame.pop("taste").to_numpy(),
             "next_part": {a + 1: b + 1 for a, b in next_part.items()}, "story_prob": story_prob,
             "taste_prob": taste_prob, "live_hours": live_hours}
    items = articles.drop(columns=["story"])
    return SyntheticLog("news-stream", frame, items, truth)
