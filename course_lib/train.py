"""One plain training loop for every neural recommender in the course (SASRec, BERT4Rec, ...).

The loop is model-agnostic: a model is a ``torch.nn.Module`` with ``loss(batch) -> scalar tensor`` (batch = what
the DataLoader yields: a tensor, or a tuple/list/dict of tensors) and ``scores(seqs (B, L)) -> (B, N+1)`` for
evaluation. ``fit`` does, per epoch::

    for batch in shuffled(train_dataset):              # DataLoader, batch_size examples
        loss = model.loss(batch)                       # under CUDA autocast when amp_dtype says so
        loss.backward(); clip_grad_norm_(grad_clip)    # plain fp32 on CPU
        optimizer.step(); scheduler.step()             # AdamW; linear warm-up, then linear/cosine decay
    every eval_every epochs: NDCG@10 on the VALIDATION split -> keep the best weights, stop after
    `patience` evaluations without improvement; save a resumable checkpoint.

At the end the best weights are restored and a history dict is returned (see ``fit``).
Deterministic on CPU for a given ``seed``: the shuffling order comes from a generator seeded by the config,
dropout and negative sampling from torch's global generator (seeded too); a checkpoint stores all of them.

Data parallel (torchrun, ``course train MODEL --nproc W``): under a process group (``course_lib.distributed``)
the same loop runs in every process, the model's loss in DistributedDataParallel. Every process draws the same
shuffled global batches of ``batch_size`` and trains on its slice of each, weighted so that the averaged
gradient is the single-process one; validation ranks each user once across the processes and all get the same
metrics, so early stopping agrees; rank 0 alone keeps the best weights (copied to all at the end), writes
checkpoints and shows progress. Dropout and sampling use the seed ``seed + rank`` (rank 0's state alone is
in a checkpoint: the other ranks restart their streams on resuming).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from course_lib import distributed, runtime
from course_lib.checkpoints import load_checkpoint, model_settings, rng_state, save_checkpoint, set_rng_state
from course_lib.precision import (AMP_MIN_WIDTH, AMP_MODES, BF16_MIN_CAPABILITY, amp_dtype, autocast, model_width,
                                  precision_for)

# The loop's public face; the precision and checkpoint helpers it uses are importable from here too.
__all__ = ["TrainConfig", "fit", "lr_schedule", "to_device", "optimizer_step", "make_optimizer", "DECAYS",
           "AMP_MODES", "AMP_MIN_WIDTH", "BF16_MIN_CAPABILITY", "amp_dtype", "autocast", "model_width",
           "precision_for", "load_checkpoint", "save_checkpoint", "model_settings"]

DECAYS = ("linear", "cosine", "constant")


@dataclass
class TrainConfig:
    """Training hyperparameters (the model's own live in its config, e.g. ``SASRecConfig``).

    ``patience`` counts *evaluations* (every ``eval_every`` epochs) without a better validation ``monitor``.
    ``amp``: "auto" = the precision the device and model size call for (see ``amp_dtype``: fp32 on CPU/MPS and
    for narrow models, bf16 at compute capability >= 8.0, fp16 + GradScaler below); "off" = always fp32. ``checkpoint_path``: if set, a checkpoint is written after every
    evaluation and, when the file already exists, training resumes from it.
    """

    lr: float = 1e-3
    batch_size: int = 128
    num_epochs: int = 100
    weight_decay: float = 0.0
    warmup_ratio: float = 0.0
    decay: str = "constant"
    grad_clip: float | None = 1.0
    eval_every: int = 1
    patience: int = 5
    max_len: int = 50
    monitor: str = "ndcg@10"
    exclude_history: bool = True
    eval_batch_size: int = 256
    amp: str = "auto"
    checkpoint_path: str | None = None
    seed: int = 42
    device: str | None = None
    num_workers: int = 0
    progress: bool = True

    def __post_init__(self):
        positive = {"lr": self.lr, "batch_size": self.batch_size, "num_epochs": self.num_epochs,
                    "eval_every": self.eval_every, "patience": self.patience, "max_len": self.max_len}
        for name, value in positive.items():
            if not value > 0:
                raise ValueError(f"TrainConfig.{name} must be > 0, got {value}")
        if not 0.0 <= self.warmup_ratio < 1.0:
            raise ValueError(f"TrainConfig.warmup_ratio must lie in [0, 1), got {self.warmup_ratio}")
        if self.decay not in DECAYS:
            raise ValueError(f"TrainConfig.decay={self.decay!r}: expected one of {DECAYS}")
        if self.amp not in AMP_MODES:
            raise ValueError(f"TrainConfig.amp={self.amp!r}: expected one of {AMP_MODES}")
        if self.grad_clip is not None and self.grad_clip <= 0:
            raise ValueError(f"TrainConfig.grad_clip must be > 0 or None, got {self.grad_clip}")


def lr_schedule(total_steps: int, warmup_ratio: float, decay: str) -> Callable[[int], float]:
    """Multiplier of the base lr at optimizer step ``s``: linear warm-up 0 -> 1, then constant/linear/cosine -> 0."""
    warmup = int(round(warmup_ratio * total_steps))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        if decay == "constant":
            return 1.0
        progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
        return 1.0 - progress if decay == "linear" else 0.5 * (1.0 + math.cos(math.pi * progress))
    return factor


def to_device(batch, device: torch.device):
    """Move a tensor, or a tuple/list/dict of tensors, to ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, (tuple, list)):
        return type(batch)(to_device(b, device) for b in batch)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    raise TypeError(f"cannot move a batch of type {type(batch).__name__} to a device; "
                    "yield tensors, or tuples/lists/dicts of tensors")


