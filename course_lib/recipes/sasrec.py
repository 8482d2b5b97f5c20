"""SASRec's recipe: the course defaults behind ``course train sasrec`` / ``sasrec-bce`` and notebook 05.

The defaults were chosen on the VALIDATION split of ML-100k (leave-one-out, full ranking); the test split was
only read by ``benchmarks/sasrec.py`` after the choice. Training examples are all sliding windows of every
user's training part (``NextItemDataset(all_windows=True)``): a causal model learns from every position of a
window in one pass.
"""

from __future__ import annotations

from course_lib import runtime
from course_lib.models.sasrec import SASRec, SASRecConfig
from course_lib.sequences import NextItemDataset, SplitData
from course_lib.recipes.common import recipe_result, recipe_settings
from course_lib.train import TrainConfig, fit

DEFAULTS = {
    "max_len": 50, "hidden_dim": 64, "num_heads": 1, "num_layers": 2, "dropout": 0.2, "inner_dim": None,
    "loss": "ce", "lr": 2e-3, "batch_size": 128, "weight_decay": 0.0, "num_epochs": 200, "eval_every": 2,
    "patience": 3, "warmup_ratio": 0.0, "decay": "constant",
}
FAST_OVERRIDES = {"num_epochs": 4, "eval_every": 2, "patience": 2}
MODEL_KEYS = ("max_len", "hidden_dim", "num_heads", "num_layers", "dropout", "inner_dim", "loss")
TRAIN_KEYS = ("max_len", "lr", "batch_size", "weight_decay", "num_epochs", "eval_every", "patience",
              "warmup_ratio", "decay")


def train_sasrec(split: SplitData, *, seed: int = 42, model: SASRec | None = None,
                 checkpoint_path: str | None = None, progress: bool = True,
                 valid_split: SplitData | None = None, exclude_history: bool = True, **overrides) -> dict:
    """Train SASRec on ``split`` with ``DEFAULTS`` updated by ``overrides`` (any key of ``DEFAULTS``).

    ``model``: a prebuilt SASRec (or subclass) to train instead of a fresh one; its own config then supplies
    the model settings (passing model settings in ``overrides`` as well is an error). ``valid_split``: select on
    this split's validation part instead of ``split``'s (a time-based split's events, ``course_lib.sessions``);
    ``exclude_history``: whether validation removes history items from the candidates.

    Returns a dict with ``model`` ("sasrec" or "sasrec-bce"), ``valid`` (best validation metrics), ``epochs``,
    ``epochs_to_best``, ``seconds_per_epoch``, ``total_seconds``, ``seconds_to_best``, ``history`` (the loop's
    history dict), ``params`` (the settings used) and ``recommender`` (the trained SASRec, best weights, eval).
    """
    params = recipe_settings(DEFAULTS, overrides, "SASRec")
    runtime.seed_everything(seed)
    if model is None:
        model = SASRec(SASRecConfig(num_items=split.num_items, **{k: params[k] for k in MODEL_KEYS}))
    else:
        clash = sorted(set(overrides) & set(MODEL_KEYS))
        if clash:
            raise ValueError(f"model settings {clash} come from the prebuilt model's config; don't pass them")
        if model.num_items != split.num_items:
            raise ValueError(f"model has {model.num_items} items, the split {split.num_items}")
        params.update({k: getattr(model.config, k) for k in MODEL_KEYS})
    data = NextItemDataset(split, max_len=params["max_len"], all_windows=True)
    config = TrainConfig(**{k: params[k] for k in TRAIN_KEYS}, seed=seed, checkpoint_path=checkpoint_path,
                         progress=progress, exclude_history=exclude_history)
    history = fit(model, data, split if valid_split is None else valid_split, config)
    return recipe_result("sasrec" if params["loss"] == "ce" else "sasrec-bce", history, params, model)


def train_default(split: SplitData, *, seed: int, fast: bool) -> dict:
    """``course train sasrec``: full cross-entropy, the course defaults (``FAST_OVERRIDES`` when ``fast``)."""
    return train_sasrec(split, seed=seed, **(FAST_OVERRIDES if fast else {}))


def train_default_bce(split: SplitData, *, seed: int, fast: bool) -> dict:
    """``course train sasrec-bce``: the original SASRec objective (one sampled negative), else the same."""
    return train_sasrec(split, seed=seed, loss="bce", **(FAST_OVERRIDES if fast else {}))
