"""Train one RecBole 1.2.1 model on its bundled ml-100k until early stopping; print one JSON line of results.

    .venv-recbole/bin/python benchmarks/peer_recbole_worker.py --model SASRec --epochs 300 --patience 10

Runs inside ``.venv-recbole`` (``python benchmarks/peer_recbole.py --setup``), never in the course's environment:
``benchmarks/peer_recbole.py`` starts it once per model and reads the last line it prints. The settings are
RecBole's own defaults for the model (``recbole/properties/model/<Model>.yaml``) and for training
(``overall.yaml``: Adam, lr 1e-3, batch 2048), with the protocol of the README's RecBole reference runs
(``benchmarks/recbole_split.py``): all 100,000 ratings, leave-one-out by time, full ranking with the history kept,
MAX_ITEM_LIST_LENGTH 50, one validation per epoch, early stopping on validation NDCG@10.

RecBole stops when ``stopping_step`` evaluations in a row *plus one* failed to reach the best score (a tie counts
as reaching it), so ``--patience 10`` stops 11 epochs after the best. The JSON line holds: ``epochs`` run,
``epochs_to_best`` (1-based, as the course counts), ``seconds_to_best`` (wall seconds from the start of training
to the end of the best epoch's validation), ``total_seconds``, ``seconds_per_epoch`` (mean training seconds),
``peak_memory_mb`` (CUDA: ``max_memory_allocated``; CPU: this process's peak resident set), ``valid_ndcg@10``,
``test_kept_ndcg@10`` / ``test_kept_hr@10`` (the best checkpoint on the test targets), ``stopped_early``, the
model's settings and the versions in this environment.

This file imports RecBole only inside functions, so that the course's tests can check ``config_dict``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import sys
import tempfile
import time
from pathlib import Path

EVAL_ARGS = {"split": {"LS": "valid_and_test"}, "order": "TO", "mode": "full", "group_by": "user"}
LOAD_COL = {"inter": ["user_id", "item_id", "rating", "timestamp"]}    # all 100,000 ratings, no threshold
MAX_ITEM_LIST_LENGTH = 50
TRAINING_KEYS = ("train_batch_size", "eval_batch_size", "learner", "learning_rate", "weight_decay",
                 "clip_grad_norm", "seed", "reproducibility")


def config_dict(model: str, *, epochs: int, patience: int, seed: int, data_path: str, checkpoint_dir: str,
                loss_type: str | None, use_gpu: bool) -> dict:
    """RecBole's ``config_dict`` for ``model``: the shared protocol, plus full cross-entropy settings where the
    model's own default ``loss_type`` (``default_loss_type``) is CE. Model settings stay RecBole's defaults."""
    config = {"data_path": data_path, "checkpoint_dir": checkpoint_dir, "show_progress": False,
              "load_col": LOAD_COL, "eval_args": EVAL_ARGS, "MAX_ITEM_LIST_LENGTH": MAX_ITEM_LIST_LENGTH,
              "epochs": epochs, "stopping_step": patience, "eval_step": 1, "valid_metric": "NDCG@10",
              "metrics": ["Hit", "NDCG"], "topk": [10], "seed": seed, "use_gpu": use_gpu}
    if loss_type == "CE":                    # RecBole 1.2 refuses negative sampling with the CE loss
        config.update(train_neg_sample_args=None, loss_type="CE")
    return config


def model_yaml(model: str) -> Path:
    """The installed RecBole's default settings file for ``model``."""
    import recbole
    return Path(recbole.__file__).parent / "properties" / "model" / f"{model}.yaml"


def default_loss_type(yaml_text: str) -> str | None:
    """The ``loss_type`` a RecBole model yaml sets (``'CE'``, ``'BPR'``...), or None when it sets none."""
    found = re.search(r"^loss_type:\s*['\"]?(\w+)", yaml_text, flags=re.MULTILINE)
    return found.group(1) if found else None


def peak_memory_mb(device) -> float:
    """CUDA: peak memory allocated by torch; CPU: this process's peak resident set (VmHWM: counts only this
    program, unlike ``ru_maxrss``, which Linux carries over from the parent across ``exec``) in MiB."""
    import torch
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def allow_full_checkpoints() -> None:
    """torch >= 2.6 loads with ``weights_only=True``; RecBole's checkpoints hold its Config, so load them whole
    (this process only reads checkpoints it wrote itself)."""
    import torch
    load = torch.load

    def load_whole(*args, **kwargs):
        kwargs.setdefault("weights_only", False)
        return load(*args, **kwargs)

    torch.load = load_whole


