"""Why was this recommended? Four ways to name the history items behind each recommended item.

Each method returns a strength matrix (H, k): how much history item h speaks for recommended item r (larger =
more; 0 or less = not at all). ``recommend`` names the strongest positive ones as the ``because`` column.

* ``occlusion`` (any model): score the history again without item h and measure how much the log-probability
  of r falls (log-softmax, because raw scores shift as a whole when the history changes). It measures the
  model's actual response, for each candidate separately, at the cost of H extra forward passes.
* ``attention`` (SASRec, BERT4Rec): the last layer's attention weights from the position that predicts (the last
  item for SASRec, the appended [MASK] for BERT4Rec), averaged over heads. One weight per history item, the
  same for every candidate: it says where the layer looked, not why an item scored high. Values, earlier
  layers, the residual stream and the output layer all stand between it and the score (Jain & Wallace 2019,
  "Attention is not Explanation"), so read it as a picture of the model, not as a cause.
* ``neighbours`` (embedding models such as item2vec, which score by cosine similarity to the history):
  the cosine similarity of r's vector to each history item's vector.
* ``transitions`` (Markov chain): the model reads only the last item, so the reason is that item, with the
  number of times r directly followed it in training; none when r came from the popularity back-off (count 0).
"""

from __future__ import annotations

import numpy as np
import torch

from course_lib.sequences import pad_left

METHODS = ("occlusion", "attention", "neighbours", "transitions")


def max_len_of(model) -> int:
    """How many of the latest history items the model reads (its config's max_len; 50 for count models)."""
    config = getattr(model, "config", None)
    return int(getattr(config, "max_len", None) or getattr(model, "max_len", None) or 50)


@torch.no_grad()
def scores_of(model, histories: list[np.ndarray]) -> torch.Tensor:
    """(B, N+1) float32 CPU scores of ``histories`` (oldest first), each cut to the model's last max_len items."""
    device = next(model.parameters()).device if isinstance(model, torch.nn.Module) else torch.device("cpu")
    return model.scores(pad_left(histories, max_len_of(model)).to(device)).float().cpu()


def default_method(model) -> str:
    """The explanation that matches how ``model`` scores: transitions, neighbours, or occlusion."""
    if hasattr(model, "transitions"):
        return "transitions"
    if hasattr(model, "unit") and hasattr(model, "profiles"):
        return "neighbours"
    return "occlusion"


def strengths(model, seq: np.ndarray, items: list[int], method: str) -> np.ndarray:
    """(H, k) strength of each of the H history items (``seq``, internal ids) for each of ``items``."""
    if method not in METHODS:
        raise ValueError(f"explain={method!r}: expected one of {METHODS}")
    return {"occlusion": occlusion, "attention": attention, "neighbours": neighbours,
            "transitions": transitions}[method](model, np.asarray(seq, dtype=np.int64), list(items))


def _log_probs(model, histories: list[np.ndarray]) -> torch.Tensor:
    scores = scores_of(model, histories)
    scores[:, 0] = float("-inf")
    return torch.log_softmax(scores, dim=1)


def occlusion(model, seq: np.ndarray, items: list[int]) -> np.ndarray:
    """(H, k) fall in each item's log-probability when history position h is removed."""
    if len(seq) < 2:
        return np.zeros((len(seq), len(items)))
    full = _log_probs(model, [seq])[0, items]                                   # (k,)
    reduced = _log_probs(model, [np.delete(seq, h) for h in range(len(seq))])[:, items]   # (H, k)
    return (full[None, :] - reduced).numpy()


@torch.no_grad()
def attention(model, seq: np.ndarray, items: list[int]) -> np.ndarray:
    """(H, k) last-layer attention (mean over heads) from the predicting position; equal across the k columns."""
    inner = getattr(model, "gpt", None) or getattr(model, "bert", None)
    if inner is None:
        raise ValueError(f"explain='attention' needs SASRec or BERT4Rec, not {type(model).__name__}")
    max_len = max_len_of(model)
    is_bert = hasattr(model, "with_mask_appended")
    seen = seq[-(max_len - 1):] if is_bert else seq[-max_len:]                # what the model reads
    seqs = pad_left([seen], max_len).to(next(model.parameters()).device)
    seqs = model.with_mask_appended(seqs) if is_bert else seqs
    previous = inner.config._attn_implementation
    _set_attention(inner, "eager")                                              # sdpa returns no weights
    try:
        _, layers = model(seqs, output_attentions=True)
    finally:
        _set_attention(inner, previous)
    weights = layers[-1][0, :, -1, :].mean(dim=0).float().cpu().numpy()       # (max_len,) from the last query
    weights = weights[:-1] if is_bert else weights                             # the [MASK] is not history
    out = np.zeros(len(seq))
    out[len(seq) - len(seen):] = weights[len(weights) - len(seen):]           # older items were not read: 0
    return np.repeat(out[:, None], len(items), axis=1)


def _set_attention(inner, implementation: str) -> None:
    if hasattr(inner, "set_attn_implementation"):
        inner.set_attn_implementation(implementation)
    else:                                                                       # older transformers
        inner.config._attn_implementation = implementation


def neighbours(model, seq: np.ndarray, items: list[int]) -> np.ndarray:
    """(H, k) cosine similarity of each recommended item's vector to each history item's vector."""
    unit = getattr(model, "unit", None)
    if unit is None:
        raise ValueError(f"explain='neighbours' needs an embedding model, not {type(model).__name__}")
    unit = unit.cpu().numpy()
    return unit[seq] @ unit[items].T


def transitions(model, seq: np.ndarray, items: list[int]) -> np.ndarray:
    """(H, k): at the last position, how often each item directly followed it in training; 0 elsewhere."""
    counts = getattr(model, "transitions", None)
    if counts is None:
        raise ValueError(f"explain='transitions' needs the Markov chain, not {type(model).__name__}")
    out = np.zeros((len(seq), len(items)))
    out[-1] = counts[int(seq[-1])].toarray().ravel()[items]
    return out
