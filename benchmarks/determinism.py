"""What bit-reproducible CPU training costs, and whether it delivers: the same seed trained twice, with and without it.

    python benchmarks/determinism.py --model sasrec --seed 0      # writes benchmarks/results/determinism-sasrec.json

Runs ``course train MODEL --seed S`` (as ``run_training``) twice with the machine's default threads and twice inside
``runtime.bit_reproducible()`` (one thread, ``--deterministic``), and records each run's test metrics and seconds
and whether the two runs of each kind gave identical numbers.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

import torch

from course_lib import runtime
from course_lib.recipes.run import load_split, run_training

from common import write_json  # benchmarks/common.py

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="sasrec")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fast", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    split = load_split("ml-100k")
    threads = torch.get_num_threads()
    report = {"model": args.model, "seed": args.seed, "fast": args.fast, "device": runtime.device_summary(),
              "default_threads": threads, "runs": [],
              "command": f"python benchmarks/determinism.py --model {args.model} --seed {args.seed}"
                         + (" --fast" if args.fast else "")}
    for deterministic in (False, True):
        for repeat in (1, 2):
            context = runtime.bit_reproducible() if deterministic else contextlib.nullcontext()
            tic = time.perf_counter()
            with context:
                result = run_training(args.model, split, seed=args.seed, fast=args.fast)
            report["runs"].append({"deterministic": deterministic, "repeat": repeat, "epochs": result.epochs,
                                   "seconds": time.perf_counter() - tic, "test": result.test,
                                   "test_history_kept": result.test_history_kept})
            print({k: v for k, v in report["runs"][-1].items() if k not in ("test", "test_history_kept")},
                  f"test NDCG@10 {result.test['ndcg@10']:.6f}", flush=True)
    for deterministic in (False, True):
        first, second = [r for r in report["runs"] if r["deterministic"] == deterministic]
        report[f"identical_{'deterministic' if deterministic else 'default'}"] = (
            first["test"] == second["test"] and first["test_history_kept"] == second["test_history_kept"])
    seconds = {d: sum(r["seconds"] for r in report["runs"] if r["deterministic"] == d) for d in (False, True)}
    report["cost"] = seconds[True] / seconds[False]
    write_json(report, args.out or RESULTS / f"determinism-{args.model}{'-fast' if args.fast else ''}.json")
    print(f"identical: default {report['identical_default']}, deterministic {report['identical_deterministic']}; "
          f"time x{report['cost']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
