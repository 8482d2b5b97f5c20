"""Checkers for notebooks 03 (Word2Vec and item2vec) and 04 (GloVe).

Each checker works the truth out from MovieLens-100k's leave-one-out split (``movielens_split``), from the
objects the learner passes in, or by calling the learner's function on its own small inputs. None trains a model.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable

import numpy as np
import torch

from course_lib.exercises.core import Verdict, checker, close_to, movielens_split, number_or_hint, verdict


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation (average ranks for ties)."""
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


def _as_table(vectors: Any) -> np.ndarray | None:
    """A 2-D finite float array, or None."""
    try:
        table = np.asarray(vectors.detach().cpu() if isinstance(vectors, torch.Tensor) else vectors, dtype=float)
    except (TypeError, ValueError):
        return None
    return table if table.ndim == 2 and table.size and np.isfinite(table).all() else None


# ---------------------------------------------------------------------------------------------- notebook 03


@checker("03.1")
def check_dropped_test_targets(n_targets: Any) -> Verdict:
    """Expects the number of users whose **test** target is an item that ``min_count=5`` drops from item2vec's
    vocabulary (trained on the training parts of the course split)."""
    value, bad = number_or_hint("03.1", n_targets, "the number of test targets among the dropped items")
    if bad:
        return bad
    _, split = movielens_split()
    dropped = np.flatnonzero(split.train_item_counts()[1:] < 5) + 1            # internal ids 1..N
    truth = int(np.isin(split.test_targets, dropped).sum())
    if value == len(dropped):
        hint = "that counts the dropped items; count the users whose test target (split.test_targets) is one of them."
    elif value == int(np.isin(split.valid_targets, dropped).sum()):
        hint = "that looks like the validation targets; the exercise asks about split.test_targets."
    else:
        hint = ("an item is dropped when it occurs fewer than min_count times in the training sentences (items absent "
                "from model.wv); count how many entries of split.test_targets are such items.")
    return verdict("03.1", value == truth, hint, "Those users can never get a hit from that model.")


@checker("03.2")
def check_thread_race(vectors_a: Any, vectors_b: Any, same: Any) -> Verdict:
    """Expects the item vectors of two item2vec runs with ``workers=3`` and the same seed, and ``same``: True if
    the two tables are identical, False if not."""
    a, b = _as_table(vectors_a), _as_table(vectors_b)
    if a is None or b is None or a.shape != b.shape:
        return verdict("03.2", False, "pass two (N+1, D) item-vector tables of the same shape (item_vectors(model, N)).")
    if not isinstance(same, (bool, np.bool_)):
        return verdict("03.2", False, f"pass same=True or same=False (got {type(same).__name__}).")
    if vectors_a is vectors_b:
        return verdict("03.2", False, "you passed the same table twice: train two models and pass both tables.")
    identical = bool(np.array_equal(a, b))
    if identical:
        return verdict("03.2", False, "these two tables are identical: were both runs trained with workers=3? With "
                       "one worker a seed makes gensim reproducible; the exercise asks what several threads do.")
    return verdict("03.2", bool(same) == identical,
                   "compare the tables element by element (np.array_equal, or the largest absolute difference).",
                   "Threads update shared weights in whatever order they run, so the seed no longer fixes the result.")


@checker("03.4")
def check_output_norm_popularity(model: Any, rho: Any) -> Verdict:
    """Expects a gensim item2vec model trained on the course split's training parts and ``rho``: Spearman's
    correlation, over the items in its vocabulary, between each item's **output** vector norm (``syn1neg``) and
    how often the item occurs in the training parts."""
    value, bad = number_or_hint("03.4", rho, "Spearman's rho")
    if bad:
        return bad
    if not (hasattr(model, "wv") and getattr(model, "syn1neg", None) is not None):
        return verdict("03.4", False, "pass the trained gensim Word2Vec model (with negative sampling) itself.")
    _, split = movielens_split()
    counts = split.train_item_counts()
    try:
        items = np.array([int(key) for key in model.wv.index_to_key])
        rows = [model.wv.key_to_index[key] for key in model.wv.index_to_key]
        out_norm = np.linalg.norm(model.syn1neg[rows], axis=1)
        in_norm = np.linalg.norm(model.wv.vectors[rows], axis=1)
        truth = _spearman(out_norm, counts[items])
    except (ValueError, IndexError):
        return verdict("03.4", False, "train the model on split.train (internal item ids as tokens).")
    if close_to(value, _spearman(in_norm, counts[items]), abs_tol=0.005) and not close_to(value, truth, abs_tol=0.01):
        return verdict("03.4", False, "that is the input vectors' norm (model.wv); the question is about model.syn1neg.")
    return verdict("03.4", close_to(value, truth, abs_tol=0.01),
                   "take the norm of model.syn1neg[model.wv.key_to_index[str(item)]] for every item in the vocabulary "
                   "and rank-correlate it with split.train_item_counts()[item] (scipy.stats.spearmanr).",
                   "Frequent items are positives often, so their output vectors grow: a popularity score hides in them.")


