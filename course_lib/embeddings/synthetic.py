"""Toy corpora with a known answer: sequences in which planted pairs of symbols play the same role."""

from __future__ import annotations

import numpy as np


def planted_pairs_corpus(num_symbols: int = 60, num_pairs: int = 10, num_sequences: int = 400,
                         length: int = 12, pairs_per_sequence: int = 2, noise: float = 0.3,
                         seed: int = 0) -> tuple[list[np.ndarray], list[tuple[int, int]]]:
    """Sequences over symbols 1..num_symbols with planted pairs ``(a, b) = (2k+1, 2k+2)``, k < num_pairs.

    Each sequence picks ``pairs_per_sequence`` pairs (its "tastes"); every position is, with probability
    ``noise``, a random unpaired symbol, otherwise a random member of the chosen pairs. The two members of a
    pair are interchangeable: they co-occur often *and* share their contexts, so a good embedding puts
    ``b`` first among the neighbours of ``a``.

    Returns (sequences: list of (length,) int64 arrays, pairs: list of (a, b)).
    """
    if num_symbols <= 2 * num_pairs or num_pairs < pairs_per_sequence or length < 2 or not 0 <= noise < 1:
        raise ValueError("need num_symbols > 2 * num_pairs >= 2 * pairs_per_sequence, length >= 2, 0 <= noise < 1")
    rng = np.random.default_rng(seed)
    pairs = np.array([(2 * k + 1, 2 * k + 2) for k in range(num_pairs)])
    unpaired = np.arange(2 * num_pairs + 1, num_symbols + 1)
    sequences = []
    for _ in range(num_sequences):
        tastes = pairs[rng.choice(num_pairs, size=pairs_per_sequence, replace=False)].ravel()
        from_tastes = rng.choice(tastes, size=length)
        from_noise = rng.choice(unpaired, size=length)
        sequences.append(np.where(rng.random(length) < noise, from_noise, from_tastes).astype(np.int64))
    return sequences, [tuple(map(int, p)) for p in pairs]
