"""The LLM re-ranker's recipe: ``course train llm-rerank`` (``course_lib.llm_rerank``).

A base SASRec is trained with SASRec's own recipe (``recipes.sasrec``), the packaged SmolLM2-135M-Instruct scores the
titles of its top ``num_candidates`` unseen items, and the LLM's share ``weight`` is chosen on VALIDATION NDCG@10
(FAST: on a fixed random subset of 64 validation users). Nothing is trained beyond the base model. Titles are
MovieLens's without the year ("The Usual Suspects"); the LLM computes in bf16 where the hardware does (``llm_dtype``).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import torch

from course_lib.llm_rerank import FULL_HISTORY, WEIGHT_GRID, LLMReranker, TitleScorer, validation_ranks
from course_lib.metrics import per_user, summarize
from course_lib.recipes.common import titles_for_split
from course_lib.sequences import SplitData

FAST_VALID_USERS = 64
MAX_TITLES = 10


def short_title(title: str) -> str:
    """A MovieLens title as people write it: "Usual Suspects, The (1995)" -> "The Usual Suspects". The year costs
    six tokens of a ten-token title (digits are single tokens) and, like LLMRank's prompts, is left out."""
    title = re.sub(r"\s*\(\d{4}\)\s*$", "", str(title)).strip()
    match = re.fullmatch(r"(.+), (The|A|An)", title)
    return f"{match[2]} {match[1]}" if match else title


def movielens_titles(split: SplitData, dataset: str = "ml-100k", with_year: bool = False) -> np.ndarray:
    """(N+1,) object array: entry i = the title of ``split``'s internal item i ("" for padding 0), from ``dataset``'s
    item table aligned with ``split.item_ids[1:]``; ``short_title`` unless ``with_year``. ValueError if some raw item
    ids have no title there."""
    from course_lib.data import load_movielens

    items = load_movielens(dataset).items
    return titles_for_split(split, items.assign(title=items["title"].astype(str) if with_year
                                                 else items["title"].map(short_title)))


def llm_dtype(device: torch.device) -> torch.dtype:
    """bf16 where the hardware computes it natively (CUDA capability >= 8.0; x86 CPUs with AMX or AVX512-BF16, where
    it scored SmolLM2-135M 2.2x faster than fp32), else fp32. Scores then move by ~0.04 nats, ranks barely."""
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.get_device_capability(device) >= (8, 0) else torch.float32
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return torch.float32
    return torch.bfloat16 if device.type == "cpu" and re.search(r"\b(amx_bf16|avx512_bf16)\b", flags) else torch.float32


def _base_model(split: SplitData, seed: int, fast: bool, base) -> tuple[object, dict, int]:
    """(base model, its recipe result or {}, max_len it reads): SASRec's course recipe unless ``base`` is given."""
    if base is not None:
        config = getattr(base, "config", None)
        return base, {}, int(getattr(config, "max_len", 50))
    from course_lib.recipes.sasrec import FAST_OVERRIDES, train_sasrec

    result = train_sasrec(split, seed=seed, **(FAST_OVERRIDES if fast else {}))
    return result["recommender"], result, int(result["params"]["max_len"])


def _choice_users(split: SplitData, seed: int, fast: bool, users) -> np.ndarray | None:
    """The validation users the weight is chosen on: ``users`` if given; FAST: a fixed random 64; else all (None)."""
    if users is not None:
        return np.asarray(users, dtype=np.int64)
    if not fast:
        return None
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(split.num_users, min(FAST_VALID_USERS, split.num_users), replace=False))


def train_llm_rerank(split: SplitData, *, seed: int, fast: bool, titles=None, lm=None, base=None,
                     num_candidates: int = 20, users_for_choice=None) -> dict:
    """Base model + LLM re-ranker with its weight chosen on validation; a ``recipes.common.recipe_result``-shaped dict.

    ``titles`` (N+1,) default: MovieLens-100k's (``movielens_titles``); ``lm`` default: ``load_llm()`` in ``llm_dtype``;
    ``base``: a
    fitted model with ``scores(seqs)`` to re-rank instead of training SASRec (its epochs are then 0).
    ``users_for_choice``: validation user indices to choose the weight on (default: FAST 64 random users, else all).
    ``valid`` holds the chosen weight's validation metrics on those users; ``recommender`` is the ``LLMReranker``.
    """
    if int(num_candidates) != num_candidates or num_candidates < 1:
        raise ValueError(f"num_candidates must be an integer >= 1, got {num_candidates}")
    start = time.perf_counter()
    titles = movielens_titles(split) if titles is None else np.asarray(titles, dtype=object)
    if titles.shape != (split.num_items + 1,):
        raise ValueError(f"titles must have one entry per internal id 0..N: shape ({split.num_items + 1},), "
                         f"got {titles.shape}")
    if lm is None:
        from course_lib import runtime
        from course_lib.llm import load_llm

        lm = load_llm(dtype=llm_dtype(runtime.get_device()))
    model, base_result, max_len = _base_model(split, seed, fast, base)
    reranker = LLMReranker(model, TitleScorer(lm, titles), num_candidates=num_candidates, max_titles=MAX_TITLES,
                           base_max_len=max_len)
    users = _choice_users(split, seed, fast, users_for_choice)
    ranks = validation_ranks(reranker, split, WEIGHT_GRID, users)
    grid = {w: float(per_user(r, "ndcg@10").mean()) for w, r in ranks.items()}
    reranker.weight = max(grid, key=grid.get)                       # ties: the smaller weight (grid order)
    total = time.perf_counter() - start
    params = {"weight": reranker.weight, "num_candidates": int(num_candidates), "llm": lm.name,
              "llm_dtype": str(lm.model.dtype), "llm_fingerprint": lm.fingerprint, "max_titles": MAX_TITLES,
              "max_len": FULL_HISTORY, "base_max_len": max_len,
              "valid_grid": {f"{w:g}": v for w, v in grid.items()},
              "valid_users": int(len(users) if users is not None else split.num_users),
              "base": base_result.get("model", type(model).__name__), "base_params": base_result.get("params", {}),
              "llm_pairs_scored": reranker.scorer.pairs_scored}
    return {"model": "llm-rerank", "valid": summarize(ranks[reranker.weight]),
            "epochs": base_result.get("epochs", 0), "epochs_to_best": base_result.get("epochs_to_best", 0),
            "seconds_per_epoch": base_result.get("seconds_per_epoch", 0.0), "total_seconds": total,
            "seconds_to_best": base_result.get("seconds_to_best", 0.0), "history": base_result.get("history", {}),
            "params": params, "recommender": reranker}


def train_default(split: SplitData, *, seed: int, fast: bool) -> dict:
    """``course train llm-rerank``: FAST SASRec (or the full recipe) + SmolLM2-135M re-ranking its top 20."""
    return train_llm_rerank(split, seed=seed, fast=fast)
