"""Most-popular recommender: the same ranked list (training-set counts) for every user.

Counts come from the training parts only (every training interaction counts once), the same fitted model
scores validation and test users. This is RecBole's protocol (its Pop model is fitted on the training
split); ``include_valid=True`` also counts the validation items, which are known at test time (it changes
test metrics only marginally on ML-100k, 943 extra counts on ~97k). The user's history is removed from
the candidates by the evaluator, not by the model.
"""

from __future__ import annotations

import numpy as np
import torch

from course_lib.models import item_counts
from course_lib.sequences import SplitData


class PopularityRecommender:
    """score_j = count_j (training interactions of item j); column 0 = -inf."""

    def __init__(self, include_valid: bool = False):
        self.include_valid = include_valid
        self.counts = None                                                   # (N+1,) float tensor

    def fit(self, split: SplitData) -> "PopularityRecommender":
        counts = item_counts(split, self.include_valid)
        counts[0] = -np.inf
        self.counts = torch.from_numpy(counts).float()
        return self

    def top_items(self, k: int = 10) -> np.ndarray:
        """The k most popular internal item ids, most popular first."""
        if self.counts is None:
            raise RuntimeError("PopularityRecommender used before fit(split)")
        return torch.argsort(self.counts, descending=True, stable=True)[:k].numpy()

    def scores(self, seqs: torch.Tensor) -> torch.Tensor:
        """(B, L) -> (B, N+1): every row is the count vector."""
        self.top_items(0)                                                    # raises if not fitted
        return self.counts.to(seqs.device).expand(len(seqs), -1).clone()


class PastPurchasesRecommender(PopularityRecommender):
    """score_j = how often j occurs in the history, popularity breaking ties (a share below one count).

    The repeat-consumption baseline: buy again what you bought before. It needs the history to hold earlier
    visits (a customer-level split), and it must be evaluated without removing the history from the candidates.
    """

    def scores(self, seqs: torch.Tensor) -> torch.Tensor:
        """(B, L) -> (B, N+1): history counts + 0.5 * count_j / max count; column 0 = -inf."""
        base = super().scores(seqs)
        popular = base[:, 1:]
        scores = 0.5 * base / popular.max().clamp_min(1.0)
        repeats = torch.zeros_like(scores).scatter_add_(1, seqs, torch.ones_like(seqs, dtype=scores.dtype))
        repeats[:, 0] = 0.0
        return scores + repeats
