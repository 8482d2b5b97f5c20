"""course_lib.throughput: synchronised timing, training throughput, the out-of-memory-aware batch search."""

import numpy as np
import pandas as pd
import pytest
import torch

from course_lib import throughput
from course_lib.models.sasrec import SASRec, SASRecConfig
from course_lib.sequences import NextItemDataset, leave_one_out


@pytest.fixture(scope="module")
def tiny():
    rng = np.random.default_rng(0)
    rows = [(u, int(i), t) for u in range(30) for t, i in enumerate(rng.integers(1, 21, size=12))]
    split = leave_one_out(pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"]))
    return split, NextItemDataset(split, max_len=8, all_windows=True)


def fresh_model(split):
    torch.manual_seed(0)
    return SASRec(SASRecConfig(num_items=split.num_items, max_len=8, hidden_dim=16, num_heads=1, num_layers=1))


def test_measure_training_reports_speed_and_trains(tiny):
    split, data = tiny
    model = fresh_model(split)
    before = model.item_table().detach().clone()
    row = throughput.measure_training(model, data, batch_size=16, device="cpu", steps=3, warmup=1)
    assert row["batch_size"] == 16 and row["amp"] == "fp32" and row["compiled"] is False
    assert row["seconds_per_step"] > 0 and row["sequences_per_second"] == pytest.approx(16 / row["seconds_per_step"])
    assert row["peak_memory_mib"] is None                      # no per-run memory count on a CPU
    assert not torch.equal(before, model.item_table())         # real optimizer steps ran


def test_timed_waits_and_averages():
    calls = []
    seconds = throughput.timed(lambda: calls.append(1), torch.device("cpu"), repeats=4)
    assert len(calls) == 4 and seconds >= 0


def test_largest_batch_stops_cleanly_at_out_of_memory():
    def measure(batch_size):
        if batch_size > 256:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return {"batch_size": batch_size}
    rows, why = throughput.largest_batch(measure, start=64, cap=4096)
    assert [r["batch_size"] for r in rows] == [64, 128, 256]
    assert why == "out of memory at batch 512: the largest batch that fits is 256"


def test_largest_batch_other_errors_propagate_and_caps_are_reported(tiny):
    def broken(batch_size):
        raise RuntimeError("shape mismatch")
    with pytest.raises(RuntimeError, match="shape mismatch"):
        throughput.largest_batch(broken)
    rows, why = throughput.largest_batch(lambda b: {"batch_size": b}, start=8, cap=32)
    assert [r["batch_size"] for r in rows] == [8, 16, 32] and "cap (32)" in why
    split, data = tiny
    big = throughput.measure_training(fresh_model(split), data, 4 * len(data), device="cpu", steps=1, warmup=0)
    assert big["batch_size"] == 4 * len(data)                  # drawn with replacement: any batch size works
    with pytest.raises(ValueError, match="start"):
        throughput.largest_batch(lambda b: {"batch_size": b}, start=0)


def test_loader_seconds_counts_the_input_pipeline_alone(tiny):
    _, data = tiny
    assert throughput.loader_seconds(data, batch_size=8) > 0
    assert throughput.loader_seconds(data, batch_size=8, max_batches=1) > 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_measure_training_on_cuda_counts_peak_memory(tiny):
    split, data = tiny
    row = throughput.measure_training(fresh_model(split), data, batch_size=16, device="cuda", amp="fp16", steps=2)
    assert row["amp"] == "float16" and row["peak_memory_mib"] > 0


def test_native_precisions_follow_the_compute_capability(monkeypatch):
    assert throughput.native_precisions(torch.device("cpu")) == ["off"]
    for capability, expected in [((7, 5), ["off", "fp16"]), ((9, 0), ["off", "fp16", "bf16"])]:
        monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None, c=capability: c)
        assert throughput.native_precisions(torch.device("cuda")) == expected
