"""Synthetic case-study logs with planted structure, planted noise and a known ground truth.

Two case studies, each a :class:`SyntheticLog` (``interactions``, ``items``, ``truth``):

- :func:`make_shop_log`: products (English + Chinese titles, a category); a product's *complement* follows it
  (phone -> case of the same brand) with probability ``follow_prob``, otherwise a popular product (Zipf).
- :func:`make_news_log`: headlines (English + Chinese, a topic); the next part of a story follows the current
  part with probability ``follow_prob``, otherwise a popular headline.

Planted noise, every count recorded in ``truth`` so that tests (and notebook 01) can check that cleaning finds
it: exact duplicate rows, bot-like users (hundreds of clicks seconds apart), rows logged late (out of file
order, one per affected user), missing timestamps (<NA>), item ids not in the catalogue. Deterministic by seed;
a few thousand rows, generated in well under a second.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

BRANDS = [("Acme", "艾克美"), ("Nova", "诺瓦"), ("Zen", "禅意"), ("Orbit", "轨道")]
SHOP_CHAIN = [("Phone", "手机", "phones"), ("Phone Case", "手机壳", "accessories"),
              ("Charger", "充电器", "accessories"), ("Earbuds", "耳机", "audio")]
SHOP_EXTRA = [("Green Tea", "绿茶", "grocery"), ("Notebook", "笔记本", "stationery"),
              ("Desk Lamp", "台灯", "home"), ("Backpack", "背包", "bags"), ("Water Bottle", "水杯", "home")]
TOPICS = [("Storm", "风暴", "weather"), ("Election", "选举", "politics"), ("Final", "决赛", "sports"),
          ("Chip Launch", "芯片发布", "tech"), ("Market", "股市", "finance"), ("Film Festival", "电影节", "culture")]


@dataclass
class SyntheticLog:
    """``interactions``: user_id, item_id, timestamp (Int64, <NA> = missing); ``items``: item_id, title,
    title_zh, category; ``truth``: the planted structure and noise (see module docstring)."""

    name: str
    interactions: pd.DataFrame
    items: pd.DataFrame
    truth: dict


def _shop_catalogue(models: int) -> tuple[pd.DataFrame, dict]:
    """Products brand x chain/extra x model; successor: chain item -> next chain item (same brand, model)."""
    rows, successor = [], {}
    for b, (brand, brand_zh) in enumerate(BRANDS):
        for m in range(1, models + 1):
            ids = []
            for en, zh, cat in SHOP_CHAIN + SHOP_EXTRA:
                item_id = len(rows) + 1
                rows.append((item_id, f"{brand} {en} {m}", f"{brand_zh}{zh} {m}号", cat))
                ids.append(item_id)
            for a, b_ in zip(ids[:len(SHOP_CHAIN) - 1], ids[1:len(SHOP_CHAIN)]):
                successor[a] = b_
    return pd.DataFrame(rows, columns=["item_id", "title", "title_zh", "category"]), successor


def _news_catalogue(stories: int, parts: int) -> tuple[pd.DataFrame, dict]:
    """Headlines topic x story x part; successor: part k -> part k+1 of the same story."""
    rows, successor = [], {}
    for en, zh, topic in TOPICS:
        for s in range(1, stories + 1):
            for p in range(1, parts + 1):
                item_id = len(rows) + 1
                rows.append((item_id, f"{en} story {s}, part {p}: what we know",
                             f"{zh}事件{s}（第{p}部分）：最新消息", topic))
                if p > 1:
                    successor[item_id - 1] = item_id
    return pd.DataFrame(rows, columns=["item_id", "title", "title_zh", "category"]), successor


def _walks(rng: np.random.Generator, num_items: int, successor: dict, num_users: int,
           follow_prob: float) -> pd.DataFrame:
    """Human users: a Markov walk over items (planted successor or a Zipf-popular item), gaps ~ Exp(1 h)."""
    popularity = 1.0 / np.arange(1, num_items + 1) ** 0.8
    popularity = rng.permutation(popularity / popularity.sum())
    users, items, times = [], [], []
    for user in range(1, num_users + 1):
        length = int(rng.integers(5, 25))
        seq = [int(rng.choice(num_items, p=popularity)) + 1]
        for _ in range(length - 1):
            nxt = successor.get(seq[-1])
            follow = nxt is not None and rng.random() < follow_prob
            seq.append(nxt if follow else int(rng.choice(num_items, p=popularity)) + 1)
        start = 1_700_000_000 + int(rng.integers(0, 30 * 86400))
        stamps = start + np.cumsum(rng.exponential(3600.0, size=length).astype(np.int64) + 60)
        users += [user] * length
        items += seq
        times += stamps.tolist()
    return pd.DataFrame({"user_id": users, "item_id": items, "timestamp": times})


def _add_noise(rng: np.random.Generator, log: pd.DataFrame, num_items: int, n_bots: int,
               n_dup: int, n_late: int, n_missing: int, n_unknown: int) -> tuple[pd.DataFrame, dict]:
    """Plant bots, unknown ids, missing timestamps, late rows and duplicates; return the log and the counts."""
    first_bot = int(log["user_id"].max()) + 1
    bots = []
    for b in range(n_bots):
        start = 1_700_000_000 + int(rng.integers(0, 30 * 86400))
        stamps = start + np.cumsum(rng.integers(1, 4, size=200))
        bots.append(pd.DataFrame({"user_id": first_bot + b, "item_id": rng.integers(1, num_items + 1, 200),
                                  "timestamp": stamps}))
    log = pd.concat([log, *bots]).sort_values(["timestamp", "user_id"], kind="stable").reset_index(drop=True)
    log["timestamp"] = log["timestamp"].astype("Int64")
    humans = log.index[log["user_id"] < first_bot]
    last = log.groupby("user_id")["timestamp"].transform("max") == log["timestamp"]
    late_users = rng.choice(log.loc[humans, "user_id"].unique(), size=n_late, replace=False)
    late = [int(rng.choice(log.index[(log["user_id"] == u) & ~last])) for u in late_users]
    others = np.setdiff1d(humans[~log.loc[humans, "user_id"].isin(late_users)], late)
    picked = rng.choice(others, size=n_missing + n_unknown + n_dup, replace=False)
    missing, unknown, dups = np.split(picked, [n_missing, n_missing + n_unknown])
    log.loc[missing, "timestamp"] = pd.NA
    unknown_ids = num_items + 1000 + np.arange(n_unknown)
    log.loc[unknown, "item_id"] = unknown_ids
    order = np.r_[np.setdiff1d(log.index, late), late]             # late rows are written last
    twice = set(dups.tolist())                                       # duplicates right after the original
    log = log.loc[[i for i in order for _ in range(1 + (i in twice))]].reset_index(drop=True)
    truth = {"bot_users": list(range(first_bot, first_bot + n_bots)), "duplicate_rows": n_dup,
             "late_rows": n_late, "missing_timestamps": n_missing, "unknown_item_rows": n_unknown,
             "unknown_item_ids": unknown_ids.tolist()}
    return log, truth


def _make(name: str, catalogue: pd.DataFrame, successor: dict, seed: int, num_users: int,
          follow_prob: float, noise: dict) -> SyntheticLog:
    rng = np.random.default_rng(seed)
    clean = _walks(rng, len(catalogue), successor, num_users, follow_prob)
    log, truth = _add_noise(rng, clean, len(catalogue), **noise)
    truth.update(successor=successor, follow_prob=follow_prob, human_users=num_users, clean_rows=len(clean))
    return SyntheticLog(name, log, catalogue, truth)


def make_shop_log(seed: int = 0, num_users: int = 300, follow_prob: float = 0.6, models: int = 3,
                  n_bots: int = 3, n_dup: int = 40, n_late: int = 25, n_missing: int = 15,
                  n_unknown: int = 10) -> SyntheticLog:
    """An online shop's purchase log (see module docstring); ``truth["successor"]`` is the planted next item."""
    catalogue, successor = _shop_catalogue(models)
    return _make("shop", catalogue, successor, seed, num_users, follow_prob,
                 dict(n_bots=n_bots, n_dup=n_dup, n_late=n_late, n_missing=n_missing, n_unknown=n_unknown))


def make_news_log(seed: int = 0, num_users: int = 300, follow_prob: float = 0.5, stories: int = 4,
                  parts: int = 4, n_bots: int = 3, n_dup: int = 40, n_late: int = 25, n_missing: int = 15,
                  n_unknown: int = 10) -> SyntheticLog:
    """A news feed's click log (see module docstring); ``truth["successor"]``: part k -> part k+1."""
    catalogue, successor = _news_catalogue(stories, parts)
    return _make("news", catalogue, successor, seed, num_users, follow_prob,
                 dict(n_bots=n_bots, n_dup=n_dup, n_late=n_late, n_missing=n_missing, n_unknown=n_unknown))