@checker("03.5")
def check_subsample_keep(keep_probability: Callable) -> Verdict:
    """Expects a function ``keep_probability(counts, t)``: for token counts (array) and threshold ``t``, the
    probability of *keeping* each occurrence of each token under word2vec's subsampling, one value per token."""
    counts = np.array([5000.0, 800.0, 50.0, 3.0])
    t = 1e-2
    freq = counts / counts.sum()
    paper = np.minimum(1.0, np.sqrt(t / freq))                                  # keep = 1 - drop, drop = 1 - sqrt(t/f)
    code = np.minimum(1.0, (np.sqrt(freq / t) + 1) * t / freq)                 # word2vec.c / gensim's variant
    try:
        got = np.asarray(keep_probability(counts.copy(), t), dtype=float).reshape(-1)
    except Exception as err:  # the learner's function failed: a hint, not a traceback
        return verdict("03.5", False, f"your function raised {type(err).__name__}: {err}"[:200])
    if got.shape != counts.shape or not np.isfinite(got).all():
        return verdict("03.5", False, "return one finite probability per token (same length as counts).")
    if np.allclose(got, 1 - paper, atol=1e-6):
        return verdict("03.5", False, "that is the probability of dropping an occurrence; return the one of keeping it.")
    if np.allclose(got, np.sqrt(t / freq), atol=1e-6):
        return verdict("03.5", False, "a probability cannot exceed 1: rare tokens are always kept (clip at 1).")
    ok = np.allclose(got, paper, atol=1e-6) or np.allclose(got, code, atol=1e-6)
    return verdict("03.5", ok, "use relative frequencies f(w) = count(w) / total count, then keep with probability "
                   "min(1, sqrt(t / f(w))) (section 1).", "Frequent tokens are thinned, rare ones all kept.")


# ---------------------------------------------------------------------------------------------- notebook 04


@lru_cache(maxsize=4)
def _cooc(window: int = 5, weighting: str = "harmonic"):
    from course_lib.embeddings import cooccurrence_matrix

    _, split = movielens_split()
    return cooccurrence_matrix(split.train, split.num_items + 1, window=window, weighting=weighting)


def _mean_weight(x_max: float) -> float:
    return float(np.minimum(1.0, (_cooc().data / x_max) ** 0.75).mean())


@checker("04.1")
def check_mean_glove_weight(mean_weight: Any) -> Verdict:
    """Expects the mean of GloVe's weight f(X_ij) over the non-zero entries of notebook 04's ML-100k
    co-occurrence matrix (window 5, harmonic) when ``x_max = 100``."""
    value, bad = number_or_hint("04.1", mean_weight, "the mean weight")
    if bad:
        return bad
    if close_to(value, _mean_weight(20.0), rel=1e-3):
        return verdict("04.1", False, "that is the mean weight at x_max = 20; set X_MAX = 100 first.")
    return verdict("04.1", close_to(value, _mean_weight(100.0), rel=1e-3),
                   "apply f(x) = min(1, (x / x_max) ** 0.75) to cooc.data (the non-zero entries only) and average.",
                   "Most entries now weigh next to nothing in J.")


@checker("04.2")
def check_cooc_nnz(nnz: Any) -> Verdict:
    """Expects ``cooc.nnz`` of ML-100k's co-occurrence matrix built with ``weighting="uniform"`` and window 2."""
    value, bad = number_or_hint("04.2", nnz, "cooc.nnz")
    if bad:
        return bad
    if value == _cooc(5).nnz:
        return verdict("04.2", False, "that is the window-5 matrix: build it with window=2 as well.")
    return verdict("04.2", value == _cooc(2, "uniform").nnz,
                   "build cooccurrence_matrix(split.train, split.num_items + 1, window=2, weighting='uniform') and "
                   "read its .nnz.", "Only the window changes which pairs are non-zero; the weighting changes values.")


def _glove_model(glove: Any):
    model = getattr(glove, "model", glove)
    return model if all(hasattr(model, name) for name in ("W", "C", "b_w", "b_c")) else None


