"""Reproduce the course's BERT4Rec numbers on ML-100k in one command.

    python benchmarks/bert4rec.py --seeds 0 1 2            # full recipe (course defaults)
    python benchmarks/bert4rec.py --seeds 0 --fast         # smoke test
    python benchmarks/bert4rec.py --seeds 1 --out benchmarks/results/bert4rec-seed1.json   # one seed per call
    python benchmarks/bert4rec.py --merge benchmarks/results/bert4rec-seed*.json           # ... then one table
    python benchmarks/bert4rec.py --seeds 0 1 2 --split recbole   # on RecBole's split (its tie rule), like for like

For each seed: train with ``course_lib.recipes.bert4rec`` defaults (early stopping on validation NDCG@10),
then evaluate the test split both ways: history kept (RecBole's protocol) and history removed (course default).
Reports seconds per epoch, epochs to best, seconds to the best validation score, peak memory (process peak
RSS on CPU, so later seeds in one process report at least the first's), and mean ± std over seeds; writes JSON
(``--out``, default ``benchmarks/results/bert4rec[-fast].json``). ``--merge`` joins per-seed JSON files (e.g.
seeds run one at a time under a shared CPU lock) into the default output and prints the same summary.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

import torch

from course_lib import runtime
from course_lib.recipes.run import load_split
from course_lib.metrics import evaluate
from course_lib.recipes.bert4rec import FAST_OVERRIDES, train_bert4rec

from common import (add_deterministic_argument, add_split_argument, peak_memory_mb,  # benchmarks/common.py
                    reproducible, results_path, summarize_runs, write_json)

RESULTS = Path(__file__).resolve().parent / "results"
REPORTED = ("test_kept_ndcg@10", "test_kept_hr@10", "test_removed_ndcg@10", "test_removed_hr@10",
            "epochs_to_best", "seconds_to_best", "seconds_per_epoch", "total_seconds", "peak_memory_mb")




def run_seed(split, seed: int, fast: bool, device: torch.device) -> dict:
    """Train one seed and return its row: timings, memory, test metrics under both protocols."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    result = train_bert4rec(split, seed=seed, progress=False, **(FAST_OVERRIDES if fast else {}))
    model, max_len = result["recommender"], result["params"]["max_len"]
    kept = evaluate(model, split, "test", exclude_history=False, max_len=max_len, device=device)
    removed = evaluate(model, split, "test", exclude_history=True, max_len=max_len, device=device)
    row = {"seed": seed, "epochs": result["epochs"], "epochs_to_best": result["epochs_to_best"],
           "seconds_to_best": result["seconds_to_best"], "seconds_per_epoch": result["seconds_per_epoch"],
           "total_seconds": result["total_seconds"], "peak_memory_mb": peak_memory_mb(device), "valid_ndcg@10": result["valid"]["ndcg@10"]}
    for name, metrics in (("test_kept", kept), ("test_removed", removed)):
        row.update({f"{name}_{k}": float(metrics[k]) for k in ("hr@10", "ndcg@10", "mrr")})
    return row






def print_summary(rows: list[dict]) -> dict:
    """Print mean ± std of the reported columns; return the full summary."""
    summary = summarize_runs(rows)
    for key in REPORTED:
        print(f"{key:22s} {summary[key]['mean']:.4f} ± {summary[key]['std']:.4f}")
    return summary


def merge(paths: list[Path], out: Path) -> dict:
    """Join the runs of several JSON reports (one seed each, say) into one report written to ``out``."""
    reports = [json.loads(p.read_text()) for p in paths]
    if not reports:
        raise ValueError("--merge needs at least one JSON file")
    if len({r["fast"] for r in reports}) > 1:
        raise ValueError("cannot merge FAST and full runs into one table")
    if len({r.get("split", "course") for r in reports}) > 1:
        raise ValueError("cannot merge runs on different splits into one table")
    rows = sorted((row for r in reports for row in r["runs"]), key=lambda row: row["seed"])
    commands = " && ".join(r["command"] for r in reports)
    return {**reports[0], "command": commands, "runs": rows, "summary": print_summary(rows)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--fast", action="store_true", help="tiny budget (smoke test)")
    add_deterministic_argument(parser)
    add_split_argument(parser)
    parser.add_argument("--out", type=Path, default=None, help="JSON output path")
    parser.add_argument("--merge", type=Path, nargs="+", default=None, help="join these JSON reports instead")
    args = parser.parse_args(argv)
    out = args.out or results_path(RESULTS, "bert4rec", args.split, args.fast)
    if args.merge:
        write_json(merge(args.merge, out), out)
        print("wrote", out)
        return 0
    device = runtime.get_device()
    split = load_split("ml-100k", args.split)
    print(f"bert4rec on ml-100k, device {runtime.device_summary(device)}, torch threads {torch.get_num_threads()}")
    command = "python benchmarks/bert4rec.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    rows = []
    for seed in args.seeds:
        with reproducible(args):
            rows.append(run_seed(split, seed, args.fast, device))
        r = rows[-1]
        print(f"seed {seed}: {r['epochs']} epochs (best {r['epochs_to_best']} after {r['seconds_to_best']:.0f} s), "
              f"{r['seconds_per_epoch']:.2f} s/epoch, peak {r['peak_memory_mb']:.0f} MiB | test NDCG@10 kept "
              f"{r['test_kept_ndcg@10']:.4f} removed {r['test_removed_ndcg@10']:.4f}", flush=True)
        write_json({"model": "bert4rec", "dataset": "ml-100k", "split": args.split,
                    "device": runtime.device_summary(device), "fast": args.fast, "deterministic": args.deterministic,
                    "command": command.strip(),
                    "runs": rows, "summary": summarize_runs(rows)}, out)   # after every seed
    print_summary(rows)
    print("wrote", out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
