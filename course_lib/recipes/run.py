"""Train any registered model and evaluate it one way: what ``course train``, the benchmarks and notebooks call.

    from course_lib.recipes.run import load_split, run_training
    report = run_training("markov", load_split("ml-100k"), seed=0)
    report.test["ndcg@10"], report.command()

``run_training`` looks the recipe up in ``recipes.REGISTRY``, trains it, and evaluates with ``evaluate_parts``:
validation comes from the recipe (it chose the model on it); the test targets are ranked over the full catalogue
twice, with the user's history removed (the course's protocol) and kept (RecBole's), each model reading the last
``max_len`` items its recipe trained with. Words used throughout: the *split* is the leave-one-out split
("course" or "recbole": which rule orders equal timestamps, its *tie break*); the *part* is what is evaluated
("valid" or "test").
"""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass, field

import numpy as np

from course_lib import distributed, runtime
from course_lib.metrics import bootstrap_ci, evaluate, per_user
from course_lib.recipes import get_trainer
from course_lib.sequences import SplitData, leave_one_out

SPLITS = {"course": "the course's split (equal timestamps ordered by item id)",
          "recbole": "RecBole 1.2.1's split (its tie rule; see course_lib.sequences)"}
RECBOLE_SPLIT = " (RecBole's split)"
REQUIRED_KEYS = ("model", "valid", "epochs", "seconds_per_epoch", "total_seconds", "recommender")
# The models whose recipe trains with course_lib.train.fit, the loop that runs data parallel (--nproc N).
LOOP_MODELS = ("sasrec", "sasrec-bce", "bert4rec", "gru4rec", "sasrec-text", "sasrec-fusion")
# The models a bundle can hold (course_lib.bundle.SUPPORTED: the neural models, counts and item vectors).
SAVABLE_MODELS = ("sasrec", "sasrec-bce", "bert4rec", "gru4rec", "pop", "markov", "itemknn", "item2vec", "glove")


def split_label(split: SplitData) -> str:
    """Which ``SPLITS`` entry ``split`` is: "recbole" for RecBole's tie rule, else "course"."""
    return "recbole" if split.tie_break == "recbole" else "course"


def load_split(dataset: str, split: str = "course") -> SplitData:
    """The leave-one-out split of ``dataset`` (a MovieLens name).

    ``split="course"``: the course default; ``"recbole"``: RecBole 1.2.1's targets (file order, its tie rule).
    """
    if split not in SPLITS:
        raise ValueError(f"split={split!r}: expected one of {tuple(SPLITS)}")
    from course_lib.data import load_movielens
    if split == "recbole":
        return leave_one_out(load_movielens(dataset, file_order=True).interactions, tie_break="recbole")
    return leave_one_out(load_movielens(dataset).interactions)


@dataclass
class Report:
    """What one training run measured. ``to_dict()`` is the JSON ``course train --json`` prints."""

    model: str
    dataset: str
    split: str                      # "course" or "recbole" (split_label)
    seed: int
    fast: bool
    nproc: int                      # processes that trained (distributed.world_size())
    valid: dict                     # validation metrics of the chosen model
    test: dict                      # test, full ranking, history removed
    test_history_kept: dict         # test, full ranking, history kept (RecBole's protocol)
    test_ci: dict                   # {"hr@10"|"ndcg@10": [low, high]}: bootstrap 95 % CI over users
    epochs: int
    seconds_per_epoch: float
    total_seconds: float
    max_len: int                    # history items the model read at evaluation (the recipe's)
    params: dict = field(default_factory=dict)
    deterministic: bool = False
    recommender: object = field(default=None, repr=False)     # the fitted model (not in to_dict)
    test_ranks: np.ndarray = field(default=None, repr=False)  # (U,) test ranks, history removed (not in to_dict)

    def to_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for key in ("recommender", "test_ranks"):
            out.pop(key)
        return out

    def command(self) -> str:
        """The ``course train`` command that reproduces this report."""
        fast = " --fast" if self.fast else ""
        split = " --split recbole" if self.split == "recbole" else ""
        nproc = f" --nproc {self.nproc}" if self.nproc > 1 else ""
        exact = " --deterministic" if self.deterministic else ""
        return (f"course train {self.model} --dataset {self.dataset}{split} --seed {self.seed}"
                f"{fast}{nproc}{exact} --json")


def evaluate_parts(model, split: SplitData, max_len: int = 50, seed: int = 0) -> dict:
    """Test metrics with the history removed (plus its ranks and bootstrap CI) and kept: ``Report``'s test fields."""
    test = evaluate(model, split, part="test", max_len=max_len, return_ranks=True)
    ranks = test.pop("ranks")
    kept = evaluate(model, split, part="test", exclude_history=False, max_len=max_len)
    ci = {m: list(bootstrap_ci(per_user(ranks, m), seed=seed)[1:]) for m in ("hr@10", "ndcg@10")}
    return {"test": test, "test_history_kept": kept, "test_ci": ci, "test_ranks": ranks}


def run_training(name: str, split: SplitData, *, seed: int = 42, fast: bool = False,
                 dataset: str = "ml-100k", deterministic: bool = False) -> Report:
    """Train ``name`` (a ``recipes.REGISTRY`` name) on ``split`` and evaluate it; see the module docstring.

    Under a process group every process trains and evaluates (each on its share) and gets the same report.
    """
    trainer = get_trainer(name)
    runtime.seed_everything(seed)
    kwargs = {"seed": seed, "fast": fast}
    if "dataset" in inspect.signature(trainer).parameters:
        kwargs["dataset"] = dataset
    result = trainer(split, **kwargs)
    missing = [k for k in REQUIRED_KEYS if k not in result]
    if missing:
        raise ValueError(f"the recipe of {name!r} returned no {missing}; see course_lib.recipes.common")
    params = result.get("params") or {}
    max_len = int(params.get("max_len") or 50)
    return Report(model=name, dataset=dataset, split=split_label(split), seed=seed, fast=fast,
                  nproc=distributed.world_size(), valid=result["valid"], epochs=result["epochs"],
                  seconds_per_epoch=result["seconds_per_epoch"], total_seconds=result["total_seconds"],
                  max_len=max_len, params=params, deterministic=deterministic, recommender=result["recommender"],
                  **evaluate_parts(result["recommender"], split, max_len, seed))


def record_report(report: Report, path=None) -> None:
    """Store the test rows (history removed and kept) of ``report`` in the results store."""
    from course_lib import results

    ci = {f"{m}_{side}": value for m, (low, high) in report.test_ci.items()
          for side, value in (("low", low), ("high", high))}
    common = {"seed": report.seed, "command": report.command(), "path": path, "fast": report.fast}
    suffix = RECBOLE_SPLIT if report.split == "recbole" else ""
    results.record(report.model, report.dataset, {**report.test, **ci},
                   protocol=results.DEFAULT_PROTOCOL + suffix, **common)
    results.record(report.model, report.dataset, report.test_history_kept,
                   protocol="full ranking, history kept" + suffix, **common)