@checker("04.3")
def check_w_only_agreement(glove: Any, agreement: Any) -> Verdict:
    """Expects the trained GloVe result (``train_glove``'s return) and the genre agreement (k=10) of its
    ``W`` vectors alone, without the context vectors."""
    from course_lib.embeddings.inspect import genre_agreement, item_genres

    value, bad = number_or_hint("04.3", agreement, "the genre agreement")
    if bad:
        return bad
    model = _glove_model(glove)
    ml, split = movielens_split()
    if model is None or model.W.shape[0] != split.num_items + 1:
        return verdict("04.3", False, "pass the result of train_glove on notebook 04's co-occurrence matrix.")
    genres = item_genres(ml.items, split.item_ids)
    w = model.W.detach().cpu().numpy().astype(np.float64)
    seen = np.asarray(abs(_cooc()).sum(axis=1)).ravel() > 0
    w_zeroed = np.where(seen[:, None], w, 0.0)
    both = model.vectors().astype(np.float64) * seen[:, None]
    truths = [genre_agreement(w_zeroed, genres, k=10), genre_agreement(np.where(np.arange(len(w))[:, None] > 0, w, 0.0),
                                                                      genres, k=10)]
    if close_to(value, genre_agreement(both, genres, k=10), abs_tol=0.001) and not any(
            close_to(value, t, abs_tol=0.003) for t in truths):
        return verdict("04.3", False, "that is the agreement of W + C; use glove.model.W alone (padding row zeroed).")
    return verdict("04.3", any(close_to(value, t, abs_tol=0.003) for t in truths),
                   "take glove.model.W as a numpy array, zero row 0 (padding), then emb_inspect.genre_agreement(..., k=10).")


@checker("04.4")
def check_bias_popularity(glove: Any, rho: Any) -> Verdict:
    """Expects the trained GloVe result and Spearman's correlation between the context biases ``b_c`` of the
    items 1..N and their training counts (``split.train_item_counts()``)."""
    value, bad = number_or_hint("04.4", rho, "Spearman's rho")
    if bad:
        return bad
    model = _glove_model(glove)
    _, split = movielens_split()
    if model is None or model.b_c.shape[0] != split.num_items + 1:
        return verdict("04.4", False, "pass the result of train_glove on notebook 04's co-occurrence matrix.")
    counts = split.train_item_counts()
    bias = model.b_c.detach().cpu().numpy()
    seen = counts > 0
    seen[0] = False
    truths = [_spearman(bias[1:], counts[1:]), _spearman(bias[seen], counts[seen])]
    return verdict("04.4", any(close_to(value, t, abs_tol=0.01) for t in truths),
                   "rank-correlate glove.model.b_c[1:] with split.train_item_counts()[1:] (scipy.stats.spearmanr).",
                   "The bias soaks up how often an item co-occurs at all: a popularity score.")


@checker("04.5")
def check_mittens_penalty(penalty: Callable) -> Verdict:
    """Expects ``penalty(W, R, has_init, mu)`` -> a torch scalar: ``mu`` times the sum, over the rows ``i`` with
    ``has_init[i]`` True, of the squared Euclidean distance between ``W[i]`` and its initial vector ``R[i]``."""
    gen = torch.Generator().manual_seed(0)
    W = torch.randn(6, 3, generator=gen, requires_grad=True)
    R = torch.randn(6, 3, generator=gen)
    has_init = torch.tensor([False, True, True, False, True, False])
    mu = 0.1
    diff = (W - R)[has_init].detach()
    truth = mu * float((diff ** 2).sum())
    try:
        got = penalty(W, R, has_init, mu)
    except Exception as err:  # the learner's function failed: a hint, not a traceback
        return verdict("04.5", False, f"your function raised {type(err).__name__}: {err}"[:200])
    value = float(got.detach()) if isinstance(got, torch.Tensor) and got.numel() == 1 else got
    if close_to(value, mu * float(((W - R).detach() ** 2).sum()), rel=1e-5):
        return verdict("04.5", False, "only the rows with an initial vector (has_init) are pulled towards it.")
    if close_to(value, mu * float(diff.norm(dim=1).sum()), rel=1e-5):
        return verdict("04.5", False, "square the distances (||w_i - r_i||^2), as in the paper.")
    if close_to(value, truth / has_init.sum().item(), rel=1e-5):
        return verdict("04.5", False, "sum over the rows, do not average: mu sets the scale.")
    if close_to(value, truth, rel=1e-5) and not (isinstance(got, torch.Tensor) and got.requires_grad):
        return verdict("04.5", False, "keep the computation in torch so that loss.backward() reaches W.")
    return verdict("04.5", close_to(value, truth, rel=1e-5),
                   "compute mu * ((W - R)[has_init] ** 2).sum() with torch operations.",
                   "Add it to J and the initialised rows stay near their text vectors.")
