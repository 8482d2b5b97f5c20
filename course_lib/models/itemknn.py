"""Item-KNN: recommend items similar to what the user watched recently.

Similarity is the cosine between items' *user sets* (user-level co-occurrence, order ignored), computed
from the training parts with a sparse user x item matrix X (U, N+1):

    sim(i, j) = co(i, j) / (sqrt(n_i * n_j) + shrink),     co = X^T X,  n_i = co(i, i),  sim(i, i) = 0

(``shrink`` damps similarities that rest on few users.) A user's score for item j is the sum of sim(h, j)
over the ``num_recent`` most recent items h of the history, plus a tiny popularity term that only orders
items with no similarity at all. User-level co-occurrence was chosen over a sliding window because on
ML-100k (few hundred ratings per user, many entered in one session) the order inside a user is weakly
informative; the sequential signal is what ``markov`` and the neural models add. ``num_recent`` is chosen
on the validation split.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from course_lib.models import item_counts
from course_lib.sequences import SplitData


def user_item_matrix(split: SplitData, include_valid: bool = False) -> sp.csr_matrix:
    """(U, N+1) binary sparse matrix: 1 where the user has the item in the training part (+ valid item)."""
    seqs = [np.append(s, v) if include_valid else np.asarray(s) for s, v in zip(split.train, split.valid_targets)]
    rows = np.repeat(np.arange(len(seqs)), [len(s) for s in seqs])
    cols = np.concatenate(seqs).astype(np.int64) if seqs else np.empty(0, np.int64)
    matrix = sp.csr_matrix((np.ones(len(cols)), (rows, cols)), shape=(len(seqs), split.num_items + 1))
    matrix.data[:] = 1.0                                                       # repeats count once
    return matrix


def cosine_similarity(users_items: sp.csr_matrix, shrink: float = 0.0) -> sp.csr_matrix:
    """(N+1, N+1) sparse item-item cosine similarity with zero diagonal (see module docstring)."""
    co = (users_items.T @ users_items).tocoo()                                 # (N+1, N+1) co-occurrence
    norms = np.sqrt(np.asarray(users_items.sum(axis=0)).ravel())               # (N+1,)
    values = co.data / (norms[co.row] * norms[co.col] + shrink)
    keep = co.row != co.col
    size = users_items.shape[1]
    return sp.csr_matrix((values[keep], (co.row[keep], co.col[keep])), shape=(size, size))


class ItemKNNRecommender:
    """score_j = sum over the last ``num_recent`` history items h of sim(h, j) (+ 1e-6 * relative popularity)."""

    def __init__(self, num_recent: int = 20, shrink: float = 10.0, include_valid: bool = False):
        if num_recent < 1:
            raise ValueError(f"num_recent must be >= 1, got {num_recent}")
        self.num_recent, self.shrink, self.include_valid = num_recent, shrink, include_valid
        self.similarity = None

    def fit(self, split: SplitData) -> "ItemKNNRecommender":
        self.similarity = cosine_similarity(user_item_matrix(split, self.include_valid), self.shrink)
        counts = item_counts(split, self.include_valid)
        self.tie_break = 1e-6 * counts / max(counts.max(), 1.0)                             # (N+1,)
        return self

    def scores(self, seqs: torch.Tensor) -> torch.Tensor:
        """(B, L) -> (B, N+1) summed similarities to the recent items; column 0 = -inf."""
        if self.similarity is None:
            raise RuntimeError("ItemKNNRecommender.scores called before fit(split)")
        recent = seqs[:, -self.num_recent:].detach().cpu().numpy()                          # (B, R)
        rows, cols = np.nonzero(recent)
        size = self.similarity.shape[0]
        weights = sp.csr_matrix((np.ones(len(rows)), (rows, recent[rows, cols])), shape=(len(seqs), size))
        dense = (weights @ self.similarity).toarray() + self.tie_break                      # (B, N+1)
        out = torch.from_numpy(dense).float()
        out[:, 0] = float("-inf")
        return out.to(seqs.device)
