"""Reproduce notebook 07's multi-seed tables: SASRec with language-model item text, on ML-100k, in one command.

    python benchmarks/text_variants.py --seeds 0 1 2     # full recipe; writes benchmarks/results/text-variants.json
    python benchmarks/text_variants.py --seeds 0 --fast  # smoke test (-fast.json)

all-MiniLM-L6-v2 (the packaged offline encoder) embeds "Title (year). Genres: ..." for every item. For each seed
and variant (ID-only SASRec, frozen text + projection, text-initialised IDs, ID + text fusion) the course SASRec
recipe trains with early stopping on validation NDCG@10; the test split (full ranking, history removed) is read
once per run, overall and by target group (head = the 20 % most frequent training items, tail = the rest). The
text zero-shot scorer (no training; decay chosen on validation) is deterministic and runs once. The cold-start
experiment holds 10 % of the items out of training (``coldstart.cold_start_split``, seed 42) and trains the
first seed of five models on it (with and without never-seen items kept out of the training softmax).
The JSON is written after every run, so an interrupted benchmark keeps what it finished.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from course_lib import coldstart, runtime
from course_lib.data import load_movielens
from course_lib.models.sasrec_text import VARIANTS
from course_lib.models.text_zero_shot import TextZeroShot
from course_lib.recipes import text as text_recipes
from course_lib.recipes.text import select_decay
from course_lib.sequences import leave_one_out
from course_lib.text import DEFAULT_TEMPLATE
from course_lib.text_cache import embed_items

from common import summarize_runs, write_json  # benchmarks/common.py

RESULTS = Path(__file__).resolve().parent / "results"
HEAD_FRACTION, COLD_FRACTION, COLD_SPLIT_SEED = 0.2, 0.1, 42
COLD_MODELS = [("id", False), ("text", False), ("fusion", False), ("text", True), ("fusion", True)]


def group_metrics(model, split, groups) -> dict:
    """Test HR@10 / NDCG@10 overall and per target group, flattened: ``ndcg@10_head``, ``hr@10_all``, ..."""
    table = coldstart.evaluate_by_group(model, split, groups)
    return {f"{metric}_{group}": float(table.loc[group, metric]) for group in table.index
            for metric in ("hr@10", "ndcg@10")}


def variant_row(split, variant: str, seed: int, text_emb, groups, fast: bool) -> dict:
    """Train one (variant, seed) and return its row: validation, test overall and by group, epochs, time."""
    result = text_recipes.train_variant(split, variant, seed=seed, text_emb=text_emb, fast=fast, progress=False)
    return {"variant": result["model"], "seed": seed, "valid_ndcg@10": result["valid"]["ndcg@10"],
            **group_metrics(result["recommender"], split, groups), "epochs_to_best": result["epochs_to_best"],
            "seconds": result["total_seconds"]}


def cold_rows(log: pd.DataFrame, items: pd.DataFrame, seed: int, fast: bool, best_decay: float) -> list[dict]:
    """HR@10 / NDCG@10 on cold and warm test targets for the zero-shot scorer and ``COLD_MODELS``."""
    cold = coldstart.cold_start_split(log, COLD_FRACTION, seed=COLD_SPLIT_SEED)
    text_emb = embed_items(items, "ml-100k", None, DEFAULT_TEMPLATE, progress=False).table(cold.split.item_ids)
    models = {"text-zeroshot": TextZeroShot(text_emb, decay=best_decay).fit(cold.split)}
    for variant, masked in COLD_MODELS:
        result = text_recipes.train_variant(cold.split, variant, seed=seed, text_emb=text_emb, mask_unseen=masked,
                                           fast=fast, progress=False)
        models[result["model"]] = result["recommender"]
    return [{"model": name, "seed": seed, "cold_items": len(cold.cold_items),
             **group_metrics(model, cold.split, cold.item_groups())} for name, model in models.items()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--fast", action="store_true", help="tiny budget (smoke test)")
    parser.add_argument("--out", type=Path, default=None, help="JSON output path")
    args = parser.parse_args(argv)
    out = args.out or RESULTS / f"text-variants{'-fast' if args.fast else ''}.json"
    ml = load_movielens("ml-100k")
    split = leave_one_out(ml.interactions)
    text_emb = embed_items(ml.items, "ml-100k", None, DEFAULT_TEMPLATE, progress=False).table(split.item_ids)
    groups = coldstart.popularity_groups(split, HEAD_FRACTION)
    best_decay, valid_by_decay = select_decay(text_emb, split)
    zero_shot = TextZeroShot(text_emb, decay=best_decay).fit(split)
    report = {"dataset": "ml-100k", "device": runtime.device_summary(), "fast": args.fast,
              "encoder": "all-MiniLM-L6-v2 (packaged)", "template": DEFAULT_TEMPLATE,
              "command": "python benchmarks/text_variants.py --seeds " + " ".join(map(str, args.seeds))
                         + (" --fast" if args.fast else ""),
              "zero_shot": {"decay": best_decay, "valid_ndcg@10": valid_by_decay[best_decay],
                            **group_metrics(zero_shot, split, groups)},
              "runs": [], "summary": {}, "cold_start": []}
    for seed in args.seeds:
        for variant in VARIANTS:
            report["runs"].append(variant_row(split, variant, seed, text_emb, groups, args.fast))
            print({k: round(v, 4) if isinstance(v, float) else v for k, v in report["runs"][-1].items()}, flush=True)
            report["summary"] = {name: summarize_runs([{k: v for k, v in r.items() if k != "variant"}
                                                       for r in report["runs"] if r["variant"] == name])
                                 for name in dict.fromkeys(r["variant"] for r in report["runs"])}
            write_json(report, out)                          # after every run
    report["cold_start"] = cold_rows(ml.interactions, ml.items, args.seeds[0], args.fast, best_decay)
    write_json(report, out)
    print(pd.DataFrame(report["cold_start"]).set_index("model")[["hr@10_cold", "hr@10_warm"]].round(3))
    print("wrote", out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
