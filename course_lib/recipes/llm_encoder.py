"""A generative LLM's hidden states as item vectors: ``course train llm-zeroshot`` and ``sasrec-llm-fusion``.

The packaged SmolLM2-135M-Instruct reads every item's text ("Title (year). Genres: ...", notebook 07's template);
``course_lib.llm_encoder`` pools a layer's hidden states and whitens them. Which layer (8, 15 or the last of 30),
and whether to whiten, is chosen on VALIDATION NDCG@10 of the zero-shot text recommender (notebook 07's
``TextZeroShot``); the chosen table then plays MiniLM's part in the zero-shot model and in ID + text fusion SASRec.
One pass over the items gives every layer; the vectors are cached on disk, keyed by the model's fingerprint.
"""

from __future__ import annotations

import hashlib
import json
import time

import numpy as np

from course_lib.files import atomic_path
from course_lib.llm_encoder import llm_layer_vectors, whiten
from course_lib.models.text_zero_shot import DECAY_GRID, TextZeroShot
from course_lib.recipes.common import choose_on_validation
from course_lib.sequences import SplitData
from course_lib.text import DEFAULT_TEMPLATE, item_texts

LAYERS = (8, 15, -1)
WHITEN_DIM = 256


def llm_item_tables(split: SplitData, lm=None, layers=None, pooling: str = "mean",
                    dataset: str = "ml-100k") -> dict:
    """{layer: (N+1, D) unit vectors aligned with ``split``'s internal ids} (row 0 = zeros), cached on disk;
    ``layers`` default ``LAYERS``."""
    from course_lib.data import cache_dir, load_movielens
    from course_lib.llm import load_llm

    lm = load_llm(device="cpu") if lm is None else lm
    layers = tuple(LAYERS if layers is None else layers)
    texts = item_texts(load_movielens(dataset).items, DEFAULT_TEMPLATE, item_ids=split.item_ids[1:])
    key = json.dumps({"llm": lm.fingerprint, "layers": list(layers), "pooling": pooling, "texts": texts})
    path = cache_dir() / "llm-vectors" / f"{dataset}-{hashlib.sha256(key.encode()).hexdigest()[:24]}.npz"
    if path.is_file():
        with np.load(path) as stored:
            vectors = {layer: stored[f"layer{layer}"] for layer in layers}
    else:
        vectors = llm_layer_vectors(lm, texts, layers, pooling)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, **{f"layer{layer}": v for layer, v in vectors.items()})
    return {layer: np.vstack([np.zeros((1, v.shape[1]), np.float32), v]) for layer, v in vectors.items()}


def whitened(table: np.ndarray, k: int | None = None) -> np.ndarray:
    """(N+1, D) -> (N+1, k): whiten rows 1..N (``llm_encoder.whiten``; k default ``WHITEN_DIM``); row 0 stays zero."""
    k = WHITEN_DIM if k is None else k
    out = np.zeros((len(table), k), dtype=np.float32)
    out[1:] = whiten(table[1:], k)
    return out


def choose_llm_table(split: SplitData, tables: dict, decays=(0.5, 0.9)) -> tuple[np.ndarray, dict, dict]:
    """The (layer, whitened?) table with the best VALIDATION NDCG@10 of ``TextZeroShot`` over ``decays``.

    Returns (table, {"layer", "whiten", "decay"}, {label: valid ndcg@10})."""
    candidates = {(layer, w): (whitened(t) if w else t) for layer, t in tables.items() for w in (False, True)}
    grid = {f"layer {layer}{' whitened' if w else ''}, decay {d}": {"item_emb": candidates[(layer, w)], "decay": d,
                                                                    "_key": (layer, w)}
            for (layer, w) in candidates for d in decays}
    make = lambda item_emb, decay, _key: TextZeroShot(item_emb, decay=decay)      # noqa: E731
    _, _, setting, scores = choose_on_validation(make, split, grid)
    layer, white = setting["_key"]
    return candidates[(layer, white)], {"layer": layer, "whiten": white, "decay": setting["decay"]}, scores


def train_llm_zeroshot(split: SplitData, *, seed: int, fast: bool, lm=None) -> dict:
    """``course train llm-zeroshot``: LLM item vectors (layer and whitening chosen on validation), no training."""
    start = time.perf_counter()
    table, choice, scores = choose_llm_table(split, llm_item_tables(split, lm))
    grid = (0.5, 0.9, 1.0) if fast else DECAY_GRID
    model, valid, setting, _ = choose_on_validation(
        TextZeroShot, split, {g: {"item_emb": table, "decay": g} for g in grid})
    params = {**choice, "decay": setting["decay"], "encoder": "SmolLM2-135M-Instruct hidden states (mean pooling)",
              "valid_grid": scores}
    return {"model": "llm-zeroshot", "valid": valid, "epochs": 0, "seconds_per_epoch": 0.0,
            "total_seconds": time.perf_counter() - start, "params": params, "recommender": model}


def train_llm_fusion(split: SplitData, *, seed: int, fast: bool, lm=None) -> dict:
    """``course train sasrec-llm-fusion``: ID + projected LLM item vectors (notebook 07's fusion, LLM for MiniLM)."""
    from course_lib.recipes.text import train_variant

    table, choice, _ = choose_llm_table(split, llm_item_tables(split, lm))
    result = train_variant(split, "fusion", seed=seed, fast=fast, text_emb=table)
    result["model"] = "sasrec-llm-fusion"
    result["params"] = {**result["params"], "llm_vectors": choice}
    return result
