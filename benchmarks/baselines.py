"""The README's baseline rows in one command: every non-neural model of the course, trained and tested once.

    python benchmarks/baselines.py              # writes benchmarks/results/baselines.json
    python benchmarks/baselines.py --fast --out /tmp/b.json

Each model runs exactly as ``course train MODEL --seed 42 --json`` does (``run_training``: the course split, the
recipe's defaults, test with full ranking, history removed and kept, bootstrap CI). These models are
deterministic for a seed (item2vec runs gensim with one worker), so one seed is the result.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from course_lib import runtime
from course_lib.recipes.run import load_split, run_training

from common import write_json  # benchmarks/common.py

RESULTS = Path(__file__).resolve().parent / "results"
MODELS = ("random", "pop", "markov", "itemknn", "item2vec", "glove")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--fast", action="store_true", help="small settings (smoke test)")
    parser.add_argument("--out", type=Path, default=None, help="JSON output path")
    args = parser.parse_args(argv)
    out = args.out or RESULTS / f"baselines{'-fast' if args.fast else ''}.json"
    split = load_split("ml-100k")
    rows = []
    for name in MODELS:
        report = run_training(name, split, seed=args.seed, fast=args.fast)
        rows.append({"model": name, "command": report.command(), "test": report.test,
                     "test_history_kept": report.test_history_kept, "test_ci": report.test_ci,
                     "valid": report.valid, "total_seconds": report.total_seconds})
        print(f"{name:9s} test HR@10 {report.test['hr@10']:.4f} NDCG@10 {report.test['ndcg@10']:.4f} "
              f"kept NDCG@10 {report.test_history_kept['ndcg@10']:.4f}", flush=True)
    write_json({"dataset": "ml-100k", "split": "course", "seed": args.seed, "fast": args.fast,
                "device": runtime.device_summary(), "command": "python benchmarks/baselines.py"
                + (" --fast" if args.fast else ""), "rows": rows}, out)
    print("wrote", out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
