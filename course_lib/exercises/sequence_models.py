"""Checkers for notebooks 05 (SASRec) and 06 (BERT4Rec).

None of them trains a model: each checks something deterministic (a mask function run on inputs the checker
builds, a parameter count, a count taken from the split) or an estimate it can recompute in a second.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch

from course_lib.exercises.core import Verdict, checker, close_to, movielens_split, number_or_hint, verdict


def _call(exercise: str, fn: Any, *args) -> tuple[Any, Verdict | None]:
    """Run a learner's function; a non-callable or one that raises is a wrong answer with a hint."""
    if not callable(fn):
        return None, verdict(exercise, False, f"pass the function itself (got {type(fn).__name__}), not its result.")
    try:
        return fn(*args), None
    except Exception as error:  # the learner's code: any failure is a hint, never a traceback
        return None, verdict(exercise, False, f"your function raised {type(error).__name__}: {error!s:.120}. "
                                              "Try it on a small batch first.")


def _as_bool_tensor(value: Any, shape: tuple[int, ...]) -> torch.Tensor | None:
    tensor = torch.as_tensor(value) if not isinstance(value, torch.Tensor) else value
    return tensor.bool() if tuple(tensor.shape) == shape else None


def _demo_batch() -> torch.Tensor:
    """(3, 6) item ids with left padding, no padding, and one history of a single item."""
    return torch.tensor([[0, 0, 7, 3, 9, 2], [4, 1, 8, 2, 6, 5], [0, 0, 0, 0, 0, 11]])


@checker("05.1")
def check_sasrec_windows(n_windows: Any, max_len: int = 200) -> Verdict:
    """The number of training windows ``NextItemDataset`` cuts from all 943 users' training parts at ``max_len``."""
    value, bad = number_or_hint("05.1", n_windows, "the number of training windows")
    if bad is not None:
        return bad
    from course_lib.sequences import NextItemDataset

    _, split = movielens_split()
    truth = len(NextItemDataset(split, max_len=max_len))
    hint = (f"build NextItemDataset(split, max_len={max_len}) on the full split (all 943 users, not the FAST "
            "subset) and take len(); a window holds max_len + 1 items, so longer windows mean fewer of them.")
    return verdict("05.1", value == truth, hint, "Fewer, longer windows: each epoch has fewer steps, each costlier.")


@checker("05.2")
def check_allowed_mask(allowed_mask: Callable[[torch.Tensor], torch.Tensor]) -> Verdict:
    """A function ``allowed_mask(seqs (B, L)) -> (B, L, L)`` bool: True where query t may attend to key j."""
    seqs = _demo_batch()
    B, L = seqs.shape
    result, bad = _call("05.2", allowed_mask, seqs)
    if bad is not None:
        return bad
    mask = _as_bool_tensor(result, (B, L, L))
    if mask is None:
        return verdict("05.2", False, f"return one (B, L, L) = ({B}, {L}, {L}) boolean tensor for seqs of shape (B, L).")
    causal = torch.ones(L, L, dtype=torch.bool).tril()
    real_key = (seqs > 0)[:, None, :]
    if torch.equal(mask, causal & real_key):
        return verdict("05.2", True, "", "Causal and padding rules combined with one `&`.")
    if torch.equal(mask, real_key.expand(B, L, L)):
        hint = "your mask lets a query see later keys: without the causal rule the label leaks into the input."
    elif torch.equal(mask, causal.expand(B, L, L)):
        hint = "padding keys (item id 0) are allowed: add the rule that key j must be a real item."
    elif torch.equal(mask, (causal & real_key).transpose(1, 2)):
        hint = "rows are queries, columns keys: mask[b, t, j] says whether query t may look at key j."
    else:
        hint = "mask[b, t, j] is True only when j <= t and seqs[b, j] is a real item (> 0); print it for one row."
    return verdict("05.2", False, hint)


