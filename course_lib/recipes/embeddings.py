"""Recipes of the embedding models: ``course train item2vec`` and ``course train glove``.

Both train item vectors on the training part of each user's history only (never the validation or test
items), wrap them in an ``EmbeddingRecommender`` and choose its recency ``decay`` by validation NDCG@10.
"""

from __future__ import annotations

import time

from course_lib.embeddings.cooccurrence import cooccurrence_matrix
from course_lib.embeddings.glove import GloVeConfig, symbol_vectors, train_glove
from course_lib.embeddings.recommender import EmbeddingRecommender
from course_lib.embeddings.word2vec import ITEM2VEC_DEFAULTS, item_vectors, train_item2vec
from course_lib.recipes.common import choose_on_validation
from course_lib.sequences import SplitData

DECAY_GRID = (0.1, 0.3, 0.6, 0.9)
ITEM2VEC_RECIPE = {k: ITEM2VEC_DEFAULTS[k] for k in ("vector_size", "window", "sg", "negative", "ns_exponent",
                                                    "sample", "epochs")}   # chosen on validation
ITEM2VEC_FAST = dict(epochs=5)
GLOVE_WINDOW = 5
GLOVE_RECIPE = dict(dim=64, x_max=20.0, alpha=0.75, lr=0.05, num_epochs=30, batch_size=4096)
GLOVE_FAST = dict(num_epochs=5)


def choose_decay(item_emb, split: SplitData, grid=DECAY_GRID) -> tuple[EmbeddingRecommender, dict, dict]:
    """Try each recency decay on the VALIDATION split; return (best recommender, its metrics, {decay: ndcg@10})."""
    model, valid, _, scores = choose_on_validation(
        EmbeddingRecommender, split, {d: {"item_emb": item_emb, "decay": d} for d in grid})
    return model, valid, scores


def _report(name: str, recommender, valid: dict, grid: dict, params: dict, epochs: int, start: float,
            train_seconds: float, item_emb) -> dict:
    return {"model": name, "valid": valid, "epochs": epochs, "seconds_per_epoch": train_seconds / max(epochs, 1),
            "total_seconds": time.perf_counter() - start, "params": {**params, "decay": recommender.decay},
            "valid_grid": grid, "recommender": recommender, "item_emb": item_emb}


def train_item2vec_default(split: SplitData, *, seed: int, fast: bool) -> dict:
    """``course train item2vec``: item2vec with the course recipe (one worker, seeded) + the embedding recommender."""
    start = time.perf_counter()
    params = {**ITEM2VEC_RECIPE, **(ITEM2VEC_FAST if fast else {})}
    model = train_item2vec(split.train, seed=seed, **params)
    train_seconds = time.perf_counter() - start
    item_emb = item_vectors(model, split.num_items)                      # (N+1, D)
    recommender, valid, grid = choose_decay(item_emb, split)
    return _report("item2vec", recommender, valid, grid, params, params["epochs"], start, train_seconds, item_emb)


def train_glove_default(split: SplitData, *, seed: int, fast: bool) -> dict:
    """``course train glove``: GloVe on the harmonic-window co-occurrences of the training sequences."""
    start = time.perf_counter()
    params = {**GLOVE_RECIPE, **(GLOVE_FAST if fast else {})}
    cooc = cooccurrence_matrix(split.train, split.num_items + 1, window=GLOVE_WINDOW)
    result = train_glove(cooc, GloVeConfig(seed=seed, **params))
    train_seconds = time.perf_counter() - start
    item_emb = symbol_vectors(result, cooc)                              # (N+1, D)
    recommender, valid, grid = choose_decay(item_emb, split)
    return _report("glove", recommender, valid, grid, {**params, "window": GLOVE_WINDOW}, params["num_epochs"],
                   start, train_seconds, item_emb)
