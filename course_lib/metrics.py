"""Ranking metrics for next-item recommendation with one held-out item per user.

The whole evaluation rests on one number per user: the **rank** of the held-out target among all
candidate items (full ranking)::

    rank = 1 + #{ j : j != target, j != 0, j not excluded, score_j >= score_target }

* column 0 is padding and never competes;
* ``exclude`` removes items from the competition (by default the user's history), never the target;
* **ties count against the target** (``>=``): a model that gives every item the same score ranks the
  target last, not first; NaN scores raise ``ValueError`` (a NaN compares false with everything and
  would silently rank the target first); ``-inf`` is allowed and means "never recommend".

From ranks, with one relevant item per user and cut-off K (``summarize``)::

    HR@K        = 1[rank <= K]                     (= Recall@K)
    NDCG@K      = 1[rank <= K] / log2(rank + 1)    (the ideal DCG is 1)
    MRR@K       = 1[rank <= K] / rank,   MRR = 1 / rank
    Precision@K = 1[rank <= K] / K,      F1@K = 2 P R / (P + R) = 2 HR / (K + 1)

each averaged over users. K larger than the catalogue is allowed (HR@K is then 1, Precision@K keeps
dividing by K). Per-user vectors (``per_user``), bootstrap confidence intervals (``bootstrap_ci``) and a
paired comparison of two models on the same users (``compare_paired``) say whether a difference is real.
``evaluate(model, split)`` is the full-ranking evaluator every notebook uses; the sampled evaluator
lives in ``course_lib.evaluation`` (on request only: it is not comparable with full ranking).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from course_lib import distributed
from course_lib.sequences import SplitData, pad_left

DEFAULT_KS = (5, 10, 20)


def _as_scores(scores) -> torch.Tensor:
    """(B, N+1) float tensor on the scores' own device; rejects bad shapes."""
    tensor = scores.detach() if isinstance(scores, torch.Tensor) else torch.as_tensor(np.asarray(scores))
    if tensor.dim() != 2:
        raise ValueError(f"scores must be 2-D (batch, num_items + 1), got shape {tuple(tensor.shape)}")
    if tensor.shape[0] == 0:
        raise ValueError("scores is empty: no rows to rank")
    if tensor.shape[1] < 2:
        raise ValueError(f"scores needs column 0 (padding) plus at least one item, got {tensor.shape[1]} column(s)")
    if not tensor.is_floating_point():
        tensor = tensor.double()
    return tensor


def _as_targets(targets, num_rows: int, num_cols: int, device: torch.device) -> torch.Tensor:
    """(B,) long tensor of targets in 1..N on ``device``."""
    if isinstance(targets, torch.Tensor):
        flat = targets.detach().to("cpu").reshape(-1)
    else:
        flat = torch.as_tensor(np.asarray(targets).reshape(-1))
    if flat.numel() != num_rows:
        raise ValueError(f"targets has {flat.numel()} entries but scores has {num_rows} rows")
    if flat.is_floating_point() or flat.dtype == torch.bool:
        raise ValueError(f"targets must be integer item ids, got dtype {flat.dtype}")
    flat = flat.long()
    bad = (flat < 1) | (flat >= num_cols)
    if bad.any():
        raise ValueError(f"{int(bad.sum())} target(s) outside 1..{num_cols - 1} (0 is padding), "
                         f"e.g. {int(flat[bad][0])}")
    return flat.to(device)


def _exclusion_mask(exclude, num_rows: int, num_cols: int, device: torch.device) -> torch.Tensor:
    """(B, N+1) bool mask of excluded items from a list of index sequences or a boolean mask."""
    if isinstance(exclude, (torch.Tensor, np.ndarray)) and exclude.dtype in (torch.bool, np.bool_):
        mask = torch.as_tensor(exclude).to(device)
        if tuple(mask.shape) != (num_rows, num_cols):
            raise ValueError(f"boolean exclude mask has shape {tuple(mask.shape)}, expected {(num_rows, num_cols)}")
        return mask
    if len(exclude) != num_rows:
        raise ValueError(f"exclude has {len(exclude)} rows but scores has {num_rows}")
    rows_of = [np.asarray(seq, dtype=np.int64).reshape(-1) for seq in exclude]
    lengths = np.array([len(seq) for seq in rows_of], dtype=np.int64)
    cols = np.concatenate(rows_of) if lengths.sum() else np.empty(0, np.int64)
    if len(cols) and (cols.min() < 0 or cols.max() >= num_cols):
        raise ValueError(f"exclude holds item ids outside 0..{num_cols - 1}")
    mask = torch.zeros(num_rows, num_cols, dtype=torch.bool, device=device)
    rows = torch.repeat_interleave(torch.arange(num_rows), torch.from_numpy(lengths))
    mask[rows.to(device), torch.from_numpy(cols).to(device)] = True
    return mask


