"""Reproduce the course's SASRec numbers on ML-100k in one command.

    python benchmarks/sasrec.py --seeds 0 1 2                # full recipe (course defaults, full cross-entropy)
    python benchmarks/sasrec.py --seeds 0 1 2 --loss bce     # the original SASRec objective (one negative)
    python benchmarks/sasrec.py --seeds 0 --fast             # smoke test
    python benchmarks/sasrec.py --seeds 1 --append           # add a seed to the existing JSON
    python benchmarks/sasrec.py --seeds 0 1 2 --split recbole   # on RecBole's split (its tie rule), like for like

For each seed: train with ``course_lib.recipes.sasrec`` defaults (early stopping on validation NDCG@10),
then evaluate the test split both ways: history kept (RecBole's protocol) and history removed (course default).
Reports seconds per epoch, epochs to best, seconds to the best validation score, peak memory, and
mean ± std over seeds; writes JSON (``--out``, default ``benchmarks/results/sasrec[-bce].json``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from course_lib import runtime
from course_lib.recipes.run import load_split
from course_lib.metrics import evaluate
from course_lib.recipes.sasrec import FAST_OVERRIDES, train_sasrec

from common import (add_deterministic_argument, add_split_argument, peak_memory_mb,  # benchmarks/common.py
                    reproducible, results_path, summarize_runs, write_json)

RESULTS = Path(__file__).resolve().parent / "results"
REPORTED = ("test_kept_ndcg@10", "test_kept_hr@10", "test_removed_ndcg@10", "test_removed_hr@10",
            "epochs_to_best", "seconds_to_best", "seconds_per_epoch", "total_seconds", "peak_memory_mb")




def run_seed(split, seed: int, loss: str, fast: bool, device: torch.device) -> dict:
    """Train one seed and return its row: timings, memory, test metrics under both protocols."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    result = train_sasrec(split, seed=seed, loss=loss, progress=False, **(FAST_OVERRIDES if fast else {}))
    model, max_len = result["recommender"], result["params"]["max_len"]
    kept = evaluate(model, split, "test", exclude_history=False, max_len=max_len, device=device)
    removed = evaluate(model, split, "test", exclude_history=True, max_len=max_len, device=device)
    row = {"seed": seed, "epochs": result["epochs"], "epochs_to_best": result["epochs_to_best"],
           "seconds_to_best": result["seconds_to_best"], "seconds_per_epoch": result["seconds_per_epoch"],
           "total_seconds": result["total_seconds"], "peak_memory_mb": peak_memory_mb(device),
           "valid_ndcg@10": result["valid"]["ndcg@10"]}
    for name, metrics in (("test_kept", kept), ("test_removed", removed)):
        row.update({f"{name}_{k}": float(metrics[k]) for k in ("hr@10", "ndcg@10", "mrr")})
    return row






def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--loss", choices=("ce", "bce"), default="ce")
    add_split_argument(parser)
    parser.add_argument("--fast", action="store_true", help="tiny budget (smoke test)")
    add_deterministic_argument(parser)
    parser.add_argument("--out", type=Path, default=None, help="JSON output path")
    parser.add_argument("--append", action="store_true", help="keep the other seeds already in --out")
    args = parser.parse_args(argv)
    name = "sasrec" if args.loss == "ce" else "sasrec-bce"
    out = args.out or results_path(RESULTS, name, args.split, args.fast)
    device = runtime.get_device()
    split = load_split("ml-100k", args.split)
    print(f"{name} on ml-100k, device {runtime.device_summary(device)}, torch threads {torch.get_num_threads()}")
    rows = previous_runs(out, args) if args.append else []
    for seed in args.seeds:
        with reproducible(args):
            rows.append(run_seed(split, seed, args.loss, args.fast, device))
        r = rows[-1]
        print(f"seed {seed}: {r['epochs']} epochs (best {r['epochs_to_best']} after {r['seconds_to_best']:.0f} s), "
              f"{r['seconds_per_epoch']:.2f} s/epoch, peak {r['peak_memory_mb']:.0f} MiB | test NDCG@10 kept "
              f"{r['test_kept_ndcg@10']:.4f} removed {r['test_removed_ndcg@10']:.4f}", flush=True)
        seeds = " ".join(str(r["seed"]) for r in rows)    # one command that reproduces every row
        command = (f"python benchmarks/sasrec.py --seeds {seeds}" + (" --loss bce" if args.loss == "bce" else "")
                   + (" --split recbole" if args.split == "recbole" else "") + (" --fast" if args.fast else "")
                   + (" --deterministic" if args.deterministic else ""))
        write_json({"model": name, "dataset": "ml-100k", "split": args.split, "device": runtime.device_summary(device),
                    "fast": args.fast, "deterministic": args.deterministic, "command": command, "runs": rows, "summary": summarize_runs(rows)},
                   out)                                   # after every seed: an interrupted run keeps its seeds
    summary = summarize_runs(rows)
    for key in REPORTED:
        print(f"{key:22s} {summary[key]['mean']:.4f} ± {summary[key]['std']:.4f}")
    print("wrote", out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out)
    return 0


def previous_runs(out: Path, args) -> list[dict]:
    """Rows already in ``out`` (for ``--append``), minus the seeds about to be run again."""
    if not out.exists():
        return []
    report = json.loads(out.read_text())
    if report.get("fast") != args.fast:
        raise ValueError(f"{out} holds {'FAST' if report.get('fast') else 'full'} runs; cannot append to it")
    if report.get("split", "course") != args.split:
        raise ValueError(f"{out} holds runs on the {report.get('split', 'course')} split; cannot append to it")
    return [r for r in report["runs"] if r["seed"] not in args.seeds]


if __name__ == "__main__":
    sys.exit(main())