def _new_history(device: torch.device, dtype: torch.dtype | None) -> dict:
    return {"loss": [], "lr": [], "seconds": [], "valid_epochs": [], "valid": [], "seconds_at_valid": [],
            "best_epoch": 0, "best_valid": {}, "seconds_to_best": 0.0, "epochs": 0, "stopped_early": False,
            "device": str(device), "amp": str(dtype).replace("torch.", "") if dtype else "fp32",
            "seconds_per_epoch": 0.0, "total_seconds": 0.0, "nproc": distributed.world_size()}


def _default_evaluate():
    from course_lib.metrics import evaluate  # imported here: metrics is a sibling module, loaded on use
    return evaluate


def optimizer_step(model: torch.nn.Module, loss: torch.Tensor, optimizer, scaler, grad_clip: float | None) -> None:
    """Backpropagate ``loss`` (scaled for fp16), clip the gradient norm, step the optimizer and the scaler."""
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    if grad_clip is not None:
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    scaler.step(optimizer)
    scaler.update()


def _step_loss(model, ddp, batch, dtype, device) -> tuple[torch.Tensor, torch.Tensor]:
    """(the loss to backpropagate, the mean loss of the global batch) of one step; ``ddp`` None = one process."""
    if ddp is not None:
        batch, terms = distributed.shard_batch(batch)        # this rank's rows of the global batch
    batch = to_device(batch, device)
    with autocast(device, dtype):
        loss = model.loss(batch) if ddp is None else ddp(batch)
    if ddp is None:
        return loss, loss.detach()
    return distributed.weight_loss(loss, terms)               # weighted so DDP's gradient mean is the global one


def _train_one_epoch(model, loader, optimizer, scheduler, scaler, dtype, device, config, epoch,
                     ddp=None) -> float:
    """One pass over ``loader``; returns the mean training loss (of the global batches, under DDP)."""
    model.train()
    total, count = 0.0, 0
    for step, batch in enumerate(loader):
        loss, mean = _step_loss(model, ddp, batch, dtype, device)
        if not torch.isfinite(mean):                          # the same on every rank: all stop together
            raise FloatingPointError(f"training loss is {mean.item()} at step {step} of epoch {epoch}; "
                                     "lower lr or set grad_clip")
        optimizer_step(model, loss, optimizer, scaler, config.grad_clip)
        scheduler.step()
        total, count = total + mean.item(), count + 1
    return total / max(1, count)


