"""Recipes with item text: ``course train text-zeroshot``, ``sasrec-text`` and ``sasrec-fusion``, and notebook 07.

The text vectors come from the packaged sentence encoder (``course_lib.text``), cached on disk
(``course_lib.text_cache``). The SASRec variants train with SASRec's own recipe (``recipes.sasrec``); the zero-shot
model only chooses its recency decay on validation.
"""

from __future__ import annotations

import time

from course_lib import runtime
from course_lib.data import load_movielens
from course_lib.models.sasrec import SASRecConfig
from course_lib.models.sasrec_text import build_variant
from course_lib.models.text_zero_shot import DECAY_GRID, TextZeroShot
from course_lib.recipes.common import choose_on_validation, recipe_settings
from course_lib.recipes.sasrec import DEFAULTS, FAST_OVERRIDES, MODEL_KEYS, train_sasrec
from course_lib.sequences import SplitData
from course_lib.text import DEFAULT_TEMPLATE
from course_lib.text_cache import embed_items


def item_text_table(split, dataset: str = "ml-100k", encoder=None, template: str | None = None):
    """(N+1, T) cached text embeddings of ``dataset``'s items aligned with ``split``'s internal ids."""
    emb = embed_items(load_movielens(dataset).items, dataset, encoder, template or DEFAULT_TEMPLATE)
    return emb.table(split.item_ids)


def train_variant(split, variant: str, *, seed: int, text_emb=None, fusion: str = "sum", fast: bool = False,
                  progress: bool = True, mask_unseen: bool = False, **overrides) -> dict:
    """Train one variant with SASRec's course recipe (``recipes.sasrec.DEFAULTS`` updated by ``overrides``).

    ``mask_unseen``: keep the items that never occur in ``split``'s training parts out of the training
    softmax (``SASRec.exclude_from_training``), so that they are not pushed down as negatives and a text
    variant can still recommend them (cold start). The model name then ends in "-masked".

    Returns ``recipes.sasrec.train_sasrec``'s dict with ``model`` set to e.g. "sasrec-text".
    """
    settings = recipe_settings(DEFAULTS, {**(FAST_OVERRIDES if fast else {}), **overrides}, "SASRec")
    runtime.seed_everything(seed)                      # the model's initial weights depend on the seed too
    config = SASRecConfig(num_items=split.num_items, **{k: settings[k] for k in MODEL_KEYS})
    model = build_variant(variant, config, text_emb, fusion)
    if mask_unseen:
        model.exclude_from_training(split.train_item_counts() == 0)
    train_settings = {k: v for k, v in settings.items() if k not in MODEL_KEYS}   # model ones come from config
    result = train_sasrec(split, seed=seed, model=model, progress=progress, **train_settings)
    name = {"id": "sasrec", "text": "sasrec-text", "text-init": "sasrec-textinit", "fusion": "sasrec-fusion"}
    result["model"] = (name[variant] + (f"-{fusion}" if variant == "fusion" and fusion != "sum" else "")
                       + ("-masked" if mask_unseen else ""))
    return result


def train_default_text(split, *, seed: int, fast: bool, dataset: str = "ml-100k") -> dict:
    """``course train sasrec-text``: frozen MiniLM item texts + learned projection as SASRec's item table."""
    return train_variant(split, "text", seed=seed, fast=fast, text_emb=item_text_table(split, dataset))


def train_default_fusion(split, *, seed: int, fast: bool, dataset: str = "ml-100k") -> dict:
    """``course train sasrec-fusion``: ID embedding + projected MiniLM text embedding (sum)."""
    return train_variant(split, "fusion", seed=seed, fast=fast, text_emb=item_text_table(split, dataset))


def select_decay(item_emb, split: SplitData, grid=DECAY_GRID, max_len: int = 50) -> tuple[float, dict]:
    """Choose gamma by validation NDCG@10 (never the test split); returns (best, {gamma: valid ndcg@10})."""
    _, _, setting, scores = choose_on_validation(
        TextZeroShot, split, {g: {"item_emb": item_emb, "decay": g} for g in grid}, max_len=max_len)
    return setting["decay"], scores


def train_zeroshot(split: SplitData, *, seed: int, fast: bool, dataset: str = "ml-100k",
                   encoder: str | None = None) -> dict:
    """``course train text-zeroshot``: encode the items (cached), pick gamma on validation, no training."""
    start = time.perf_counter()
    table = embed_items(load_movielens(dataset).items, dataset, encoder).table(split.item_ids)
    grid = (0.5, 0.9, 1.0) if fast else DECAY_GRID
    model, valid, setting, _ = choose_on_validation(
        TextZeroShot, split, {g: {"item_emb": table, "decay": g} for g in grid})
    params = {"decay": setting["decay"], "encoder": encoder or "all-MiniLM-L6-v2"}
    return {"model": "text-zeroshot", "valid": valid, "epochs": 0, "seconds_per_epoch": 0.0,
            "total_seconds": time.perf_counter() - start, "params": params, "recommender": model}
