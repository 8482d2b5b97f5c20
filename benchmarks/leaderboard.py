"""Every model of the course on one protocol, with each user's rank stored: the leaderboard of notebook 09.

    python benchmarks/leaderboard.py                # all models, seed 0 -> benchmarks/results/leaderboard.json
    python benchmarks/leaderboard.py --fast --models pop markov --out /tmp/lb.json
    python benchmarks/leaderboard.py --models gru4rec --append    # add (or redo) models in the stored file

Each model is trained exactly as ``course train MODEL --seed 0 --json`` trains it (``run_training``: the course
split, the recipe's defaults and model selection on validation) and tested once: full ranking, history removed.
Stored per model: the command, validation and test metrics, epochs and time, the beyond-accuracy numbers of its
top-10 lists (``course_lib.beyond_accuracy``) and the (U,) ranks from which ``course_lib.leaderboard`` computes
bootstrap intervals and paired comparisons. About 35 minutes on 2 CPU cores; run it alone.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from course_lib import recipes, runtime
from course_lib.beyond_accuracy import beyond_accuracy, genre_matrix
from course_lib.data import load_movielens
from course_lib.files import write_text
from course_lib.leaderboard import FILE_NAME, dumps
from course_lib.recipes.run import load_split, run_training
from course_lib.recommend import top_k_lists

RESULTS = Path(__file__).resolve().parent / "results"
# Registered models left off the default board, with the reason stored in the file.
NOT_ON_BOARD = {"llm-finetune": "constrained beam search takes seconds per user on 2 CPU cores (hours for 943 users); "
                                "notebook 10 evaluates it on a sample of users; on a GPU: --models llm-finetune --append"}
ON_BOARD = [name for name in recipes.REGISTRY if name not in NOT_ON_BOARD]
HEADLINE = ("hr@10", "ndcg@10", "mrr", "hr@20", "ndcg@20")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=ON_BOARD, choices=list(recipes.REGISTRY))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fast", action="store_true", help="small settings (smoke test)")
    parser.add_argument("--out", type=Path, default=None, help=f"JSON output path (default results/{FILE_NAME})")
    parser.add_argument("--append", action="store_true",
                        help="keep the other models already in --out (same seed and mode), replace these")
    args = parser.parse_args(argv)
    out = args.out or RESULTS / (FILE_NAME.replace(".json", "-fast.json") if args.fast else FILE_NAME)
    kept, kept_minutes = previous_rows(out, args) if args.append else ([], 0.0)
    split = load_split("ml-100k")
    features = genre_matrix(split, load_movielens("ml-100k").items)
    rows, start = [], time.perf_counter()
    for name in args.models:
        report = run_training(name, split, seed=args.seed, fast=args.fast)
        lists = top_k_lists(report.recommender, split, k=10, max_len=report.max_len)
        rows.append({"model": name, "command": report.command(),
                     "valid_ndcg@10": report.valid["ndcg@10"],
                     "test": {m: report.test[m] for m in HEADLINE},
                     "test_history_kept": {m: report.test_history_kept[m] for m in HEADLINE},
                     "beyond_accuracy@10": beyond_accuracy(lists, split, features),
                     "epochs": report.epochs, "total_seconds": report.total_seconds,
                     "ranks": [int(r) for r in report.test_ranks]})
        print(f"{name:14s} test NDCG@10 {report.test['ndcg@10']:.4f}  HR@10 {report.test['hr@10']:.4f}  "
              f"{report.total_seconds:.0f} s", flush=True)
    rows = kept + rows
    rows.sort(key=lambda row: list(recipes.REGISTRY).index(row["model"]))
    command = "python benchmarks/leaderboard.py" + (" --fast" if args.fast else "")
    on_board = {row["model"] for row in rows}
    if on_board != set(ON_BOARD):
        command += " --models " + " ".join(row["model"] for row in rows)
    report = {"dataset": "ml-100k", "split": "course", "part": "test",
              "protocol": "full ranking, history removed", "seed": args.seed, "fast": args.fast,
              "device": runtime.device_summary(), "command": command,
              "minutes": round((time.perf_counter() - start) / 60 + kept_minutes, 1),
              "users": split.num_users, "models": rows,
              "not_on_board": {name: why for name, why in NOT_ON_BOARD.items() if name not in on_board}}
    write_text(out, dumps(report) + "\n")
    print("wrote", out)
    return 0


def previous_rows(out: Path, args) -> tuple[list[dict], float]:
    """The rows already in ``out`` (for ``--append``) except the models about to be trained again, and the
    minutes the file's runs took (so that the total stays the time the whole leaderboard takes)."""
    if not out.exists():
        return [], 0.0
    report = json.loads(out.read_text(encoding="utf-8"))
    if report.get("seed") != args.seed or report.get("fast") != args.fast:
        raise ValueError(f"{out} holds another seed or mode; cannot append to it")
    rows = [row for row in report["models"] if row["model"] not in args.models]
    redone = sum(row["total_seconds"] for row in report["models"] if row["model"] in args.models) / 60
    return rows, max(report.get("minutes", 0.0) - redone, 0.0)


if __name__ == "__main__":
    sys.exit(main())
