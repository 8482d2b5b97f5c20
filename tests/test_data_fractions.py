"""benchmarks/data_fractions.py: subsampling the training data, the buckets, the verdict, and a tiny end-to-end run."""

import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import data_fractions as df  # noqa: E402


# ------------------------------------------------------------------------------------------ subsample_training

def test_subsample_keeps_the_most_recent_ceil_p_n_items_per_user(walks):
    split = walks(num_users=20, length=33, num_items=40)          # training parts of 31 items
    for fraction in (0.1, 0.25, 0.5, 0.99):
        part = df.subsample_training(split, fraction)
        for full, cut, full_t, cut_t in zip(split.train, part.train, split.train_times, part.train_times):
            k = math.ceil(fraction * len(full))
            assert len(cut) == k
            np.testing.assert_array_equal(cut, full[-k:])          # the most recent ones, in order
            np.testing.assert_array_equal(cut_t, full_t[-k:])


def test_subsample_ceil_is_not_fooled_by_floating_point(walks):
    split = walks(num_users=5, length=32)                          # n = 30: 0.1 * 30 = 3.0000000000000004
    assert {len(s) for s in df.subsample_training(split, 0.1).train} == {3}
    assert {len(s) for s in df.subsample_training(split, 0.7).train} == {21}


def test_subsample_keeps_at_least_one_item(walks):
    split = walks(num_users=10, length=5)                          # n = 3
    part = df.subsample_training(split, 0.01)
    assert [len(s) for s in part.train] == [1] * 10
    assert all(c[0] == f[-1] for c, f in zip(part.train, split.train))


def test_subsample_leaves_targets_users_and_items_alone(walks):
    split = walks(num_users=15, length=12)
    part = df.subsample_training(split, 0.25)
    for name in ("valid_targets", "test_targets", "valid_times", "test_times", "user_ids", "item_ids"):
        np.testing.assert_array_equal(getattr(part, name), getattr(split, name))
    assert part.num_items == split.num_items and part.item_index == split.item_index
    # the test history is the cut training part + the validation item
    for hist, cut, valid in zip(part.histories("test"), part.train, split.valid_targets):
        np.testing.assert_array_equal(hist, np.append(cut, valid))
    assert sum(map(len, split.train)) == 15 * 10                   # the original split is untouched


def test_subsample_fraction_one_is_the_identity(walks):
    split = walks(num_users=12, length=9)
    same = df.subsample_training(split, 1.0)
    assert len(same.train) == len(split.train)
    for a, b, ta, tb in zip(same.train, split.train, same.train_times, split.train_times):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(ta, tb)
    np.testing.assert_array_equal(same.train_item_counts(), split.train_item_counts())


@pytest.mark.parametrize("fraction", [0.0, -0.5, 1.0001, 2.0, float("nan")])
def test_subsample_rejects_bad_fractions(walks, fraction):
    with pytest.raises(ValueError, match="fraction"):
        df.subsample_training(walks(num_users=3, length=6), fraction)


# ------------------------------------------------------------------------------------------ buckets

def test_popularity_bucket_uses_the_fraction_for_zero_and_the_full_counts_otherwise():
    full = np.array([0, 1, 4, 5, 19, 20, 300, 7, 50])
    part = np.array([0, 1, 2, 1, 0, 3, 100, 0, 1])
    labels = df.popularity_bucket(full, part)
    assert labels.tolist() == ["0", "1-4", "1-4", "5-19", "0", ">=20", ">=20", "0", ">=20"]
    assert np.isin(labels, df.RARE_BUCKETS).tolist() == [True, True, True, False, True, False, False, True, False]


def test_popularity_bucket_rejects_a_fraction_larger_than_the_whole():
    with pytest.raises(ValueError, match="subset"):
        df.popularity_bucket(np.array([3]), np.array([4]))
    with pytest.raises(ValueError, match="shape"):
        df.popularity_bucket(np.array([3, 4]), np.array([1]))


def test_history_bucket_edges():
    lengths = [1, 20, 21, 50, 51, 150, 151, 735]
    assert df.history_bucket(lengths).tolist() == ["<=20", "<=20", "21-50", "21-50", "51-150", "51-150",
                                                   ">150", ">150"]


