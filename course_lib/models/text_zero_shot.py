"""Zero-shot text recommender: rank items by how close their text is to what the user watched recently.

No training on interactions at all. With ``e_i`` (D,) the unit text embedding of item ``i`` and a history
``s_1 .. s_T`` (most recent last), the user profile is a recency-weighted mean

    p = sum_t gamma^(T - t) e_{s_t} / sum_t gamma^(T - t)

(``gamma`` in (0, 1] is the decay: 1 = plain mean, near 0 = only the last item counts), and the score of a
candidate is the cosine similarity ``score(i) = e_i . p / ||p||``. Every item with a text has a vector, so
items never seen in any interaction (cold items) are recommendable.
"""

from __future__ import annotations

import numpy as np
import torch

from course_lib.sequences import SplitData

DECAY_GRID = (0.0, 0.5, 0.8, 0.9, 0.95, 1.0)


class TextZeroShot:
    """Score = cosine(text embedding of the candidate, recency-weighted mean of the history's embeddings).

    Args:
        item_emb: (N+1, D) text embeddings aligned with internal ids; row 0 (padding) is ignored.
        decay: gamma in [0, 1]; the weight of the item ``k`` steps before the last one is ``gamma ** k``.
    """

    def __init__(self, item_emb, decay: float = 0.9):
        table = torch.as_tensor(np.asarray(item_emb), dtype=torch.float32)
        if table.ndim != 2 or table.shape[0] < 2:
            raise ValueError(f"item_emb must be (N+1, D) with N >= 1, got shape {tuple(table.shape)}")
        if not 0.0 <= decay <= 1.0:
            raise ValueError(f"decay must lie in [0, 1], got {decay}")
        self.item_emb = torch.nn.functional.normalize(table, dim=-1)   # (N+1, D), row 0 stays zeros
        self.item_emb[0] = 0.0
        self.decay = float(decay)

    @property
    def num_items(self) -> int:
        return self.item_emb.shape[0] - 1

    def fit(self, split: SplitData) -> "TextZeroShot":
        """Nothing to learn; checks that the embedding table covers the split's items."""
        if split.num_items != self.num_items:
            raise ValueError(f"split has {split.num_items} items but item_emb covers {self.num_items}")
        return self

    def profile(self, seqs: torch.Tensor) -> torch.Tensor:
        """(B, L) left-padded item ids -> (B, D) unit user profiles (zeros for an empty history)."""
        seqs = seqs.cpu().long()
        length = seqs.shape[1]
        age = torch.arange(length - 1, -1, -1, dtype=torch.float32)     # (L,), 0 for the last column
        weights = torch.pow(self.decay, age).expand_as(seqs).clone()  # (B, L); 0 ** 0 = 1: last item only
        weights[seqs == 0] = 0.0                                        # left padding: last column = most recent
        summed = torch.einsum("bl,bld->bd", weights, self.item_emb[seqs])            # (B, D)
        return torch.nn.functional.normalize(summed, dim=-1)

    @torch.no_grad()
    def scores(self, seqs: torch.Tensor) -> torch.Tensor:
        """(B, L) left-padded histories -> (B, N+1) cosine scores; column 0 (padding) = -inf."""
        out = self.profile(seqs) @ self.item_emb.T                                    # (B, N+1)
        out[:, 0] = float("-inf")
        return out


def select_decay(item_emb, split: SplitData, grid=DECAY_GRID, max_len: int = 50) -> tuple[float, dict]:
    """Choose gamma by validation NDCG@10 (never the test split); returns (best, {gamma: valid ndcg@10})."""
    from course_lib.metrics import evaluate

    results = {g: evaluate(TextZeroShot(item_emb, g), split, part="valid", max_len=max_len)["ndcg@10"]
               for g in grid}
    return max(results, key=results.get), results


def train_default(split: SplitData, *, seed: int, fast: bool, dataset: str = "ml-100k",
                  encoder: str | None = None) -> dict:
    """`course train text-zeroshot`: encode the items (cached), pick gamma on validation, no training."""
    import time

    from course_lib.data import load_movielens
    from course_lib.metrics import evaluate
    from course_lib.text_cache import embed_items

    start = time.perf_counter()
    emb = embed_items(load_movielens(dataset).items, dataset, encoder)
    table = emb.table(split.item_ids)
    best, _ = select_decay(table, split, grid=(0.5, 0.9, 1.0) if fast else DECAY_GRID)
    model = TextZeroShot(table, best).fit(split)
    seconds = time.perf_counter() - start
    params = {"decay": best, "encoder": encoder or "all-MiniLM-L6-v2"}
    return {"model": "text-zeroshot", "valid": evaluate(model, split, part="valid"), "epochs": 0,
            "seconds_per_epoch": 0.0, "total_seconds": seconds, "params": params, "recommender": model}