def target_ranks(scores, targets, exclude=None) -> np.ndarray:
    """1-based rank of each row's target among all items (full ranking, ties against the target).

    Args:
        scores: (B, N+1) numpy array or torch tensor (any device); column 0 = padding, never competes.
        targets: (B,) internal item ids in 1..N.
        exclude: None, a list of B index sequences (e.g. each user's history), or a (B, N+1) boolean mask:
            items removed from the competition. The target itself is never excluded.
    Returns:
        (B,) int64 numpy array of ranks in 1..N.
    Raises:
        ValueError: bad shapes, targets out of range, or NaN scores (the message says how many rows).
    """
    scores = _as_scores(scores)
    num_rows, num_cols = scores.shape
    targets = _as_targets(targets, num_rows, num_cols, scores.device)
    nan_rows = int(torch.isnan(scores[:, 1:]).any(dim=1).sum())
    if nan_rows:
        raise ValueError(f"scores contain NaN in {nan_rows} of {num_rows} row(s): the model is broken "
                         "(a NaN would silently rank the target first); -inf is the way to say 'never'")
    rows = torch.arange(num_rows, device=scores.device)
    target_score = scores[rows, targets].unsqueeze(1)                      # (B, 1)
    competes = scores >= target_score                                      # (B, N+1), ties against target
    competes[:, 0] = False
    if exclude is not None:
        competes &= ~_exclusion_mask(exclude, num_rows, num_cols, scores.device)
    competes[rows, targets] = False
    return (1 + competes.sum(dim=1)).cpu().numpy().astype(np.int64)


def per_user(ranks, metric: str = "ndcg@10") -> np.ndarray:
    """(U,) float vector of one metric per user: "hr@K", "ndcg@K", "mrr@K", "mrr", "precision@K", "recall@K", "f1@K"."""
    ranks = np.asarray(ranks, dtype=np.float64)
    if ranks.ndim != 1 or len(ranks) == 0:
        raise ValueError(f"ranks must be a non-empty 1-D array, got shape {ranks.shape}")
    if np.any(ranks < 1) or np.any(np.isnan(ranks)):
        raise ValueError("ranks are 1-based: every rank must be >= 1 (and not NaN)")
    if metric == "mrr":
        return 1.0 / ranks
    name, _, k_text = metric.partition("@")
    if not k_text.isdigit() or int(k_text) < 1:
        raise ValueError(f"metric {metric!r}: expected e.g. 'ndcg@10' (K >= 1) or 'mrr'")
    k = int(k_text)
    hit = (ranks <= k).astype(np.float64)
    formulas = {"hr": lambda: hit, "recall": lambda: hit, "precision": lambda: hit / k,
                "ndcg": lambda: hit / np.log2(ranks + 1.0), "mrr": lambda: hit / ranks,
                "f1": lambda: 2.0 * hit / (k + 1.0)}
    if name not in formulas:
        raise ValueError(f"unknown metric {metric!r}: expected one of {sorted(formulas)} @K, or 'mrr'")
    return formulas[name]()


def summarize(ranks, ks: Sequence[int] = DEFAULT_KS) -> dict:
    """Mean metrics over users: keys "hr@K", "ndcg@K", "mrr@K", "precision@K", "recall@K", "f1@K" per K, and "mrr"."""
    if len(ks) == 0:
        raise ValueError("ks is empty: give at least one cut-off K")
    out = {}
    for name in ("hr", "ndcg", "mrr", "precision", "recall", "f1"):
        for k in ks:
            out[f"{name}@{k}"] = float(per_user(ranks, f"{name}@{k}").mean())
    out["mrr"] = float(per_user(ranks, "mrr").mean())
    return out


def bootstrap_ci(values, num_resamples: int = 1000, confidence: float = 0.95, seed: int = 0) -> tuple:
    """(mean, low, high): percentile bootstrap confidence interval of the mean of per-user ``values`` (U,)."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or len(values) == 0:
        raise ValueError(f"values must be a non-empty 1-D array, got shape {values.shape}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(values), size=(num_resamples, len(values)))
    means = values[picks].mean(axis=1)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return float(values.mean()), float(low), float(high)


def compare_paired(ranks_a, ranks_b, metric: str = "ndcg@10", num_resamples: int = 1000,
                   confidence: float = 0.95, seed: int = 0) -> dict:
    """Paired comparison of two models ranked on the same users (same order).

    Returns a dict: ``metric``, ``mean_a``, ``mean_b``, ``diff`` (= mean_a - mean_b), ``low``/``high`` (bootstrap
    CI of the per-user differences), ``p_value`` (two-sided sign-flip permutation test of "no difference"),
    ``wins``/``losses``/``ties`` (users where A is better / worse / equal).
    """
    return compare_values(per_user(ranks_a, metric), per_user(ranks_b, metric), metric, num_resamples,
                          confidence, seed)


def compare_values(a, b, metric: str = "ndcg@10", num_resamples: int = 1000, confidence: float = 0.95,
                   seed: int = 0) -> dict:
    """``compare_paired`` on per-user (or per-session) metric values ``a``, ``b`` (U,) instead of ranks."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if len(a) != len(b):
        raise ValueError(f"paired comparison needs the same users: {len(a)} vs {len(b)} values")
    diff = a - b
    mean, low, high = bootstrap_ci(diff, num_resamples, confidence, seed)
    signs = np.random.default_rng(seed + 1).choice([-1.0, 1.0], size=(num_resamples, len(diff)))
    null_means = np.abs((signs * diff).mean(axis=1))
    p_value = float((1 + np.sum(null_means >= abs(mean) - 1e-15)) / (num_resamples + 1))
    return {"metric": metric, "mean_a": float(a.mean()), "mean_b": float(b.mean()), "diff": mean,
            "low": low, "high": high, "p_value": p_value, "wins": int((diff > 0).sum()),
            "losses": int((diff < 0).sum()), "ties": int((diff == 0).sum())}


