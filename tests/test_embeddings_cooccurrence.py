"""The windowed co-occurrence builder against a hand-computed example."""

import numpy as np
import pytest

from course_lib.embeddings import cooccurrence_matrix


def test_hand_example_harmonic_symmetric():
    # sequence 1 2 3, window 2: (1,2) d=1, (2,3) d=1, (1,3) d=2; sequence 3 1, window 2: (3,1) d=1
    X = cooccurrence_matrix([[1, 2, 3], [3, 1]], num_symbols=4, window=2).toarray()
    expected = np.zeros((4, 4))
    for a, b, w in [(1, 2, 1.0), (2, 3, 1.0), (1, 3, 0.5), (3, 1, 1.0)]:
        expected[a, b] += w
        expected[b, a] += w
    assert np.allclose(X, expected)
    assert X[1, 3] == pytest.approx(1.5)


def test_window_does_not_cross_sequences():
    X = cooccurrence_matrix([[1, 2], [3, 4]], num_symbols=5, window=3).toarray()
    assert X[2, 3] == 0 and X[1, 4] == 0 and X[1, 2] == 1 and X[3, 4] == 1


def test_uniform_asymmetric_and_padding():
    X = cooccurrence_matrix([[0, 0, 1, 2, 1]], num_symbols=3, window=2, weighting="uniform",
                            symmetric=False).toarray()
    # pairs left->right: (1,2) d=1, (2,1) d=1, (1,1) d=2; padding pairs skipped
    expected = np.zeros((3, 3))
    expected[1, 2], expected[2, 1], expected[1, 1] = 1, 1, 1
    assert np.allclose(X, expected)


def test_matches_a_plain_loop_on_random_sequences():
    rng = np.random.default_rng(0)
    seqs = [rng.integers(1, 20, size=rng.integers(1, 15)) for _ in range(50)]
    expected = np.zeros((20, 20))
    for seq in seqs:
        for t in range(len(seq)):
            for d in range(1, 4):
                if t + d < len(seq):
                    expected[seq[t], seq[t + d]] += 1 / d
                    expected[seq[t + d], seq[t]] += 1 / d
    assert np.allclose(cooccurrence_matrix(seqs, 20, window=3).toarray(), expected)


def test_bad_arguments():
    with pytest.raises(ValueError, match="weighting"):
        cooccurrence_matrix([[1, 2]], 3, weighting="gaussian")
    with pytest.raises(ValueError, match="window"):
        cooccurrence_matrix([[1, 2]], 3, window=0)
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        cooccurrence_matrix([[1, 5]], 3)


def test_empty_input_gives_an_empty_matrix():
    assert cooccurrence_matrix([], 4).nnz == 0
