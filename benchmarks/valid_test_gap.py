"""Why does BERT4Rec lose a third of its validation score on the test split, when SASRec loses an eighth?

    python benchmarks/valid_test_gap.py --jobs 6                # every experiment below, 6 processes at a time
    python benchmarks/valid_test_gap.py --fast --jobs 1         # smoke test

A DIAGNOSTIC, not a tuning tool: it reads the test split to explain a number, and nothing here chooses a
setting (the recipes are chosen on validation by ``benchmarks/sweep.py``). Each experiment trains a model with
the course defaults and reports NDCG@10 / HR@10 (history kept and removed) on

* ``valid`` and ``test``: the usual two parts;
* ``test_from_train``: the test target predicted from the training part alone (the validation item left out
  of the input), i.e. two steps ahead;
* ``test`` by subset: users whose test item shares its second with the validation item, and the others.

Experiments (each for several seeds):

* ``tie``: the default tie-break (equal timestamps by item id) against the reversed order ``item_id_desc``;
  a model that exploits the id order inside one second gains or loses with it;
* ``shifted``: drop every user's last interaction and split again, so the old validation item becomes the
  test target and the old last training item the validation target. If the drop follows the *position*
  (right after the training data vs one step later), the shifted test is low too.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from common import recipe, write_json  # benchmarks/common.py

RESULTS = Path(__file__).resolve().parent / "results"


def _metrics(model, split, part, max_len, device, prefix):
    """NDCG@10 / HR@10 with the history kept and removed, plus the per-user ranks (history kept)."""
    from course_lib.metrics import evaluate

    row = {}
    for name, exclude in (("kept", False), ("removed", True)):
        m = evaluate(model, split, part, exclude_history=exclude, max_len=max_len, device=device,
                     return_ranks=not exclude)
        row.update({f"{prefix}_{name}_{k}": float(m[k]) for k in ("ndcg@10", "hr@10")})
        if not exclude:
            ranks = m["ranks"]
    return row, ranks


def run_one(model_name: str, experiment: str, tie_break: str, seed: int, fast: bool) -> dict:
    import numpy as np
    import torch

    torch.set_num_threads(int(os.environ.get("SWEEP_THREADS", "1")))
    from course_lib.data import load_movielens
    from course_lib.sequences import leave_one_out, sort_chronologically

    train, _, FAST_OVERRIDES = recipe(model_name)
    interactions = load_movielens("ml-100k").interactions
    if experiment == "shifted":   # drop each user's last interaction (in the tie-break's order)
        ordered = sort_chronologically(interactions, tie_break)
        last = ordered.groupby("user_id").tail(1).index
        interactions = ordered.drop(index=last)
    split = leave_one_out(interactions, tie_break=tie_break)
    result = train(split, seed=seed, progress=False, **(FAST_OVERRIDES if fast else {}))
    model, max_len = result["recommender"], result["params"]["max_len"]
    device = next(model.parameters()).device
    row = {"model": model_name, "experiment": experiment, "tie_break": tie_break, "seed": seed,
           "epochs_to_best": result["epochs_to_best"]}
    for part in ("valid", "test"):
        metrics, ranks = _metrics(model, split, part, max_len, device, part)
        row.update(metrics)
    # test target, predicted from the training part only: a split whose "valid" targets are the test items
    two_ahead = dataclasses.replace(split, valid_targets=split.test_targets, valid_times=split.test_times)
    metrics, _ = _metrics(model, two_ahead, "valid", max_len, device, "test_from_train")
    row.update(metrics)
    same = split.test_times == split.valid_times
    hit = ranks <= 10
    gain = np.where(hit, 1.0 / np.log2(ranks + 1), 0.0)
    row.update({"test_same_second_share": float(same.mean()),
                "test_kept_ndcg@10_same_second": float(gain[same].mean()),
                "test_kept_ndcg@10_later": float(gain[~same].mean())})
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--fast", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    out = args.out or RESULTS / f"valid-test-gap{'-fast' if args.fast else ''}.json"
    tasks = [(m, "tie", t, s) for m in ("bert4rec", "sasrec") for t in ("item_id", "item_id_desc")
             for s in args.seeds]
    tasks += [(m, "shifted", "item_id", s) for m in ("bert4rec", "sasrec") for s in args.seeds]
    rows = []
    with ProcessPoolExecutor(max_workers=args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(run_one, *task, args.fast): task for task in tasks}
        for future in as_completed(futures):
            task = futures[future]
            try:
                row = future.result()
            except Exception as exc:
                row = {"task": list(task), "error": f"{type(exc).__name__}: {exc}"}
            rows.append(row)
            print(json.dumps(row), flush=True)
            write_json({"fast": args.fast, "seeds": args.seeds, "rows": rows}, out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
