"""Sampled ranking: the evaluation many papers used, kept here only to show why the course does not.

Instead of ranking the target among all N items, sampled evaluation ranks it among the target plus
``num_negatives`` (typically 100) sampled items the user has not interacted with. HR@10 then asks "is the
target in the top 10 of 101?", a much easier question, so every number inflates, and because the sample
favours some models over others (popularity-proportional sampling punishes popularity-based models), model
order can flip (Krichene & Rendle, "On Sampled Metrics for Item Recommendation", KDD 2020). The course's
metric is full ranking: ``course_lib.metrics.evaluate``.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from course_lib.metrics import DEFAULT_KS, score_batches, summarize
from course_lib.sequences import SplitData

SAMPLINGS = ("uniform", "popularity")


def candidate_weights(split: SplitData, sampling: str) -> torch.Tensor:
    """(N+1,) sampling weight of each item: 1 ("uniform") or its training count ("popularity"); 0 for padding."""
    if sampling == "uniform":
        weights = np.ones(split.num_items + 1)
    elif sampling == "popularity":
        weights = split.train_item_counts().astype(np.float64)
    else:
        raise ValueError(f"sampling={sampling!r}: expected one of {SAMPLINGS}")
    weights[0] = 0.0
    return torch.from_numpy(weights)


def sampled_ranks(scores: torch.Tensor, targets: np.ndarray, histories, weights: torch.Tensor,
                  num_negatives: int, generator: torch.Generator) -> np.ndarray:
    """(B,) rank of each target among itself + ``num_negatives`` sampled items (ties against the target).

    Negatives are drawn without replacement with probability proportional to ``weights`` (N+1,), never the
    target, nor (if ``histories`` is not None) an item of the user's history.
    """
    scores = scores.detach().float().cpu()
    if torch.isnan(scores[:, 1:]).any():
        raise ValueError(f"scores contain NaN in {int(torch.isnan(scores[:, 1:]).any(1).sum())} row(s)")
    batch = len(scores)
    targets = torch.as_tensor(np.asarray(targets), dtype=torch.long)
    probs = weights.float().expand(batch, -1).clone()                               # (B, N+1)
    if histories is not None:
        for row, seen in enumerate(histories):
            probs[row, torch.as_tensor(np.asarray(seen, dtype=np.int64))] = 0.0
    probs[torch.arange(batch), targets] = 0.0
    available = int((probs > 0).sum(1).min())
    if available < num_negatives:
        raise ValueError(f"a user has only {available} items to sample from, fewer than num_negatives={num_negatives}")
    negatives = torch.multinomial(probs, num_negatives, replacement=False, generator=generator)   # (B, n)
    target_score = scores.gather(1, targets[:, None])                                # (B, 1)
    return (1 + (scores.gather(1, negatives) >= target_score).sum(1)).numpy().astype(np.int64)


def evaluate_sampled(model, split: SplitData, part: str = "test", num_negatives: int = 100,
                     sampling: str = "uniform", ks: Sequence[int] = DEFAULT_KS, exclude_history: bool = True,
                     max_len: int = 50, batch_size: int = 256, device=None, seed: int = 0,
                     return_ranks: bool = False) -> dict:
    """Sampled-ranking metrics (target vs ``num_negatives`` sampled items). NOT comparable with ``evaluate``.

    Prints a warning that the numbers are sampled. Same arguments as ``course_lib.metrics.evaluate`` plus
    ``num_negatives``, ``sampling`` ("uniform" or "popularity": proportional to training counts) and ``seed``
    (the same seed gives every model the same negatives).
    """
    if num_negatives < 1:
        raise ValueError(f"num_negatives must be >= 1, got {num_negatives}")
    weights = candidate_weights(split, sampling)
    print(f"WARNING: sampled metrics ({num_negatives} {sampling} negatives per user) are NOT comparable with "
          "full-ranking metrics: they inflate every number and can reorder models.")
    generator = torch.Generator().manual_seed(seed)
    histories, targets = split.histories(part), split.targets(part)
    ranks = np.empty(len(targets), dtype=np.int64)
    for rows, scores in score_batches(model, split, part, max_len, batch_size, device):
        ranks[rows] = sampled_ranks(scores, targets[rows], histories[rows] if exclude_history else None,
                                    weights, num_negatives, generator)
    result = summarize(ranks, ks)
    if return_ranks:
        result["ranks"] = ranks
    return result