def watch(trainer) -> dict:
    """Record, as ``trainer.fit`` runs, each epoch's training seconds and when each new best is saved."""
    clock = {"start": time.perf_counter(), "train_seconds": [], "best_epoch": -1, "seconds_to_best": 0.0}
    train_epoch, save_checkpoint = trainer._train_epoch, trainer._save_checkpoint

    def timed_train_epoch(*args, **kwargs):
        tic = time.perf_counter()
        loss = train_epoch(*args, **kwargs)
        clock["train_seconds"].append(time.perf_counter() - tic)
        return loss

    def timed_save_checkpoint(epoch, *args, **kwargs):  # RecBole saves on every new best validation score
        clock.update(best_epoch=epoch, seconds_to_best=time.perf_counter() - clock["start"])
        return save_checkpoint(epoch, *args, **kwargs)

    trainer._train_epoch, trainer._save_checkpoint = timed_train_epoch, timed_save_checkpoint
    return clock


def versions() -> dict:
    """Python, RecBole, torch and NumPy versions of this environment."""
    import numpy
    import recbole
    import torch
    return {"python": sys.version.split()[0], "recbole": recbole.__version__, "torch": torch.__version__,
            "numpy": numpy.__version__}


def train(model_name: str, epochs: int, patience: int, seed: int) -> dict:
    """Train ``model_name`` with RecBole's trainer and return the JSON row (see the module docstring)."""
    import recbole
    import torch
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.utils import get_model, get_trainer, init_logger, init_seed

    allow_full_checkpoints()
    yaml_text = model_yaml(model_name).read_text()
    loss_type = default_loss_type(yaml_text)
    with tempfile.TemporaryDirectory(prefix="peer-recbole-") as work:
        os.chdir(work)                     # RecBole writes ./log and ./log_tensorboard into the working folder
        config = Config(model=model_name, dataset="ml-100k", config_dict=config_dict(
            model_name, epochs=epochs, patience=patience, seed=seed, checkpoint_dir=work, loss_type=loss_type,
            data_path=str(Path(recbole.__file__).parent / "dataset_example"), use_gpu=torch.cuda.is_available()))
        init_seed(config["seed"], config["reproducibility"])
        init_logger(config)
        dataset = create_dataset(config)
        interactions = len(dataset.inter_feat)       # before data_preparation turns them into prefixes
        train_data, valid_data, test_data = data_preparation(config, dataset)
        init_seed(config["seed"] + config["local_rank"], config["reproducibility"])
        model = get_model(config["model"])(config, train_data._dataset).to(config["device"])
        trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, model)
        device = torch.device(config["device"])
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        clock = watch(trainer)
        best_valid, _ = trainer.fit(train_data, valid_data, saved=True, show_progress=False)
        total = time.perf_counter() - clock["start"]
        test = trainer.evaluate(test_data, load_best_model=True, show_progress=False)
        run = len(clock["train_seconds"])
        return {"model": model_name, "epochs": run, "epochs_to_best": clock["best_epoch"] + 1,
                "seconds_to_best": clock["seconds_to_best"], "total_seconds": total,
                "seconds_per_epoch": sum(clock["train_seconds"]) / max(run, 1),
                "peak_memory_mb": peak_memory_mb(device), "valid_ndcg@10": float(best_valid),
                "test_kept_ndcg@10": float(test["ndcg@10"]), "test_kept_hr@10": float(test["hit@10"]),
                "stopped_early": trainer.cur_step > trainer.stopping_step, "max_epochs": epochs,
                "patience": patience, "device": str(device), "torch_threads": torch.get_num_threads(),
                "loss_type": loss_type, "num_parameters": sum(p.numel() for p in model.parameters()),
                "users": int(dataset.user_num - 1), "items": int(dataset.item_num - 1),
                "interactions": interactions, "train_sequences": len(train_data._dataset),   # a sample per prefix
                "settings": {k: config[k] for k in (*_yaml_keys(yaml_text), *TRAINING_KEYS)},
                "versions": versions()}


def _yaml_keys(yaml_text: str) -> list[str]:
    """Top-level keys of a RecBole model yaml (its default settings)."""
    return re.findall(r"^(\w+):", yaml_text, flags=re.MULTILINE)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a RecBole model name: SASRec, GRU4Rec, BERT4Rec...")
    parser.add_argument("--epochs", type=int, default=300, help="epoch cap")
    parser.add_argument("--patience", type=int, default=10, help="RecBole's stopping_step")
    parser.add_argument("--seed", type=int, default=2020, help="RecBole's seed (its default: 2020)")
    args = parser.parse_args(argv)
    sys.argv = sys.argv[:1]                          # RecBole's Config also reads --key=value from sys.argv
    stdout = sys.stdout
    with contextlib.redirect_stdout(sys.stderr):     # anything RecBole prints goes to stderr...
        row = train(args.model, args.epochs, args.patience, args.seed)
    print(json.dumps(row, default=str), file=stdout, flush=True)   # ...so this JSON line is the last on stdout
    return 0


if __name__ == "__main__":
    sys.exit(main())
