"""GRU4Rec's recipe: the course defaults behind ``course train gru4rec``.

The model follows RecBole 1.2.1's GRU4Rec (embedding 64, GRU state 128, one layer, cross-entropy). The
learning rate and dropout were chosen on the VALIDATION split of ML-100k in three rounds of
``python benchmarks/sweep.py gru4rec --grid benchmarks/grids/gru4rec[-2|-3].json``
(``benchmarks/results/sweep-gru4rec*.json``): starting from RecBole's dropout 0.3 and the SASRec recipe's
learning rate 2e-3 (validation NDCG@10 0.107, seed 0), learning rate 5e-3 with dropout 0.1 scored 0.115 on seeds 0
and 1; a batch of 256, a smaller GRU state and a longer patience did not help. The test split was read only
afterwards, by ``python benchmarks/seeds.py gru4rec``. Training examples are all windows of every user's training
part, as for SASRec: the GRU predicts at every position of a window in one pass.
"""

from __future__ import annotations

from course_lib import runtime
from course_lib.models.gru4rec import GRU4Rec, GRU4RecConfig
from course_lib.recipes.common import recipe_result, recipe_settings
from course_lib.sequences import NextItemDataset, SplitData
from course_lib.train import TrainConfig, fit

DEFAULTS = {
    "max_len": 50, "hidden_dim": 64, "gru_dim": 128, "num_layers": 1, "dropout": 0.1,
    "lr": 5e-3, "batch_size": 128, "weight_decay": 0.0, "num_epochs": 200, "eval_every": 2, "patience": 3,
    "warmup_ratio": 0.0, "decay": "constant",
}
FAST_OVERRIDES = {"num_epochs": 4, "eval_every": 2, "patience": 2}
MODEL_KEYS = ("max_len", "hidden_dim", "gru_dim", "num_layers", "dropout")
TRAIN_KEYS = ("max_len", "lr", "batch_size", "weight_decay", "num_epochs", "eval_every", "patience",
              "warmup_ratio", "decay")


def train_gru4rec(split: SplitData, *, seed: int = 42, checkpoint_path: str | None = None, progress: bool = True,
                  valid_split: SplitData | None = None, exclude_history: bool = True, **overrides) -> dict:
    """Train GRU4Rec on ``split`` with ``DEFAULTS`` updated by ``overrides``; returns ``recipe_result``'s dict.

    ``valid_split``: select on this split's validation part instead of ``split``'s (a time-based split's events,
    ``course_lib.sessions``); ``exclude_history``: whether validation removes history items from the candidates.
    """
    params = recipe_settings(DEFAULTS, overrides, "GRU4Rec")
    runtime.seed_everything(seed)
    model = GRU4Rec(GRU4RecConfig(num_items=split.num_items, **{k: params[k] for k in MODEL_KEYS}))
    data = NextItemDataset(split, max_len=params["max_len"], all_windows=True)
    config = TrainConfig(**{k: params[k] for k in TRAIN_KEYS}, seed=seed, checkpoint_path=checkpoint_path,
                         progress=progress, exclude_history=exclude_history)
    history = fit(model, data, split if valid_split is None else valid_split, config)
    return recipe_result("gru4rec", history, params, model)


def train_default(split: SplitData, *, seed: int, fast: bool) -> dict:
    """``course train gru4rec``: the course defaults (``FAST_OVERRIDES`` when ``fast``)."""
    return train_gru4rec(split, seed=seed, **(FAST_OVERRIDES if fast else {}))
