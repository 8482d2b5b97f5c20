"""Word2Vec (gensim 4) for item sequences (item2vec / prod2vec) and for the words of item text.

Item sequences are "sentences" whose "words" are internal item ids written as strings. gensim's defaults are
made for text. One of them is a trap for items whatever the data: ``min_count=5`` silently drops every item seen
fewer than 5 times (it gets no vector and can never be recommended). The others -- CBOW or skip-gram, epochs,
window, the negative-sampling exponent, subsampling -- must be chosen on items, not inherited from text
(Caselles-Dupre et al., RecSys 2018). ``ITEM2VEC_DEFAULTS`` keeps ``min_count=1`` and takes the rest from a
validation sweep on ML-100k (``benchmarks/sweep_item2vec.py``; rows in ``benchmarks/results/sweep-item2vec.json``).
There, skip-gram peaked at 5 epochs and got worse with more, while CBOW kept improving up to 20 epochs, and a
window of 20 beat gensim's 5 (plausibly: a history is a bag of tastes more than a phrase).

With ``workers=1`` and a fixed ``seed`` gensim is bit-reproducible; ``workers > 1`` is not (threads race on the
shared weights), so reported numbers use one worker.
"""

from __future__ import annotations

import re
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
from gensim.models import Word2Vec

ITEM2VEC_DEFAULTS = dict(vector_size=64, window=20, sg=0, negative=10, ns_exponent=0.75, sample=0.001,
                         min_count=1, epochs=20, alpha=0.025, workers=1)
WORD2VEC_TEXT_DEFAULTS = dict(vector_size=64, window=5, sg=1, negative=5, ns_exponent=0.75, sample=1e-3,
                              min_count=1, epochs=30, alpha=0.025, workers=1)
_TOKEN = re.compile(r"[a-z0-9][a-z0-9'\-]*")


def _check_settings(settings: dict) -> dict:
    unknown = set(settings) - set(ITEM2VEC_DEFAULTS) - {"hs", "cbow_mean", "min_alpha", "shrink_windows",
                                                          "max_vocab_size", "max_final_vocab"}
    if unknown:
        raise ValueError(f"unknown Word2Vec setting(s) {sorted(unknown)}; known: {sorted(ITEM2VEC_DEFAULTS)}")
    return settings


def train_item2vec(sequences: Iterable[Sequence[int]], seed: int = 42, **settings) -> Word2Vec:
    """Word2Vec on item sequences (internal ids). ``settings`` override ``ITEM2VEC_DEFAULTS`` (e.g. ``sg=1``)."""
    sentences = [[str(int(i)) for i in seq if int(i) != 0] for seq in sequences]
    sentences = [s for s in sentences if s]
    if not sentences:
        raise ValueError("no non-empty item sequences to train on")
    params = {**ITEM2VEC_DEFAULTS, **_check_settings(settings)}
    return Word2Vec(sentences=sentences, seed=seed, **params)


def item_vectors(model: Word2Vec, num_items: int) -> np.ndarray:
    """(N+1, D) float32 table indexed by internal item id; row 0 and items gensim never saw are zero."""
    table = np.zeros((num_items + 1, model.wv.vector_size), dtype=np.float32)
    for token, index in model.wv.key_to_index.items():
        item = int(token)
        if 1 <= item <= num_items:
            table[item] = model.wv.vectors[index]
    return table


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens: ``"Star Wars (1977)" -> ["star", "wars", "1977"]``."""
    return _TOKEN.findall(str(text).lower())


def item_text_tokens(items: pd.DataFrame, item_ids: np.ndarray) -> list[list[str]]:
    """Tokens of each item's title + genres, in the order of ``item_ids`` (raw ids; -1 = padding -> [])."""
    by_id = items.set_index("item_id")
    tokens = []
    for raw in np.asarray(item_ids):
        if raw not in by_id.index:
            tokens.append([])
            continue
        row = by_id.loc[raw]
        genres = [g.lower().replace(" ", "-") for g in (row["genres"] if isinstance(row["genres"], list) else [])]
        tokens.append(tokenize(row["title"]) + genres)
    return tokens


def train_word_vectors(sentences: Iterable[Sequence[str]], seed: int = 42, **settings) -> Word2Vec:
    """Word2Vec on tokenised text; ``settings`` override ``WORD2VEC_TEXT_DEFAULTS``."""
    sentences = [list(s) for s in sentences if len(s)]
    if not sentences:
        raise ValueError("no non-empty sentences to train on")
    params = {**WORD2VEC_TEXT_DEFAULTS, **_check_settings(settings)}
    return Word2Vec(sentences=sentences, seed=seed, **params)


def average_word_vectors(model: Word2Vec, token_lists: Sequence[Sequence[str]]) -> np.ndarray:
    """(len(token_lists), D) float32: the mean vector of each list's known tokens (zeros if none is known)."""
    table = np.zeros((len(token_lists), model.wv.vector_size), dtype=np.float32)
    for row, tokens in enumerate(token_lists):
        known = [t for t in tokens if t in model.wv.key_to_index]
        if known:
            table[row] = model.wv[known].mean(axis=0)
    return table


def text_item_vectors(items: pd.DataFrame, item_ids: np.ndarray, seed: int = 42,
                      **settings) -> tuple[np.ndarray, Word2Vec]:
    """Train word vectors on item titles + genres and average them per item.

    Returns the (len(item_ids), D) table in the order of ``item_ids`` (pass ``split.item_ids`` to get an
    (N+1, D) table indexed by internal id, row 0 zero) and the word model.
    """
    tokens = item_text_tokens(items, item_ids)
    model = train_word_vectors(tokens, seed=seed, **settings)
    return average_word_vectors(model, tokens), model