@checker("05.3")
def check_frozen_position_params(n_trainable: Any) -> Verdict:
    """Trainable parameters left in section 3's SASRec (full ML-100k) once the position table ``wpe`` is frozen."""
    value, bad = number_or_hint("05.3", n_trainable, "the number of trainable parameters")
    if bad is not None:
        return bad
    from course_lib.models.sasrec import SASRec, SASRecConfig

    _, split = movielens_split()
    model = SASRec(SASRecConfig(num_items=split.num_items, max_len=50, hidden_dim=64, num_heads=1, num_layers=2))
    model.gpt.wpe.requires_grad_(False)
    truth = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if value == sum(p.numel() for p in model.parameters()):
        return verdict("05.3", False, "that counts every parameter: count only those with p.requires_grad.")
    hint = ("build the model of section 3 on the full split, freeze model.gpt.wpe, and sum p.numel() over the "
            "parameters with requires_grad; the position table holds max_len x hidden_dim numbers.")
    return verdict("05.3", value == truth, hint, "Order costs the model only this one small table.")


@checker("05.4")
def check_padding_safe_attention(attention_weights_safe: Callable[..., torch.Tensor]) -> Verdict:
    """A function ``(Q, K, allowed) -> weights (B, L, L)`` with no NaN: a query with no allowed key attends to itself."""
    seqs = _demo_batch()
    B, L = seqs.shape
    gen = torch.Generator().manual_seed(0)
    Q, K = torch.randn(B, L, 4, generator=gen), torch.randn(B, L, 4, generator=gen)
    allowed = torch.ones(L, L, dtype=torch.bool).tril() & (seqs > 0)[:, None, :]
    result, bad = _call("05.4", attention_weights_safe, Q, K, allowed)
    if bad is not None:
        return bad
    weights = torch.as_tensor(result).float() if result is not None else None
    if weights is None or tuple(weights.shape) != (B, L, L):
        return verdict("05.4", False, f"return the attention weights, one ({B}, {L}, {L}) tensor.")
    if torch.isnan(weights).any():
        return verdict("05.4", False, "some rows are still nan: a padding query has no allowed key; allow it its "
                                      "own position (the diagonal) before the softmax.")
    real = seqs > 0
    logits = (Q @ K.transpose(-2, -1) / 2.0).masked_fill(~allowed, float("-inf"))
    reference = logits.softmax(-1)
    if not torch.allclose(weights[real], reference[real], atol=1e-5):
        return verdict("05.4", False, "the rows of real queries changed: only rows with no allowed key may differ.")
    self_only = torch.eye(L).expand(B, L, L)
    ok = torch.allclose(weights[~real], self_only[~real], atol=1e-5)
    return verdict("05.4", ok, "a padding query should put all its weight on its own position (row t: weight 1 at "
                               "column t), e.g. allowed | torch.eye(L, dtype=torch.bool).",
                   "Real rows untouched, padding rows harmless.")


@checker("06.2")
def check_last_position_share(share: Any, last_item_prob: float = 0.5) -> Verdict:
    """Share of all labelled positions (one pass over the full split's training examples) at the last position."""
    value, bad = number_or_hint("06.2", share, "the share as one number between 0 and 1")
    if bad is not None:
        return bad
    from course_lib.models.bert4rec import ClozeWithLastItemDataset
    from course_lib.sequences import ClozeDataset

    _, split = movielens_split()
    cloze = ClozeDataset(split, max_len=50, mask_prob=0.3, mask_id=split.num_items + 1)
    data = ClozeWithLastItemDataset(cloze, last_item_prob)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        labels = torch.stack([data[i][1] for i in range(len(data))])          # (windows, max_len)
    truth = float((labels[:, -1] > 0).sum() / (labels > 0).sum())
    hint = (f"draw every example of ClozeWithLastItemDataset(ClozeDataset(split, max_len=50, mask_prob=0.3, ...), "
            f"{last_item_prob}) once on the full split, then divide the labels (> 0) in the last column by all labels.")
    return verdict("06.2", close_to(value, truth, rel=0.05), hint,
                   "Even at this setting most labels still sit inside the sequence, not where inference asks.")


def _popularity_weights(split) -> np.ndarray:
    counts = np.bincount(np.concatenate(split.train), minlength=split.num_items + 1).astype(float)
    counts[0] = 0.0
    return counts


