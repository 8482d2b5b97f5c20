"""The training loop: schedule, AMP choice, determinism, early stopping, best-weight restore, checkpoints."""

import math

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from course_lib.sequences import NextItemDataset, leave_one_out
from course_lib.train import TrainConfig, amp_dtype, fit, lr_schedule, to_device

NUM_ITEMS = 12


def rule_split(num_users: int = 40, length: int = 10, seed: int = 0):
    """Every user walks the items in order: item i is always followed by item i+1 (wrapping around)."""
    rng = np.random.default_rng(seed)
    rows = [(u, (start + t) % NUM_ITEMS + 1, 1000 + t)
            for u, start in enumerate(rng.integers(NUM_ITEMS, size=num_users)) for t in range(length)]
    return leave_one_out(pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"]))


class Bigram(nn.Module):
    """The smallest model with the course interface: scores of the next item from the last item only."""

    def __init__(self, num_items: int = NUM_ITEMS, dim: int = 8, dropout: float = 0.1):
        super().__init__()
        self.emb = nn.Embedding(num_items + 1, dim)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(dim, num_items + 1)

    def forward(self, seqs):
        return self.drop(self.emb(seqs))                         # (B, L, D)

    def loss(self, batch):
        seqs, labels = batch
        logits = self.out(self.forward(seqs))                    # (B, L, N+1)
        return nn.functional.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=0)

    def scores(self, seqs):
        logits = self.out(self.forward(seqs[:, -1:]))[:, 0]
        logits[:, 0] = float("-inf")
        return logits


def make_run(seed=0, **overrides):
    torch.manual_seed(seed)
    split = rule_split()
    model = Bigram()
    data = NextItemDataset(split, max_len=5)
    settings = dict(lr=0.05, batch_size=16, num_epochs=6, patience=10, max_len=5, seed=seed, progress=False)
    return model, data, split, TrainConfig(**{**settings, **overrides})


def test_schedule_warms_up_then_decays():
    linear = lr_schedule(100, 0.1, "linear")
    assert [linear(s) for s in (0, 4, 9)] == pytest.approx([0.1, 0.5, 1.0])
    assert linear(10) == pytest.approx(1.0) and linear(55) == pytest.approx(0.5) and linear(100) == 0.0
    cosine = lr_schedule(100, 0.0, "cosine")
    assert cosine(0) == pytest.approx(1.0) and cosine(50) == pytest.approx(0.5) and cosine(100) < 1e-9
    assert lr_schedule(10, 0.0, "constant")(9) == 1.0


def test_amp_is_fp32_on_cpu_and_explicit_amp_needs_cuda():
    cpu = torch.device("cpu")
    assert amp_dtype(cpu, "auto") is None and amp_dtype(cpu, "off") is None
    with pytest.raises(ValueError, match="needs a CUDA GPU"):
        amp_dtype(cpu, "bf16")


@pytest.mark.parametrize("capability, width, expected", [
    ((7, 5), 64, None), ((9, 0), 64, None),                        # narrow models: fp32 measured faster
    ((7, 5), 512, torch.float16), ((9, 0), 512, torch.bfloat16),   # wide: fp16 on a T4, bf16 from Ampere on
    ((8, 0), None, torch.bfloat16),                                 # width unknown: the device decides
])
def test_auto_precision_follows_the_device_and_the_model_width(capability, width, expected, monkeypatch):
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)     # what a T4 answers, too
    assert amp_dtype(torch.device("cuda"), "auto", width) is expected


def test_forced_bf16_on_a_gpu_that_emulates_it_is_refused(monkeypatch):
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (7, 5))
    with pytest.raises(ValueError, match="compute capability >= 8.0; this one is 7.5"):
        amp_dtype(torch.device("cuda"), "bf16")
    assert amp_dtype(torch.device("cuda"), "fp16") is torch.float16
    assert amp_dtype(torch.device("cuda"), "off") is None


def test_model_width_reads_the_config():
    from course_lib.models.sasrec import SASRec, SASRecConfig
    from course_lib.train import model_width
    assert model_width(SASRec(SASRecConfig(num_items=10, hidden_dim=32, num_heads=1))) == 32
    assert model_width(torch.nn.Linear(3, 3)) is None


