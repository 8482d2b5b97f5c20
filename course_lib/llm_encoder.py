"""A generative LLM as an item encoder: hidden states of a causal LM as item vectors (notebook 10).

A causal LM was trained to predict the next token, not to embed sentences, so how its hidden states are read
matters. With ``h_t^(l)`` (D,) the state of token ``t`` at layer ``l`` of an item text with ``T`` tokens:

- ``pooling="mean"``: ``v = (1/T) sum_t h_t^(l)``, every token counts once;
- ``pooling="last"``: ``v = h_T^(l)``; in a causal model only the last token has seen the whole text.

``layer`` picks ``l`` (0 = the embeddings, -1 = the last layer; middle layers often embed better than the last,
which is specialised for the next-token prediction). Raw LLM states are *anisotropic*: all vectors share a large
common direction, so cosines are all close to 1. Whitening (Su et al. 2021, "Whitening Sentence Representations
for Better Semantics and Faster Retrieval") removes it:

    mu = mean_i v_i,   Sigma = cov(v) = U diag(s) U^T,   W = U diag(1 / sqrt(s))[:, :k],   v' = (v - mu) W

keeping the ``k`` leading components. The vectors come out L2-normalised, so cosine = dot product, as in
``course_lib.text`` and the embedding recommenders of notebooks 03, 04 and 07.
"""

from __future__ import annotations

import numpy as np
import torch

from course_lib.llm import LLM

POOLINGS = ("mean", "last")


def llm_item_vectors(lm: LLM, texts: list[str], layer: int = -1, pooling: str = "mean",
                     batch_size: int = 32, max_tokens: int = 64) -> np.ndarray:
    """(M, D) float32 unit vectors of ``texts`` from ``lm``'s hidden states (see module docstring)."""
    return llm_layer_vectors(lm, texts, (layer,), pooling, batch_size, max_tokens)[layer]


@torch.no_grad()
def llm_layer_vectors(lm: LLM, texts: list[str], layers=(-1,), pooling: str = "mean", batch_size: int = 32,
                      max_tokens: int = 64) -> dict:
    """{layer: (M, D) unit vectors} for several layers from ONE pass over ``texts`` (the model returns every
    layer's states at once), so that choosing a layer on validation costs one encoding."""
    if pooling not in POOLINGS:
        raise ValueError(f"pooling={pooling!r}: expected one of {POOLINGS}")
    if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
        raise ValueError("texts must be a list of strings")
    num_layers = lm.model.config.num_hidden_layers
    bad = [layer for layer in layers if not -(num_layers + 1) <= layer <= num_layers]
    if bad:
        raise ValueError(f"layer(s) {bad}: the model has layers 0..{num_layers} (or -1..-{num_layers + 1})")
    out = {layer: np.zeros((len(texts), lm.model.config.hidden_size), dtype=np.float32) for layer in layers}
    for start in range(0, len(texts), batch_size):
        batch = lm.tokenizer(list(texts[start:start + batch_size]), padding=True, truncation=True,
                             max_length=max_tokens, return_tensors="pt", add_special_tokens=False).to(lm.device)
        hidden = lm.model(**batch, output_hidden_states=True).hidden_states        # layers + 1 of (B, T, D)
        mask = batch["attention_mask"].unsqueeze(-1).float()                        # (B, T, 1)
        last = mask[..., 0].cumsum(1).argmax(1)         # the last real token, for left or right padding
        for layer in layers:
            states = hidden[layer].float()
            pooled = ((states * mask).sum(1) / mask.sum(1).clamp_min(1.0) if pooling == "mean"
                      else states[torch.arange(len(states)), last])
            out[layer][start:start + len(pooled)] = pooled.cpu().numpy()
    return {layer: unit_rows(vectors) for layer, vectors in out.items()}


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


def whiten(vectors: np.ndarray, k: int | None = None) -> np.ndarray:
    """(M, D) -> (M, k) whitened unit vectors: centred, rotated onto the covariance's eigenvectors and scaled to
    unit variance, the ``k`` leading components kept (default: all with non-negligible variance)."""
    vectors = np.asarray(vectors, dtype=np.float64)
    if vectors.ndim != 2 or len(vectors) < 2:
        raise ValueError(f"whitening needs an (M >= 2, D) matrix, got shape {vectors.shape}")
    centred = vectors - vectors.mean(0, keepdims=True)
    u, s, _ = np.linalg.svd(np.cov(centred, rowvar=False))
    keep = int(np.sum(s > s[0] * 1e-6)) if k is None else k
    if not 1 <= keep <= len(s):
        raise ValueError(f"k={k}: expected 1..{len(s)}")
    return unit_rows(centred @ (u[:, :keep] / np.sqrt(s[:keep])))


def mean_cosine(vectors: np.ndarray, sample: int = 500, seed: int = 0) -> float:
    """The average cosine between distinct rows (on a random sample): near 1 = anisotropic, near 0 = spread."""
    rng = np.random.default_rng(seed)
    rows = vectors[rng.choice(len(vectors), size=min(sample, len(vectors)), replace=False)]
    rows = unit_rows(np.asarray(rows, dtype=np.float32))
    sims = rows @ rows.T
    n = len(rows)
    return float((sims.sum() - np.trace(sims)) / (n * (n - 1)))
