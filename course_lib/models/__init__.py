"""Recommenders, one per file, sharing one interface: ``scores(seqs (B, L) LongTensor, left padded) -> (B, N+1)``.

Classical baselines (``fit(split)`` then ``scores``; column 0, padding, is always ``-inf``):
    random       RandomRecommender      uniform random scores (the floor every model must beat)
    popularity   PopularityRecommender  training-set item counts, the same list for everyone
                 PastPurchasesRecommender  what the history holds, most often first (repeat purchases)
    markov       MarkovRecommender      first-order item -> item transitions, smoothed towards popularity
    itemknn      ItemKNNRecommender     cosine similarity of items' user sets, summed over recent items

Neural models (``torch.nn.Module``) add ``forward(seqs) -> hidden (B, L, D)`` and ``loss(batch)``.
Models hold architectures and scorers only; how each is trained and chosen on validation (its recipe) lives in
``course_lib.recipes``, which imports the models and never the other way round.
"""

from __future__ import annotations

import numpy as np
import torch

from course_lib.sequences import SplitData


def item_counts(split: SplitData, include_valid: bool = False) -> np.ndarray:
    """(N+1,) float64 item counts over every training interaction (+ the validation items if asked)."""
    counts = split.train_item_counts().astype(np.float64)
    if include_valid:
        np.add.at(counts, split.valid_targets, 1.0)
    return counts


def last_items(seqs: torch.Tensor) -> np.ndarray:
    """(B,) the most recent item of each left-padded row of ``seqs`` (B, L) (0 for an empty row)."""
    if seqs.dim() != 2:
        raise ValueError(f"seqs must be (batch, max_len), got shape {tuple(seqs.shape)}")
    return seqs[:, -1].detach().cpu().numpy().astype(np.int64)