@pytest.mark.parametrize("bad", [dict(lr=0), dict(decay="step"), dict(amp="int8"), dict(warmup_ratio=1.0),
                                 dict(patience=0), dict(grad_clip=-1.0)])
def test_bad_settings_are_named(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        TrainConfig(**bad)


def test_to_device_walks_containers():
    batch = {"a": torch.ones(2), "b": (torch.zeros(1), [torch.ones(1)])}
    moved = to_device(batch, torch.device("cpu"))
    assert isinstance(moved["b"], tuple) and isinstance(moved["b"][1], list)
    with pytest.raises(TypeError, match="str"):
        to_device("text", torch.device("cpu"))


def test_tiny_run_learns_and_fills_the_history():
    model, data, split, config = make_run(num_epochs=8, eval_every=2, device="cpu")   # fp32 even on a GPU box
    history = fit(model, data, split, config)
    assert history["epochs"] == 8 and len(history["loss"]) == len(history["seconds"]) == 8
    assert history["valid_epochs"] == [2, 4, 6, 8]
    assert history["loss"][-1] < history["loss"][0]
    assert history["best_valid"]["hr@10"] >= 0.9          # the rule is learnable from the last item
    assert history["device"] == "cpu" and history["amp"] == "fp32" and not model.training


def test_same_seed_same_run_on_cpu():
    first, data, split, config = make_run(seed=3)
    history_a = fit(first, data, split, config)
    second, data, split, config = make_run(seed=3)
    history_b = fit(second, data, split, config)
    assert history_a["loss"] == history_b["loss"]
    assert all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), second.state_dict().values()))


def scripted_evaluate(values, snapshots=None, fail_at=None):
    """An evaluate_fn returning ``values`` in turn (and recording the weights it saw)."""
    calls = []

    def evaluate(model, split, **kwargs):
        calls.append(kwargs)
        if fail_at is not None and len(calls) == fail_at:
            raise KeyboardInterrupt("simulated crash")
        if snapshots is not None:
            snapshots.append({k: v.clone() for k, v in model.state_dict().items()})
        value = values[len(calls) - 1]
        return {"ndcg@10": value, "hr@10": value}
    return evaluate


def test_early_stopping_restores_the_best_weights():
    snapshots = []
    model, data, split, config = make_run(num_epochs=20, patience=3)
    history = fit(model, data, split, config, scripted_evaluate([0.1, 0.3, 0.2, 0.25, 0.29, 0.9], snapshots))
    assert history["stopped_early"] and history["epochs"] == 5   # 3 evaluations after epoch 2 without gain
    assert history["best_epoch"] == 2 and history["best_valid"]["ndcg@10"] == 0.3
    assert all(torch.equal(v, snapshots[1][k]) for k, v in model.state_dict().items())
    assert not torch.equal(snapshots[1]["out.weight"], snapshots[-1]["out.weight"])


def test_resume_after_a_crash_gives_the_same_run(tmp_path):
    values = [0.1, 0.2, 0.15, 0.3, 0.25, 0.28]
    model, data, split, config = make_run(num_epochs=6)
    reference = fit(model, data, split, config, scripted_evaluate(values))
    reference_weights = {k: v.clone() for k, v in model.state_dict().items()}

    path = tmp_path / "ckpt" / "run.pt"
    model, data, split, config = make_run(num_epochs=6, checkpoint_path=str(path))
    with pytest.raises(KeyboardInterrupt):
        fit(model, data, split, config, scripted_evaluate(values, fail_at=4))   # crash in epoch 4's evaluation
    assert path.exists() and not path.with_name("run.pt.part").exists()
    model, data, split, config = make_run(seed=99, num_epochs=6, checkpoint_path=str(path))
    config.seed = 0                                           # same settings, fresh process-like start
    resumed = fit(model, data, split, config, scripted_evaluate(values[3:]))
    assert resumed["loss"] == reference["loss"] and resumed["valid"] == reference["valid"]
    assert resumed["best_epoch"] == reference["best_epoch"] == 4
    assert all(torch.equal(v, reference_weights[k]) for k, v in model.state_dict().items())
    again = fit(model, data, split, config, scripted_evaluate([]))     # finished: nothing left to train
    assert again["loss"] == reference["loss"]


