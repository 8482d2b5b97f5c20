"""Checkers for notebook 10 (a generative LLM in the loop): calibration, prompts, pooling, LoRA's size.

None of them runs the LLM for more than a handful of (prompt, title) pairs: the re-ranker's scores are read from
the learner's ``TitleScorer`` (cached), the prompt and pooling functions are called on small inputs built here,
and LoRA's parameter count follows from the model's shapes.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch

from course_lib.exercises.core import Verdict, checker, number_or_hint, verdict

# SmolLM2-135M-Instruct's shapes (its config.json): layers, width, width of keys and values (3 of 9 heads of 64)
SMOL_LAYERS, SMOL_WIDTH, SMOL_KV_WIDTH = 30, 576, 192


def _same_title(answer: Any, truth: str) -> bool:
    return isinstance(answer, str) and answer.strip().lower() == str(truth).strip().lower()


@checker("10.1")
def check_calibration_top(uncalibrated: Any, calibrated: Any, scorer: Any, prompt: str, items: Any) -> Verdict:
    """``uncalibrated``, ``calibrated``: the titles (as in ``scorer.titles``) of the candidates ``items`` (internal
    ids) with the highest LLM score after ``prompt``, without calibration and with it."""
    try:
        items = [int(i) for i in np.asarray(items).reshape(-1)]
        conditional = scorer.conditional([prompt], [items])[0]
        free = scorer.context_free(items)
    except Exception as err:
        return verdict("10.1", False, f"pass the TitleScorer, the prompt and the candidates' internal ids as "
                                      f"the re-ranker uses them ({type(err).__name__}: {err}).")
    raw_top, calibrated_top = (str(scorer.titles[items[int(np.argmax(s))]]) for s in (conditional, conditional - free))
    if not isinstance(uncalibrated, str) or not isinstance(calibrated, str):
        return verdict("10.1", False, "answer with two titles (strings), spelt as in `titles`.")
    if _same_title(uncalibrated, calibrated_top) and _same_title(calibrated, raw_top) and raw_top != calibrated_top:
        return verdict("10.1", False, "the two answers are swapped: without calibration the score is ℓ(c | p) alone.")
    hints = []
    if not _same_title(uncalibrated, raw_top):
        hints.append("without calibration, take the candidate with the largest scorer.conditional score")
    if not _same_title(calibrated, calibrated_top):
        hints.append("with calibration, the largest conditional minus context-free score (scorer.calibrated)")
    return verdict("10.1", not hints, "; ".join(hints) + ".",
                   "Titles that are likely after any prompt win without calibration, whoever the user is.")


def _prompt_cases() -> list[tuple[list[str], int]]:
    films = [f"Film {chr(65 + i)}" for i in range(14)]
    return [(films, 3), (films, 10), (films[:2], 3), (films[:1], 1), ([], 3), (films[:5], 5)]


@checker("10.2")
def check_recent_prompt(recent_prompt: Callable) -> Verdict:
    """``recent_prompt(titles, max_titles)``: the re-ranker's prompt written by hand: the history cue, the
    ``max_titles`` most recent titles oldest first joined by "; ", a full stop, and the context-free cue."""
    from course_lib.llm import CONTEXT_FREE_PROMPT, history_prompt

    if not callable(recent_prompt):
        return verdict("10.2", False, "pass your function itself: check_recent_prompt(recent_prompt), no call.")
    for titles, max_titles in _prompt_cases():
        truth = history_prompt(titles, max_titles)
        try:
            answer = recent_prompt(list(titles), max_titles)
        except Exception as err:
            return verdict("10.2", False, f"recent_prompt({len(titles)} titles, {max_titles}) raised "
                                          f"{type(err).__name__}: {err}. An empty history must work too.")
        if answer == truth:
            continue
        if not isinstance(answer, str):
            hint = f"return the prompt as one string, not a {type(answer).__name__}."
        elif not titles:
            hint = f"with no titles there is nothing to list: the prompt is the context-free cue {CONTEXT_FREE_PROMPT!r}."
        elif titles[0] in answer and len(titles) > max_titles:
            hint = "a long history is cut from its OLDEST end: keep the most recent titles."
        elif len(titles) > 1 and answer.find(titles[-1]) < answer.find(titles[-2]):
            hint = "list the kept titles oldest first, the most recent last, right before the cue."
        else:
            hint = "compare your string with llm.history_prompt character by character: separators and full stop."
        return verdict("10.2", False, hint)
    return verdict("10.2", True, "", "Fewer titles mean a shorter prompt: cheaper, but less of the user's taste.")


def _padded_batch(left: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """(3, 6, 4) random states and a (3, 6) mask of 6, 3 and 1 real tokens, padded on the right or the left."""
    hidden = torch.randn(3, 6, 4, generator=torch.Generator().manual_seed(0))
    mask = torch.zeros(3, 6, dtype=torch.long)
    for row, n in enumerate((6, 3, 1)):
        mask[row, slice(6 - n, 6) if left else slice(0, n)] = 1
    return hidden, mask


def _reference_pool(hidden: torch.Tensor, mask: torch.Tensor, how: str) -> torch.Tensor:
    weights = mask.unsqueeze(-1).float()
    if how == "mean":
        return (hidden * weights).sum(1) / weights.sum(1)
    last = torch.tensor([int(np.flatnonzero(row.numpy())[-1]) for row in mask])
    return hidden[torch.arange(len(hidden)), last]


@checker("10.3")
def check_pooling(pool: Callable) -> Verdict:
    """``pool(hidden, mask, how)``: (B, T, D) token states and a (B, T) attention mask (1 = real token) to (B, D),
    ``how`` = "mean" (mean over the real tokens) or "last" (the last real token), for right or left padding."""
    if not callable(pool):
        return verdict("10.3", False, "pass your function itself: check_pooling(pool), no call.")
    for left in (False, True):
        hidden, mask = _padded_batch(left)
        for how in ("mean", "last"):
            try:
                answer = torch.as_tensor(pool(hidden.clone(), mask.clone(), how), dtype=torch.float32)
            except Exception as err:
                return verdict("10.3", False, f"pool(hidden, mask, {how!r}) raised {type(err).__name__}: {err}.")
            truth = _reference_pool(hidden, mask, how)
            if answer.shape != truth.shape:
                return verdict("10.3", False, f"pool must return (B, D) = {tuple(truth.shape)}, got "
                                              f"{tuple(answer.shape)}: one vector per text.")
            if not torch.allclose(answer, truth, atol=1e-5):
                side = "left" if left else "right"
                hint = ("average over the real tokens only: padding states must not count (divide by mask.sum)."
                        if how == "mean" else f"take the last REAL token of each row; with {side} padding it is "
                                              "not always at position T - 1 (look at where the mask's 1s end).")
                return verdict("10.3", False, hint)
    return verdict("10.3", True, "", "In a causal model only the last token has read the whole text.")


def lora_parameter_count(r: int, layers: int = SMOL_LAYERS, width: int = SMOL_WIDTH,
                         kv_width: int = SMOL_KV_WIDTH) -> int:
    """LoRA's added parameters on q, k, v, o: each W (d_out, d_in) gains A (r, d_in) and B (d_out, r)."""
    shapes = [(width, width), (kv_width, width), (kv_width, width), (width, width)]          # (d_out, d_in)
    return layers * sum(r * (d_in + d_out) for d_out, d_in in shapes)


@checker("10.5")
def check_lora_parameters(count: Any, r: int = 16) -> Verdict:
    """``count``: how many parameters LoRA of rank ``r`` on q, k, v and o adds to SmolLM2-135M (worked out by
    hand from the model's shapes)."""
    value, bad = number_or_hint("10.5", count, "the number of parameters")
    if bad is not None:
        return bad
    truth = lora_parameter_count(r)
    if value == lora_parameter_count(r, kv_width=SMOL_WIDTH):
        hint = "k and v are narrower than q and o: 3 key/value heads of 64, not 9."
    elif value == truth // 2:
        hint = "each adapted matrix gains two factors, A (r × d_in) and B (d_out × r): count both."
    else:
        hint = (f"per layer, add r × (d_in + d_out) for each of q, k, v, o, then multiply by the number of layers; "
                f"the notebook's r = 8 count (trainable_share) is a check of your formula.")
    return verdict("10.5", value == truth, hint, "LoRA's size grows linearly with r and stays near 1 % here.")
