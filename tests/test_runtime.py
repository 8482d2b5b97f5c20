"""runtime: FAST flag, device override, seeding, headline recording."""

import json

import numpy as np
import pytest
import torch

from course_lib import runtime


def test_fast_flag_follows_environment(monkeypatch):
    monkeypatch.setenv("COURSE_FAST", "1")
    assert runtime.is_fast() and runtime.fast_or_full("small", "big") == "small"
    monkeypatch.setenv("COURSE_FAST", "0")
    assert not runtime.is_fast() and runtime.fast_or_full("small", "big") == "big"
    monkeypatch.delenv("COURSE_FAST")
    assert not runtime.is_fast()


def test_device_override(monkeypatch):
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    assert runtime.get_device() == torch.device("cpu")
    assert runtime.get_device("cpu").type == "cpu"
    for bad in ("tpu", "bogus", "cuda:x"):           # unknown to torch, or known but not a course device
        monkeypatch.setenv("COURSE_DEVICE", bad)
        with pytest.raises(ValueError, match="expected cpu, cuda, cuda:N or mps"):
            runtime.get_device()


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
def test_unavailable_cuda_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("COURSE_DEVICE", "cuda")
    with pytest.raises(ValueError, match="CUDA is not available"):
        runtime.get_device()


def test_default_device_without_override(monkeypatch):
    monkeypatch.delenv("COURSE_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else ("mps" if torch.backends.mps.is_available() else "cpu")
    assert runtime.get_device().type == expected


def test_seeding_makes_torch_and_numpy_repeatable():
    def draw():
        runtime.seed_everything(123)
        model = torch.nn.Linear(4, 2)
        return model.weight.detach().clone(), torch.rand(3), np.random.rand(3)

    a, b = draw(), draw()
    assert all(np.allclose(x, y) for x, y in zip(a, b))
    runtime.seed_everything(124)
    assert not torch.equal(torch.nn.Linear(4, 2).weight, a[0])


def test_describe_reports_versions_and_flags(capsys, monkeypatch):
    monkeypatch.setenv("COURSE_FAST", "1")
    info = runtime.describe()
    out = capsys.readouterr().out
    assert info["fast"] is True and "torch" in out and info["torch"] == torch.__version__
    assert "device" in out and info["python"].startswith("3.")


def test_headline_written_only_when_requested(tmp_path, monkeypatch):
    monkeypatch.delenv("COURSE_HEADLINE_FILE", raising=False)
    assert runtime.headline(x=1.0) == {"x": 1.0}
    target = tmp_path / "h.json"
    monkeypatch.setenv("COURSE_HEADLINE_FILE", str(target))
    runtime.headline(**{"ndcg@10": 0.5})
    runtime.headline(**{"hr@10": 0.25})
    assert json.loads(target.read_text()) == {"ndcg@10": 0.5, "hr@10": 0.25}


def test_results_dir_is_the_checkouts_benchmark_results(monkeypatch, tmp_path):
    root = runtime.repo_root()
    assert root is not None, "the tests run from a checkout"
    assert runtime.results_dir() == root / "benchmarks" / "results"
    assert (runtime.results_dir() / "sasrec.json").is_file()
    monkeypatch.setattr(runtime, "repo_root", lambda: None)      # installed without a checkout
    assert runtime.results_dir() is None
    monkeypatch.setattr(runtime, "repo_root", lambda: tmp_path)  # a checkout without stored results
    assert runtime.results_dir() is None


def test_bit_reproducible_makes_cpu_training_repeat_exactly_and_restores_settings():
    import pandas as pd
    from course_lib.models.sasrec import SASRec, SASRecConfig
    from course_lib.sequences import NextItemDataset, leave_one_out
    from course_lib.train import TrainConfig, fit

    rng = np.random.default_rng(0)
    rows = [(u, int(i), t) for u in range(40) for t, i in enumerate(rng.integers(1, 60, size=30))]
    split = leave_one_out(pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"]))
    data = NextItemDataset(split, max_len=20)
    threads = torch.get_num_threads()

    def train():
        torch.manual_seed(0)
        model = SASRec(SASRecConfig(num_items=split.num_items, max_len=20, hidden_dim=32, num_heads=1))
        fit(model, data, split, TrainConfig(num_epochs=2, batch_size=16, seed=0, progress=False, max_len=20))
        return torch.cat([p.detach().flatten() for p in model.parameters()])

    with runtime.bit_reproducible():
        assert torch.get_num_threads() == 1
        first, second = train(), train()
    assert torch.equal(first, second)
    assert torch.get_num_threads() == threads
