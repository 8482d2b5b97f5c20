"""item2vec and word vectors (gensim), the embedding recommender."""

import numpy as np
import pandas as pd
import pytest
import torch

from course_lib.embeddings import EmbeddingRecommender, item_vectors, nearest_neighbours, train_item2vec
from course_lib.embeddings.synthetic import planted_pairs_corpus
from course_lib.embeddings.word2vec import (average_word_vectors, item_text_tokens, text_item_vectors, tokenize,
                                            train_word_vectors)


@pytest.fixture(scope="module")
def planted():
    sequences, pairs = planted_pairs_corpus(num_symbols=50, num_pairs=8, num_sequences=600, length=10, seed=1)
    model = train_item2vec(sequences, seed=0, vector_size=16, window=3, epochs=30, sample=0)
    return model, item_vectors(model, 50), pairs


def test_item2vec_finds_planted_pairs(planted):
    _, vectors, pairs = planted
    hits = sum(b == nearest_neighbours(vectors, a, k=1)[0][0] for a, b in pairs)
    assert hits >= len(pairs) - 1


def test_item_vectors_layout(planted):
    model, vectors, _ = planted
    assert vectors.shape == (51, 16) and vectors.dtype == np.float32
    assert not vectors[0].any()
    assert np.array_equal(vectors[7], model.wv["7"])


def test_item2vec_keeps_rare_items_and_is_reproducible():
    sequences = [[1, 2, 3, 4], [2, 3, 4, 1], [5, 1, 2]]          # item 5 occurs once
    a = train_item2vec(sequences, seed=3, vector_size=8, epochs=2)
    b = train_item2vec(sequences, seed=3, vector_size=8, epochs=2)
    assert "5" in a.wv.key_to_index                               # min_count=1, unlike gensim's default 5
    assert np.array_equal(item_vectors(a, 6), item_vectors(b, 6))
    assert not item_vectors(a, 6)[6].any()                        # never seen -> zero row


def test_item2vec_refuses_bad_input():
    with pytest.raises(ValueError, match="no non-empty"):
        train_item2vec([[0, 0], []])
    with pytest.raises(ValueError, match="unknown Word2Vec setting"):
        train_item2vec([[1, 2]], windw=3)


def test_tokens_and_averaged_word_vectors():
    assert tokenize("Star Wars (1977)") == ["star", "wars", "1977"]
    items = pd.DataFrame({"item_id": [10, 20], "title": ["Star Wars (1977)", "Heat (1995)"],
                          "year": [1977, 1995], "genres": [["Sci-Fi", "War"], ["Action"]]})
    tokens = item_text_tokens(items, np.array([-1, 20, 10]))
    assert tokens == [[], ["heat", "1995", "action"], ["star", "wars", "1977", "sci-fi", "war"]]
    table, model = text_item_vectors(items, np.array([-1, 20, 10]), seed=0, vector_size=4, epochs=2)
    assert table.shape == (3, 4) and not table[0].any()
    assert np.allclose(table[1], model.wv[["heat", "1995", "action"]].mean(axis=0))
    assert not average_word_vectors(model, [["unknown-word"]]).any()
    with pytest.raises(ValueError, match="no non-empty"):
        train_word_vectors([[]])


def test_recommender_hand_example():
    item_emb = np.array([[0, 0], [1, 0], [0, 1], [1, 1], [-1, 0]], dtype=np.float32)
    rec = EmbeddingRecommender(item_emb, decay=0.5)
    seqs = torch.tensor([[0, 1, 2], [0, 0, 4]])
    scores = rec.scores(seqs)
    assert scores.shape == (2, 5) and torch.isinf(scores[:, 0]).all()
    profile = (0.5 * np.array([1, 0]) + 1.0 * np.array([0, 1])) / 1.5      # item 2 is the most recent
    unit = item_emb[1:] / np.linalg.norm(item_emb[1:], axis=1, keepdims=True)
    expected = unit @ (profile / np.linalg.norm(profile))
    assert np.allclose(scores[0, 1:].numpy(), expected, atol=1e-6)
    assert scores[1].argmax() == 4                                         # same direction as item 4


def test_recommender_ignores_padding_and_checks_ids():
    item_emb = np.random.default_rng(0).normal(size=(6, 3)).astype(np.float32)
    rec = EmbeddingRecommender(item_emb, decay=0.9)
    assert torch.allclose(rec.scores(torch.tensor([[0, 0, 3, 5]])), rec.scores(torch.tensor([[3, 5]])))
    with pytest.raises(ValueError, match=r"\[0, 5\]"):
        rec.scores(torch.tensor([[1, 6]]))
    with pytest.raises(ValueError, match="decay"):
        EmbeddingRecommender(item_emb, decay=-0.1)
    last_only = EmbeddingRecommender(item_emb, decay=0.0)          # 0 ** 0 = 1: only the last item counts
    assert torch.allclose(last_only.scores(torch.tensor([[3, 5]])), last_only.scores(torch.tensor([[5]])))


def test_neighbours_refuse_a_zero_row():
    with pytest.raises(ValueError, match="zero vector"):
        nearest_neighbours(np.zeros((3, 2)), 1)