def make_optimizer(model: torch.nn.Module, config: TrainConfig) -> torch.optim.AdamW:
    """AdamW; weight decay only on matrices (not on biases and LayerNorm gains)."""
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters")
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": config.weight_decay},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    return torch.optim.AdamW([g for g in groups if g["params"]], lr=config.lr)


def _validate(model, split, config: TrainConfig, device: torch.device, evaluate_fn) -> dict:
    """Validation metrics (full ranking) of ``model`` in eval mode."""
    model.eval()
    with torch.no_grad():
        metrics = evaluate_fn(model, split, part="valid", exclude_history=config.exclude_history,
                              max_len=config.max_len, batch_size=config.eval_batch_size, device=device)
    if config.monitor not in metrics:
        raise KeyError(f"monitor {config.monitor!r} is not among the validation metrics {sorted(metrics)}")
    return {k: float(v) for k, v in metrics.items()}


def _cpu_copy(model: torch.nn.Module) -> dict | None:
    """A CPU copy of the weights, kept by rank 0 only (None on the other ranks of a process group)."""
    if not distributed.is_main():
        return None
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def fit(model: torch.nn.Module, train_dataset: Dataset, split, config: TrainConfig | None = None,
        evaluate_fn: Callable | None = None) -> dict:
    """Train ``model`` on ``train_dataset``, select it on ``split``'s validation part, restore the best weights.

    Args:
        model: nn.Module with ``loss(batch) -> scalar`` and ``scores(seqs (B, L)) -> (B, N+1)``.
        train_dataset: a map-style Dataset whose items collate into the batches ``model.loss`` takes.
        split: the ``SplitData`` the validation metrics are computed on.
        config: a ``TrainConfig`` (defaults if None).
        evaluate_fn: ``course_lib.metrics.evaluate`` unless given (same signature).
    Returns:
        history dict: ``loss``, ``lr``, ``seconds`` (per epoch: mean training loss, last lr, training seconds);
        ``valid_epochs``, ``valid`` (list of metric dicts), ``seconds_at_valid`` (wall seconds since the start);
        ``best_epoch``, ``best_valid``, ``seconds_to_best``; ``epochs`` run, ``stopped_early``,
        ``seconds_per_epoch`` (mean training seconds), ``total_seconds`` (wall, evaluation included),
        ``device``, ``amp``, ``nproc`` (processes). The model is left in eval mode on the training device.
        Under a process group (torchrun) every process calls ``fit`` alike and gets the same weights and
        metrics (see the module docstring); ``loss`` is then the mean over the global batches.
    """
    config = config or TrainConfig()
    if len(train_dataset) == 0:
        raise ValueError("train_dataset is empty: no sequence has anything to predict")
    device = distributed.local_device(runtime.get_device(config.device))     # cuda:LOCAL_RANK under DDP
    dtype = amp_dtype(device, config.amp, model_width(model))
    evaluate_fn = evaluate_fn or _default_evaluate()
    runtime.seed_everything(config.seed)
    model.to(device)
    loader_gen = torch.Generator().manual_seed(config.seed)
    loader = DataLoader(train_dataset, batch_size=config.batch_size, shuffle=True, generator=loader_gen,
                        num_workers=config.num_workers, pin_memory=device.type == "cuda")
    optimizer = make_optimizer(model, config)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lr_schedule(config.num_epochs * len(loader), config.warmup_ratio, config.decay))
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
    run = {"history": _new_history(device, dtype), "best_state": _cpu_copy(model), "bad_evals": 0,
           "epoch": 0, "finished": False}
    if config.checkpoint_path and Path(config.checkpoint_path).exists():
        saved = load_checkpoint(config.checkpoint_path, config, model)
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        scaler.load_state_dict(saved["scaler"])
        set_rng_state(saved["rng"], loader_gen)
        run = {k: saved[k] for k in run}
    if distributed.rank() > 0:             # dropout/sampling differ between ranks; batches do not (loader_gen)
        torch.manual_seed(config.seed + distributed.rank())
    parts = (model, loader, optimizer, scheduler, scaler, dtype, device)
    if not run["finished"]:
        _run_epochs(parts, run, split, config, evaluate_fn, loader_gen)
    if run["best_state"] is not None:
        model.load_state_dict(run["best_state"])
    distributed.broadcast_module(model)    # rank 0's best weights on every rank (nothing without DDP)
    model.eval()
    return run["history"]


