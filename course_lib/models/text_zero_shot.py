"""Zero-shot text recommender: rank items by how close their text is to what the user watched recently.

No training on interactions at all. With ``e_i`` (D,) the unit text embedding of item ``i`` and a history
``s_1 .. s_T`` (most recent last), the user profile is a recency-weighted mean

    p = sum_t gamma^(T - t) e_{s_t} / sum_t gamma^(T - t)

(``gamma`` in [0, 1] is the decay: 1 = plain mean, 0 = only the last item counts), and the score of a
candidate is the cosine similarity ``score(i) = e_i . p / ||p||``. This is exactly the embedding recommender of
notebooks 03–04 (``course_lib.embeddings.recommender.EmbeddingRecommender``) applied to text vectors, so it is
that class; every item with a text has a vector, so items never seen in any interaction (cold items) are
recommendable.
"""

from __future__ import annotations

from course_lib.embeddings.recommender import EmbeddingRecommender
from course_lib.sequences import SplitData

DECAY_GRID = (0.0, 0.5, 0.8, 0.9, 0.95, 1.0)


class TextZeroShot(EmbeddingRecommender):
    """Score = cosine(text embedding of the candidate, recency-weighted mean of the history's embeddings).

    Args:
        item_emb: (N+1, D) text embeddings aligned with internal ids; row 0 (padding) is ignored.
        decay: gamma in [0, 1]; the weight of the item ``k`` steps before the last one is ``gamma ** k``.
    """

    def __init__(self, item_emb, decay: float = 0.9):
        super().__init__(item_emb, decay=decay)

    def fit(self, split: SplitData) -> "TextZeroShot":
        """Nothing to learn; checks that the embedding table covers the split's items."""
        if split.num_items != self.num_items:
            raise ValueError(f"split has {split.num_items} items but item_emb covers {self.num_items}")
        return self
