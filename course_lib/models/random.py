"""Random recommender: every item gets a uniform random score. The floor: HR@10 ~ 10 / N."""

from __future__ import annotations

import torch

from course_lib.sequences import SplitData


class RandomRecommender:
    """Scores ~ U(0, 1), redrawn at every call from a seeded generator (so runs repeat)."""

    def __init__(self, seed: int = 0):
        self.seed = seed
        self.num_items = None
        self.generator = torch.Generator().manual_seed(seed)

    def fit(self, split: SplitData) -> "RandomRecommender":
        self.num_items = split.num_items
        self.generator.manual_seed(self.seed)
        return self

    def scores(self, seqs: torch.Tensor) -> torch.Tensor:
        """(B, L) -> (B, N+1) random scores on the input's device; column 0 = -inf."""
        if self.num_items is None:
            raise RuntimeError("RandomRecommender.scores called before fit(split)")
        out = torch.rand(len(seqs), self.num_items + 1, generator=self.generator).to(seqs.device)
        out[:, 0] = float("-inf")
        return out
