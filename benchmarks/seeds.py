"""A loop-trained model of the course (SASRec, SASRec-BCE, BERT4Rec, GRU4Rec) over several seeds, in one command.

    python benchmarks/seeds.py gru4rec --seeds 0 1 2                 # course split
    python benchmarks/seeds.py gru4rec --seeds 0 1 2 --split recbole # RecBole's split (its tie rule), like for like
    python benchmarks/seeds.py sasrec --seeds 0 --fast                # smoke test
    python benchmarks/seeds.py sasrec --seeds 1 --append              # add a seed to the existing JSON
    python benchmarks/seeds.py bert4rec --merge results/bert4rec-seed*.json   # join per-seed files into one

For each seed: train with the model's recipe (``course_lib.recipes``; early stopping on validation NDCG@10),
then evaluate the test split with full ranking as ``course train`` does (``recipes.run.evaluate_parts``): history
kept (RecBole's protocol) and removed (the course's). Reports seconds per epoch, epochs to best, seconds to the
best validation score, peak memory (the process's peak RSS on a CPU, so later seeds report at least the first's)
and mean ± sample standard deviation over seeds; writes JSON after every seed (default
``benchmarks/results/<model>[-recbole-split][-fast].json``). ``benchmarks/sasrec.py`` and ``bert4rec.py`` are
this script for their model.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

import torch

from course_lib import runtime
from course_lib.recipes import recipe_module
from course_lib.recipes.run import evaluate_parts, load_split

from common import (add_deterministic_argument, add_split_argument, peak_memory_mb,  # benchmarks/common.py
                    reproducible, results_path, summarize_runs, write_json)

RESULTS = Path(__file__).resolve().parent / "results"
# model name -> (its recipe's train function, the settings that make it this model)
MODELS = {"sasrec": ("train_sasrec", {}), "sasrec-bce": ("train_sasrec", {"loss": "bce"}),
          "bert4rec": ("train_bert4rec", {}), "gru4rec": ("train_gru4rec", {})}
REPORTED = ("test_kept_ndcg@10", "test_kept_hr@10", "test_removed_ndcg@10", "test_removed_hr@10",
            "epochs_to_best", "seconds_to_best", "seconds_per_epoch", "total_seconds", "peak_memory_mb")


def run_seed(name: str, split, seed: int, fast: bool, device: torch.device, overrides: dict | None = None) -> dict:
    """Train one seed of ``name`` and return its row: timings, memory, test metrics under both protocols.

    ``overrides`` (recipe settings such as ``{"num_epochs": 2}``) apply last, after the FAST ones.
    """
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    module = recipe_module(name)
    function, settings = MODELS[name]
    result = getattr(module, function)(split, seed=seed, progress=False,
                                       **{**settings, **(module.FAST_OVERRIDES if fast else {}), **(overrides or {})})
    parts = evaluate_parts(result["recommender"], split, max_len=result["params"]["max_len"], seed=seed)
    row = {"seed": seed, "epochs": result["epochs"], "epochs_to_best": result["epochs_to_best"],
           "seconds_to_best": result["seconds_to_best"], "seconds_per_epoch": result["seconds_per_epoch"],
           "total_seconds": result["total_seconds"], "peak_memory_mb": peak_memory_mb(device),
           "valid_ndcg@10": result["valid"]["ndcg@10"]}
    for label, metrics in (("test_kept", parts["test_history_kept"]), ("test_removed", parts["test"])):
        row.update({f"{label}_{k}": float(metrics[k]) for k in ("hr@10", "ndcg@10", "mrr")})
    return row


def print_summary(rows: list[dict]) -> dict:
    """Print mean ± std of the reported columns; return the full summary."""
    summary = summarize_runs(rows)
    for key in REPORTED:
        print(f"{key:22s} {summary[key]['mean']:.4f} ± {summary[key]['std']:.4f}")
    return summary


def merge(paths: list[Path]) -> dict:
    """Join the runs of several JSON reports (one seed each, say) into one report."""
    reports = [json.loads(p.read_text()) for p in paths]
    if not reports:
        raise ValueError("--merge needs at least one JSON file")
    for key, what in (("fast", "FAST and full runs"), ("split", "runs on different splits"), ("model", "models")):
        if len({r.get(key, "course") for r in reports}) > 1:
            raise ValueError(f"cannot merge {what} into one table")
    rows = sorted((row for r in reports for row in r["runs"]), key=lambda row: row["seed"])
    return {**reports[0], "command": " && ".join(r["command"] for r in reports), "runs": rows,
            "summary": print_summary(rows)}


def previous_runs(out: Path, args) -> list[dict]:
    """Rows already in ``out`` (for ``--append``), minus the seeds about to be run again."""
    if not out.exists():
        return []
    report = json.loads(out.read_text())
    if report.get("fast") != args.fast or report.get("split", "course") != args.split:
        raise ValueError(f"{out} holds runs of another mode or split; cannot append to it")
    return [r for r in report["runs"] if r["seed"] not in args.seeds]


def main(argv: list[str] | None = None, script: str = "seeds.py") -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    if script == "seeds.py":
        parser.add_argument("model", choices=tuple(MODELS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    add_split_argument(parser)
    parser.add_argument("--fast", action="store_true", help="tiny budget (smoke test)")
    add_deterministic_argument(parser)
    parser.add_argument("--out", type=Path, default=None, help="JSON output path")
    parser.add_argument("--append", action="store_true", help="keep the other seeds already in --out")
    parser.add_argument("--merge", type=Path, nargs="+", default=None, help="join these JSON reports instead")
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    name = getattr(args, "model", None) or script.removesuffix(".py")
    out = args.out or results_path(RESULTS, name, args.split, args.fast)
    if args.merge:
        write_json(merge(args.merge), out)
        print("wrote", out)
        return 0
    device = runtime.get_device()
    split = load_split("ml-100k", args.split)
    print(f"{name} on ml-100k, device {runtime.device_summary(device)}, torch threads {torch.get_num_threads()}")
    rows = previous_runs(out, args) if args.append else []
    for seed in args.seeds:
        with reproducible(args):
            rows.append(run_seed(name, split, seed, args.fast, device))
        r = rows[-1]
        print(f"seed {seed}: {r['epochs']} epochs (best {r['epochs_to_best']} after {r['seconds_to_best']:.0f} s), "
              f"{r['seconds_per_epoch']:.2f} s/epoch, peak {r['peak_memory_mb']:.0f} MiB | test NDCG@10 kept "
              f"{r['test_kept_ndcg@10']:.4f} removed {r['test_removed_ndcg@10']:.4f}", flush=True)
        flags = [a for a in argv if a not in ("--append",)]
        seeds = " ".join(str(row["seed"]) for row in rows)          # one command that reproduces every row
        flags = _replace_seeds(flags, seeds)
        write_json({"model": name, "dataset": "ml-100k", "split": args.split,
                    "device": runtime.device_summary(device), "fast": args.fast,
                    "deterministic": args.deterministic,
                    "command": f"python benchmarks/{script} " + " ".join(shlex.quote(f) for f in flags),
                    "runs": rows, "summary": summarize_runs(rows)}, out)      # after every seed
    print_summary(rows)
    print("wrote", out)
    return 0


def _replace_seeds(flags: list[str], seeds: str) -> list[str]:
    """``flags`` with the values after --seeds replaced by ``seeds`` (or --seeds added)."""
    if "--seeds" not in flags:
        return [*flags, "--seeds", *seeds.split()]
    start = flags.index("--seeds") + 1
    end = start
    while end < len(flags) and not flags[end].startswith("--"):
        end += 1
    return flags[:start] + seeds.split() + flags[end:]


if __name__ == "__main__":
    sys.exit(main())
