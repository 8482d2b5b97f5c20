"""Checkers for notebook 07 (pretrained text representations of items).

The text vectors come from the packaged all-MiniLM-L6-v2 through ``course_lib.text_cache``: encoded once (a few
seconds on a CPU), then read from the on-disk cache and kept in memory. No checker trains a recommender.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable

import numpy as np
import torch

from course_lib.exercises.core import Verdict, checker, close_to, movielens_split, number_or_hint, same_choice, verdict


@lru_cache(maxsize=2)
def _genre_agreement_of_template(template: str) -> float:
    """Genre agreement (k=10) of MiniLM text vectors of the ML-100k items under ``template`` (cached)."""
    from course_lib.embeddings.inspect import genre_agreement, item_genres
    from course_lib.text_cache import embed_items

    ml, split = movielens_split()
    table = embed_items(ml.items, "ml-100k", None, template, progress=False).table(split.item_ids)
    return genre_agreement(table, item_genres(ml.items, split.item_ids), k=10)


@checker("07.1")
def check_title_only_agreement(direction: Any) -> Verdict:
    """Expects ``"up"`` or ``"down"``: how the genre agreement of the MiniLM text space moves when the template
    is ``"{title}"`` instead of ``"{title}. Genres: {genres}."``."""
    from course_lib.text import DEFAULT_TEMPLATE

    truth = "up" if _genre_agreement_of_template("{title}") > _genre_agreement_of_template(DEFAULT_TEMPLATE) else "down"
    ok = same_choice(direction, truth, ("up", "down"))
    if ok is None:
        return verdict("07.1", False, f"answer with the word 'up' or 'down' (got {direction!r:.40}).")
    return verdict("07.1", ok, "genre agreement counts neighbours that share a genre: what do the texts still say about "
                   "genres once the genre words are gone? Encode with TEMPLATE = '{title}' and compare.",
                   "Without genre words, only titles hint at genres.")


def _genre_share(split, ml, part: str, position: int) -> float:
    from course_lib.embeddings.inspect import item_genres

    genres = [set(g) for g in item_genres(ml.items, split.item_ids)]
    targets = split.targets(part)
    hits = [bool(genres[t] & genres[seq[position]]) for seq, t in zip(split.train, targets) if len(seq) >= -position]
    return float(np.mean(hits))


@checker("07.2")
def check_last_item_genre_share(share: Any) -> Verdict:
    """Expects the share of users (all 943) whose **validation** target shares at least one genre with the last
    item of their training part."""
    value, bad = number_or_hint("07.2", share, "the share (between 0 and 1)")
    if bad:
        return bad
    ml, split = movielens_split()
    truth = _genre_share(split, ml, "valid", -1)
    if close_to(value, 100 * truth, abs_tol=0.1):
        return verdict("07.2", False, "give a share between 0 and 1, not a percentage.")
    if close_to(value, _genre_share(split, ml, "test", -1), abs_tol=0.001) and not close_to(value, truth, abs_tol=0.001):
        return verdict("07.2", False, "that uses the test targets; the zero-shot decay is chosen on split.valid_targets.")
    if close_to(value, _genre_share(split, ml, "valid", 0), abs_tol=0.001) and not close_to(value, truth, abs_tol=0.001):
        return verdict("07.2", False, "that compares with the first item of the history; take the last one (seq[-1]).")
    return verdict("07.2", close_to(value, truth, abs_tol=0.001),
                   "for each user compare the genres of split.valid_targets[u] with those of split.train[u][-1] "
                   "(item_genres gives them) and average the yes/no answers over all users.",
                   "Compare it with an item further back in the history to see why a small gamma wins.")


@checker("07.4")
def check_cold_test_targets(n_targets: Any) -> Verdict:
    """Expects the number of test users whose target is cold when ``COLD_FRACTION = 0.3`` and ``seed=SEED`` (42)
    on all 943 users (``NUM_USERS = None``)."""
    from course_lib.coldstart import cold_start_split

    value, bad = number_or_hint("07.4", n_targets, "the number of cold test targets")
    if bad:
        return bad
    ml, _ = movielens_split()
    cold = cold_start_split(ml.interactions, 0.3, seed=42)
    truth = int(np.isin(cold.split.test_targets, cold.cold_items).sum())
    if value == len(cold.cold_items):
        return verdict("07.4", False, "that is the number of cold items; count the test users whose target is one.")
    return verdict("07.4", value == truth,
                   "build coldstart.cold_start_split(log, 0.3, seed=SEED) on all 943 users (NUM_USERS = None, as in "
                   "full mode) and count np.isin(cold.split.test_targets, cold.cold_items).",
                   "Three times the cold items: far more test users now depend on text alone.")


def _dropout_outcome(drop: Callable, table: torch.Tensor, p: float) -> torch.Tensor | str:
    """Call the learner's function under a fixed seed without touching their random state."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        try:
            out = drop(table, p)
        except Exception as err:  # the learner's function failed: a hint, not a traceback
            return f"your function raised {type(err).__name__}: {err}"[:200]
    if not isinstance(out, torch.Tensor) or out.shape != table.shape:
        return f"return a tensor of the table's shape {tuple(table.shape)}."
    return out


@checker("07.6")
def check_id_dropout(drop: Callable) -> Verdict:
    """Expects ``drop(ids, p)``: for an (N+1, D) ID table, a table where each item's **whole row** is replaced by
    zeros with probability ``p`` and kept unchanged otherwise (torch, differentiable)."""
    table = torch.randn(2001, 8, generator=torch.Generator().manual_seed(1))
    table[0] = 0.0
    table.requires_grad_(True)
    outs = {p: _dropout_outcome(drop, table, p) for p in (0.0, 0.3)}
    for out in outs.values():
        if isinstance(out, str):
            return verdict("07.6", False, out)
    ref = table.detach()
    if not torch.allclose(outs[0.0].detach(), ref):
        return verdict("07.6", False, "with p = 0 nothing is dropped: the table must come back unchanged.")
    out = outs[0.3].detach()
    zero_rows = (out[1:] == 0).all(dim=1)
    kept_same = torch.isclose(out[1:], ref[1:]).all(dim=1)
    if ((out[1:] == 0) & (ref[1:] != 0)).any(dim=1).sum() > zero_rows.sum():
        return verdict("07.6", False, "drop whole rows (an item's whole ID vector), not single entries.")
    if not (zero_rows | kept_same).all():
        return verdict("07.6", False, "kept rows must stay as they are: no 1 / (1 - p) rescaling as in ordinary dropout.")
    if not 0.25 <= float(zero_rows.float().mean()) <= 0.35:
        return verdict("07.6", False, "about a share p of the rows should be zeroed: draw one Bernoulli(1 - p) keep "
                       "flag per row.")
    if not outs[0.3].requires_grad:
        return verdict("07.6", False, "multiply by a mask in torch so that gradients still reach the kept rows.")
    return verdict("07.6", True, "", "The model must now score some items from their text alone.")
