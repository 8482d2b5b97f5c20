"""Where text should help: long-tail items and cold-start items.

Long tail: items are ranked by how often they occur in the training parts; the most frequent
``head_fraction`` (20 %) are the *head*, the rest the *tail*. Metrics are then reported per group of the
*target* item: "how well do we recommend tail items when a tail item is what the user watched next?".

Cold start: a random set of items is removed from every training sequence, so no model ever sees them in
training. They stay in the catalogue and may be validation/test targets; an ID-only model has nothing to
learn their embedding from, a text model still has their text.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from course_lib.metrics import evaluation_ranks, per_user
from course_lib.sequences import SplitData, leave_one_out


def popularity_groups(split: SplitData, head_fraction: float = 0.2) -> np.ndarray:
    """(N+1,) array of "head" / "tail" labels by training popularity (index 0, padding, = "").

    The ``ceil(head_fraction * N)`` most frequent items in ``split.train`` are "head" (ties broken by
    internal id, lower first), all others "tail".
    """
    if not 0.0 < head_fraction < 1.0:
        raise ValueError(f"head_fraction must lie in (0, 1), got {head_fraction}")
    counts = split.train_item_counts()[1:]                               # (N,)
    order = np.lexsort((np.arange(len(counts)), -counts))                # most frequent first
    labels = np.full(split.num_items + 1, "tail", dtype=object)
    labels[0] = ""
    labels[order[:int(np.ceil(head_fraction * split.num_items))] + 1] = "head"
    return labels


def metrics_from_ranks(ranks: np.ndarray, k: int = 10) -> dict:
    """HR@k and NDCG@k (one relevant item per user) from 1-based ranks; NaN for an empty group."""
    if len(ranks) == 0:
        return {f"hr@{k}": float("nan"), f"ndcg@{k}": float("nan")}
    return {f"hr@{k}": float(per_user(ranks, f"hr@{k}").mean()),
            f"ndcg@{k}": float(per_user(ranks, f"ndcg@{k}").mean())}


def evaluate_by_group(model, split: SplitData, item_groups: np.ndarray, part: str = "test", k: int = 10,
                      **rank_kwargs) -> pd.DataFrame:
    """One row per group of the target item (plus "all"): users, hr@k, ndcg@k (full ranking).

    Args:
        item_groups: (N+1,) label per internal item id, e.g. ``popularity_groups(split)``.
        rank_kwargs: passed to ``course_lib.metrics.evaluation_ranks`` (exclude_history=True, max_len=50, ...).
    """
    if len(item_groups) != split.num_items + 1:
        raise ValueError(f"item_groups must have N+1 = {split.num_items + 1} labels, got {len(item_groups)}")
    ranks = evaluation_ranks(model, split, part, **rank_kwargs)
    target_groups = np.asarray(item_groups, dtype=object)[split.targets(part)]
    rows = [{"group": "all", "users": len(ranks), **metrics_from_ranks(ranks, k)}]
    for group in sorted(set(target_groups.tolist())):
        chosen = target_groups == group
        rows.append({"group": group, "users": int(chosen.sum()), **metrics_from_ranks(ranks[chosen], k)})
    return pd.DataFrame(rows).set_index("group")


@dataclass
class ColdStartSplit:
    """A leave-one-out split whose training parts never contain ``cold_items``.

    Attributes:
        split: the SplitData (all items keep their internal ids; cold ones only occur as valid/test targets
            and, at test time, as the valid item appended to a history).
        cold_items: sorted internal ids of the held-out items.
    """

    split: SplitData
    cold_items: np.ndarray

    def item_groups(self) -> np.ndarray:
        """(N+1,) "cold" / "warm" label per internal item id (padding = "")."""
        labels = np.full(self.split.num_items + 1, "warm", dtype=object)
        labels[0] = ""
        labels[self.cold_items] = "cold"
        return labels


def cold_start_split(interactions: pd.DataFrame, cold_fraction: float = 0.1, seed: int = 0,
                     **split_kwargs) -> ColdStartSplit:
    """Leave-one-out split, then a random ``cold_fraction`` of the items removed from all training parts.

    Users whose training part becomes empty are dropped (counted in ``dropped_users``).
    """
    if not 0.0 < cold_fraction < 1.0:
        raise ValueError(f"cold_fraction must lie in (0, 1), got {cold_fraction}")
    split = leave_one_out(interactions, **split_kwargs)
    rng = np.random.default_rng(seed)
    count = max(1, int(round(cold_fraction * split.num_items)))
    cold = np.sort(rng.choice(np.arange(1, split.num_items + 1), size=count, replace=False))
    keep_masks = [~np.isin(seq, cold) for seq in split.train]
    train = [seq[m] for seq, m in zip(split.train, keep_masks)]
    times = [t[m] for t, m in zip(split.train_times, keep_masks)]
    users = np.array([len(seq) > 0 for seq in train])
    pick = np.flatnonzero(users)
    cold_split = dataclasses.replace(
        split, user_ids=split.user_ids[pick], train=[train[i] for i in pick], train_times=[times[i] for i in pick],
        valid_targets=split.valid_targets[pick], test_targets=split.test_targets[pick],
        valid_times=split.valid_times[pick], test_times=split.test_times[pick],
        dropped_users=split.dropped_users + int((~users).sum()), _user_index=None)
    return ColdStartSplit(cold_split, cold)
