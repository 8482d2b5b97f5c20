"""Where language knowledge helps: text-enhanced vs ID-only SASRec on 10-100 % of the training data, on ML-100k.

    python benchmarks/data_fractions.py                # full recipe, seed 0 -> benchmarks/results/data-fractions.json
    python benchmarks/data_fractions.py --seeds 0 1 2  # more seeds (selection and comparisons on seed means)
    python benchmarks/data_fractions.py --fast         # smoke: FAST_OVERRIDES, fractions 10 % and 100 % (-fast.json)
    python benchmarks/data_fractions.py --threads 1    # much faster when other jobs share the cores

Target, stated before running (also in the JSON as ``target``)
---------------------------------------------------------------
"at <= 25 % of the training data, or on items with fewer than 5 training interactions, the best enhanced
variant >= 1.2 x ID-only NDCG@10". The script reports whether it holds, regime by regime (``verdict``); it
never tunes anything on the test split.

Protocol
--------
* ML-100k, the course's leave-one-out split (``sequences.leave_one_out``: per user the last item is the test
  target, the second-to-last the validation target), full ranking over all 1,682 items, history removed.
* Fraction p of the training data (``subsample_training``): every user keeps the MOST RECENT ceil(p * n) of
  the n items of their training part (at least 1); validation and test targets are unchanged, so every
  fraction is evaluated on the same 943 test targets. The older items are gone entirely -- not trained on,
  not in the model's input, not removed from the candidates -- as if the log had started later.
* Per fraction and seed: ID-only SASRec (``recipes.sasrec.train_sasrec``, the course recipe) and the text
  variants of ``recipes.text.train_variant`` ("text": frozen MiniLM text + learned projection, "text-init":
  text-initialised IDs, "fusion": ID + projected text), same recipe, early stopping on validation NDCG@10.
  The items' text: all-MiniLM-L6-v2 (packaged) on "Title (year). Genres: ..." (``text.DEFAULT_TEMPLATE``).
* The best enhanced variant of a fraction is the text variant with the highest VALIDATION NDCG@10 (mean over
  the seeds run). The test split is ranked once per trained model; every test number below comes from
  those ranks.
* Reported per fraction and model: test NDCG@10 and HR@10 with a 95 % percentile bootstrap CI over users
  (1,000 resamples); NDCG@10 / HR@10 by target popularity bucket and by history-length bucket:
    - popularity of the TEST TARGET item: "0" = the item never occurs in THIS FRACTION's training data (cold
      for the model at that fraction); otherwise the item's count in the FULL (100 %) training parts:
      "1-4", "5-19", ">=20". At 100 % both counts agree. "rare" (< 5 training interactions) = "0" or "1-4".
    - history length of the USER: length of the training part in the FULL split (so a user stays in the same
      bucket at every fraction): "<=20", "21-50", "51-150", ">150".
* Ratio enhanced / ID-only of mean NDCG@10 with a paired comparison (``metrics.compare_values``; for one seed
  it is ``compare_paired`` on the two models' ranks: bootstrap CI of the per-user difference, sign-flip
  p-value, wins/losses) and a paired-bootstrap 95 % CI of the ratio, overall and on rare targets. With
  several seeds the per-user NDCG@10 is averaged over seeds first.
* Cold items: ``coldstart.cold_start_split`` (10 % of the items held out of all training parts, seed 42)
  with ID-only vs the best variant at 100 % (and that variant with never-seen items kept out of the training
  softmax, "-masked"). ``--cold auto`` reads these rows from ``benchmarks/results/text-variants.json``
  (full recipe, seed 0) when that file holds the chosen variant, and trains them (first seed) otherwise;
  ``cold_start.source`` says which.

How the verdict decides (``judge``): the target "enhanced >= 1.2 x ID-only" is tested as the margin
mean_enhanced - 1.2 x mean_ID >= 0 (defined even where ID-only scores 0), with a paired bootstrap CI over
users: ``decision`` = "holds" when the whole CI is above 0, "fails" when it is below 0, "uncertain" when it
contains 0, "undefined" when neither model has a single hit; ``holds`` is the point estimate alone. At 100 %
only 16 of the 943 test targets have fewer than 5 training interactions (3 of them none), so the rare-item
verdict rests on few users: read its CI (``rare_items_by_fraction`` has more users at smaller fractions).

Duration (2 CPU cores). Measured here on a machine shared with other jobs (load ~6), ``--threads 1``: the
--fast smoke takes about 2.5 min (10 % and 100 %, 4 epochs per model, 8 models, cold-start rows read from
the stored file; 10 % + 25 % alone: 1.2 min); one full-recipe ID-only model at 10 % stopped after 20 epochs
in 36 s. On idle cores the full recipe takes 1-2 min per model at 100 % (text-variants.json: 58-125 s) and
less with less data, so the full run is about 15-25 min per seed (16 models) plus about 5 min when the
cold-start rows must be trained (3 models); on a busy machine expect 2-3x that, and pass ``--threads 1``.

JSON schema (``benchmarks/results/data-fractions.json``, written after every trained model; ``load_fractions``)
------------------------------------------------------------------------------------------------------------
Fraction keys are percentages as strings: "10", "25", "50", "100". Bucket metric dicts are
``{"users": int, "hr@10": float|null, "ndcg@10": float|null}`` (null for an empty bucket).

    schema: 1; dataset, device, fast, command, encoder, template
    target: the sentence above; target_ratio: 1.2
    protocol: {split, subsampling, fractions [float], seeds [int], id_model, candidates [variant],
               selection, popularity_buckets, history_buckets, rare, bootstrap, recipe {settings}, cold_start}
    data: {fkey: {fraction, train_rows, items_in_training, test_targets_by_popularity {bucket: users}}}
    runs: [{fraction, fraction_key, seed, variant ("id"|"text"|"text-init"|"fusion"), model (e.g. "sasrec-fusion"),
            valid_ndcg@10, valid_hr@10, test {ndcg@10 {mean, low, high}, hr@10 {mean, low, high}},
            test_rare {users, hr@10, ndcg@10}, by_popularity {bucket: metrics}, by_history {bucket: metrics},
            epochs, epochs_to_best, seconds}]
    fractions: {fkey: {fraction, seeds [int],
                       chosen {variant, model, valid_ndcg@10 {variant: mean over seeds}, id_valid_ndcg@10},
                       comparison {all, rare: {users, metric, mean_a (enhanced), mean_b (ID-only), diff, low, high,
                                                p_value, wins, losses, ties, ratio, ratio_low, ratio_high,
                                                margin, margin_low, margin_high} | null},
                       ratio_by_popularity {bucket: ratio|null}, ratio_by_history {bucket: ratio|null}}}
    cold_start: {source, seed, variant, cold_items, rows [{model, seed, cold_items, hr@10_all, ndcg@10_all,
                 hr@10_cold, ndcg@10_cold, hr@10_warm, ndcg@10_warm}], note} | {source: "skipped", reason}
    verdict: {threshold, at_10pct, at_25pct, rare_items (at 100 %): {fraction, variant, users, mean_enhanced,
              mean_id, ratio, ratio_low, ratio_high, margin_low, margin_high, holds (bool|null),
              decision ("holds"|"fails"|"uncertain"|"undefined"|"not run")},
              rare_items_by_fraction {fkey: same}, cold_items {variant, id_ndcg@10_cold, best_ndcg@10_cold,
              best_masked_ndcg@10_cold}, holds_somewhere, holds_everywhere, sentence}

Ratios are null where ID-only's NDCG@10 is 0 (e.g. on cold items, where ID-only cannot score at all).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from course_lib import coldstart, runtime
from course_lib.metrics import bootstrap_ci, compare_values, evaluation_ranks, per_user
from course_lib.models.sasrec_text import VARIANTS
from course_lib.recipes import text as text_recipes
from course_lib.recipes.sasrec import DEFAULTS, FAST_OVERRIDES, train_sasrec
from course_lib.sequences import SplitData

from common import write_json  # benchmarks/common.py

RESULTS = Path(__file__).resolve().parent / "results"
STORED_COLD = RESULTS / "text-variants.json"
SCHEMA = 1
TARGET_RATIO = 1.2
TARGET = ("at <= 25 % of the training data, or on items with fewer than 5 training interactions, the best "
          "enhanced variant >= 1.2 x ID-only NDCG@10")
FRACTIONS = (0.1, 0.25, 0.5, 1.0)
FAST_FRACTIONS = (0.1, 1.0)
CANDIDATES = ("text", "text-init", "fusion")           # the enhanced variants (course_lib.models.sasrec_text.VARIANTS)
MODEL_NAMES = {"id": "sasrec", "text": "sasrec-text", "text-init": "sasrec-textinit", "fusion": "sasrec-fusion"}
assert set(CANDIDATES) < set(VARIANTS) and "id" in VARIANTS, VARIANTS
POPULARITY_BUCKETS = ("0", "1-4", "5-19", ">=20")
RARE_BUCKETS = ("0", "1-4")
HISTORY_BUCKETS = ("<=20", "21-50", "51-150", ">150")
COLD_FRACTION, COLD_SPLIT_SEED = 0.1, 42
NUM_RESAMPLES, CONFIDENCE = 1000, 0.95
K = 10


# ---------------------------------------------------------------------------------------------- data helpers

def subsample_training(split: SplitData, fraction: float) -> SplitData:
    """``split`` with every user's training part cut to its MOST RECENT ``ceil(fraction * n)`` items (at least 1).

    Validation and test targets (and users, items, ids) are unchanged; ``fraction=1.0`` returns an equal split.
    ``ceil`` is taken after rounding to 9 decimals, so that 0.1 * 30 keeps 3 items, not 4.
    """
    if not 0.0 < fraction <= 1.0:                          # also rejects NaN
        raise ValueError(f"fraction must lie in (0, 1], got {fraction}")
    keep = [min(len(seq), max(1, math.ceil(round(fraction * len(seq), 9)))) for seq in split.train]
    return dataclasses.replace(split, train=[seq[len(seq) - k:] for seq, k in zip(split.train, keep)],
                               train_times=[t[len(t) - k:] for t, k in zip(split.train_times, keep)])


def popularity_bucket(full_counts, fraction_counts) -> np.ndarray:
    """Bucket label per item from its training counts: "0" if it never occurs in the fraction's training data,
    else by its count in the FULL training data: "1-4", "5-19", ">=20" (see ``POPULARITY_BUCKETS``).

    ``full_counts``, ``fraction_counts``: arrays of the same shape (e.g. ``split.train_item_counts()[targets]``).
    """
    full, part = np.asarray(full_counts), np.asarray(fraction_counts)
    if full.shape != part.shape:
        raise ValueError(f"count arrays differ in shape: {full.shape} vs {part.shape}")
    if np.any(part > full):
        raise ValueError("a fraction's count exceeds the full count: the fraction must be a subset of the full data")
    return np.select([part == 0, full < 5, full < 20], list(POPULARITY_BUCKETS[:3]),
                     POPULARITY_BUCKETS[3]).astype(object)


def history_bucket(lengths) -> np.ndarray:
    """Bucket label per user from the length of the training part: "<=20", "21-50", "51-150", ">150"."""
    lengths = np.asarray(lengths)
    return np.select([lengths <= 20, lengths <= 50, lengths <= 150], list(HISTORY_BUCKETS[:3]),
                     HISTORY_BUCKETS[3]).astype(object)


def fraction_key(fraction: float) -> str:
    """0.1 -> "10", 0.25 -> "25", 1.0 -> "100" (the JSON's keys)."""
    return f"{round(fraction * 100, 6):g}"


# ---------------------------------------------------------------------------------------------- statistics

def bucket_metrics(ranks: np.ndarray, labels: np.ndarray, buckets) -> dict:
    """``{bucket: {"users", "hr@10", "ndcg@10"}}`` from test ranks (U,) and one label per user."""
    out = {}
    for bucket in buckets:
        chosen = labels == bucket
        out[bucket] = {"users": int(chosen.sum()), **coldstart.metrics_from_ranks(ranks[chosen], K)}
    return {b: {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in m.items()}
            for b, m in out.items()}


def safe_ratio(a: float, b: float) -> float | None:
    """a / b, or None when b is 0 (or either is NaN/None)."""
    if a is None or b is None or not np.isfinite(a) or not np.isfinite(b) or b == 0:
        return None
    return float(a / b)


def ratio_ci(a, b, num_resamples: int = NUM_RESAMPLES, confidence: float = CONFIDENCE, seed: int = 0) -> tuple:
    """(ratio, low, high): mean(a) / mean(b) with a paired percentile-bootstrap CI (same users resampled for both).

    Resamples where mean(b) is 0 are left out; None where no resample (or the full sample) has mean(b) > 0.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if len(a) != len(b) or len(a) == 0:
        raise ValueError(f"ratio_ci needs two non-empty arrays of the same users: {len(a)} vs {len(b)}")
    ratio = safe_ratio(a.mean(), b.mean())
    picks = np.random.default_rng(seed).integers(0, len(a), size=(num_resamples, len(a)))
    num, den = a[picks].mean(axis=1), b[picks].mean(axis=1)
    ok = den > 0
    if ratio is None or not ok.any():
        return ratio, None, None
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(num[ok] / den[ok], [tail, 1.0 - tail])
    return ratio, float(low), float(high)


def margin_ci(a, b, threshold: float = TARGET_RATIO, num_resamples: int = NUM_RESAMPLES,
              confidence: float = CONFIDENCE, seed: int = 0) -> tuple:
    """(margin, low, high): mean(a) - threshold * mean(b) with a paired percentile-bootstrap CI.

    ``margin >= 0`` is the target "a >= threshold x b" written without a division, so it stays defined when
    ID-only (b) scores 0; for mean(b) > 0 it has the sign of ratio - threshold.
    """
    diff = np.asarray(a, dtype=np.float64) - threshold * np.asarray(b, dtype=np.float64)
    return bootstrap_ci(diff, num_resamples, confidence, seed)


def paired(enhanced, id_only, threshold: float = TARGET_RATIO) -> dict | None:
    """Paired comparison of per-user NDCG@10 (enhanced = a, ID-only = b), the ratio with its CI and the margin
    mean(a) - threshold * mean(b) with its CI; None when there are no users."""
    if len(enhanced) == 0:
        return None
    out = compare_values(enhanced, id_only, f"ndcg@{K}", NUM_RESAMPLES, CONFIDENCE)
    ratio, low, high = ratio_ci(enhanced, id_only)
    margin, margin_low, margin_high = margin_ci(enhanced, id_only, threshold)
    return {"users": int(len(enhanced)), **out, "ratio": ratio, "ratio_low": low, "ratio_high": high,
            "margin": margin, "margin_low": margin_low, "margin_high": margin_high}


def judge(comparison: dict | None, threshold: float = TARGET_RATIO, fraction: float | None = None,
          variant: str | None = None) -> dict:
    """One regime of the verdict from a ``paired`` dict.

    ``holds``: mean_a >= threshold x mean_b (the point estimate; None when neither model has a single hit).
    ``decision``: "holds" when the CI of the margin mean_a - threshold x mean_b lies above 0, "fails" when it
    lies below 0, "uncertain" when it contains 0; "undefined" when neither model has a hit; "not run" when
    there is no comparison (fraction not run, or no such targets).
    """
    base = {"fraction": fraction, "variant": variant, "users": None, "mean_enhanced": None, "mean_id": None,
            "ratio": None, "ratio_low": None, "ratio_high": None, "margin_low": None, "margin_high": None,
            "holds": None, "decision": "not run"}
    if comparison is None:
        return base
    base.update({k: comparison.get(k) for k in ("users", "ratio", "ratio_low", "ratio_high", "margin_low",
                                                "margin_high")})
    a, b = comparison["mean_a"], comparison["mean_b"]
    base.update({"mean_enhanced": a, "mean_id": b})
    if a == 0 and b == 0:
        base["decision"] = "undefined"
        return base
    base["holds"] = bool(a >= threshold * b - 1e-12)
    low, high = comparison["margin_low"], comparison["margin_high"]
    base["decision"] = "holds" if low > 0 else "fails" if high < 0 else "uncertain"
    return base


def verdict(fractions: dict, cold: dict | None = None, threshold: float = TARGET_RATIO) -> dict:
    """The ``verdict`` block from the ``fractions`` block (``{fkey: {"comparison": {"all", "rare"}, "chosen"}}``).

    Regimes: all test targets at 10 % and at 25 %, and rare targets (< 5 training interactions) at 100 %;
    ``holds_somewhere`` / ``holds_everywhere`` over the regimes that were run (None if none was).
    """
    def regime(key: str, part: str) -> dict:
        entry = fractions.get(key)
        if entry is None:
            return judge(None, threshold)
        return judge(entry["comparison"].get(part), threshold, entry["fraction"], entry["chosen"]["variant"])

    out = {"threshold": threshold, "at_10pct": regime("10", "all"), "at_25pct": regime("25", "all"),
           "rare_items": regime("100", "rare"),
           "rare_items_by_fraction": {key: regime(key, "rare") for key in fractions}}
    if cold and cold.get("rows"):
        by_model = {row["model"]: row for row in cold["rows"]}
        best = MODEL_NAMES.get(cold.get("variant"), "")
        out["cold_items"] = {"variant": cold.get("variant"), "source": cold.get("source"),
                             "id_ndcg@10_cold": by_model.get("sasrec", {}).get("ndcg@10_cold"),
                             "best_ndcg@10_cold": by_model.get(best, {}).get("ndcg@10_cold"),
                             "best_masked_ndcg@10_cold": by_model.get(best + "-masked", {}).get("ndcg@10_cold")}
    else:
        out["cold_items"] = None
    judged = [out[k]["holds"] for k in ("at_10pct", "at_25pct", "rare_items") if out[k]["holds"] is not None]
    out["holds_somewhere"] = any(judged) if judged else None
    out["holds_everywhere"] = all(judged) if judged else None
    out["sentence"] = verdict_sentence(out)
    return out


def verdict_sentence(v: dict) -> str:
    """One readable line per regime, e.g. "10 %: ratio 1.05 [0.93, 1.18] -> fails; ..."."""
    def fmt(name: str, r: dict) -> str:
        if r["mean_id"] is None:
            return f"{name}: {r['decision']}"
        if r["ratio"] is None:
            return (f"{name}: ID-only NDCG@10 {r['mean_id']:.4f}, {r['variant']} {r['mean_enhanced']:.4f} on "
                    f"{r['users']} users (no ratio) -> {r['decision']}")
        ci = (f" [{r['ratio_low']:.2f}, {r['ratio_high']:.2f}]" if r["ratio_low"] is not None else "")
        return f"{name}: {r['variant']} / ID-only = {r['ratio']:.2f}{ci} on {r['users']} users -> {r['decision']}"
    parts = [fmt("10 % of the data", v["at_10pct"]), fmt("25 % of the data", v["at_25pct"]),
             fmt("targets with < 5 training interactions (100 %)", v["rare_items"])]
    head = {True: "By point estimate the target holds in at least one regime",
            False: "By point estimate the target holds in no regime",
            None: "Nothing to judge yet"}[v["holds_somewhere"]]
    return f"{head} (threshold {v['threshold']}x): " + "; ".join(parts) + "."


# ---------------------------------------------------------------------------------------------- training

def train_model(split: SplitData, variant: str, seed: int, text_emb, fast: bool, overrides: dict,
                mask_unseen: bool = False) -> dict:
    """ID-only SASRec via ``train_sasrec`` (the course recipe), a text variant via ``train_variant``."""
    if variant == "id" and not mask_unseen:
        return train_sasrec(split, seed=seed, progress=False, **{**(FAST_OVERRIDES if fast else {}), **overrides})
    return text_recipes.train_variant(split, variant, seed=seed, text_emb=text_emb, fast=fast, progress=False,
                                      mask_unseen=mask_unseen, **overrides)


def run_row(result: dict, split: SplitData, fraction: float, seed: int, variant: str, pop_labels: np.ndarray,
            hist_labels: np.ndarray) -> tuple[dict, np.ndarray]:
    """Rank the test split ONCE with the trained model; the run's JSON row and its (U,) test ranks."""
    ranks = evaluation_ranks(result["recommender"], split, "test", max_len=result["params"]["max_len"])
    test = {}
    for metric in (f"ndcg@{K}", f"hr@{K}"):
        mean, low, high = bootstrap_ci(per_user(ranks, metric), NUM_RESAMPLES, CONFIDENCE)
        test[metric] = {"mean": mean, "low": low, "high": high}
    rare = np.isin(pop_labels, RARE_BUCKETS)
    row = {"fraction": fraction, "fraction_key": fraction_key(fraction), "seed": seed, "variant": variant,
           "model": MODEL_NAMES[variant], "valid_ndcg@10": float(result["valid"][f"ndcg@{K}"]),
           "valid_hr@10": float(result["valid"][f"hr@{K}"]), "test": test,
           "test_rare": bucket_metrics(ranks, np.where(rare, "rare", "other"), ["rare"])["rare"],
           "by_popularity": bucket_metrics(ranks, pop_labels, POPULARITY_BUCKETS),
           "by_history": bucket_metrics(ranks, hist_labels, HISTORY_BUCKETS),
           "epochs": int(result["epochs"]), "epochs_to_best": int(result["epochs_to_best"]),
           "seconds": float(result["total_seconds"])}
    return row, ranks


def compare_fraction(fraction: float, runs: list[dict], ranks: dict, variants, pop_labels, hist_labels) -> dict | None:
    """The ``fractions[fkey]`` entry from the finished runs of one fraction (None until one seed has them all).

    The best enhanced variant = highest mean VALIDATION NDCG@10 over the seeds where every model finished.
    """
    key = fraction_key(fraction)
    done = {}
    for row in runs:
        if row["fraction_key"] == key:
            done.setdefault(row["seed"], {})[row["variant"]] = row
    seeds = sorted(s for s, rows in done.items() if all(v in rows for v in ("id", *variants)))
    if not seeds:
        return None
    valid = {v: float(np.mean([done[s][v]["valid_ndcg@10"] for s in seeds])) for v in variants}
    best = max(variants, key=lambda v: valid[v])               # ties: the first in ``variants``
    ndcg = {v: np.mean([per_user(ranks[(key, s, v)], f"ndcg@{K}") for s in seeds], axis=0) for v in ("id", best)}
    rare = np.isin(pop_labels, RARE_BUCKETS)

    def ratios(labels, buckets):
        return {b: safe_ratio(ndcg[best][labels == b].mean(), ndcg["id"][labels == b].mean())
                if (labels == b).any() else None for b in buckets}

    return {"fraction": fraction, "seeds": seeds,
            "chosen": {"variant": best, "model": MODEL_NAMES[best], "valid_ndcg@10": valid,
                       "id_valid_ndcg@10": float(np.mean([done[s]["id"]["valid_ndcg@10"] for s in seeds]))},
            "comparison": {"all": paired(ndcg[best], ndcg["id"]), "rare": paired(ndcg[best][rare], ndcg["id"][rare])},
            "ratio_by_popularity": ratios(pop_labels, POPULARITY_BUCKETS),
            "ratio_by_history": ratios(hist_labels, HISTORY_BUCKETS)}


def stored_cold_rows(variant: str, path: Path = STORED_COLD) -> list[dict] | None:
    """The cold-start rows of ID-only SASRec and ``variant`` (and its "-masked" run) from text_variants.py's
    full-recipe JSON, or None when the file is missing, a smoke run, or lacks ``variant``."""
    if not path.exists():
        return None
    stored = json.loads(path.read_text(encoding="utf-8"))
    rows = {row["model"]: row for row in stored.get("cold_start", [])}
    wanted = ["sasrec", MODEL_NAMES[variant], MODEL_NAMES[variant] + "-masked"]
    if stored.get("fast") or wanted[1] not in rows or "sasrec" not in rows:
        return None
    return [rows[name] for name in wanted if name in rows]


def trained_cold_rows(interactions: pd.DataFrame, item_ids: np.ndarray, text_emb, variant: str, seed: int,
                      fast: bool, overrides: dict) -> tuple[list[dict], int]:
    """Train ID-only SASRec, ``variant`` and ``variant`` masked on ``coldstart.cold_start_split``; cold/warm rows."""
    cold = coldstart.cold_start_split(interactions, COLD_FRACTION, seed=COLD_SPLIT_SEED)
    if not np.array_equal(cold.split.item_ids, item_ids):
        raise ValueError("the cold-start split's item ids differ from the main split's: text table misaligned")
    models = [("id", False), (variant, False), (variant, True)]
    rows = []
    for name, masked in models:
        start = time.perf_counter()
        result = train_model(cold.split, name, seed, text_emb, fast, overrides, mask_unseen=masked)
        table = coldstart.evaluate_by_group(result["recommender"], cold.split, cold.item_groups(),
                                            max_len=result["params"]["max_len"])
        row = {"model": MODEL_NAMES[name] + ("-masked" if masked else ""), "seed": seed,
               "cold_items": int(len(cold.cold_items))}
        row.update({f"{m}_{g}": float(table.loc[g, m]) for g in table.index for m in (f"hr@{K}", f"ndcg@{K}")})
        row.update({f"users_{g}": int(table.loc[g, "users"]) for g in table.index})
        rows.append(row)
        print(f"  cold start  {row['model']:<24} ndcg@10 cold {row.get('ndcg@10_cold', float('nan')):.4f} "
              f"warm {row.get('ndcg@10_warm', float('nan')):.4f}  ({time.perf_counter() - start:.0f} s)", flush=True)
    return rows, int(len(cold.cold_items))


def cold_block(mode: str, report: dict, interactions, item_ids, text_emb, seed: int, fast: bool,
               overrides: dict, stored_path: Path) -> dict:
    """The ``cold_start`` block: rows read from ``stored_path`` or trained here (``mode``: auto/stored/train/skip)."""
    chosen = report["fractions"].get("100")
    if mode == "skip":
        return {"source": "skipped", "reason": "--cold skip"}
    if chosen is None:
        return {"source": "skipped", "reason": "the 100 % fraction was not run: no chosen variant"}
    variant = chosen["chosen"]["variant"]
    note = ("ID-only SASRec cannot score items it never trained on (full cross-entropy pushes them down), so "
            "its cold NDCG@10 is 0 and a ratio is undefined; compare the absolute numbers.")
    if mode in ("auto", "stored"):
        rows = stored_cold_rows(variant, stored_path)
        if rows is not None:
            return {"source": f"read from {stored_path.name} (text_variants.py, full recipe, its first seed; "
                              "not retrained)", "seed": rows[0]["seed"], "variant": variant,
                    "cold_items": rows[0]["cold_items"], "rows": rows, "note": note}
        if mode == "stored":
            return {"source": "skipped", "reason": f"{stored_path.name} lacks full-recipe cold-start rows for "
                                                   f"{MODEL_NAMES[variant]}"}
    if interactions is None:
        return {"source": "skipped", "reason": "no interaction log given to build the cold-start split"}
    rows, cold_items = trained_cold_rows(interactions, item_ids, text_emb, variant, seed, fast, overrides)
    return {"source": "trained here" + (" (fast)" if fast else ""), "seed": seed, "variant": variant,
            "cold_items": cold_items, "rows": rows, "note": note}


# ---------------------------------------------------------------------------------------------- the benchmark

def run(split: SplitData, text_emb, *, fractions=FRACTIONS, seeds=(0,), fast: bool = False, out: Path | None = None,
        variants=CANDIDATES, overrides: dict | None = None, interactions: pd.DataFrame | None = None,
        cold: str = "auto", stored_cold: Path = STORED_COLD, header: dict | None = None) -> dict:
    """Train and evaluate every (fraction, seed, model); write ``out`` after every model; return the report.

    ``split``: the full leave-one-out split; ``text_emb``: (N+1, T) item texts aligned with it; ``overrides``:
    recipe settings on top of the course defaults (and of ``FAST_OVERRIDES`` when ``fast``); ``interactions``:
    the log the cold-start split is built from (needed only to train the cold-start rows).
    """
    overrides = dict(overrides or {})
    unknown = [v for v in variants if v not in CANDIDATES]
    if unknown or not variants:
        raise ValueError(f"variants must be a non-empty subset of {CANDIDATES}, got {variants}")
    fractions = sorted({float(f) for f in fractions})
    for f in fractions:
        if not 0.0 < f <= 1.0:
            raise ValueError(f"fraction must lie in (0, 1], got {f}")
    full_counts = split.train_item_counts()
    hist_labels = history_bucket([len(seq) for seq in split.train])
    settings = {**DEFAULTS, **(FAST_OVERRIDES if fast else {}), **overrides}
    report = {
        "schema": SCHEMA, **(header or {}), "fast": fast, "target": TARGET, "target_ratio": TARGET_RATIO,
        "protocol": {
            "split": "leave-one-out (course tie-break), full ranking over all items, history removed",
            "subsampling": "each user keeps the most recent ceil(p * n) of the n items of the training part "
                           "(at least 1); validation and test targets unchanged",
            "fractions": fractions, "seeds": list(seeds), "id_model": "sasrec (recipes.sasrec.train_sasrec)",
            "candidates": list(variants),
            "selection": "best enhanced variant = highest mean VALIDATION NDCG@10 over seeds, per fraction; "
                         "the test split is ranked once per trained model",
            "popularity_buckets": {"labels": list(POPULARITY_BUCKETS),
                                   "counts": "test target's occurrences in the training parts: '0' = none in THIS "
                                             "fraction's training data; otherwise by the FULL (100 %) count"},
            "history_buckets": {"labels": list(HISTORY_BUCKETS),
                                "lengths": "the user's training-part length in the FULL (100 %) split"},
            "rare": "test targets with fewer than 5 training interactions: buckets '0' and '1-4'",
            "bootstrap": {"resamples": NUM_RESAMPLES, "confidence": CONFIDENCE, "over": "users"},
            "recipe": settings,
            "cold_start": f"coldstart.cold_start_split({COLD_FRACTION}, seed={COLD_SPLIT_SEED}); ID-only vs the "
                          "best variant at 100 % (and its masked run)"},
        "data": {}, "runs": [], "fractions": {}, "cold_start": None, "verdict": None}
    ranks, labels_of = {}, {}

    def save():
        report["verdict"] = verdict(report["fractions"], report["cold_start"])
        if out is not None:
            write_json(report, out)

    for fraction in fractions:
        key = fraction_key(fraction)
        part = subsample_training(split, fraction)
        part_counts = part.train_item_counts()
        targets = split.test_targets
        pop_labels = popularity_bucket(full_counts[targets], part_counts[targets])
        labels_of[key] = pop_labels
        report["data"][key] = {
            "fraction": fraction, "train_rows": int(sum(len(s) for s in part.train)),
            "items_in_training": int((part_counts[1:] > 0).sum()),
            "test_targets_by_popularity": {b: int((pop_labels == b).sum()) for b in POPULARITY_BUCKETS}}
        print(f"== {key} % of the training data: {report['data'][key]['train_rows']} rows, "
              f"{report['data'][key]['items_in_training']} items seen, rare test targets "
              f"{int(np.isin(pop_labels, RARE_BUCKETS).sum())}", flush=True)
        for seed in seeds:
            for variant in ("id", *variants):
                result = train_model(part, variant, seed, text_emb, fast, overrides)
                row, ranks[(key, seed, variant)] = run_row(result, part, fraction, seed, variant, pop_labels,
                                                           hist_labels)
                report["runs"].append(row)
                print(f"  {key:>3} %  seed {seed}  {row['model']:<16} valid {row['valid_ndcg@10']:.4f}  test "
                      f"{row['test']['ndcg@10']['mean']:.4f}  rare {row['test_rare']['ndcg@10'] or 0:.4f} "
                      f"({row['test_rare']['users']})  epochs {row['epochs']}  {row['seconds']:.0f} s", flush=True)
                entry = compare_fraction(fraction, report["runs"], ranks, variants, pop_labels, hist_labels)
                if entry is not None:
                    report["fractions"][key] = entry
                save()                                              # after every trained model
    report["cold_start"] = cold_block(cold, report, interactions, split.item_ids, text_emb, seeds[0], fast,
                                      overrides, stored_cold)
    save()
    return report


def final_table(report: dict) -> pd.DataFrame:
    """One row per fraction: ID-only and best-variant test NDCG@10, ratios overall and on rare targets."""
    rows = []
    for key, entry in report["fractions"].items():
        comp = entry["comparison"]
        rare = comp["rare"] or {}
        rows.append({"fraction %": key, "best variant": entry["chosen"]["variant"],
                     "id ndcg@10": comp["all"]["mean_b"], "best ndcg@10": comp["all"]["mean_a"],
                     "ratio": comp["all"]["ratio"], "ratio CI": _ci(comp["all"]), "p": comp["all"]["p_value"],
                     "rare users": rare.get("users", 0), "rare ratio": rare.get("ratio"), "rare ratio CI": _ci(rare)})
    return pd.DataFrame(rows).set_index("fraction %") if rows else pd.DataFrame()


def _ci(c: dict) -> str:
    return "" if not c or c.get("ratio_low") is None else f"[{c['ratio_low']:.2f}, {c['ratio_high']:.2f}]"


def load_fractions(path: str | Path | None = None) -> dict:
    """The benchmark's JSON (default ``benchmarks/results/data-fractions.json``) as a dict; see the module docstring
    for its schema. ``runs_frame(report)`` flattens its runs into a table for plotting."""
    path = Path(path) if path is not None else RESULTS / "data-fractions.json"
    report = json.loads(path.read_text(encoding="utf-8"))
    if report.get("schema") != SCHEMA:
        raise ValueError(f"{path}: schema {report.get('schema')!r}, expected {SCHEMA}")
    return report


def runs_frame(report: dict) -> pd.DataFrame:
    """One row per run: fraction, seed, variant, model, valid/test NDCG@10 (+ CI), ``ndcg@10_<bucket>`` columns."""
    rows = []
    for run_ in report["runs"]:
        row = {k: run_[k] for k in ("fraction", "seed", "variant", "model", "valid_ndcg@10", "epochs", "seconds")}
        row.update({"test_ndcg@10": run_["test"]["ndcg@10"]["mean"], "test_ndcg@10_low": run_["test"]["ndcg@10"]["low"],
                    "test_ndcg@10_high": run_["test"]["ndcg@10"]["high"], "test_hr@10": run_["test"]["hr@10"]["mean"],
                    "ndcg@10_rare": run_["test_rare"]["ndcg@10"]})
        for group in ("by_popularity", "by_history"):
            row.update({f"ndcg@10_{b}": m["ndcg@10"] for b, m in run_[group].items()})
        rows.append(row)
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--fractions", type=float, nargs="+", default=None,
                        help=f"fractions of the training data (default {FRACTIONS}; --fast: {FAST_FRACTIONS})")
    parser.add_argument("--variants", nargs="+", choices=CANDIDATES, default=list(CANDIDATES),
                        help="the enhanced variants to choose from on validation")
    parser.add_argument("--cold", choices=("auto", "stored", "train", "skip"), default="auto",
                        help="cold-start rows: read from text-variants.json when it holds them (auto), only read "
                             "(stored), always train (train), or leave out (skip)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's choice); 1 is much faster on a busy machine")
    parser.add_argument("--fast", action="store_true", help="tiny budget (smoke test)")
    parser.add_argument("--out", type=Path, default=None, help="JSON output path")
    args = parser.parse_args(argv)
    if args.threads is not None:
        import torch
        torch.set_num_threads(args.threads)

    from course_lib.data import load_movielens
    from course_lib.sequences import leave_one_out
    from course_lib.text import DEFAULT_TEMPLATE
    from course_lib.text_cache import embed_items

    fractions = args.fractions or (FAST_FRACTIONS if args.fast else FRACTIONS)
    out = args.out or RESULTS / f"data-fractions{'-fast' if args.fast else ''}.json"
    ml = load_movielens("ml-100k")
    split = leave_one_out(ml.interactions)
    text_emb = embed_items(ml.items, "ml-100k", None, DEFAULT_TEMPLATE, progress=False).table(split.item_ids)
    command = ("python benchmarks/data_fractions.py --seeds " + " ".join(map(str, args.seeds))
               + (" --fractions " + " ".join(f"{f:g}" for f in args.fractions) if args.fractions else "")
               + (" --variants " + " ".join(args.variants) if list(args.variants) != list(CANDIDATES) else "")
               + (f" --cold {args.cold}" if args.cold != "auto" else "")
               + (f" --threads {args.threads}" if args.threads is not None else "") + (" --fast" if args.fast else ""))
    header = {"dataset": "ml-100k", "device": runtime.device_summary(), "command": command,
              "encoder": "all-MiniLM-L6-v2 (packaged)", "template": DEFAULT_TEMPLATE}
    start = time.perf_counter()
    report = run(split, text_emb, fractions=fractions, seeds=args.seeds, fast=args.fast, out=out,
                 variants=tuple(args.variants), interactions=ml.interactions, cold=args.cold, header=header)
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(final_table(report).round(4))
        if report["cold_start"].get("rows"):
            print(f"cold start ({report['cold_start']['source']}):")
            print(pd.DataFrame(report["cold_start"]["rows"]).set_index("model")
                  [[c for c in ("ndcg@10_cold", "ndcg@10_warm", "ndcg@10_all") if c in report["cold_start"]["rows"][0]]]
                  .round(4))
    print("target:", TARGET)
    print(report["verdict"]["sentence"])
    print(f"wrote {out} ({(time.perf_counter() - start) / 60:.1f} min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
