"""Leave-one-out, tie-breaking, padding and the training datasets, on hand-made logs."""

import numpy as np
import pandas as pd
import pytest
import torch

from course_lib.sequences import (ClozeDataset, NextItemDataset, leave_one_out, pad_left,
                                  sort_chronologically)


def make_log():
    # user 7: items 30, 10, 20 at t=1, 2, 2 (a tie at t=2), then 40 at t=3
    # user 5: items 10, 20, 30, 40, 50 in order; user 9 has only 2 rows (cannot be split)
    rows = [(7, 30, 1), (7, 20, 2), (7, 10, 2), (7, 40, 3),
            (5, 10, 1), (5, 20, 2), (5, 30, 3), (5, 40, 4), (5, 50, 5),
            (9, 10, 1), (9, 20, 2)]
    return pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"])


def test_leave_one_out_parts_and_ids():
    split = leave_one_out(make_log())
    assert split.num_users == 2 and split.dropped_users == 1
    assert split.num_items == 5 and list(split.item_ids) == [-1, 10, 20, 30, 40, 50]
    assert list(split.user_ids) == [5, 7]
    raw = lambda ids: [int(split.item_ids[i]) for i in ids]  # noqa: E731
    assert raw(split.train[0]) == [10, 20, 30]
    assert raw([split.valid_targets[0], split.test_targets[0]]) == [40, 50]
    # user 7: the tie at t=2 is ordered by item id (10 before 20), so 20 is the validation item
    assert raw(split.train[1]) == [30, 10]
    assert raw([split.valid_targets[1], split.test_targets[1]]) == [20, 40]


def test_histories_and_targets():
    split = leave_one_out(make_log())
    assert [list(h) for h in split.histories("valid")] == [list(t) for t in split.train]
    test_hist = split.histories("test")
    assert list(test_hist[0]) == list(split.train[0]) + [split.valid_targets[0]]
    assert np.array_equal(split.targets("test"), split.test_targets)
    with pytest.raises(ValueError, match="part"):
        split.histories("train")


def test_split_does_not_depend_on_row_order():
    log = make_log()
    a = leave_one_out(log).to_frame()
    for seed in range(5):
        b = leave_one_out(log.sample(frac=1.0, random_state=seed)).to_frame()
        pd.testing.assert_frame_equal(a, b)


def test_tie_rules_differ_and_input_rule_follows_rows():
    log = make_log()
    desc = leave_one_out(log, tie_break="item_id_desc")
    assert int(desc.item_ids[desc.valid_targets[1]]) == 10
    first = sort_chronologically(log, "input")
    assert first[first.user_id == 7].item_id.tolist() == [30, 20, 10, 40]
    with pytest.raises(ValueError, match="tie_break"):
        sort_chronologically(log, "random")


def test_recbole_rule_float32_time_and_row_order():
    # RecBole 1.2.1 normalises time to [0, 1] in float32 and sorts stably: over a span of ~2e7 s (ML-100k's),
    # times one second apart can round to the same float32 and then keep their row order
    base, span = 874_724_710, 22_000_000
    t = base + 15_000_001
    key = lambda x: np.float32((x - base) / span)  # noqa: E731
    assert key(t) == key(t + 1)                            # one second apart, equal in float32
    rows = [(1, 5, base), (1, 40, t + 1), (1, 30, t), (1, 20, t + 1), (1, 10, base + span),
            (2, 7, base + 100), (2, 8, base + 5_000_000), (2, 9, base + 6_000_000)]
    log = pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"])
    ordered = sort_chronologically(log, "recbole")
    assert ordered[ordered.user_id == 1].item_id.tolist() == [5, 40, 30, 20, 10]   # row order inside the tie
    assert sort_chronologically(log, "input")[lambda f: f.user_id == 1].item_id.tolist() == [5, 30, 40, 20, 10]
    assert ordered[ordered.user_id == 2].item_id.tolist() == [7, 8, 9]
    split = leave_one_out(log, tie_break="recbole")
    assert split.tie_break == "recbole"
    assert int(split.item_ids[split.valid_targets[0]]) == 20 and int(split.item_ids[split.test_targets[0]]) == 10
    flat = leave_one_out(log.assign(timestamp=7), tie_break="recbole")        # one timestamp: all rows tie
    assert int(flat.item_ids[flat.test_targets[0]]) == 10
    assert sort_chronologically(log.iloc[:0], "recbole").empty
    with pytest.raises(ValueError, match="empty"):
        leave_one_out(log.iloc[:0], tie_break="recbole")


