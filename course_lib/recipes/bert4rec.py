"""BERT4Rec's recipe: the course defaults behind ``course train bert4rec`` and notebook 06.

The defaults were chosen on the VALIDATION split of ML-100k (leave-one-out, full ranking) by the sweeps in
``benchmarks/results/sweep-bert4rec*-h200.json`` (``benchmarks/sweep.py``, 26 settings x 2-3 seeds): batch 64
and 30% masking, with early stopping on validation NDCG@10 *with the history kept* (``exclude_history=False``,
the protocol of the course's BERT4Rec target), scored 0.060 against 0.056 for the first recipe (batch 128,
20% masking, history removed). Longer windows (100, 200) and half last-item examples scored lower. BERT4Rec
needs long training (Petrov & Macdonald, RecSys 2022), so the full recipe runs up to 150 epochs.
``window_step`` (None = windows overlapping by one item) slides the training windows as the original code does.
"""

from __future__ import annotations

import pandas as pd

from course_lib import runtime
from course_lib.models.bert4rec import Bert4Rec, Bert4RecConfig, ClozeWithLastItemDataset
from course_lib.sequences import ClozeDataset, SplitData
from course_lib.recipes.common import recipe_result, recipe_settings
from course_lib.train import TrainConfig, fit

DEFAULTS = {
    "max_len": 50, "hidden_dim": 64, "num_heads": 2, "num_layers": 2, "dropout": 0.2,
    "mask_prob": 0.3, "last_item_prob": 0.25, "lr": 1e-3, "batch_size": 64, "weight_decay": 0.0,
    "num_epochs": 150, "eval_every": 5, "patience": 6, "warmup_ratio": 0.0, "decay": "constant",
    "window_step": None, "exclude_history": False,
}
FAST_OVERRIDES = {"num_epochs": 3, "eval_every": 1, "patience": 3}
MODEL_KEYS = ("max_len", "hidden_dim", "num_heads", "num_layers", "dropout")
TRAIN_KEYS = ("max_len", "lr", "batch_size", "weight_decay", "num_epochs", "eval_every", "patience",
              "warmup_ratio", "decay", "exclude_history")


def train_bert4rec(split: SplitData, *, seed: int = 42, checkpoint_path: str | None = None,
                   progress: bool = True, **overrides) -> dict:
    """Train BERT4Rec on ``split`` with ``DEFAULTS`` updated by ``overrides`` (any key of ``DEFAULTS``).

    Training examples: every user's training part cut into windows of ``max_len`` items, a fresh random
    ``mask_prob`` mask at each read, and with probability ``last_item_prob`` only the last item masked.

    Returns a dict with ``model`` ("bert4rec"), ``valid`` (best validation metrics), ``epochs``,
    ``epochs_to_best``, ``seconds_per_epoch``, ``total_seconds``, ``seconds_to_best``, ``history`` (the loop's
    history dict), ``params`` (the settings used) and ``recommender`` (the trained Bert4Rec, best weights, eval).
    """
    params = recipe_settings(DEFAULTS, overrides, "BERT4Rec")
    runtime.seed_everything(seed)
    model = Bert4Rec(Bert4RecConfig(num_items=split.num_items, **{k: params[k] for k in MODEL_KEYS}))
    cloze = ClozeDataset(split, max_len=params["max_len"], mask_prob=params["mask_prob"],
                         mask_id=model.mask_id, window_step=params["window_step"])
    train_data = ClozeWithLastItemDataset(cloze, params["last_item_prob"])
    config = TrainConfig(**{k: params[k] for k in TRAIN_KEYS}, seed=seed, checkpoint_path=checkpoint_path,
                         progress=progress)
    history = fit(model, train_data, split, config)
    return recipe_result("bert4rec", history, params, model)


def train_default(split: SplitData, *, seed: int, fast: bool) -> dict:
    """``course train bert4rec``: the course defaults (``FAST_OVERRIDES`` when ``fast``)."""
    return train_bert4rec(split, seed=seed, **(FAST_OVERRIDES if fast else {}))


def valid_curve(history: dict) -> pd.DataFrame:
    """Validation NDCG@10 per evaluated epoch from a training history: columns ``epoch``, ``ndcg@10``."""
    return pd.DataFrame({"epoch": history["valid_epochs"],
                         "ndcg@10": [m["ndcg@10"] for m in history["valid"]]})