def test_bucket_metrics_per_bucket_and_empty_bucket_is_null():
    ranks = np.array([1, 3, 100, 1])
    labels = np.array(["a", "a", "b", "b"], dtype=object)
    out = df.bucket_metrics(ranks, labels, ["a", "b", "c"])
    assert out["a"]["users"] == 2 and out["a"]["hr@10"] == 1.0
    assert out["a"]["ndcg@10"] == pytest.approx((1.0 + 1 / math.log2(4)) / 2)
    assert out["b"]["hr@10"] == 0.5
    assert out["c"] == {"users": 0, "hr@10": None, "ndcg@10": None}


def test_fraction_keys():
    assert [df.fraction_key(f) for f in (0.1, 0.25, 0.5, 1.0, 0.05)] == ["10", "25", "50", "100", "5"]


# ------------------------------------------------------------------------------------------ ratios and verdict

def test_ratio_ci_is_paired_and_handles_a_zero_denominator():
    rng = np.random.default_rng(0)
    b = rng.uniform(0.0, 1.0, 400)
    ratio, low, high = df.ratio_ci(1.5 * b, b)
    assert ratio == pytest.approx(1.5) and low == pytest.approx(1.5) and high == pytest.approx(1.5)
    ratio, low, high = df.ratio_ci(b + rng.normal(0, 0.1, 400), b)
    assert low < ratio < high
    assert df.ratio_ci(np.ones(5), np.zeros(5)) == (None, None, None)
    with pytest.raises(ValueError):
        df.ratio_ci(np.ones(3), np.ones(4))


def comparison(ratio, low, high, users=943, id_mean=0.1):
    """A made-up ``paired`` dict: ID-only NDCG@10 ``id_mean``, enhanced ``ratio`` x it, margin CI from the ratio CI."""
    return {"users": users, "mean_a": ratio * id_mean, "mean_b": id_mean, "ratio": ratio, "ratio_low": low,
            "ratio_high": high, "margin_low": (low - 1.2) * id_mean, "margin_high": (high - 1.2) * id_mean}


def fractions_block(all_10, all_25, rare_100, all_100=(1.0, 0.9, 1.1)):
    def entry(fraction, all_, rare):
        return {"fraction": fraction, "chosen": {"variant": "fusion"},
                "comparison": {"all": comparison(*all_), "rare": None if rare is None else comparison(*rare, 16)}}
    return {"10": entry(0.1, all_10, (1.0, 0.5, 1.5)), "25": entry(0.25, all_25, None),
            "100": entry(1.0, all_100, rare_100)}


def test_judge_decisions_at_the_threshold():
    assert df.judge(comparison(1.3, 1.21, 1.4))["decision"] == "holds"
    assert df.judge(comparison(1.2, 1.2, 1.3))["holds"] is True            # >= 1.2 counts
    straddles = df.judge(comparison(1.25, 1.1, 1.4))
    assert straddles["holds"] is True and straddles["decision"] == "uncertain"
    assert df.judge(comparison(1.19, 1.0, 1.3))["holds"] is False
    assert df.judge(comparison(1.05, 0.95, 1.15))["decision"] == "fails"
    assert df.judge(comparison(1.1, 1.0, 1.2))["decision"] == "uncertain"   # the CI reaches the threshold
    assert df.judge(None)["decision"] == "not run" and df.judge(None)["holds"] is None

def test_judge_when_id_only_scores_zero():
    # ID-only never hits (e.g. cold targets): no ratio, but enhanced > 1.2 x 0 is still decided by the margin
    some = {"users": 16, "mean_a": 0.05, "mean_b": 0.0, "ratio": None, "ratio_low": None, "ratio_high": None,
            "margin_low": 0.0, "margin_high": 0.12}
    judged = df.judge(some)
    assert judged["holds"] is True and judged["ratio"] is None and judged["decision"] == "uncertain"
    assert df.judge({**some, "margin_low": 0.01})["decision"] == "holds"
    none = {**some, "mean_a": 0.0, "margin_low": 0.0, "margin_high": 0.0}
    assert df.judge(none)["decision"] == "undefined" and df.judge(none)["holds"] is None


def test_margin_ci_matches_the_ratio_rule():
    rng = np.random.default_rng(1)
    b = rng.uniform(0.0, 1.0, 300)
    assert df.margin_ci(1.3 * b, b)[1] > 0 and df.margin_ci(1.1 * b, b)[2] < 0
    margin, low, high = df.margin_ci(np.full(4, 0.5), np.zeros(4))
    assert margin == low == high == 0.5


