"""Measuring training speed honestly, on any device (notebook 08, ``benchmarks/throughput.py``).

A GPU runs asynchronously: a Python call only *queues* a kernel and returns at once, so ``time.perf_counter()``
around GPU code measures the queueing, not the work. Every timing here therefore waits for the device first
(``torch.cuda.synchronize``) or uses CUDA events, which the GPU itself stamps when it reaches them.

``measure_training`` times real optimizer steps of a model on batches of a Dataset and reports sequences per
second and peak memory; ``largest_batch`` doubles the batch size until the device runs out of memory (caught and
reported as the limit); ``loader_seconds`` times the input pipeline alone, to tell whether it is the bottleneck.
"""

from __future__ import annotations

import itertools
import time
from typing import Callable

import torch
from torch.utils.data import DataLoader, Dataset, RandomSampler

from course_lib.precision import BF16_MIN_CAPABILITY, amp_dtype, autocast, model_width
from course_lib.train import TrainConfig, make_optimizer, optimizer_step, to_device


def synchronize(device: torch.device) -> None:
    """Wait until every queued kernel on ``device`` has finished (a no-op off CUDA)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def reset_peak_memory(device: torch.device) -> None:
    """Start a fresh peak-memory count on a CUDA device (a no-op elsewhere)."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory_mib(device: torch.device) -> float | None:
    """Peak GPU memory held by tensors since the last reset (MiB); None off CUDA (no per-run count there)."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return None


def native_precisions(device: torch.device) -> list[str]:
    """The ``amp`` modes ``device`` computes natively: "off" (fp32) everywhere, "fp16" on CUDA, "bf16" from
    compute capability 8.0 (``BF16_MIN_CAPABILITY``; a T4 only emulates it)."""
    if device.type != "cuda":
        return ["off"]
    native_bf16 = tuple(torch.cuda.get_device_capability(device)) >= BF16_MIN_CAPABILITY
    return ["off", "fp16"] + (["bf16"] if native_bf16 else [])


def is_out_of_memory(error: BaseException) -> bool:
    """True for the errors a device raises when a batch does not fit."""
    return isinstance(error, torch.cuda.OutOfMemoryError) or "out of memory" in str(error).lower()


def timed(fn: Callable[[], object], device: torch.device, repeats: int = 1) -> float:
    """Seconds per call of ``fn`` (mean of ``repeats`` calls), measured after the device has finished."""
    if device.type == "cuda":
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(repeats):
            fn()
        end.record()
        end.synchronize()                                   # wait for the GPU to reach the end stamp
        return start.elapsed_time(end) / 1000 / repeats     # elapsed_time is in milliseconds
    synchronize(device)
    tic = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - tic) / repeats


def _batches(dataset: Dataset, batch_size: int, num_batches: int) -> list:
    """``num_batches`` batches of ``batch_size`` examples drawn at random (with replacement, fixed seed).

    Drawing with replacement lets a throughput measurement use any batch size, even one larger than the dataset.
    """
    sampler = RandomSampler(dataset, replacement=True, num_samples=batch_size * num_batches,
                            generator=torch.Generator().manual_seed(0))
    return list(DataLoader(dataset, batch_size=batch_size, sampler=sampler))


def measure_training(model: torch.nn.Module, dataset: Dataset, batch_size: int, *, device=None,
                     amp: str = "off", steps: int = 10, warmup: int = 3, compile: bool = False,
                     lr: float = 1e-3) -> dict:
    """Time ``steps`` optimizer steps (after ``warmup`` untimed ones) of ``model.loss`` on ``dataset`` batches.

    Batches (drawn with replacement, so any size works) are moved to the device before timing starts: this is
    the model's own speed (see
    ``loader_seconds`` for the input pipeline). ``amp`` is as in ``TrainConfig`` ("off", "auto", "fp16", "bf16");
    ``compile=True`` times ``torch.compile(model.loss)`` (the warm-up steps absorb the compilation).
    Returns batch_size, amp (the dtype used), compiled, seconds_per_step, sequences_per_second and
    peak_memory_mib (None off CUDA). The model is trained in place: pass a fresh one.
    """
    device = torch.device(device) if device is not None else next(model.parameters()).device
    model.to(device).train()
    dtype = amp_dtype(device, amp, model_width(model))
    optimizer = make_optimizer(model, TrainConfig(lr=lr))
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
    loss_fn = torch.compile(model.loss) if compile else model.loss
    batches = [to_device(b, device) for b in _batches(dataset, batch_size, min(steps + warmup, 4))]  # reused in turn

    def step(i: int) -> None:
        with autocast(device, dtype):
            loss = loss_fn(batches[i % len(batches)])
        optimizer_step(model, loss, optimizer, scaler, grad_clip=None)

    for i in range(warmup):
        step(i)
    reset_peak_memory(device)
    counter = itertools.count(warmup)
    seconds = timed(lambda: step(next(counter)), device, repeats=steps)
    return {"batch_size": batch_size, "amp": str(dtype).replace("torch.", "") if dtype else "fp32",
            "compiled": compile, "seconds_per_step": seconds, "sequences_per_second": batch_size / seconds,
            "peak_memory_mib": peak_memory_mib(device)}


def largest_batch(measure: Callable[[int], dict], start: int = 64, cap: int = 8192) -> tuple[list[dict], str]:
    """Double the batch size from ``start`` until the device runs out of memory or ``cap`` is passed.

    ``measure(batch_size) -> dict`` runs one measurement (e.g. a ``measure_training`` call on a fresh model).
    An out-of-memory error is caught, the GPU cache emptied, and reported as the limit; any other error
    propagates. Returns (the rows that fitted, a sentence saying why the search stopped).
    """
    if start < 1 or cap < start:
        raise ValueError(f"need 1 <= start <= cap, got start={start}, cap={cap}")
    rows, batch_size = [], start
    while batch_size <= cap:
        try:
            rows.append(measure(batch_size))
        except (torch.cuda.OutOfMemoryError, RuntimeError) as error:
            if not is_out_of_memory(error):
                raise
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            fitted = rows[-1]["batch_size"] if rows else None
            return rows, f"out of memory at batch {batch_size}: the largest batch that fits is {fitted}"
        batch_size *= 2
    return rows, f"stopped at the cap ({cap}) before running out of memory"


def loader_seconds(dataset: Dataset, batch_size: int, num_workers: int = 0, pin_memory: bool = False,
                   max_batches: int | None = None) -> float:
    """Seconds to draw one epoch (or ``max_batches`` batches) from a DataLoader, with no model at all."""
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, num_workers=num_workers,
                        pin_memory=pin_memory and torch.cuda.is_available(),
                        generator=torch.Generator().manual_seed(0))
    tic = time.perf_counter()
    for _ in itertools.islice(loader, max_batches):
        pass
    return time.perf_counter() - tic
