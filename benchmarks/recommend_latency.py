"""How fast a saved SASRec answers: bundle size, `course recommend` from a cold start, and every user at once.

    python benchmarks/recommend_latency.py            # trains and saves SASRec (seed 0) unless --bundle is given
    python benchmarks/recommend_latency.py --bundle models/sasrec --repeats 5

Cold start = a new ``python -m course_lib recommend`` process: start-up, imports, loading the bundle, scoring and
explaining (occlusion), printing. Its parts: an empty Python process, and ``load_bundle`` + ``recommend`` timed
inside this process (modules already imported); imports are the rest. ``recommend_all`` is timed once loaded,
after one warm-up call. Medians over ``--repeats``.
Writes ``benchmarks/results/recommend-latency.json``. Run it alone: other work on the machine slows it.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from course_lib import runtime

from common import write_json  # benchmarks/common.py

RESULTS = Path(__file__).resolve().parent / "results"
HISTORY = ["Star Wars (1977)", "Fargo", "Toy Story", "Pulp Fiction", "The Princess Bride"]


def median_seconds(command: list[str], repeats: int) -> float:
    """Median wall time of ``command`` run ``repeats`` times (each must succeed)."""
    times = []
    for _ in range(repeats):
        tic = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - tic)
    return statistics.median(times)


def saved_sasrec(folder: Path, fast: bool) -> Path:
    """Train the course SASRec (seed 0) and save it as a bundle in ``folder``."""
    from course_lib.bundle import save_bundle
    from course_lib.data import load_movielens
    from course_lib.recipes.sasrec import train_default
    from course_lib.sequences import leave_one_out

    data = load_movielens("ml-100k")
    split = leave_one_out(data.interactions)
    result = train_default(split, seed=0, fast=fast)
    return save_bundle(folder, result["recommender"], split, data.items, name="sasrec", params=result["params"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=None, help="a saved SASRec (default: train one)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--fast", action="store_true", help="a 4-epoch model (smoke test; same speed)")
    parser.add_argument("--out", type=Path, default=RESULTS / "recommend-latency.json")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.bundle or saved_sasrec(Path(tmp) / "sasrec", args.fast)
        size_mb = sum(f.stat().st_size for f in folder.iterdir()) / 2**20
        command = [sys.executable, "-m", "course_lib", "recommend", str(folder), "--history", *HISTORY, "-k", "10"]
        cold = median_seconds(command, args.repeats)
        bare = median_seconds([sys.executable, "-c", "pass"], args.repeats)
        load_score = time_load_and_recommend(folder, args.repeats)
        all_users = time_all_users(folder, args.repeats)
    report = {"device": runtime.device_summary(), "repeats": args.repeats, "history": HISTORY, "k": 10,
              "command": "python benchmarks/recommend_latency.py" + (f" --bundle {args.bundle}" if args.bundle else ""),
              "bundle_mb": size_mb,
              "cold_start_seconds": cold, "python_start_seconds": bare, "load_score_explain_seconds": load_score,
              "imports_seconds": cold - bare - load_score, "all_users": all_users}
    write_json(report, args.out)
    print(f"bundle {size_mb:.2f} MB | cold start {cold:.2f} s = python {bare:.2f} + imports "
          f"{cold - bare - load_score:.2f} + load, score, explain {load_score:.2f} | all {all_users['users']} users "
          f"{all_users['seconds']:.3f} s\nwrote {args.out}")
    return 0


def time_load_and_recommend(folder: Path, repeats: int) -> float:
    """Median seconds of ``load_bundle`` + ``recommend`` (top 10, with reasons) once the modules are imported."""
    from course_lib.bundle import load_bundle
    from course_lib.recommend import recommend

    times = []
    for _ in range(repeats):
        tic = time.perf_counter()
        recommend(load_bundle(folder), HISTORY, k=10)
        times.append(time.perf_counter() - tic)
    return statistics.median(times)


def time_all_users(folder: Path, repeats: int) -> dict:
    """Median seconds of ``recommend_all`` (top 10) for every user of the course split, once loaded and warm."""
    from course_lib.bundle import load_bundle
    from course_lib.data import load_movielens
    from course_lib.recommend import recommend_all
    from course_lib.sequences import leave_one_out

    split = leave_one_out(load_movielens("ml-100k").interactions)
    bundle = load_bundle(folder)
    recommend_all(bundle, split, k=10)                                          # warm-up
    times = []
    for _ in range(repeats):
        tic = time.perf_counter()
        recommend_all(bundle, split, k=10)
        times.append(time.perf_counter() - tic)
    return {"users": split.num_users, "seconds": statistics.median(times)}


if __name__ == "__main__":
    sys.exit(main())
