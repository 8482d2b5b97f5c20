"""Data-parallel training on several processes (PyTorch DistributedDataParallel, launched by torchrun).

``torchrun --nproc_per_node W`` (``course train MODEL --nproc W``) starts W copies of the program and tells each
one who it is through environment variables: ``RANK`` r in 0..W-1, ``WORLD_SIZE`` W, ``LOCAL_RANK`` (its GPU on
this machine), ``MASTER_ADDR`` / ``MASTER_PORT`` (where the processes meet). ``process_group()`` joins them
(backend nccl on CUDA, gloo on CPU). Without a process group every helper here is the identity: rank 0 of 1.

What the training loop (``course_lib.train.fit``) does with them, per step of a GLOBAL batch of B examples::

    batch_r = shard_batch(batch)        # rows [B*r//W, B*(r+1)//W) of the same shuffled global batch
    loss_r  = mean over the n_r loss terms of batch_r          (a model's own loss(batch))
    N       = sum_r n_r                                        (one all-reduce of two numbers)
    backward(loss_r * W * n_r / N)      # DDP averages gradients over ranks: (1/W) sum_r W n_r/N grad(loss_r)
                                        #  = grad(sum of all terms / N) = the single-process gradient

``n_r`` (``loss_terms``) is the number of labels > 0 when the batch is ``(inputs, labels, ...)`` (the positions
the course's models average their loss over: ``NextItemDataset``, ``ClozeDataset``), else the number of
rows. So the gradient equals the single-process one whenever the model's loss is a mean over those terms,
even when ranks hold different numbers of them; for any other loss it is a weighted mean of per-rank means.
A global batch smaller than W leaves some rank without rows: it computes the loss of one borrowed row with
weight 0, so that every rank still takes part in the gradient all-reduce. Every rank reads the whole global
batch from its own DataLoader (the same seeded shuffle) and keeps its rows: loading is repeated W times, which
costs little for the course's in-memory datasets; the model's work is what gets split.

Evaluation: ``shard_range(U)`` gives each rank a contiguous block of users and ``gather_shards`` joins the
blocks (of unequal sizes) back into user order on every rank, so every user is scored exactly once.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

import numpy as np
import torch
import torch.distributed as dist

from course_lib import runtime

TORCHRUN_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


def launched_by_torchrun() -> bool:
    """True when this process was started by torchrun (its environment variables are all set)."""
    return all(name in os.environ for name in TORCHRUN_VARIABLES)


def is_distributed() -> bool:
    """True when a process group is initialised (this process is one of several training together)."""
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    """This process's index 0..W-1 (0 without a process group)."""
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    """The number of processes W (1 without a process group)."""
    return dist.get_world_size() if is_distributed() else 1


def is_main() -> bool:
    """True on rank 0: the process that prints, writes checkpoints and records results."""
    return rank() == 0


def local_rank() -> int:
    """This process's index on its machine (torchrun's ``LOCAL_RANK``; 0 when unset)."""
    return int(os.environ.get("LOCAL_RANK", "0"))


def local_device(device: torch.device) -> torch.device:
    """``device``, with CUDA pinned to this process's own GPU (``cuda:LOCAL_RANK``) under a process group."""
    if is_distributed() and device.type == "cuda":
        return torch.device("cuda", local_rank())
    return device


def init_from_env(device: torch.device | None = None) -> torch.device:
    """Join the process group torchrun's environment variables describe; returns this process's device.

    Backend nccl on CUDA (each process on GPU ``LOCAL_RANK``), gloo on CPU; MPS has no multi-process backend.
    """
    if not launched_by_torchrun():
        missing = [name for name in TORCHRUN_VARIABLES if name not in os.environ]
        raise RuntimeError(f"not started by torchrun: {', '.join(missing)} unset")
    device = device or runtime.get_device()
    if device.type == "mps":
        raise ValueError("several processes need CUDA GPUs or the CPU: MPS has no multi-process backend")
    if device.type == "cuda":
        torch.cuda.set_device(local_rank())
        device = torch.device("cuda", local_rank())
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return device


def teardown() -> None:
    """Leave the process group (nothing to do without one)."""
    if is_distributed():
        dist.destroy_process_group()


@contextmanager
def process_group(device: torch.device | None = None) -> Iterator[torch.device]:
    """``with process_group() as device:`` joined on entry (``init_from_env``), left on exit."""
    device = init_from_env(device)
    try:
        yield device
    finally:
        teardown()


def barrier() -> None:
    """Wait until every process gets here (nothing to do without a process group)."""
    if is_distributed():
        dist.barrier()


