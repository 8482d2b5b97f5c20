"""Static embeddings for items and words: Word2Vec (gensim), GloVe (PyTorch), and what to do with them.

* ``word2vec``      - item2vec on item sequences, word vectors for item text (gensim 4).
* ``cooccurrence``  - distance-weighted windowed co-occurrence counts (sparse, vectorised).
* ``glove``         - GloVe's weighted least squares in PyTorch (AdaGrad or Adam, mini-batches of entries).
* ``recommender``   - ``EmbeddingRecommender`` (similarity to a recency-weighted history average), neighbours.
* ``io``            - item embeddings saved with their raw item ids; the GloVe text format.
* ``synthetic``     - toy corpora with planted pairs, for tests and demonstrations.
"""

from course_lib.embeddings.cooccurrence import cooccurrence_matrix
from course_lib.embeddings.glove import GloVe, GloVeConfig, glove_objective, glove_weight, train_glove
from course_lib.embeddings.io import (align_to_split, load_glove_text, load_item_embeddings, save_glove_text,
                                      save_item_embeddings)
from course_lib.embeddings.recommender import EmbeddingRecommender, nearest_neighbours
from course_lib.embeddings.word2vec import (ITEM2VEC_DEFAULTS, item_vectors, text_item_vectors, train_item2vec,
                                            train_word_vectors)

__all__ = ["cooccurrence_matrix", "GloVe", "GloVeConfig", "glove_objective", "glove_weight", "train_glove",
           "align_to_split", "load_glove_text", "load_item_embeddings", "save_glove_text", "save_item_embeddings",
           "EmbeddingRecommender", "nearest_neighbours", "ITEM2VEC_DEFAULTS", "item_vectors", "text_item_vectors",
           "train_item2vec", "train_word_vectors"]
