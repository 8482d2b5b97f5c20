"""Distance-weighted, windowed co-occurrence counts from item (or word) sequences.

For every pair of positions ``(t, t + d)`` in the same sequence with ``1 <= d <= window``, the pair of
symbols gets the weight ``1 / d`` ("harmonic", as in the GloVe paper) or ``1`` ("uniform")::

    X[s_t, s_{t+d}] += w(d)        # and, with symmetric=True, X[s_{t+d}, s_t] += w(d)

The result is a sparse ``(num_symbols, num_symbols)`` matrix. The build is vectorised: all sequences are
concatenated once, and for each offset ``d`` one numpy comparison keeps the position pairs that lie in the
same sequence, so ML-100k (about 100k events) takes well under a second.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import scipy.sparse as sp

WEIGHTINGS = ("harmonic", "uniform")


def _concatenate(sequences: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """All symbols in one array (T,) and the index of the sequence each came from (T,)."""
    arrays = [np.asarray(seq, dtype=np.int64).ravel() for seq in sequences]
    if not arrays:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    lengths = np.array([len(a) for a in arrays])
    return np.concatenate(arrays), np.repeat(np.arange(len(arrays)), lengths)


def cooccurrence_matrix(sequences: Sequence[Sequence[int]], num_symbols: int, window: int = 5,
                        weighting: str = "harmonic", symmetric: bool = True,
                        skip_padding: bool = True) -> sp.csr_matrix:
    """Windowed co-occurrence counts.

    Args:
        sequences: lists/arrays of integer symbol ids in ``[0, num_symbols)`` (e.g. internal item ids 1..N,
            so ``num_symbols = N + 1``).
        num_symbols: size of both matrix dimensions.
        window: the largest distance ``d`` that still counts.
        weighting: "harmonic" (``1/d``) or "uniform" (``1``).
        symmetric: count each pair in both directions (GloVe's usual choice).
        skip_padding: ignore symbol 0 (the padding id in the course's sequences).

    Returns:
        ``scipy.sparse.csr_matrix`` of shape ``(num_symbols, num_symbols)``, float64, duplicates summed.
    """
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting={weighting!r}: expected one of {WEIGHTINGS}")
    if not isinstance(window, (int, np.integer)) or window < 1:
        raise ValueError(f"window={window!r}: expected a positive integer")
    symbols, seq_of = _concatenate(sequences)
    if symbols.size and (symbols.min() < 0 or symbols.max() >= num_symbols):
        raise ValueError(f"symbol ids must lie in [0, {num_symbols}); found {symbols.min()}..{symbols.max()}")
    rows, cols, vals = [], [], []
    for d in range(1, window + 1):
        same = seq_of[:-d] == seq_of[d:]                       # (T-d,) pair lies inside one sequence
        left, right = symbols[:-d][same], symbols[d:][same]
        if skip_padding:
            keep = (left != 0) & (right != 0)
            left, right = left[keep], right[keep]
        weight = 1.0 / d if weighting == "harmonic" else 1.0
        rows.append(left); cols.append(right); vals.append(np.full(left.size, weight))
        if symmetric:
            rows.append(right); cols.append(left); vals.append(np.full(left.size, weight))
    matrix = sp.coo_matrix((np.concatenate(vals) if vals else np.empty(0),
                            (np.concatenate(rows) if rows else np.empty(0, np.int64),
                             np.concatenate(cols) if cols else np.empty(0, np.int64))),
                           shape=(num_symbols, num_symbols))
    return matrix.tocsr()  # tocsr() sums duplicate (row, col) entries
