"""Hyperparameter sweeps for SASRec, BERT4Rec and GRU4Rec on ML-100k, scored on the VALIDATION split only.

    python benchmarks/sweep.py bert4rec --grid benchmarks/grids/bert4rec.json --seeds 0 1 --jobs 8
    python benchmarks/sweep.py sasrec --grid benchmarks/grids/sasrec.json --seeds 0 --jobs 1 --fast

A grid file is a JSON list of override dicts (keys of ``recipes.sasrec.DEFAULTS`` / ``recipes.bert4rec.DEFAULTS``);
``{}`` is the current recipe, whose settings are stored with the rows (``"defaults"``). Every (settings, seed) pair trains in its own process (``--jobs`` at a time:
on one GPU many small models fit side by side; on a 2-core CPU use ``--jobs 1``). Each row holds the best
validation NDCG@10/HR@10 both with the history removed and kept, epochs to best, seconds per epoch and the
device. The test split is never read here: the defaults are chosen from these rows, and only then does
``benchmarks/sasrec.py`` / ``bert4rec.py`` report test numbers.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from common import recipe, write_json  # benchmarks/common.py


def train_one(model_name: str, overrides: dict, seed: int, fast: bool) -> dict:
    """Train one configuration in this (worker) process and score it on validation, both protocols."""
    import torch

    torch.set_num_threads(int(os.environ.get("SWEEP_THREADS", "1")))
    from course_lib.data import load_movielens
    from course_lib.metrics import evaluate
    from course_lib.sequences import leave_one_out

    train, _, FAST_OVERRIDES = recipe(model_name)
    split = leave_one_out(load_movielens("ml-100k").interactions)
    start = time.perf_counter()
    result = train(split, seed=seed, progress=False, **{**overrides, **(FAST_OVERRIDES if fast else {})})
    model, max_len = result["recommender"], result["params"]["max_len"]
    device = next(model.parameters()).device
    row = {"settings": overrides, "seed": seed, "device": str(device), "amp": result["history"]["amp"],
           "epochs": result["epochs"], "epochs_to_best": result["epochs_to_best"],
           "seconds_per_epoch": result["seconds_per_epoch"], "seconds_to_best": result["seconds_to_best"],
           "wall_seconds": time.perf_counter() - start}
    for name, exclude in (("valid_removed", True), ("valid_kept", False)):
        metrics = evaluate(model, split, "valid", exclude_history=exclude, max_len=max_len, device=device)
        row.update({f"{name}_{k}": float(metrics[k]) for k in ("hr@10", "ndcg@10")})
    return row


def recipe_defaults(model_name: str) -> dict:
    """The recipe's current ``DEFAULTS``: stored with the rows, since a grid's overrides are relative to them."""
    return dict(recipe(model_name)[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=("sasrec", "bert4rec", "gru4rec"))
    parser.add_argument("--grid", type=Path, required=True, help="JSON list of override dicts")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--jobs", type=int, default=1, help="processes at a time")
    parser.add_argument("--fast", action="store_true", help="tiny budget (smoke test)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    grid = json.loads(args.grid.read_text())
    if not isinstance(grid, list) or not all(isinstance(g, dict) for g in grid):
        parser.error(f"{args.grid}: expected a JSON list of objects")
    out = args.out or Path(__file__).resolve().parent / "results" / f"sweep-{args.model}.json"
    tasks = [(g, s) for g in grid for s in args.seeds]
    defaults = recipe_defaults(args.model)        # what "{}" meant when this sweep ran
    rows = []
    with ProcessPoolExecutor(max_workers=args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(train_one, args.model, g, s, args.fast): (g, s) for g, s in tasks}
        for future in as_completed(futures):
            g, s = futures[future]
            try:
                row = future.result()
            except Exception as exc:                     # one bad setting must not lose the others
                row = {"settings": g, "seed": s, "error": f"{type(exc).__name__}: {exc}"}
            rows.append(row)
            if "error" in row:
                print(f"FAILED {json.dumps(g)} seed {s}: {row['error']}", flush=True)
            else:
                print(f"{json.dumps(g)} seed {s}: valid NDCG@10 removed {row['valid_removed_ndcg@10']:.4f} "
                      f"kept {row['valid_kept_ndcg@10']:.4f} | best epoch {row['epochs_to_best']} "
                      f"({row['seconds_per_epoch']:.2f} s/epoch on {row['device']})", flush=True)
            write_json({"model": args.model, "defaults": defaults, "grid": grid, "seeds": args.seeds,
                        "fast": args.fast, "rows": rows}, out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
