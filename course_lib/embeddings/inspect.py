"""Looking at item embeddings: neighbour tables, genre agreement, a 2-D map coloured by genre."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from course_lib.embeddings.recommender import as_table, nearest_neighbours, normalise_rows

MAP_GENRES = ("Children's", "Horror", "Documentary", "Sci-Fi", "Romance", "Drama")


def item_titles(items: pd.DataFrame, item_ids: np.ndarray) -> np.ndarray:
    """(N+1,) titles in internal-id order (``item_ids`` = split.item_ids; padding -> "")."""
    by_id = items.set_index("item_id")["title"]
    return np.array([by_id.get(int(raw), "") for raw in item_ids], dtype=object)


def item_genres(items: pd.DataFrame, item_ids: np.ndarray) -> list[list[str]]:
    """(N+1,) genre lists in internal-id order (padding -> [])."""
    by_id = items.set_index("item_id")["genres"]
    return [list(by_id.get(int(raw), [])) for raw in item_ids]


def neighbour_table(tables: dict, titles: np.ndarray, query: int, k: int = 8) -> pd.DataFrame:
    """Side-by-side nearest neighbours of internal id ``query`` in each named (N+1, D) table.

    Columns: "<name>" (title) and "<name> cos" (cosine similarity), one row per rank.
    """
    columns = {}
    for name, vectors in tables.items():
        ids, sims = nearest_neighbours(vectors, query, k)
        columns[name] = titles[ids]
        columns[f"{name} cos"] = np.round(sims, 3)
    return pd.DataFrame(columns, index=pd.RangeIndex(1, k + 1, name="rank"))


def genre_agreement(vectors, genres: list[list[str]], k: int = 10) -> float:
    """Share of each item's ``k`` nearest neighbours that share at least one genre with it, averaged over
    items with a non-zero vector. A quick, label-based check of what an embedding learned."""
    table = normalise_rows(as_table(vectors))
    valid = (table.norm(dim=1) > 0).numpy()
    sims = table @ table.T
    sims.fill_diagonal_(float("-inf"))
    sims[:, torch.from_numpy(~valid)] = float("-inf")
    top = torch.topk(sims, k, dim=1).indices.numpy()
    sets = [set(g) for g in genres]
    shares = [np.mean([bool(sets[i] & sets[j]) for j in top[i]]) for i in np.flatnonzero(valid)]
    return float(np.mean(shares))


def map_labels(genres: list[list[str]], order=MAP_GENRES) -> np.ndarray:
    """One colour label per item: the first genre of ``order`` it has, else "other"."""
    return np.array([next((g for g in order if g in item), "other") for item in genres], dtype=object)


def plot_embedding_map(vectors, labels: np.ndarray, ax=None, title: str = "", order=MAP_GENRES):
    """2-D PCA of the non-zero rows of ``vectors`` (N+1, D), one colour per label; returns the axes."""
    import matplotlib.pyplot as plt
    from sklearn.decomposition import PCA

    vectors = np.asarray(vectors, dtype=np.float32)
    keep = np.linalg.norm(vectors, axis=1) > 0
    points = PCA(n_components=2, random_state=0).fit_transform(normalise_rows(torch.from_numpy(vectors[keep])).numpy())
    labels = np.asarray(labels)[keep]
    ax = ax or plt.gca()
    ax.scatter(*points[labels == "other"].T, s=4, c="lightgrey", label="other")
    for genre in order:
        ax.scatter(*points[labels == genre].T, s=7, label=genre)
    ax.set_title(title)
    ax.set_xticks([]); ax.set_yticks([])
    return ax
