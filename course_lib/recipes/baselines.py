"""Recipes of the count models: random, popularity, Markov chain, item-KNN (``course train random|pop|markov|itemknn``).

Each fits in seconds; where a model has a setting, it is chosen on validation NDCG@10 from a small grid.
"""

from __future__ import annotations

from course_lib.models.itemknn import ItemKNNRecommender
from course_lib.models.markov import MarkovRecommender
from course_lib.models.popularity import PopularityRecommender
from course_lib.models.random import RandomRecommender
from course_lib.recipes.common import fit_baseline
from course_lib.sequences import SplitData

BETA_GRID = (1.0, 100.0, 1000.0, 10000.0)      # Markov smoothing towards popularity
RECENT_GRID = (1, 5, 20, 50)                    # item-KNN: how many recent items vote


def train_random(split: SplitData, *, seed: int, fast: bool) -> dict:
    """``course train random``: nothing to learn."""
    return fit_baseline("random", lambda: RandomRecommender(seed), split)


def train_pop(split: SplitData, *, seed: int, fast: bool) -> dict:
    """``course train pop``: count the training interactions."""
    return fit_baseline("pop", PopularityRecommender, split)


def train_markov(split: SplitData, *, seed: int, fast: bool) -> dict:
    """``course train markov``: count transitions, choose beta by validation NDCG@10."""
    grid = (1.0, 1000.0) if fast else BETA_GRID
    return fit_baseline("markov", MarkovRecommender, split, {f"beta={b:g}": {"beta": b} for b in grid})


def train_itemknn(split: SplitData, *, seed: int, fast: bool) -> dict:
    """``course train itemknn``: cosine similarities, ``num_recent`` chosen by validation NDCG@10."""
    grid = (5, 20) if fast else RECENT_GRID
    return fit_baseline("itemknn", ItemKNNRecommender, split, {f"recent={r}": {"num_recent": r} for r in grid})
