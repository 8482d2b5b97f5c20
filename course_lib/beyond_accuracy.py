"""Beyond accuracy: what the top-k lists look like as a whole, not only whether they hold the held-out item.

All functions take ``lists`` (U, k), internal item ids of each user's top-k (``recommend.top_k_lists``).

* **Catalogue coverage** — the share of the N items that appear in at least one user's list
  (Adomavicius & Kwon 2012, "aggregate diversity"). Popularity recommends the same k items to everyone.
* **Novelty** — the mean self-information of a recommended item, ``-log2 p(i)`` with ``p(i)`` the share of
  training users who interacted with ``i`` (Zhou et al. 2010). Higher = less popular items.
* **Average recommendation popularity (ARP)** — the mean number of training interactions of a recommended
  item (Abdollahpouri et al. 2019). The same idea as novelty on a linear scale.
* **Intra-list diversity (ILD)** — the mean pairwise distance ``1 - cos(g_i, g_j)`` between the genre vectors
  (multi-hot) of the items in one list, averaged over users (Ziegler et al. 2005). 0 = every item in a list
  has the same genres.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from course_lib.sequences import SplitData


def _check_lists(lists, num_items: int) -> np.ndarray:
    lists = np.asarray(lists)
    if lists.ndim != 2 or lists.shape[1] == 0:
        raise ValueError(f"lists must be (users, k) with k >= 1, got shape {lists.shape}")
    if lists.size and (lists.min() < 1 or lists.max() > num_items):
        raise ValueError(f"lists hold internal item ids in 1..{num_items}; found {lists.min()}..{lists.max()}")
    return lists.astype(np.int64)


def coverage(lists, num_items: int) -> float:
    """Share of the ``num_items`` catalogue items recommended to at least one user."""
    lists = _check_lists(lists, num_items)
    return len(np.unique(lists)) / num_items


def item_user_share(split: SplitData) -> np.ndarray:
    """(N+1,) share of users whose training part holds each item (index 0 stays 0)."""
    share = np.zeros(split.num_items + 1)
    for seq in split.train:
        share[np.unique(seq)] += 1
    return share / max(split.num_users, 1)


def novelty(lists, split: SplitData) -> float:
    """Mean ``-log2 p(i)`` over recommended items; an item no training user saw counts as seen by one user."""
    lists = _check_lists(lists, split.num_items)
    share = np.maximum(item_user_share(split), 1.0 / max(split.num_users, 1))
    return float(-np.log2(share[lists]).mean())


def average_popularity(lists, split: SplitData) -> float:
    """ARP: mean training interaction count of the recommended items."""
    lists = _check_lists(lists, split.num_items)
    return float(split.train_item_counts()[lists].mean())


def genre_matrix(split: SplitData, items: pd.DataFrame) -> np.ndarray:
    """(N+1, G) multi-hot genres of each internal item id, from the catalogue's ``genres`` lists (row 0 = 0)."""
    genres = dict(zip(items["item_id"], items["genres"]))
    names = sorted({g for value in genres.values() for g in (value if isinstance(value, (list, tuple)) else [])})
    column = {g: c for c, g in enumerate(names)}
    out = np.zeros((split.num_items + 1, len(names)), dtype=np.float64)
    for internal, raw in enumerate(split.item_ids[1:], start=1):
        for g in genres.get(int(raw), []) or []:
            out[internal, column[g]] = 1.0
    return out


def intra_list_diversity(lists, features: np.ndarray) -> float:
    """Mean over users of the mean pairwise cosine distance of ``features`` (N+1, G) within each list."""
    lists = _check_lists(lists, features.shape[0] - 1)
    if lists.shape[1] < 2:
        raise ValueError("intra-list diversity needs lists of at least 2 items")
    norms = np.linalg.norm(features, axis=1, keepdims=True)
    unit = np.divide(features, norms, out=np.zeros_like(features), where=norms > 0)   # no genre -> zero vector
    vectors = unit[lists]                                                             # (U, k, G)
    cosine = np.einsum("ukg,ulg->ukl", vectors, vectors)                              # (U, k, k)
    k = lists.shape[1]
    off_diagonal = (cosine.sum(axis=(1, 2)) - np.einsum("ukk->u", cosine)) / (k * (k - 1))
    return float((1.0 - off_diagonal).mean())


def beyond_accuracy(lists, split: SplitData, features: np.ndarray) -> dict:
    """``{"coverage", "novelty", "arp", "ild"}`` of ``lists`` (U, k); see the module docstring."""
    return {"coverage": coverage(lists, split.num_items), "novelty": novelty(lists, split),
            "arp": average_popularity(lists, split), "ild": intra_list_diversity(lists, features)}
