"""What every recipe shares: settings = defaults + overrides, the result dict, and choosing on validation.

A recipe's ``train_*`` function returns one dict (``recipe_result``): ``model`` (the name), ``valid`` (validation
metrics of the chosen model), ``epochs``, ``seconds_per_epoch``, ``total_seconds``, ``params`` (the settings
used) and ``recommender`` (the fitted model); loop-trained recipes add ``epochs_to_best``, ``seconds_to_best``
and ``history``. ``course_lib.recipes.run.run_training`` turns it into the typed ``Report``.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from course_lib.sequences import SplitData


def recipe_settings(defaults: dict, overrides: dict, model_name: str) -> dict:
    """``defaults`` updated by ``overrides``; an unknown key is a ValueError naming it and the known ones."""
    unknown = set(overrides) - set(defaults)
    if unknown:
        raise ValueError(f"unknown {model_name} setting(s) {sorted(unknown)}; known: {sorted(defaults)}")
    return {**defaults, **overrides}


def recipe_result(name: str, history: dict, params: dict, model) -> dict:
    """The dict a loop-trained recipe returns, from ``course_lib.train.fit``'s history."""
    return {"model": name, "valid": history["best_valid"], "epochs": history["epochs"],
            "epochs_to_best": history["best_epoch"], "seconds_per_epoch": history["seconds_per_epoch"],
            "total_seconds": history["total_seconds"], "seconds_to_best": history["seconds_to_best"],
            "history": history, "params": params, "recommender": model}


def choose_on_validation(make_model, split: SplitData, grid: dict, max_len: int = 50) -> tuple:
    """Build ``make_model(**setting)`` for each ``{label: setting}`` of ``grid`` and keep the best by VALIDATION
    NDCG@10 (never the test split). A model with a ``fit`` method is fitted on ``split`` first.

    Returns ``(model, valid metrics, setting, {label: valid ndcg@10})`` of the best.
    """
    from course_lib.metrics import evaluate

    if not grid:
        raise ValueError("grid is empty: give at least one setting")
    results = {}
    for label, setting in grid.items():
        model = make_model(**setting)
        model = model.fit(split) if hasattr(model, "fit") else model
        results[label] = (evaluate(model, split, part="valid", max_len=max_len), model, setting)
    best = max(results, key=lambda label: results[label][0]["ndcg@10"])
    valid, model, setting = results[best]
    return model, valid, setting, {label: r[0]["ndcg@10"] for label, r in results.items()}


def fit_baseline(name: str, make_model, split: SplitData, grid: dict | None = None) -> dict:
    """A count model's recipe: ``choose_on_validation`` over ``grid`` (default: one setting), as a result dict."""
    start = time.perf_counter()
    model, valid, setting, scores = choose_on_validation(make_model, split, grid or {"default": {}})
    return {"model": name, "valid": valid, "epochs": 0, "seconds_per_epoch": 0.0,
            "total_seconds": time.perf_counter() - start, "params": setting, "valid_grid": scores,
            "recommender": model}


def titles_for_split(split: SplitData, items: pd.DataFrame) -> np.ndarray:
    """(N+1,) object array: the title of each internal id of ``split`` (entry 0 = "" for padding).

    ``items``: rows ``item_id, title`` with raw ids (e.g. ``load_movielens("ml-100k").items``). ValueError if some
    raw id of the split has no title (the split comes from another dataset).
    """
    missing_cols = {"item_id", "title"} - set(items.columns)
    if missing_cols:
        raise ValueError(f"items lack column(s) {sorted(missing_cols)}; need item_id, title")
    by_id = dict(zip(items["item_id"].tolist(), items["title"].astype(str).tolist()))
    missing = [raw for raw in split.item_ids[1:].tolist() if raw not in by_id]
    if missing:
        raise ValueError(f"{len(missing)} of the split's {split.num_items} raw item ids have no title (e.g. "
                         f"{missing[:3]}): the split is not from this dataset; pass titles= aligned with "
                         "split.item_ids")
    return np.array([""] + [by_id[raw] for raw in split.item_ids[1:].tolist()], dtype=object)