def _model_device(model, device) -> torch.device:
    """Where the input goes: ``device`` if given (the model is moved there if it is a Module), else the model's."""
    if device is not None:
        device = torch.device(device)
        if isinstance(model, torch.nn.Module):
            model.to(device)
        return device
    if isinstance(model, torch.nn.Module):
        first = next(iter(model.parameters()), None)
        return first.device if first is not None else torch.device("cpu")
    return torch.device("cpu")


def score_batches(model, split: SplitData, part: str = "test", max_len: int = 50, batch_size: int = 256,
                  device=None, users: range | None = None):
    """Yield ``(rows, scores)`` per batch of users: ``rows`` a slice of user indices, ``scores`` (B, N+1).

    ``users``: the user indices to score, a contiguous ``range`` (default: all users), e.g. this process's
    shard (``course_lib.distributed.shard_range``). The model sees ``pad_left(split.histories(part)[rows],
    max_len)``; runs under ``torch.no_grad()`` and, for an ``nn.Module``, in eval mode (its previous mode is
    restored afterwards).
    """
    histories = split.histories(part)
    users = range(len(histories)) if users is None else users
    if users.step != 1 or users.start < 0 or users.stop > len(histories):
        raise ValueError(f"users must be a contiguous range within 0..{len(histories)}, got {users}")
    device = _model_device(model, device)
    was_training = isinstance(model, torch.nn.Module) and model.training
    if isinstance(model, torch.nn.Module):
        model.eval()
    try:
        with torch.no_grad():
            for start in range(users.start, users.stop, batch_size):
                rows = slice(start, min(start + batch_size, users.stop))
                scores = model.scores(pad_left(histories[rows], max_len).to(device))     # (B, N+1)
                expected = (rows.stop - rows.start, split.num_items + 1)
                if tuple(scores.shape) != expected:
                    raise ValueError(f"{type(model).__name__}.scores returned shape {tuple(scores.shape)}, "
                                     f"expected {expected} (batch, N+1)")
                yield rows, scores
    finally:
        if was_training:
            model.train()


def evaluation_ranks(model, split: SplitData, part: str = "test", exclude_history: bool = True,
                     max_len: int = 50, batch_size: int = 256, device=None) -> np.ndarray:
    """(U,) full-ranking rank of every user's ``part`` target; see ``evaluate`` for the arguments.

    Under a process group (``course_lib.distributed``) each process ranks a contiguous block of users and the
    blocks are all-gathered, so every process gets the same (U,) array in user order, each user ranked once.
    """
    histories, targets = split.histories(part), split.targets(part)
    users = distributed.shard_range(len(targets))          # all users without a process group
    ranks = np.empty(len(users), dtype=np.int64)           # this process's block
    for rows, scores in score_batches(model, split, part, max_len, batch_size, device, users=users):
        block = slice(rows.start - users.start, rows.stop - users.start)
        ranks[block] = target_ranks(scores, targets[rows], histories[rows] if exclude_history else None)
    return distributed.gather_shards(ranks)


def evaluate(model, split: SplitData, part: str = "test", ks: Sequence[int] = DEFAULT_KS,
             exclude_history: bool = True, max_len: int = 50, batch_size: int = 256, device=None,
             return_ranks: bool = False) -> dict:
    """Full-ranking metrics of ``model`` on ``split``'s ``part`` ("valid" or "test") targets.

    The model sees ``pad_left(split.histories(part), max_len)`` (B, max_len) and returns scores (B, N+1).
    With ``exclude_history`` every item of the full history (not only the last ``max_len``) is removed from
    the candidates (the course default; RecBole's "history kept" protocol is ``exclude_history=False``).
    Runs under ``torch.no_grad()`` and, for an ``nn.Module``, in eval mode (its mode is restored after).
    Under a process group the users are shared out among the processes and every process gets the same
    result (``evaluation_ranks``).

    Returns:
        ``summarize(ranks, ks)``, plus ``"ranks"`` (U,) np.ndarray when ``return_ranks``.
    """
    ranks = evaluation_ranks(model, split, part, exclude_history, max_len, batch_size, device)
    result = summarize(ranks, ks)
    if return_ranks:
        result["ranks"] = ranks
    return result
