"""Recommenders, one per file, sharing one interface: ``scores(seqs (B, L) LongTensor, left padded) -> (B, N+1)``.

Classical baselines (``fit(split)`` then ``scores``; column 0, padding, is always ``-inf``):
    random       RandomRecommender      uniform random scores (the floor every model must beat)
    popularity   PopularityRecommender  training-set item counts, the same list for everyone
    markov       MarkovRecommender      first-order item -> item transitions, smoothed towards popularity
    itemknn      ItemKNNRecommender     cosine similarity of items' user sets, summed over recent items

Neural models (``torch.nn.Module``) add ``forward(seqs) -> hidden (B, L, D)`` and ``loss(batch)``.
Each model file also has ``train_default(split, *, seed, fast) -> dict``, the recipe behind ``course train``
(registered in ``course_lib.zoo.TRAINERS``).
"""

from __future__ import annotations

import time

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


def fit_baseline(name: str, make_model, split: SplitData, grid: dict | None = None) -> dict:
    """Fit ``make_model(**setting)`` on ``split`` for each setting in ``grid`` ({label: kwargs}), keep the best
    by validation NDCG@10 (never the test split); return ``course train``'s result dict."""
    from course_lib.metrics import evaluate

    start = time.perf_counter()
    grid = grid or {"default": {}}
    results = {}
    for label, kwargs in grid.items():
        model = make_model(**kwargs).fit(split)
        results[label] = (evaluate(model, split, part="valid"), model, kwargs)
    best = max(results, key=lambda label: results[label][0]["ndcg@10"])
    valid, model, kwargs = results[best]
    seconds = time.perf_counter() - start
    return {"model": name, "valid": valid, "epochs": 0, "seconds_per_epoch": 0.0, "total_seconds": seconds,
            "params": kwargs, "valid_grid": {label: r[0]["ndcg@10"] for label, r in results.items()},
            "recommender": model}
