"""First-order Markov chain: what do people watch right after the item this user watched last?

Transition counts ``C[i, j]`` = how often item j directly follows item i in the training sequences (a
sparse (N+1, N+1) matrix). The score of item j for a user whose last item is i is the smoothed estimate

    P(j | i) = (C[i, j] + beta * pop(j)) / (C[i, :].sum() + beta)

where pop(j) = count_j / total is the training popularity and beta >= 0 the smoothing strength (a
Dirichlet prior centred on popularity). Rare predecessors (small C[i, :].sum()) back off towards popularity,
an unseen predecessor or an empty history gives popularity exactly, and unseen transitions keep a
non-zero score so they are still ordered sensibly. beta is chosen on the validation split.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from course_lib.models import item_counts, last_items
from course_lib.sequences import SplitData


def transition_counts(split: SplitData, include_valid: bool = False) -> sp.csr_matrix:
    """(N+1, N+1) sparse counts of "j directly follows i" in the training parts (+ last train -> valid item)."""
    sources, dests = [], []
    for row, seq in enumerate(split.train):
        seq = np.append(seq, split.valid_targets[row]) if include_valid else np.asarray(seq)
        sources.append(seq[:-1])
        dests.append(seq[1:])
    src = np.concatenate(sources).astype(np.int64) if sources else np.empty(0, np.int64)
    dst = np.concatenate(dests).astype(np.int64) if dests else np.empty(0, np.int64)
    size = split.num_items + 1
    return sp.csr_matrix((np.ones(len(src)), (src, dst)), shape=(size, size))   # duplicates are summed


class MarkovRecommender:
    """Scores from the last item of each history; see the module docstring for the formula."""

    def __init__(self, beta: float = 10.0, include_valid: bool = False):
        if beta < 0:
            raise ValueError(f"beta (smoothing) must be >= 0, got {beta}")
        self.beta, self.include_valid = beta, include_valid
        self.transitions = None

    def fit(self, split: SplitData) -> "MarkovRecommender":
        self.transitions = transition_counts(split, self.include_valid)                    # (N+1, N+1)
        self.row_totals = np.asarray(self.transitions.sum(axis=1)).ravel()                 # (N+1,)
        counts = item_counts(split, self.include_valid)
        self.popularity = counts / max(counts.sum(), 1.0)                                  # (N+1,)
        return self

    def scores(self, seqs: torch.Tensor) -> torch.Tensor:
        """(B, L) -> (B, N+1) smoothed transition probabilities from the last item; column 0 = -inf."""
        if self.transitions is None:
            raise RuntimeError("MarkovRecommender.scores called before fit(split)")
        last = last_items(seqs)                                                            # (B,)
        counts = self.transitions[last].toarray()                                          # (B, N+1)
        totals = self.row_totals[last][:, None]                                            # (B, 1)
        probs = (counts + self.beta * self.popularity) / np.maximum(totals + self.beta, 1e-12)
        empty = totals[:, 0] + self.beta == 0                                              # beta=0, unseen item
        probs[empty] = self.popularity
        out = torch.from_numpy(probs).float()
        out[:, 0] = float("-inf")
        return out.to(seqs.device)
