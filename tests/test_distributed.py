"""Data-parallel training and evaluation on 2 CPU processes (gloo) equal the single-process results.

The 2-process checks run once per module (``two_process_results``: ``torch.multiprocessing.spawn``, a free
loopback port) and ``course train sasrec --nproc 2`` runs end to end through torchrun, whose processes run
this file as a script (see ``__main__`` below): it serves them the same tiny split the test uses.
"""

from __future__ import annotations

import functools
import json
import os
import pickle
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch.utils.data import DataLoader, Subset

from course_lib import cli, distributed, results
from course_lib.commands import train as train_cmd
from course_lib.metrics import evaluate
from course_lib.models.sasrec import SASRec, SASRecConfig
from course_lib.sequences import NextItemDataset, leave_one_out
from course_lib.train import TrainConfig, fit

NUM_ITEMS = 20
NUM_USERS = 25                 # odd: the two evaluation shards hold 12 and 13 users
WORLD = 2
TRAIN_EXAMPLES = 33            # batches of 8: four full ones, then one example (a rank with no rows)
TRAIN = dict(lr=1e-2, batch_size=8, num_epochs=2, eval_every=2, patience=5, max_len=8, eval_batch_size=4,
             device="cpu", progress=False, seed=3)


def tiny_split(num_users: int = NUM_USERS, seed: int = 0):
    """Users of different lengths (5..19 items) walking the items in order, so windows hold unequal labels."""
    rng = np.random.default_rng(seed)
    rows = [(u, (start + t) % NUM_ITEMS + 1, 1000 + t)
            for u, (start, length) in enumerate(zip(rng.integers(NUM_ITEMS, size=num_users),
                                                    rng.integers(5, 20, size=num_users)))
            for t in range(length)]
    return leave_one_out(pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"]))


def tiny_sasrec(seed: int = 0, dropout: float = 0.0) -> SASRec:
    torch.manual_seed(seed)
    return SASRec(SASRecConfig(num_items=NUM_ITEMS, max_len=8, hidden_dim=16, num_heads=2, num_layers=1,
                               dropout=dropout))


def silence_key_bias(model: SASRec) -> SASRec:
    """Zero the key-bias gradients, which are rounding noise: softmax ignores a constant added to every score
    (q . b_k), so their exact gradient is 0, and Adam would scale the noise of each run into lr-sized steps."""
    for block in model.gpt.h:
        bias = block.attn.c_attn.bias                          # (3D,): query, key, value biases
        keep = torch.ones_like(bias)
        keep[bias.shape[0] // 3: 2 * bias.shape[0] // 3] = 0.0
        bias.register_hook(lambda grad, keep=keep: grad * keep)
    return model


def train_data(split):
    data = NextItemDataset(split, max_len=8)
    assert len(data) >= TRAIN_EXAMPLES
    return Subset(data, range(TRAIN_EXAMPLES))


def train_and_evaluate(checkpoint: Path) -> dict:
    """What both the single process and every rank compute: a short fit (then a resumption of the finished
    run from its checkpoint), and full-ranking metrics of another model."""
    split = tiny_split()
    model = silence_key_bias(tiny_sasrec())
    config = TrainConfig(**TRAIN, checkpoint_path=str(checkpoint))
    history = fit(model, train_data(split), split, config)
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    resumed = tiny_sasrec(seed=5)
    fit(resumed, train_data(split), split, config)              # finished run: only the best weights return
    scored = tiny_sasrec(seed=1, dropout=0.1).eval()           # a given (untrained) model to evaluate
    metrics = {exclude: evaluate(scored, split, exclude_history=exclude, max_len=8, batch_size=4,
                                 return_ranks=True) for exclude in (True, False)}
    return {"state": state, "history": history, "metrics": metrics, "resumed": resumed.state_dict()}


def _worker(rank: int, port: int, out_dir: str) -> None:
    """One spawned process: join the group through torchrun's variables, compute, save what it got."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), LOCAL_RANK=str(rank),
                      WORLD_SIZE=str(WORLD))
    torch.set_num_threads(1)
    with distributed.process_group(torch.device("cpu")):
        got = train_and_evaluate(Path(out_dir) / "checkpoint.pt")      # written by rank 0 alone
        got["gathered"] = {n: distributed.gather_shards(np.arange(n)[list(distributed.shard_range(n))])
                           for n in (1, 3, NUM_USERS)}
    with open(Path(out_dir) / f"rank{rank}.pkl", "wb") as file:
        pickle.dump(got, file)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def spawn_workers(out_dir: Path, timeout: float = 180.0) -> None:
    """Run ``_worker`` on WORLD processes (one thread each); fail instead of hanging if they do not finish."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OMP_NUM_THREADS", "1")                   # read by the children when torch starts
        context = torch.multiprocessing.spawn(_worker, args=(free_port(), str(out_dir)), nprocs=WORLD, join=False)
    deadline = time.monotonic() + timeout
    while not context.join(timeout=1.0):
        if time.monotonic() > deadline:
            for process in context.processes:
                process.kill()
            pytest.fail(f"the {WORLD} processes did not finish in {timeout:.0f} s")


@pytest.fixture(scope="module")
def two_process_results(tmp_path_factory):
    """(single-process results, [rank 0's, rank 1's]) of ``train_and_evaluate``."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)                                    # as in the workers
    try:
        single = train_and_evaluate(tmp_path_factory.mktemp("one") / "checkpoint.pt")
    finally:
        torch.set_num_threads(threads)
    out = tmp_path_factory.mktemp("ddp")
    spawn_workers(out)
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pt", "rank0.pkl", "rank1.pkl"]
    return single, [pickle.loads((out / f"rank{r}.pkl").read_bytes()) for r in range(WORLD)]


def test_the_setting_gives_ranks_unequal_label_counts():
    """The weighting matters here: in some global batch the two halves hold different numbers of labels."""
    loader = DataLoader(train_data(tiny_split()), batch_size=TRAIN["batch_size"], shuffle=True,
                        generator=torch.Generator().manual_seed(TRAIN["seed"]))
    halves = [((labels[: len(labels) // 2] > 0).sum(), (labels[len(labels) // 2:] > 0).sum())
              for _, labels in loader]
    assert any(a != b for a, b in halves) and len(halves) == 5


def test_ddp_parameters_equal_one_process(two_process_results):
    single, ranks = two_process_results
    for got in ranks:
        assert got["state"].keys() == single["state"].keys()
        for name, value in single["state"].items():
            torch.testing.assert_close(got["state"][name], value, atol=1e-5, rtol=0, msg=name)
        assert got["history"]["loss"] == pytest.approx(single["history"]["loss"], abs=1e-5)
        assert got["history"]["nproc"] == WORLD and single["history"]["nproc"] == 1
        for name, value in got["state"].items():              # resumed from rank 0's checkpoint: the same
            torch.testing.assert_close(got["resumed"][name], value, atol=0, rtol=0, msg=name)
    trained = single["state"]["gpt.wte.weight"]
    assert not torch.allclose(trained, tiny_sasrec().state_dict()["gpt.wte.weight"])     # it did train
    assert ranks[0]["history"]["valid"] == ranks[1]["history"]["valid"]      # the same decisions on both


def test_sharded_evaluation_equals_one_process(two_process_results):
    single, ranks = two_process_results
    for exclude in (True, False):
        expected = single["metrics"][exclude]
        assert len(expected["ranks"]) == NUM_USERS
        for got in ranks:
            got = got["metrics"][exclude]
            np.testing.assert_array_equal(got.pop("ranks"), expected["ranks"])
            assert got == {k: v for k, v in expected.items() if k != "ranks"}
    for n, gathered in ranks[0]["gathered"].items():     # unequal and empty shards: each row exactly once
        np.testing.assert_array_equal(gathered, np.arange(n))
        np.testing.assert_array_equal(ranks[1]["gathered"][n], np.arange(n))


def test_without_a_process_group_the_helpers_are_the_identity():
    batch = (torch.tensor([[0, 1, 2], [0, 0, 3]]), torch.tensor([[0, 2, 3], [0, 0, 4]]))
    assert not distributed.is_distributed() and distributed.world_size() == 1 and distributed.is_main()
    assert distributed.shard_range(5) == range(5) and distributed.loss_terms(batch) == 3
    assert distributed.shard_batch(batch) == (batch, 3)
    assert distributed.loss_terms({"x": torch.zeros(4, 2)}) == 4
    np.testing.assert_array_equal(distributed.gather_shards(np.arange(3)), np.arange(3))
    assert distributed.data_parallel_loss(tiny_sasrec(), torch.device("cpu")) is None


# ------------------------------------------------------------------ course train --nproc


def test_course_train_nproc_2_through_torchrun(monkeypatch, tmp_path, capfd):
    monkeypatch.setattr(train_cmd, "load_split", lambda dataset, split="course": tiny_split())
    monkeypatch.setattr(train_cmd, "WORKER_ENTRY", (str(Path(__file__).resolve()),))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setattr(subprocess, "run", functools.partial(subprocess.run, timeout=180))   # never hang
    store = tmp_path / "results.json"
    status = cli.main(["train", "sasrec", "--nproc", "2", "--fast", "--json", "--results", str(store)])
    out, err = capfd.readouterr()
    assert status == 0, err[-3000:]
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1, out                                   # rank 0 alone prints
    report = json.loads(lines[0])
    assert report["model"] == "sasrec" and report["nproc"] == 2 and report["fast"]
    assert 0.0 <= report["test"]["ndcg@10"] <= report["test"]["hr@10"] <= 1.0
    rows = results.load_results(store)
    assert len(rows) == 2 and all("--nproc 2" in row["command"] for row in rows)   # rank 0 alone records


def test_worker_arguments_round_trip_through_the_parser():
    parser = cli.build_parser()
    args = parser.parse_args(["train", "sasrec", "--nproc", "2", "--fast", "--seed", "7", "--split", "recbole",
                              "--results", "r.json", "--no-record"])
    again = parser.parse_args(train_cmd.worker_arguments(args))
    assert vars(again) == {**vars(args), "nproc": 1}          # a torchrun process learns N from WORLD_SIZE
    command = train_cmd.torchrun_command(args)
    assert command[1:6] == ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    assert command[6:8] == ["-m", "course_lib"] and set(train_cmd.LOOP_MODELS) <= set(train_cmd.recipes.REGISTRY)


@pytest.mark.parametrize("argv, device, message", [
    (["sasrec", "--nproc", "0"], "cpu", "--nproc must be >= 1, got 0"),
    (["pop", "--nproc", "2"], "cpu", "only sasrec, sasrec-bce, bert4rec"),
    (["sasrec", "--nproc", "3"], "cpu", "this machine has 2 CPU core(s)"),
    (["sasrec", "--nproc", "2"], "cuda", "this machine has 1 CUDA GPU(s)"),
    (["bert4rec", "--nproc", "2"], "mps", "MPS has no multi-process backend"),
])
def test_bad_nproc_is_one_line_and_exit_2_before_anything_starts(argv, device, message, monkeypatch, capsys):
    def no_data(*args, **kwargs):
        raise AssertionError("the data must not be loaded")

    monkeypatch.setattr(train_cmd, "load_split", no_data)
    monkeypatch.setattr(train_cmd, "launch", no_data)
    monkeypatch.setattr(train_cmd.runtime, "get_device", lambda prefer=None: torch.device(device))
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert cli.main(["train", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_torchrun_process_checks_its_world_size(monkeypatch, capsys):
    monkeypatch.setattr(train_cmd, "load_split", lambda *a, **k: pytest.fail("the data must not be loaded"))
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    for name, value in dict(RANK="0", LOCAL_RANK="0", WORLD_SIZE="2", MASTER_ADDR="127.0.0.1",
                            MASTER_PORT="1").items():
        monkeypatch.setenv(name, value)
    assert cli.main(["train", "sasrec", "--nproc", "3"]) == 2
    assert "WORLD_SIZE=2 but --nproc 3" in capsys.readouterr().err
    assert cli.main(["train", "pop"]) == 2                    # torchrun -m course_lib train pop: not the loop
    assert "only sasrec" in capsys.readouterr().err


if __name__ == "__main__":       # a torchrun process of test_course_train_nproc_2_through_torchrun
    train_cmd.load_split = lambda dataset, split="course": tiny_split()
    raise SystemExit(cli.main(sys.argv[1:]))
