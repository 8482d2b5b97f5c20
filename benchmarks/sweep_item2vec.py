"""Choose the item2vec recipe on ML-100k's VALIDATION split (the sweep behind ``ITEM2VEC_RECIPE``).

    python benchmarks/sweep_item2vec.py                  # about 5 minutes on one CPU core
    python benchmarks/sweep_item2vec.py --fast           # smoke test

Two rounds, each setting scored by validation NDCG@10 of the embedding recommender (its recency decay chosen
on validation too, as ``course train item2vec`` does). Round 1 crosses the settings Caselles-Dupré et al.
(RecSys 2018) and gensim's text defaults disagree on: CBOW vs skip-gram, epochs, and the negative-sampling
exponent. Round 2 varies the window and the subsampling threshold around round 1's best; round 3 doubles the
epochs while the best sits at the largest number of epochs tried and keeps improving. One worker and a fixed seed,
so every row is bit-reproducible. The test split is never read.
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

from course_lib.data import load_movielens
from course_lib.embeddings import item_vectors, train_item2vec
from course_lib.recipes.embeddings import choose_decay
from course_lib.sequences import leave_one_out

from common import write_json  # benchmarks/common.py

BASE = dict(vector_size=64, window=5, negative=10, sample=1e-3, min_count=1)


def score(split, settings: dict, seed: int) -> dict:
    start = time.perf_counter()
    model = train_item2vec(split.train, seed=seed, **{**BASE, **settings})
    recommender, valid, _ = choose_decay(item_vectors(model, split.num_items), split)
    return {"settings": settings, "decay": recommender.decay, "valid_hr@10": float(valid["hr@10"]),
            "valid_ndcg@10": float(valid["ndcg@10"]), "seconds": time.perf_counter() - start}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--fast", action="store_true")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "sweep-item2vec.json")
    args = parser.parse_args(argv)
    split = leave_one_out(load_movielens("ml-100k").interactions)
    epochs = (1, 2) if args.fast else (5, 10, 20)
    round1 = [dict(sg=sg, epochs=e, ns_exponent=a) for sg, e, a in itertools.product((0, 1), epochs, (0.75, 0.0, -0.5))]
    rows = []

    def run(settings: dict, round_: int) -> None:
        row = {"round": round_, **score(split, settings, args.seed)}
        rows.append(row)
        print(f"round {round_} {settings}: valid NDCG@10 {row['valid_ndcg@10']:.4f} HR@10 {row['valid_hr@10']:.4f} "
              f"(decay {row['decay']}, {row['seconds']:.1f} s)", flush=True)
        write_json({"seed": args.seed, "base": BASE, "fast": args.fast, "rows": rows}, args.out)

    for settings in round1[:4] if args.fast else round1:
        run(settings, 1)
    best = max(rows, key=lambda r: r["valid_ndcg@10"])["settings"]
    for window, sample in itertools.product((3, 5, 10, 20), (1e-3, 1e-4, 1e-5)):
        if (window, sample) != (BASE["window"], BASE["sample"]):
            run({**best, "window": window, "sample": sample}, 2)
            if args.fast:
                break
    best = max(rows, key=lambda r: r["valid_ndcg@10"])
    epochs = best["settings"]["epochs"]
    while not args.fast and epochs == max(r["settings"]["epochs"] for r in rows) and epochs < 80:
        epochs *= 2                                      # the best sits at the grid's edge: look past it
        run({**best["settings"], "epochs": epochs}, 3)
        if rows[-1]["valid_ndcg@10"] <= best["valid_ndcg@10"]:
            break
        best = rows[-1]
    winner = max(rows, key=lambda r: r["valid_ndcg@10"])
    print(f"best on validation: {winner['settings']} -> NDCG@10 {winner['valid_ndcg@10']:.4f}; wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
