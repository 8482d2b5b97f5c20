"""From an interaction log to model-ready sequences: ordering, id remapping, leave-one-out, padding.

The pipeline every notebook uses::

    split = leave_one_out(interactions)              # SplitData, ids remapped to 1..N (0 = padding)
    seqs = pad_left(split.histories("test"), 50)     # LongTensor (U, 50), most recent item last
    ds = NextItemDataset(split, max_len=50)          # causal (GPT-style) training examples
    ds = ClozeDataset(split, max_len=50, ...)        # masked-item (BERT-style) training examples

Chronological order and ties
----------------------------
Each user's interactions are sorted by ``timestamp``. MovieLens-100k records many ratings of one user in
the same second, so the order of equal timestamps must be decided by a rule, not by the order of rows in the
file (otherwise shuffling the input would change which item is the test target). The default rule,
``tie_break="item_id"``, orders equal timestamps by raw item id (ascending). ``"item_id_desc"`` reverses
that; ``"input"`` keeps the file's row order (stable sort) and exists to *show* why it is a bad idea.

``"recbole"`` reproduces the split of RecBole 1.2.1 (the library behind the course's reference numbers), which
differs in two ways: its ML-100k config normalises timestamps to [0, 1] and stores them as float32, so times
about a second apart can become equal; and it sorts stably, so ties keep the input row order. Given the
interactions in file order (``load_movielens(file_order=True)``), this rule gives RecBole's validation and
test targets for every user; about 30 % of its test targets differ from the course default's.

Leave-one-out
-------------
Per user: the last item is the test target, the second-to-last the validation target, the rest is the
training part. Users with fewer than 3 interactions cannot be split and are left out (counted in
``SplitData.dropped_users``). At validation time a model sees the training part; at test time it sees the
training part plus the validation item.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

TIE_BREAKS = ("item_id", "item_id_desc", "input", "recbole")
PARTS = ("valid", "test")


def sort_chronologically(interactions: pd.DataFrame, tie_break: str = "item_id") -> pd.DataFrame:
    """Rows sorted by user, then time, equal timestamps ordered by ``tie_break`` (see module docstring)."""
    if tie_break not in TIE_BREAKS:
        raise ValueError(f"tie_break={tie_break!r}: expected one of {TIE_BREAKS}")
    missing = {"user_id", "item_id", "timestamp"} - set(interactions.columns)
    if missing:
        raise ValueError(f"interactions lack column(s) {sorted(missing)}; need user_id, item_id, timestamp")
    frame = interactions.reset_index(drop=True)
    if tie_break == "input":
        return frame.sort_values(["user_id", "timestamp"], kind="stable").reset_index(drop=True)
    if tie_break == "recbole":
        return _recbole_order(frame)
    ascending = [True, True, tie_break == "item_id"]
    return frame.sort_values(["user_id", "timestamp", "item_id"], ascending=ascending,
                             kind="stable").reset_index(drop=True)


def _recbole_order(frame: pd.DataFrame) -> pd.DataFrame:
    """RecBole 1.2.1's order: stable sort by float32 min-max normalised time, then stable sort by user."""
    if frame.empty:
        return frame
    times = frame["timestamp"].to_numpy(dtype=np.float64)
    low, span = times.min(), times.max() - times.min()
    key = ((times - low) / span if span > 0 else np.ones_like(times)).astype(np.float32)
    by_time = np.argsort(key, kind="stable")
    by_user = by_time[np.argsort(frame["user_id"].to_numpy()[by_time], kind="stable")]
    return frame.iloc[by_user].reset_index(drop=True)


