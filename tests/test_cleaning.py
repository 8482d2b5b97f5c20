"""course_lib.cleaning: each step and the pipeline, with exact counts."""

import pandas as pd
import pytest

from course_lib import cleaning


def frame(rows, cols=("user_id", "item_id", "timestamp", "rating")):
    return pd.DataFrame(rows, columns=list(cols))


def test_drop_invalid_counts_each_row_once():
    df = frame([(1, 1, 10, 5), (1, None, 11, 4), (None, None, 12, 3), (2, 9, None, 1), (2, 2, 13, 2)])
    out, report = cleaning.drop_invalid(df, known_items=[1, 2])
    assert out["item_id"].tolist() == [1, 2] and out["timestamp"].dtype == "int64"
    assert report.dropped_by_reason() == {"missing user_id": 1, "missing item_id": 1, "missing timestamp": 1}


def test_unknown_ids():
    df = frame([(1, 1, 10, 5), (1, 7, 11, 4), (3, 1, 12, 3)])
    out, report = cleaning.drop_invalid(df, known_items=[1], known_users=[1])
    assert len(out) == 1 and report.dropped_by_reason() == {"unknown item_id": 1, "unknown user_id": 1}


def test_drop_duplicates_exact_only():
    df = frame([(1, 1, 10, 5), (1, 1, 10, 5), (1, 1, 10, 4), (1, 1, 11, 5)])
    out, report = cleaning.drop_duplicates(df)
    assert len(out) == 3 and report.steps[0].dropped == {"exact duplicate": 1}
    out, _ = cleaning.drop_duplicates(df, subset=["user_id", "item_id"])
    assert len(out) == 1


def test_to_implicit_threshold():
    df = frame([(1, 1, 10, 5), (1, 2, 11, 3), (1, 3, 12, 4)])
    out, report = cleaning.to_implicit(df, 4)
    assert out["item_id"].tolist() == [1, 3] and report.rows_dropped == 1
    with pytest.raises(ValueError, match="rating"):
        cleaning.to_implicit(df.drop(columns="rating"), 4)


def test_k_core_is_iterative():
    # user 3 has 1 row -> goes; then item 3 drops to 1 user -> goes; then user 2 drops to 1 -> goes.
    rows = [(1, 1, 1), (1, 2, 2), (2, 2, 3), (2, 3, 4), (3, 3, 5), (4, 1, 6), (4, 2, 7)]
    out, report = cleaning.k_core(frame(rows, ("user_id", "item_id", "timestamp")), 2)
    assert out.groupby("user_id").size().min() >= 2 and out.groupby("item_id").size().min() >= 2
    assert sorted(out["user_id"].unique()) == [1, 4] and report.steps[0].rows_out == 4
    with pytest.raises(ValueError):
        cleaning.k_core(frame(rows, ("user_id", "item_id", "timestamp")), 0)


def test_bursty_users():
    bot = [(9, i % 3, 1000 + i, 1) for i in range(60)]
    human = [(1, i, 1000 + 600 * i, 1) for i in range(60)]
    assert cleaning.bursty_users(frame(bot + human)).tolist() == [9]


def test_out_of_order_counted_in_file_order():
    df = frame([(1, 1, 10, 1), (1, 2, 30, 1), (1, 3, 20, 1), (2, 1, 5, 1)])
    assert cleaning.count_out_of_order(df) == 1


def test_clean_defaults_keep_everything_valid_and_sort():
    df = frame([(2, 1, 10, 5), (1, 2, 11, 1), (1, 1, 11, 2)])
    out, report = cleaning.clean(df)
    assert len(out) == 3 and [s.name for s in report.steps] == ["drop invalid rows", "drop duplicates"]
    assert out[["user_id", "item_id"]].values.tolist() == [[1, 1], [1, 2], [2, 1]]
    out, report = cleaning.clean(df, min_rating=2, k=1)
    assert len(out) == 2 and len(report.steps) == 4
    assert "rows in" in str(report) and list(report.to_frame()["rows out"]) == [3, 3, 2, 2]