def test_checkpoint_from_other_settings_or_garbage_is_refused(tmp_path):
    path = tmp_path / "run.pt"
    model, data, split, config = make_run(num_epochs=2, checkpoint_path=str(path))
    fit(model, data, split, config, scripted_evaluate([0.1, 0.2]))
    model, data, split, config = make_run(num_epochs=2, lr=0.01, checkpoint_path=str(path))
    with pytest.raises(ValueError, match="lr: 0.05 -> 0.01"):
        fit(model, data, split, config, scripted_evaluate([0.1, 0.2]))
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="cannot read checkpoint"):
        fit(model, data, split, config, scripted_evaluate([0.1, 0.2]))


def test_checkpoint_of_another_model_is_refused_with_the_difference_named(tmp_path):
    from course_lib.models.sasrec import SASRec, SASRecConfig
    path = tmp_path / "run.pt"
    _, data, split, config = make_run(num_epochs=2, checkpoint_path=str(path), max_len=10)
    build = lambda width: SASRec(SASRecConfig(num_items=split.num_items, max_len=10, hidden_dim=width, num_heads=1))
    fit(build(16), data, split, config, scripted_evaluate([0.1, 0.2]))
    with pytest.raises(ValueError, match="holds another model .*hidden_dim: 16 -> 32"):
        fit(build(32), data, split, config, scripted_evaluate([0.1, 0.2]))
    with pytest.raises(ValueError, match="class: 'SASRec' -> 'Bigram'"):
        fit(Bigram(), data, split, config, scripted_evaluate([0.1, 0.2]))


def test_empty_data_and_diverging_loss_fail_clearly():
    model, _, split, config = make_run()
    with pytest.raises(ValueError, match="empty"):
        fit(model, [], split, config)

    class Diverging(Bigram):
        def loss(self, batch):
            return super().loss(batch) * math.nan
    model, data, split, config = make_run()
    torch.manual_seed(0)
    with pytest.raises(FloatingPointError, match="epoch 1"):
        fit(Diverging(), data, split, config, scripted_evaluate([0.1]))


def test_monitor_must_be_a_metric():
    model, data, split, config = make_run(num_epochs=1, monitor="auc")
    with pytest.raises(KeyError, match="auc"):
        fit(model, data, split, config, scripted_evaluate([0.1]))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_mixed_precision_path_runs(dtype, monkeypatch):
    """The CUDA-only branch (autocast, and a GradScaler for fp16), exercised on CPU where torch supports it."""
    import course_lib.train as train
    monkeypatch.setattr(train, "amp_dtype", lambda device, amp, width=None: dtype)
    model, data, split, config = make_run(num_epochs=3, eval_every=3)
    history = fit(model, data, split, config)
    assert history["amp"] == str(dtype).replace("torch.", "")
    assert history["loss"][-1] < history["loss"][0] and all(map(math.isfinite, history["loss"]))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("amp", ["bf16", "fp16", "off"])
def test_mixed_precision_on_cuda_learns_the_rule(amp):
    if amp == "bf16" and torch.cuda.get_device_capability() < (8, 0):
        pytest.skip("this GPU only emulates bf16 (compute capability < 8.0)")
    model, data, split, config = make_run(num_epochs=8, eval_every=2, amp=amp, device="cuda")
    history = fit(model, data, split, config)
    assert history["device"].startswith("cuda") and history["amp"] == {"bf16": "bfloat16", "fp16": "float16", "off": "fp32"}[amp]
    assert all(math.isfinite(x) for x in history["loss"]) and history["loss"][-1] < history["loss"][0]
    assert history["best_valid"]["hr@10"] >= 0.9
    assert next(model.parameters()).dtype == torch.float32      # autocast never changes the weights' dtype


def test_recipe_settings_names_unknown_keys():
    from course_lib.recipes.common import recipe_settings
    assert recipe_settings({"lr": 1e-3, "batch_size": 64}, {"lr": 2e-3}, "Toy") == {"lr": 2e-3, "batch_size": 64}
    with pytest.raises(ValueError, match=r"unknown Toy setting\(s\) \['lrr'\]; known: \['batch_size', 'lr'\]"):
        recipe_settings({"lr": 1e-3, "batch_size": 64}, {"lrr": 2e-3}, "Toy")