@dataclass
class SplitData:
    """A leave-one-out split with internal ids (items 1..N, 0 = padding; users 0..U-1).

    Attributes:
        num_items: N, the number of distinct items (internal ids 1..N).
        item_ids: (N+1,) internal id -> raw item id; ``item_ids[0] == -1`` (padding).
        item_index: raw item id -> internal id.
        user_ids: (U,) row -> raw user id.
        train: U arrays of internal item ids, chronological (the training part of each user).
        train_times: U arrays of timestamps aligned with ``train``.
        valid_targets, test_targets: (U,) internal ids of the held-out items.
        valid_times, test_times: (U,) their timestamps.
        dropped_users: users left out because they had fewer than 3 interactions.
        tie_break: the rule used to order equal timestamps.
    """

    num_items: int
    item_ids: np.ndarray
    item_index: dict
    user_ids: np.ndarray
    train: list
    train_times: list
    valid_targets: np.ndarray
    test_targets: np.ndarray
    valid_times: np.ndarray
    test_times: np.ndarray
    dropped_users: int = 0
    tie_break: str = "item_id"
    _user_index: dict = field(default=None, repr=False)

    @property
    def num_users(self) -> int:
        return len(self.user_ids)

    def histories(self, part: str) -> list[np.ndarray]:
        """What a model may see before predicting ``part``: "valid" -> train part; "test" -> train + valid item."""
        if part == "valid":
            return list(self.train)
        if part == "test":
            return [np.append(seq, v) for seq, v in zip(self.train, self.valid_targets)]
        raise ValueError(f"part={part!r}: expected one of {PARTS}")

    def targets(self, part: str) -> np.ndarray:
        """(U,) the held-out internal item id of each user for ``part``."""
        if part == "valid":
            return self.valid_targets
        if part == "test":
            return self.test_targets
        raise ValueError(f"part={part!r}: expected one of {PARTS}")

    def train_item_counts(self) -> np.ndarray:
        """(N+1,) how often each item occurs in the training parts (index 0 stays 0)."""
        counts = np.zeros(self.num_items + 1, dtype=np.int64)
        if self.train:
            np.add.at(counts, np.concatenate(self.train), 1)
        return counts

    def to_frame(self) -> pd.DataFrame:
        """Raw-id rows ``user_id, item_id, timestamp, part`` with part in {"train", "valid", "test"}."""
        lengths = np.array([len(s) for s in self.train])
        users = np.concatenate([np.repeat(self.user_ids, lengths), self.user_ids, self.user_ids])
        items = np.concatenate([np.concatenate(self.train) if self.train else np.empty(0, np.int64),
                                self.valid_targets, self.test_targets]).astype(np.int64)
        times = np.concatenate([np.concatenate(self.train_times) if self.train else np.empty(0, np.int64),
                                self.valid_times, self.test_times])
        parts = ["train"] * int(lengths.sum()) + ["valid"] * self.num_users + ["test"] * self.num_users
        frame = pd.DataFrame({"user_id": users, "item_id": self.item_ids[items], "timestamp": times,
                              "part": parts})
        return frame.sort_values(["user_id", "timestamp"], kind="stable").reset_index(drop=True)

    def summary(self) -> dict:
        """Counts worth printing: users, items, rows per part, sequence length statistics."""
        lengths = np.array([len(s) for s in self.train])
        return {"users": self.num_users, "items": self.num_items, "train_rows": int(lengths.sum()),
                "valid_rows": self.num_users, "test_rows": self.num_users,
                "median_train_length": float(np.median(lengths)) if len(lengths) else 0.0,
                "dropped_users": self.dropped_users}


def leave_one_out(interactions: pd.DataFrame, max_len: int | None = None,
                  tie_break: str = "item_id") -> SplitData:
    """Split a log per user: last item -> test, second-to-last -> valid, the rest -> train.

    Args:
        interactions: rows with ``user_id, item_id, timestamp`` (raw ids; other columns ignored).
        max_len: keep only the most recent ``max_len`` training items per user (None keeps all).
        tie_break: how equal timestamps are ordered (see module docstring).
    Returns:
        SplitData with items remapped to 1..N in ascending raw-id order (0 = padding).
    """
    if len(interactions) == 0:
        raise ValueError("interactions is empty: nothing to split")
    frame = sort_chronologically(interactions, tie_break)
    sizes = frame.groupby("user_id", sort=True).size()
    keep = sizes.index[sizes >= 3]
    dropped = int((sizes < 3).sum())
    frame = frame[frame["user_id"].isin(keep)]
    if frame.empty:
        raise ValueError("no user has the 3 interactions leave-one-out needs (train, valid, test)")
    raw_items = np.sort(frame["item_id"].unique())
    item_index = {raw: i + 1 for i, raw in enumerate(raw_items.tolist())}
    internal = np.searchsorted(raw_items, frame["item_id"].to_numpy()) + 1
    times = frame["timestamp"].to_numpy()
    users = frame["user_id"].to_numpy()
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]])
    ends = np.r_[starts[1:], len(users)]
    train, train_times = [], []
    for s, e in zip(starts, ends):
        lo = s if max_len is None else max(s, e - 2 - max_len)
        train.append(internal[lo:e - 2].astype(np.int64))
        train_times.append(times[lo:e - 2])
    return SplitData(
        num_items=len(raw_items), item_ids=np.r_[-1, raw_items].astype(np.int64), item_index=item_index,
        user_ids=users[starts], train=train, train_times=train_times,
        valid_targets=internal[ends - 2].astype(np.int64), test_targets=internal[ends - 1].astype(np.int64),
        valid_times=times[ends - 2], test_times=times[ends - 1], dropped_users=dropped, tie_break=tie_break)