def _record_validation(run: dict, metrics: dict, epoch: int, model, config: TrainConfig, start: float) -> None:
    """Add one evaluation to the history; keep the best weights; count evaluations without improvement."""
    history = run["history"]
    history["valid_epochs"].append(epoch)
    history["valid"].append(metrics)
    history["seconds_at_valid"].append(time.perf_counter() - start)
    if metrics[config.monitor] > history["best_valid"].get(config.monitor, -math.inf):
        history.update(best_epoch=epoch, best_valid=metrics, seconds_to_best=time.perf_counter() - start)
        run["best_state"], run["bad_evals"] = _cpu_copy(model), 0
    else:
        run["bad_evals"] += 1
    history["stopped_early"] = run["bad_evals"] >= config.patience


def _save_run(run: dict, parts, config: TrainConfig, loader_gen) -> None:
    """Write the resumable checkpoint (rank 0 only; the other ranks wait for it)."""
    model, _, optimizer, scheduler, scaler, _, _ = parts
    if distributed.is_main():
        save_checkpoint(config.checkpoint_path, {
            **run, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict(),
            "rng": rng_state(loader_gen), "config": asdict(config), "model_settings": model_settings(model)})
    distributed.barrier()


def _run_epochs(parts, run: dict, split, config: TrainConfig, evaluate_fn, loader_gen) -> None:
    """Epochs ``run["epoch"] + 1 .. num_epochs`` with evaluation, early stopping and checkpoints."""
    model, loader, optimizer, scheduler, scaler, dtype, device = parts
    history, ddp = run["history"], distributed.data_parallel_loss(model, device)
    start = time.perf_counter() - history["total_seconds"]
    bar = tqdm(range(run["epoch"] + 1, config.num_epochs + 1), desc="epochs", leave=False,
               disable=not config.progress or not distributed.is_main(), mininterval=1.0)
    for epoch in bar:
        tic = time.perf_counter()
        loss = _train_one_epoch(model, loader, optimizer, scheduler, scaler, dtype, device, config, epoch, ddp)
        history["loss"].append(loss)
        history["lr"].append(scheduler.get_last_lr()[0])
        history["seconds"].append(time.perf_counter() - tic)
        history["epochs"] = run["epoch"] = epoch
        if epoch % config.eval_every == 0 or epoch == config.num_epochs:
            # rank 0's metrics on every rank: the same early-stopping decision everywhere
            metrics = distributed.broadcast_object(_validate(model, split, config, device, evaluate_fn))
            _record_validation(run, metrics, epoch, model, config, start)
            bar.set_postfix(loss=f"{loss:.4f}", **{config.monitor: f"{metrics[config.monitor]:.4f}"})
        else:
            bar.set_postfix(loss=f"{loss:.4f}")
        history["seconds_per_epoch"] = float(np.mean(history["seconds"]))
        history["total_seconds"] = time.perf_counter() - start
        run["finished"] = history["stopped_early"] or epoch == config.num_epochs
        if config.checkpoint_path and (epoch in history["valid_epochs"] or run["finished"]):
            _save_run(run, parts, config, loader_gen)
        if history["stopped_early"]:
            break
    bar.close()
