"""GloVe: the objective against a hand computation, gradients against finite differences, training, mittens."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from course_lib.embeddings import GloVe, GloVeConfig, cooccurrence_matrix, glove_weight, train_glove
from course_lib.embeddings.glove import sparse_entries, symbol_vectors
from course_lib.embeddings.recommender import nearest_neighbours
from course_lib.embeddings.synthetic import planted_pairs_corpus


def _tiny_model() -> GloVe:
    model = GloVe(2, 2, dtype=torch.float64)
    with torch.no_grad():
        model.W.copy_(torch.tensor([[1.0, 0.0], [0.5, 1.0]], dtype=torch.float64))
        model.C.copy_(torch.tensor([[0.0, 1.0], [1.0, 1.0]], dtype=torch.float64))
        model.b_w.copy_(torch.tensor([0.1, -0.2], dtype=torch.float64))
        model.b_c.copy_(torch.tensor([0.0, 0.3], dtype=torch.float64))
    return model


def test_weight_function():
    x = torch.tensor([0.5, 2.0, 4.0, 8.0])
    expected = torch.tensor([(0.5 / 4) ** 0.75, (2 / 4) ** 0.75, 1.0, 1.0])
    assert torch.allclose(glove_weight(x, x_max=4.0, alpha=0.75), expected)


def test_loss_matches_hand_computation():
    model = _tiny_model()
    rows, cols = torch.tensor([0, 0, 1]), torch.tensor([1, 0, 1])
    counts = torch.tensor([2.0, 1.0, 8.0], dtype=torch.float64)
    loss = model.loss(rows, cols, counts, x_max=4.0, alpha=0.5)
    # entry (0,1): w0.c1 = 1, +0.1 +0.3 = 1.4; log 2; f = sqrt(2/4)
    # entry (0,0): w0.c0 = 0, +0.1 +0.0 = 0.1; log 1 = 0; f = sqrt(1/4)
    # entry (1,1): w1.c1 = 1.5, -0.2 +0.3 = 1.6; log 8; f = 1 (capped)
    hand = (np.sqrt(0.5) * (1.4 - np.log(2)) ** 2 + 0.5 * 0.1 ** 2 + (1.6 - np.log(8)) ** 2)
    assert loss.item() == pytest.approx(hand, rel=1e-12)


def test_gradient_matches_finite_differences():
    model = GloVe(5, 3, seed=1, dtype=torch.float64)
    rows, cols = torch.tensor([0, 1, 2, 3, 4, 0]), torch.tensor([1, 2, 3, 4, 0, 0])
    counts = torch.tensor([1.0, 3.0, 0.5, 12.0, 2.0, 7.0], dtype=torch.float64)

    def objective() -> torch.Tensor:
        return model.loss(rows, cols, counts, x_max=5.0, alpha=0.75)

    objective().backward()
    with torch.no_grad():
        eps = 1e-6
        for param in model.parameters():
            flat = param.data.view(-1)
            for index in range(flat.numel()):
                original = float(flat[index])
                flat[index] = original + eps
                plus = float(objective())
                flat[index] = original - eps
                minus = float(objective())
                flat[index] = original
                numeric = (plus - minus) / (2 * eps)
                assert float(param.grad.view(-1)[index]) == pytest.approx(numeric, rel=1e-5, abs=1e-8)


@pytest.fixture(scope="module")
def planted_cooc():
    sequences, pairs = planted_pairs_corpus(num_symbols=40, num_pairs=8, num_sequences=300, length=10, seed=0)
    return cooccurrence_matrix(sequences, 41, window=2), pairs


@pytest.mark.parametrize("optimizer,lr", [("adagrad", 0.1), ("adam", 0.02)])
def test_training_lowers_the_loss_and_finds_planted_pairs(planted_cooc, optimizer, lr):
    cooc, pairs = planted_cooc
    config = GloVeConfig(dim=16, x_max=10.0, lr=lr, num_epochs=60, batch_size=256, optimizer=optimizer, seed=0)
    result = train_glove(cooc, config)
    assert result.losses[-1] < 0.3 * result.losses[0]
    vectors = symbol_vectors(result, cooc)
    assert not vectors[0].any()                       # padding never co-occurs -> zero row
    hits = sum(b in nearest_neighbours(vectors, a, k=3)[0] for a, b in pairs)
    assert hits >= len(pairs) - 1


def test_training_is_deterministic(planted_cooc):
    cooc, _ = planted_cooc
    config = GloVeConfig(dim=8, x_max=10.0, num_epochs=3, batch_size=128, seed=3)
    a, b = train_glove(cooc, config), train_glove(cooc, config)
    assert a.losses == b.losses
    assert np.array_equal(a.model.vectors(), b.model.vectors())


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="square"):
        train_glove(sp.csr_matrix(np.ones((2, 3))))
    with pytest.raises(ValueError, match="no positive entries"):
        train_glove(sp.csr_matrix((3, 3)))
    with pytest.raises(ValueError, match="optimizer"):
        GloVeConfig(optimizer="sgd")
    with pytest.raises(ValueError, match="non-negative"):
        sparse_entries(sp.csr_matrix(np.array([[0.0, -1.0], [1.0, 0.0]])))


def test_agrees_with_mittens_on_the_same_matrix(planted_cooc):
    """Full-batch AdaGrad from the same start as the pure-numpy ``mittens`` GloVe: same loss curve, same neighbours.

    mittens minimises J/2 (its gradient is half ours); starting our AdaGrad accumulator 4x larger (0.4 vs
    0.1) makes the two updates identical, so only float32-vs-float64 rounding separates the runs.
    """
    mittens = pytest.importorskip("mittens")
    cooc, pairs = planted_cooc
    dense = cooc.toarray()[1:, 1:]                    # mittens has no notion of padding: drop row/col 0
    vocab, dim, iterations, lr = dense.shape[0], 16, 200, 0.05
    rng = np.random.default_rng(0)
    start = {"W": rng.uniform(-0.3, 0.3, (vocab, dim)), "C": rng.uniform(-0.3, 0.3, (vocab, dim)),
             "bw": rng.uniform(-0.3, 0.3, (vocab, 1)), "bc": rng.uniform(-0.3, 0.3, (vocab, 1))}
    theirs = mittens.GloVe(n=dim, xmax=10.0, alpha=0.75, max_iter=iterations, learning_rate=lr,
                           display_progress=0, test_mode=True)
    their_vectors = theirs.fit(dense, fixed_initialization={k: v.copy() for k, v in start.items()})
    config = GloVeConfig(dim=dim, x_max=10.0, alpha=0.75, lr=lr, num_epochs=iterations,
                         batch_size=int((dense > 0).sum()), adagrad_init=0.4, seed=0)
    ours = train_glove(sp.csr_matrix(dense), config,
                       initial={"W": start["W"], "C": start["C"], "b_w": start["bw"], "b_c": start["bc"]})
    assert ours.losses[-1] < 0.2 * ours.losses[0]
    assert np.allclose(np.array(ours.losses) / 2, theirs.errors, rtol=1e-3)
    assert np.allclose(ours.model.vectors(), their_vectors, atol=1e-3)
    hits = 0
    for a, b in pairs:                                # ids shift by one without the padding row
        our_top = nearest_neighbours(ours.model.vectors(), a - 1, k=3)[0]
        assert set(our_top) == set(nearest_neighbours(their_vectors, a - 1, k=3)[0])
        hits += b - 1 in our_top
    assert hits >= len(pairs) - 1