def pad_left(histories: list, max_len: int) -> torch.Tensor:
    """(B, max_len) LongTensor: each history's last ``max_len`` items, right-aligned, zeros on the left."""
    if max_len < 1:
        raise ValueError(f"max_len must be >= 1, got {max_len}")
    out = torch.zeros(len(histories), max_len, dtype=torch.long)
    for row, seq in enumerate(histories):
        tail = np.asarray(seq, dtype=np.int64)[-max_len:]
        if len(tail):
            out[row, max_len - len(tail):] = torch.from_numpy(tail)
    return out


def _windows(seq: np.ndarray, size: int) -> list[np.ndarray]:
    """Cut ``seq`` from its end into windows of ``size`` items that overlap by one item.

    A causal model trained on window ``w`` predicts ``w[1:]`` from ``w[:-1]``; the overlap makes every
    item of ``seq`` (but the first) a prediction target exactly once.
    """
    out, end = [], len(seq)
    while end > 1:
        start = max(0, end - size)
        out.append(seq[start:end])
        end = start + 1
    return out


def _sliding_windows(seq: np.ndarray, size: int, step: int) -> list[np.ndarray]:
    """Windows of ``size`` items ending every ``step`` items from the end of ``seq`` (``len(seq) > size``).

    The original BERT4Rec code slides its window this way (step = 10% of the length) so that an item is
    seen at several positions and with several contexts; the first window always starts at the first item.
    """
    ends = list(range(len(seq), size, -step))
    out = [seq[end - size:end] for end in ends]
    out.append(seq[:size])
    return out


class NextItemDataset(Dataset):
    """Causal (GPT-style) training examples from the training parts.

    Item ``i`` returns ``(input_ids, labels)``, both LongTensor (max_len,), left padded: ``labels[t]`` is the
    item that follows ``input_ids[t]`` (0 where there is nothing to predict). Long sequences are cut into
    overlapping windows (``all_windows=True``) so that no training interaction is wasted; with
    ``all_windows=False`` only each user's most recent ``max_len + 1`` items are used.
    """

    def __init__(self, split: SplitData, max_len: int, all_windows: bool = True):
        self.max_len = max_len
        self.examples = []
        for seq in split.train:
            if len(seq) < 2:
                continue
            chunks = _windows(seq, max_len + 1) if all_windows else [seq[-(max_len + 1):]]
            self.examples.extend(chunks)

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, idx: int) -> tuple[torch.Tensor, torch.Tensor]:
        seq = self.examples[idx]
        return pad_left([seq[:-1]], self.max_len)[0], pad_left([seq[1:]], self.max_len)[0]


class ClozeDataset(Dataset):
    """Masked-item (BERT-style) training examples: each call masks a fresh random subset.

    Item ``i`` returns ``(input_ids, labels)``, LongTensor (max_len,), left padded. Each non-padding position
    is replaced by ``mask_id`` with probability ``mask_prob`` (at least one per sequence); ``labels`` holds
    the original item at masked positions and 0 elsewhere (0 = ignored by the loss). Padding is never
    masked. Randomness comes from torch's global generator, so ``seed_everything`` makes it repeatable.
    Sequences longer than ``max_len`` are cut into windows: by default overlapping by one item (every item
    in exactly one window, but the first), with ``window_step`` sliding every ``window_step`` items.
    """

    def __init__(self, split: SplitData, max_len: int, mask_prob: float, mask_id: int,
                 all_windows: bool = True, window_step: int | None = None):
        if not 0.0 < mask_prob < 1.0:
            raise ValueError(f"mask_prob must lie in (0, 1), got {mask_prob}")
        if window_step is not None and not 1 <= window_step <= max_len:
            raise ValueError(f"window_step must lie in [1, max_len={max_len}], got {window_step}")
        self.max_len, self.mask_prob, self.mask_id = max_len, mask_prob, mask_id
        self.examples = []
        for seq in split.train:
            if len(seq) == 0:
                continue
            if not all_windows or len(seq) <= max_len:
                chunks = [seq[-max_len:]]
            elif window_step is None:
                chunks = _windows(seq, max_len)
            else:
                chunks = _sliding_windows(seq, max_len, window_step)
            self.examples.extend(chunks)

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, idx: int) -> tuple[torch.Tensor, torch.Tensor]:
        items = pad_left([self.examples[idx]], self.max_len)[0]
        real = items > 0
        masked = (torch.rand(self.max_len) < self.mask_prob) & real
        if not masked.any():
            positions = torch.nonzero(real).flatten()
            masked[positions[torch.randint(len(positions), (1,))]] = True
        labels = torch.where(masked, items, torch.zeros_like(items))
        inputs = torch.where(masked, torch.full_like(items, self.mask_id), items)
        return inputs, labels
