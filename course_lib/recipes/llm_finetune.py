"""The fine-tuned LLM recommender's recipe: ``course train llm-finetune``.

A pretrained causal LM (default: the packaged SmolLM2-135M-Instruct) gets LoRA adapters and learns to write the
title of the next film from the titles of the previous ones (``course_lib.llm_finetune``); it recommends by
catalogue-constrained beam search. Training can stop at a time budget (``time_budget_s``), so the LLM can be
compared with SASRec at the same training time. Validation is full ranking (``course_lib.metrics.evaluate``):
the items found by the beams score their beam score, all others a common floor (they rank after the beams).

Cost (SmolLM2-135M, measured on a 2-core CPU shared with other jobs, so an upper bound): one LoRA step at
batch 16 (~130 tokens per example) took about 40 s (0.024 steps/s), and constrained beam search with 20 beams
about 30 s per user. A full run therefore wants a GPU; FAST trains 20 steps at batch 4 on 256 examples with
5-title prompts and validates with 10 beams on 8 users drawn by a fixed seed (the same whatever the training
seed); the full run validates on every user.
"""

from __future__ import annotations

import time

import numpy as np

from course_lib import runtime
from course_lib.llm_finetune import FineTunedLLMRecommender, add_lora, finetune, next_title_examples, \
    trainable_share
from course_lib.recipes.common import recipe_settings, titles_for_split  # noqa: F401  (re-exported)
from course_lib.sequences import SplitData

DEFAULTS = {"r": 8, "alpha": 16, "dropout": 0.05, "num_epochs": 1, "batch_size": 16, "lr": 2e-4,
            "max_steps": None, "max_titles": 10, "num_beams": 20, "valid_users": None}
FAST_OVERRIDES = {"max_steps": 20, "batch_size": 4, "max_titles": 5, "num_beams": 10, "valid_users": 8}
FAST_MAX_EXAMPLES = 256
VALID_SUBSET_SEED = 0                 # which users FAST validates on: fixed, not the training seed


def subset_users(split: SplitData, rows: np.ndarray) -> SplitData:
    """``split`` restricted to the users ``rows`` (indices), e.g. to validate on a few of them."""
    rows = np.asarray(rows, dtype=np.int64)
    pick = lambda values: [values[r] for r in rows]                        # noqa: E731 (lists and arrays)
    return SplitData(num_items=split.num_items, item_ids=split.item_ids, item_index=split.item_index,
                     user_ids=split.user_ids[rows], train=pick(split.train), train_times=pick(split.train_times),
                     valid_targets=split.valid_targets[rows], test_targets=split.test_targets[rows],
                     valid_times=split.valid_times[rows], test_times=split.test_times[rows],
                     dropped_users=split.dropped_users, tie_break=split.tie_break)


def _validation_split(split: SplitData, valid_users: int | None) -> SplitData:
    """All users, or ``valid_users`` of them drawn with ``VALID_SUBSET_SEED`` (sorted)."""
    if valid_users is None or valid_users >= split.num_users:
        return split
    rng = np.random.default_rng(VALID_SUBSET_SEED)
    return subset_users(split, np.sort(rng.choice(split.num_users, size=valid_users, replace=False)))


def train_llm_finetune(split: SplitData, *, seed: int, fast: bool, titles=None, lm=None,
                       time_budget_s: float | None = None, max_examples: int | None = None,
                       progress: bool = False, **overrides) -> dict:
    """LoRA-fine-tune ``lm`` (default ``load_llm()``) on next-title examples of ``split``'s training parts.

    ``titles``: (N+1,) aligned with ``split.item_ids`` (default: MovieLens-100k's). ``time_budget_s``: stop
    training then; ``max_examples``: cap the examples (FAST: 256, each user's most recent first). ``overrides``:
    keys of ``DEFAULTS``. Returns a ``recipe_result``-shaped dict (``model`` = "llm-finetune"); ``epochs`` is the
    fraction of the examples seen, ``params`` holds the LoRA settings, steps, examples, time budget and the share
    of parameters that trained; ``params["max_len"]`` = ``max_titles`` (the history the prompts read).
    """
    from course_lib.metrics import evaluate

    params = recipe_settings(DEFAULTS, {**(FAST_OVERRIDES if fast else {}), **overrides}, "llm-finetune")
    max_examples = FAST_MAX_EXAMPLES if fast and max_examples is None else max_examples
    start = time.perf_counter()
    runtime.seed_everything(seed)
    if titles is None:
        from course_lib.data import load_movielens
        titles = titles_for_split(split, load_movielens("ml-100k").items)
    examples = next_title_examples(split, titles, params["max_titles"], max_examples=max_examples)
    if lm is None:
        from course_lib.llm import load_llm
        lm = load_llm()
    lm = add_lora(lm, r=params["r"], alpha=params["alpha"], dropout=params["dropout"], seed=seed)
    trainable, total, share = trainable_share(lm.model)
    history = finetune(lm, examples, num_epochs=params["num_epochs"], batch_size=params["batch_size"],
                       lr=params["lr"], time_budget_s=time_budget_s, max_steps=params["max_steps"], seed=seed,
                       progress=progress)
    recommender = FineTunedLLMRecommender(lm, titles, num_beams=params["num_beams"], max_titles=params["max_titles"])
    valid_split = _validation_split(split, params["valid_users"])
    eval_start = time.perf_counter()
    valid = evaluate(recommender, valid_split, part="valid", max_len=params["max_titles"])
    history.update(best_valid=valid, valid_users=valid_split.num_users,
                   valid_seconds=time.perf_counter() - eval_start)
    params.update(max_len=params["max_titles"], steps=history["steps"], examples=len(examples),
                  examples_seen=history["examples_seen"], max_examples=max_examples, time_budget_s=time_budget_s,
                  trainable_parameters=trainable, total_parameters=total, trainable_share=share, llm=lm.name)
    epochs = history["epochs"]
    return {"model": "llm-finetune", "valid": valid, "epochs": epochs, "epochs_to_best": epochs,
            "seconds_per_epoch": history["seconds"] / max(epochs, 1e-9),
            "total_seconds": time.perf_counter() - start, "seconds_to_best": history["seconds"],
            "history": history, "params": params, "recommender": recommender}


def train_default(split: SplitData, *, seed: int, fast: bool) -> dict:
    """``course train llm-finetune``: SmolLM2-135M + LoRA on ML-100k titles, one epoch (FAST: ``FAST_OVERRIDES``
    on 256 examples)."""
    return train_llm_finetune(split, seed=seed, fast=fast, progress=not fast)
