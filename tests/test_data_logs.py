"""course_lib.data.load_interactions: a learner's own log, every kind of bad input a learner can give it."""

import pandas as pd
import pytest

from course_lib.data import DataError, load_interactions


def write(tmp_path, text, name="log.csv", mode="w"):
    path = tmp_path / name
    if mode == "wb":
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def test_csv_with_own_column_names(tmp_path):
    path = write(tmp_path, "uid,sku,ts,stars\n1,10,100,5\n1,11,200,3\n2,10,150,4\n")
    frame, report = load_interactions(path, user_col="uid", item_col="sku", time_col="ts", rating_col="stars")
    assert list(frame.columns) == ["user_id", "item_id", "timestamp", "rating"]
    assert (frame.dtypes == "int64").all() and frame["item_id"].tolist() == [10, 11, 10]
    assert report.rows_dropped == 0 and report.steps[0].rows_out == 3


def test_dataframe_and_parquet_give_the_same_frame(tmp_path):
    df = pd.DataFrame({"user_id": [1, 2, 2], "item_id": [5, 6, 7], "timestamp": [30, 10, 20]})
    df.to_parquet(tmp_path / "log.parquet")
    a, _ = load_interactions(df)
    b, _ = load_interactions(tmp_path / "log.parquet")
    pd.testing.assert_frame_equal(a, b)


def test_bad_rows_are_dropped_and_counted(tmp_path):
    text = "user_id,item_id,timestamp\n1,10,100\nabc,11,200\n2,,300\n3,12,yesterday\n4,13.5,400\n5,14,500\n"
    with pytest.warns(UserWarning, match=r"dropped 4 of 6 rows \(invalid user_id: 1, missing item_id: 1, "
                                          r"invalid item_id: 1, invalid timestamp: 1\)"):
        frame, report = load_interactions(write(tmp_path, text))
    assert frame["user_id"].tolist() == [1, 5]
    assert report.dropped_by_reason() == {"invalid user_id": 1, "missing item_id": 1, "invalid item_id": 1,
                                          "invalid timestamp": 1}
    assert "invalid user_id: 1" in str(report)
    with pytest.raises(DataError, match="4 unusable rows"):
        load_interactions(write(tmp_path, text), strict=True)


def test_date_strings_become_unix_seconds(tmp_path):
    path = write(tmp_path, "user_id,item_id,timestamp\n1,2,2024-01-01T00:00:00Z\n1,3,2024-01-01 00:01:00\n")
    frame, _ = load_interactions(path)
    assert frame["timestamp"].tolist() == [1704067200, 1704067260]


def test_text_ids_need_encode_ids(tmp_path):
    path = write(tmp_path, "user_id,item_id,timestamp\nalice,sku-1,1\nbob,sku-2,2\nalice,sku-2,3\n")
    with pytest.raises(DataError, match="encode_ids=True"):
        load_interactions(path)
    frame, report = load_interactions(path, encode_ids=True)
    assert frame["user_id"].tolist() == [1, 2, 1] and report.id_maps["item_id"] == {"sku-1": 1, "sku-2": 2}


@pytest.mark.parametrize("content, mode, message", [
    ("", "w", "empty"),
    ("\n\n", "w", "no columns"),
    ("user_id,item_id,timestamp\n", "w", "header only"),
    ("user,item\n1,2\n", "w", r"missing column\(s\) \['user_id', 'item_id', 'timestamp'\]|missing column"),
    ("user_id,item_id,timestamp\n1,2,3\n4,5,6,7,8\n", "w", "ragged rows"),
    (bytes(range(256)) * 8, "wb", "binary"),
    ("user_id,item_id,timestamp\n\xff\xfe,1,1\n".encode("latin-1"), "wb", "UTF-8"),
    ("user_id,item_id,timestamp\na,1,1\nb,2,2\n", "w", "no usable user_id"),
    ("user_id,item_id,timestamp\n1,1,x\n2,2,y\n", "w", "no usable timestamp"),
])
def test_unusable_files_raise_a_named_error(tmp_path, content, mode, message):
    with pytest.raises(DataError, match=message):
        load_interactions(write(tmp_path, content, mode=mode))


def test_missing_file_and_broken_parquet(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_interactions(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="Parquet"):
        load_interactions(write(tmp_path, b"PAR1 not really", name="x.parquet", mode="wb"))


def test_data_error_is_a_value_error():
    assert issubclass(DataError, ValueError)
