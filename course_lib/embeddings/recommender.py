"""A next-item recommender from item embeddings, and nearest-neighbour look-ups.

For a history ``s_1 .. s_T`` (most recent last) the user's profile is a recency-weighted average of the
history's item vectors, and every item is scored by its cosine similarity to that profile::

    u = sum_t decay ** (T - t) * v[s_t] / sum_t decay ** (T - t)
    score(i) = cos(u, v[i])

``decay = 1`` is a plain average; ``decay = 0`` uses only the last item ("items similar to what you
just watched"; 0 ** 0 = 1). Padding (id 0) never counts and never competes (its score is -inf).
"""

from __future__ import annotations

import numpy as np
import torch


def as_table(vectors) -> torch.Tensor:
    """An (N+1, D) float32 CPU tensor from a NumPy array or a tensor on any device."""
    if isinstance(vectors, torch.Tensor):
        vectors = vectors.detach().cpu()
    table = torch.as_tensor(np.asarray(vectors, dtype=np.float32))
    if table.dim() != 2:
        raise ValueError(f"expected an (N+1, D) embedding table, got shape {tuple(table.shape)}")
    return table


def normalise_rows(table: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """(V, D) rows scaled to unit length; zero rows stay zero."""
    return table / table.norm(dim=-1, keepdim=True).clamp_min(eps)


class EmbeddingRecommender:
    """Scores items by cosine similarity to a recency-weighted average of the history's item vectors.

    Args:
        item_emb: (N+1, D) item vectors indexed by internal id (row 0 = padding, ignored).
        decay: weight ratio between consecutive history positions, in [0, 1].
        max_len: only the last ``max_len`` items of a history count (None = all given).
    """

    def __init__(self, item_emb, decay: float = 0.8, max_len: int | None = None):
        if not 0.0 <= decay <= 1.0:
            raise ValueError(f"decay={decay}: expected 0 <= decay <= 1")
        self.item_emb = as_table(item_emb)
        self.unit = normalise_rows(self.item_emb)
        self.decay = float(decay)
        self.max_len = max_len

    @property
    def num_items(self) -> int:
        return self.item_emb.shape[0] - 1

    def profiles(self, seqs: torch.Tensor) -> torch.Tensor:
        """(B, L) left-padded internal ids -> (B, D) recency-weighted mean of unit item vectors."""
        seqs = torch.as_tensor(seqs, dtype=torch.long)
        if seqs.dim() != 2:
            raise ValueError(f"seqs must be (B, L), got shape {tuple(seqs.shape)}")
        if seqs.numel() and (seqs.min() < 0 or seqs.max() > self.num_items):
            raise ValueError(f"item ids must lie in [0, {self.num_items}]")
        if self.max_len is not None:
            seqs = seqs[:, -self.max_len:]
        length = seqs.shape[1]
        age = torch.arange(length - 1, -1, -1, dtype=torch.float32)          # (L,) 0 for the last column
        weights = (self.decay ** age).unsqueeze(0) * (seqs != 0).float()     # (B, L)
        summed = torch.einsum("bl,bld->bd", weights, self.unit[seqs])        # (B, D)
        return summed / weights.sum(1, keepdim=True).clamp_min(1e-8)

    @torch.no_grad()
    def scores(self, seqs: torch.Tensor) -> torch.Tensor:
        """(B, L) left-padded histories -> (B, N+1) cosine scores; column 0 is -inf."""
        scores = normalise_rows(self.profiles(seqs)) @ self.unit.T          # (B, N+1)
        scores[:, 0] = float("-inf")
        return scores


def nearest_neighbours(vectors, query: int, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` rows most cosine-similar to row ``query`` (itself and zero rows excluded).

    Returns (ids (k,), similarities (k,)), most similar first.
    """
    table = normalise_rows(as_table(vectors))
    if not 0 <= query < table.shape[0]:
        raise ValueError(f"query={query} outside [0, {table.shape[0]})")
    if float(table[query].norm()) == 0.0:
        raise ValueError(f"row {query} is a zero vector (an item the model never saw): no neighbours")
    sims = table @ table[query]
    sims[query] = float("-inf")
    sims[table.norm(dim=1) == 0] = float("-inf")
    top = torch.topk(sims, min(k, int(torch.isfinite(sims).sum())))
    return top.indices.numpy(), top.values.numpy()