def test_verdict_holds_when_scarce_data_gives_at_least_1_2():
    v = df.verdict(fractions_block(all_10=(1.35, 1.25, 1.45), all_25=(1.1, 1.0, 1.19), rare_100=(0.9, 0.5, 1.4)))
    assert v["threshold"] == 1.2
    assert v["at_10pct"]["holds"] is True and v["at_10pct"]["decision"] == "holds"
    assert v["at_25pct"]["holds"] is False and v["at_25pct"]["decision"] == "fails"
    assert v["rare_items"]["holds"] is False and v["rare_items"]["decision"] == "uncertain"
    assert v["rare_items"]["users"] == 16 and v["rare_items"]["fraction"] == 1.0
    assert v["at_10pct"]["variant"] == "fusion"
    assert v["holds_somewhere"] is True and v["holds_everywhere"] is False
    assert set(v["rare_items_by_fraction"]) == {"10", "25", "100"}
    assert v["rare_items_by_fraction"]["25"]["decision"] == "not run"
    assert "holds in at least one regime" in v["sentence"] and "fusion / ID-only = 1.35" in v["sentence"]


def test_verdict_does_not_hold_below_1_2_everywhere():
    v = df.verdict(fractions_block(all_10=(1.19, 1.1, 1.3), all_25=(1.0, 0.9, 1.1), rare_100=(1.1, 0.6, 1.6)))
    assert [v[k]["holds"] for k in ("at_10pct", "at_25pct", "rare_items")] == [False, False, False]
    assert v["holds_somewhere"] is False and v["holds_everywhere"] is False
    assert "holds in no regime" in v["sentence"]


def test_verdict_with_missing_fractions_and_cold_rows():
    cold = {"variant": "text", "source": "trained here",
            "rows": [{"model": "sasrec", "ndcg@10_cold": 0.0}, {"model": "sasrec-text", "ndcg@10_cold": 0.01},
                     {"model": "sasrec-text-masked", "ndcg@10_cold": 0.03}]}
    v = df.verdict({}, cold)
    assert v["at_10pct"]["decision"] == "not run" and v["holds_somewhere"] is None
    assert v["cold_items"]["id_ndcg@10_cold"] == 0.0 and v["cold_items"]["best_masked_ndcg@10_cold"] == 0.03


# ------------------------------------------------------------------------------------------ end to end (seconds)

def test_run_end_to_end_on_a_walk_split(tmp_path, one_thread):
    import json

    import pandas as pd

    from course_lib.sequences import leave_one_out

    rng = np.random.default_rng(0)
    rows = [(u, (s + t) % 20 + 1, 1000 + t) for u, s in enumerate(rng.integers(20, size=40)) for t in range(10)]
    log = pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"])
    split = leave_one_out(log)
    text_emb = rng.normal(size=(split.num_items + 1, 8)).astype(np.float32)
    overrides = {"num_epochs": 1, "eval_every": 1, "patience": 1, "hidden_dim": 16, "max_len": 8, "batch_size": 64}
    out = tmp_path / "fractions.json"
    report = df.run(split, text_emb, fractions=(0.5, 1.0), seeds=(0,), out=out, variants=("text", "fusion"),
                    overrides=overrides, interactions=log, cold="train")
    saved = df.load_fractions(out)
    assert saved["target"] == df.TARGET and saved["verdict"] == json.loads(json.dumps(report["verdict"]))
    assert len(saved["runs"]) == 2 * 3
    assert set(saved["fractions"]) == {"50", "100"}
    entry = saved["fractions"]["50"]
    assert entry["chosen"]["variant"] in ("text", "fusion")
    assert entry["comparison"]["all"]["users"] == split.num_users
    assert set(saved["runs"][0]["by_popularity"]) == set(df.POPULARITY_BUCKETS)
    assert sum(b["users"] for b in saved["runs"][0]["by_history"].values()) == split.num_users
    assert saved["data"]["50"]["train_rows"] == split.num_users * 4        # ceil(0.5 * 8)
    assert saved["cold_start"]["source"].startswith("trained here")
    assert [r["model"] for r in saved["cold_start"]["rows"]][0] == "sasrec"
    assert saved["verdict"]["at_10pct"]["decision"] == "not run"
    assert saved["verdict"]["rare_items"]["fraction"] == 1.0
    assert len(df.runs_frame(saved)) == 6
    assert not df.final_table(saved).empty
    with pytest.raises(ValueError, match="variants"):
        df.run(split, text_emb, variants=("id",))