def _collective_device() -> torch.device:
    """Where tensors must live for a collective: this GPU for nccl, the CPU for gloo."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def shard_range(num: int) -> range:
    """This rank's contiguous block ``range(num*r//W, num*(r+1)//W)`` of ``num`` rows (sizes differ by <= 1)."""
    r, w = rank(), world_size()
    return range(num * r // w, num * (r + 1) // w)


def _rows(batch, rows: slice):
    """Rows ``rows`` of every tensor in a batch (a tensor, or a tuple/list/dict of tensors)."""
    if isinstance(batch, torch.Tensor):
        return batch[rows]
    if isinstance(batch, (tuple, list)):
        return type(batch)(_rows(part, rows) for part in batch)
    if isinstance(batch, dict):
        return {key: _rows(value, rows) for key, value in batch.items()}
    raise TypeError(f"cannot shard a batch of type {type(batch).__name__}; yield tensors, or tuples/lists/dicts")


def _num_rows(batch) -> int:
    """B, the number of examples in a batch (the first dimension of its first tensor)."""
    if isinstance(batch, torch.Tensor):
        return batch.shape[0]
    first = next(iter(batch.values() if isinstance(batch, dict) else batch))
    return _num_rows(first)


def loss_terms(batch) -> int:
    """How many terms the model's mean loss averages over: labels > 0 in ``(inputs, labels, ...)``, else rows."""
    if isinstance(batch, (tuple, list)) and len(batch) >= 2 and isinstance(batch[1], torch.Tensor) \
            and not batch[1].is_floating_point() and batch[1].dim() >= 1:
        return int((batch[1] > 0).sum())
    return _num_rows(batch)


def shard_batch(batch):
    """(this rank's rows of a global batch, its ``loss_terms``); a rank left without rows borrows row 0, weight 0."""
    if not is_distributed():
        return batch, loss_terms(batch)
    mine = shard_range(_num_rows(batch))
    if len(mine) == 0:
        return _rows(batch, slice(0, 1)), 0
    part = _rows(batch, slice(mine.start, mine.stop))
    return part, loss_terms(part)


def weight_loss(loss: torch.Tensor, terms: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(the loss to backpropagate on this rank, the global batch's mean loss, the same on every rank).

    ``loss``: this rank's mean over its ``terms`` loss terms. Scaled by ``W * terms / N`` (N = all ranks'
    terms) so that DDP's average of the gradients over ranks is the gradient of the global mean.
    """
    if not is_distributed():
        return loss, loss.detach()
    local = loss.detach().float() * terms if terms else torch.zeros((), device=loss.device)
    stats = torch.stack([local, torch.tensor(float(terms), device=loss.device)]).to(_collective_device())
    dist.all_reduce(stats)
    total_loss, total_terms = stats.to(loss.device)
    return loss * (world_size() * terms / total_terms), total_loss / total_terms


class LossOf(torch.nn.Module):
    """``forward(batch) = model.loss(batch)``: what DDP wraps, so that its gradient all-reduce hooks fire."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, batch) -> torch.Tensor:
        return self.model.loss(batch)


def data_parallel_loss(model: torch.nn.Module, device: torch.device):
    """``model.loss`` as a DistributedDataParallel module (call it with a batch); None without a process group.

    Wrapping broadcasts rank 0's weights to every rank; the model itself stays unwrapped for scoring.
    """
    if not is_distributed():
        return None
    device_ids = [device.index] if device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(LossOf(model), device_ids=device_ids)


def broadcast_object(value, src: int = 0):
    """``value`` as rank ``src`` holds it, on every rank (any picklable object)."""
    if not is_distributed():
        return value
    box = [value]
    dist.broadcast_object_list(box, src=src)
    return box[0]


def broadcast_module(module: torch.nn.Module, src: int = 0) -> None:
    """Copy rank ``src``'s parameters and buffers into ``module`` on every rank, in place."""
    if not is_distributed():
        return
    with torch.no_grad():
        for tensor in [*module.parameters(), *module.buffers()]:
            moved = tensor.detach().to(_collective_device())
            dist.broadcast(moved, src=src)
            tensor.copy_(moved)


def gather_shards(local: np.ndarray) -> np.ndarray:
    """(sum of shard lengths, ...) every rank's ``local`` block, concatenated in rank order, on every rank.

    Blocks may differ in length (``shard_range`` of a number not divisible by W): each is padded to the
    longest for the all-gather, then trimmed, so nothing is counted twice or lost.
    """
    if not is_distributed():
        return local
    device = _collective_device()
    tensor = torch.from_numpy(np.ascontiguousarray(local)).to(device)
    length = torch.tensor([tensor.shape[0]], device=device)
    lengths = [torch.zeros_like(length) for _ in range(world_size())]
    dist.all_gather(lengths, length)
    sizes = [int(n) for n in lengths]
    padded = torch.zeros((max(sizes), *tensor.shape[1:]), dtype=tensor.dtype, device=device)
    padded[: tensor.shape[0]] = tensor
    pieces = [torch.zeros_like(padded) for _ in sizes]
    dist.all_gather(pieces, padded)
    return torch.cat([piece[:size] for piece, size in zip(pieces, sizes)]).cpu().numpy()