def test_no_training_item_after_held_out_items():
    frame = leave_one_out(make_log()).to_frame()
    for _, rows in frame.groupby("user_id"):
        last_train = rows[rows.part == "train"].timestamp.max()
        assert last_train <= rows[rows.part == "valid"].timestamp.item() <= rows[rows.part == "test"].timestamp.item()


def test_to_frame_covers_every_kept_row():
    log = make_log()
    frame = leave_one_out(log).to_frame()
    assert len(frame) == len(log[log.user_id != 9])
    assert frame.part.value_counts().to_dict() == {"train": 5, "valid": 2, "test": 2}


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="empty"):
        leave_one_out(make_log().iloc[:0])
    with pytest.raises(ValueError, match="timestamp"):
        leave_one_out(make_log().drop(columns="timestamp"))
    with pytest.raises(ValueError, match="3 interactions"):
        leave_one_out(make_log()[make_log().user_id == 9])


def test_max_len_keeps_most_recent_training_items():
    split = leave_one_out(make_log(), max_len=2)
    assert [int(split.item_ids[i]) for i in split.train[0]] == [20, 30]


def test_pad_left():
    out = pad_left([np.array([1, 2, 3]), np.array([4]), np.array([], dtype=np.int64)], 2)
    assert out.dtype == torch.long
    assert out.tolist() == [[2, 3], [0, 4], [0, 0]]
    with pytest.raises(ValueError):
        pad_left([[1]], 0)


def long_split(length=12):
    rows = [(1, i + 1, i) for i in range(length)]
    return leave_one_out(pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"]))


def test_next_item_windows_cover_every_target_once():
    split = long_split(12)  # 10 training items
    ds = NextItemDataset(split, max_len=4)
    targets = torch.cat([ds[i][1] for i in range(len(ds))])
    assert sorted(targets[targets > 0].tolist()) == list(range(2, 11))
    inp, lab = ds[0]
    assert inp.shape == lab.shape == (4,)
    assert inp.tolist() == [6, 7, 8, 9] and lab.tolist() == [7, 8, 9, 10]
    assert len(NextItemDataset(split, max_len=4, all_windows=False)) == 1


def test_cloze_masks_only_real_items_at_the_requested_rate():
    torch.manual_seed(0)
    split = long_split(12)
    ds = ClozeDataset(split, max_len=20, mask_prob=0.3, mask_id=99)
    masked, real = 0, 0
    for _ in range(300):
        inp, lab = ds[0]
        assert (inp[:10] == 0).all() and (lab[:10] == 0).all()  # padding never masked
        assert ((inp == 99) == (lab > 0)).all()
        masked += int((lab > 0).sum())
        real += 10
    assert 0.25 < masked / real < 0.35
    with pytest.raises(ValueError):
        ClozeDataset(split, max_len=20, mask_prob=1.5, mask_id=99)


def test_cloze_sliding_windows_step_back_from_the_end_and_cover_the_start():
    split = long_split(12)  # 10 training items: 1..10
    ds = ClozeDataset(split, max_len=4, mask_prob=0.3, mask_id=99, window_step=3)
    assert [w.tolist() for w in ds.examples] == [[7, 8, 9, 10], [4, 5, 6, 7], [1, 2, 3, 4]]
    every = ClozeDataset(split, max_len=4, mask_prob=0.3, mask_id=99, window_step=1)
    assert len(every) == 7 and every.examples[-1].tolist() == [1, 2, 3, 4]
    short = ClozeDataset(long_split(5), max_len=4, mask_prob=0.3, mask_id=99, window_step=1)
    assert [w.tolist() for w in short.examples] == [[1, 2, 3]]       # no window longer than the sequence
    with pytest.raises(ValueError, match="window_step"):
        ClozeDataset(split, max_len=4, mask_prob=0.3, mask_id=99, window_step=5)