def _popularity_sampled_hr10(split, scores: np.ndarray, part: str, num_negatives: int, seed: int) -> float:
    rng, weights = np.random.default_rng(seed), _popularity_weights(split)
    hits = []
    for u, (seen, target) in enumerate(zip(split.histories(part), split.targets(part))):
        p = weights.copy()
        p[seen], p[target] = 0.0, 0.0
        negatives = rng.choice(len(p), num_negatives, replace=False, p=p / p.sum())
        hits.append(1 + (scores[u, negatives] >= scores[u, target]).sum() <= 10)
    return float(np.mean(hits))


@checker("06.3")
def check_popularity_sampled_ranks(popularity_sampled_ranks: Callable[..., Any]) -> Verdict:
    """A function ``(recommender, split, part, num_negatives, seed) -> ranks (U,)`` drawing negatives by popularity."""
    from course_lib.models.popularity import PopularityRecommender
    from course_lib.sequences import pad_left

    _, split = movielens_split()
    popularity = PopularityRecommender().fit(split)
    result, bad = _call("06.3", popularity_sampled_ranks, popularity, split, "test", 100, 0)
    if bad is not None:
        return bad
    ranks = np.asarray(result) if result is not None else np.empty(0)
    if ranks.shape != (split.num_users,) or not np.issubdtype(ranks.dtype, np.number):
        return verdict("06.3", False, f"return one rank per user: an array of shape ({split.num_users},).")
    if ranks.min() < 1 or ranks.max() > 101:
        return verdict("06.3", False, "with 100 negatives a rank lies between 1 and 101 (1 + negatives scored >= target).")
    scores = popularity.scores(pad_left(split.histories("test"), 50)).cpu().numpy()
    truth = _popularity_sampled_hr10(split, scores, "test", 100, seed=1)
    yours = float((ranks <= 10).mean())
    tolerance = 4 * np.sqrt(truth * (1 - truth) / split.num_users) + 0.01
    hint = ("for the popularity baseline your sampled HR@10 is far from a popularity-sampled estimate: draw the "
            "unseen negatives with rng.choice(..., p=...) where p is proportional to each item's training count.")
    return verdict("06.3", abs(yours - truth) <= tolerance, hint,
                   "Popular negatives are hard negatives for a popularity model: its flattery shrinks.")


@checker("06.4")
def check_untied_head_params(n_params: Any) -> Verdict:
    """Parameters of a separate scoring head ``nn.Linear(D, N + 1)`` for the notebook's model on full ML-100k (D = 64)."""
    value, bad = number_or_hint("06.4", n_params, "the number of parameters")
    if bad is not None:
        return bad
    _, split = movielens_split()
    truth = sum(p.numel() for p in torch.nn.Linear(64, split.num_items + 1).parameters())
    hint = ("count both tensors of nn.Linear(D, N + 1): a weight of shape (N + 1, D) and a bias of N + 1, with N the "
            "number of items in the full split (one column per item plus padding).")
    return verdict("06.4", value == truth, hint,
                   "Untied, the head alone is about half the model again, with one training example per few weights.")


@checker("06.5")
def check_tie_rule_valid_changes(n_users: Any) -> Verdict:
    """How many users' validation item changes when the full split uses ``tie_break="item_id_desc"``."""
    value, bad = number_or_hint("06.5", n_users, "the number of users")
    if bad is not None:
        return bad
    from course_lib.sequences import leave_one_out

    ml, split = movielens_split()
    reversed_split = leave_one_out(ml.interactions, tie_break="item_id_desc")
    truth = int((split.valid_targets != reversed_split.valid_targets).sum())
    if value == int((split.test_targets != reversed_split.test_targets).sum()):
        return verdict("06.5", False, "that counts test targets: compare the validation items (valid_targets).")
    hint = ("split the full ML-100k twice (tie_break 'item_id' and 'item_id_desc') and count the users whose "
            "valid_targets differ; both splits number items the same way, so compare them user by user.")
    return verdict("06.5", value == truth, hint, "Same ratings, a different question for many users.")
