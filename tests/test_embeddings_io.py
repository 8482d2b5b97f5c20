"""Item-embedding files keep their id mapping; the GloVe text loader on good and malformed files."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from course_lib.embeddings import (align_to_split, load_glove_text, load_item_embeddings, save_glove_text,
                                   save_item_embeddings)
from course_lib.sequences import leave_one_out

FIXTURE = Path(__file__).parent / "fixtures" / "glove_tiny.4d.txt"


@pytest.fixture()
def split():
    rows = [(u, i, t) for u, items in {1: [30, 10, 20, 40], 2: [20, 30, 50]}.items()
            for t, i in enumerate(items)]
    return leave_one_out(pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"]))


def test_round_trip_keeps_the_mapping(tmp_path, split):
    vectors = np.arange((split.num_items + 1) * 3, dtype=np.float32).reshape(-1, 3)
    vectors[0] = 0.0                                          # the padding row (align_to_split zeroes it)
    path = save_item_embeddings(tmp_path / "emb.npz", vectors, split.item_ids, model="toy", seed=7)
    loaded, ids, meta = load_item_embeddings(path, with_metadata=True)
    assert np.array_equal(loaded, vectors) and np.array_equal(ids, split.item_ids)
    assert meta == {"model": "toy", "seed": 7}
    table = align_to_split(loaded, ids, split)
    assert table.shape == (split.num_items + 1, 3)
    assert np.array_equal(table.numpy(), vectors)
    assert not list(tmp_path.glob("*.part*"))


def test_align_to_a_different_split_follows_raw_ids(tmp_path, split):
    raw = np.array([-1, 50, 99, 10])                      # another order, one unknown item (99), 20/30/40 missing
    vectors = np.array([[0, 0], [5, 5], [9, 9], [1, 1]], dtype=np.float32)
    table, found = align_to_split(vectors, raw, split, return_found=True)
    for internal in range(1, split.num_items + 1):
        raw_id = split.item_ids[internal]
        expected = {50: [5, 5], 10: [1, 1]}.get(raw_id, [0, 0])
        assert table[internal].tolist() == expected
        assert found[internal] == (raw_id in (50, 10))
    assert not table[0].any()
    randomised = align_to_split(vectors, raw, split, missing="random")
    assert randomised[~found].abs().sum() > 0 and not randomised[0].any()


def test_save_refuses_bad_input(tmp_path):
    with pytest.raises(ValueError, match="duplicates"):
        save_item_embeddings(tmp_path / "x.npz", np.zeros((3, 2)), [-1, 5, 5])
    with pytest.raises(ValueError, match=r"\(N\+1, D\)"):
        save_item_embeddings(tmp_path / "x.npz", np.zeros((3, 2)), [-1, 5])
    with pytest.raises(ValueError, match="NaN"):
        save_item_embeddings(tmp_path / "x.npz", np.full((2, 2), np.nan), [-1, 5])
    assert not list(tmp_path.iterdir())


def test_load_refuses_foreign_files(tmp_path):
    np.savez(tmp_path / "other.npz", weights=np.zeros(3))
    with pytest.raises(ValueError, match="missing array"):
        load_item_embeddings(tmp_path / "other.npz")
    with pytest.raises(FileNotFoundError):
        load_item_embeddings(tmp_path / "absent.npz")


def test_glove_loader_reads_the_fixture():
    tokens, vectors = load_glove_text(FIXTURE)
    assert tokens == ["king", "queen", "apple", "banana"]
    assert vectors.shape == (4, 4) and vectors.dtype == np.float32
    assert vectors[1].tolist() == [0.5, 0.25, 0.125, 1.0]
    assert load_glove_text(FIXTURE, max_tokens=2)[0] == ["king", "queen"]


def test_glove_text_round_trip(tmp_path):
    vectors = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    tokens = [f"item_{i}" for i in range(5)]
    path = save_glove_text(tmp_path / "vec.txt", tokens, vectors, precision=9)
    got_tokens, got = load_glove_text(path)
    assert got_tokens == tokens and np.allclose(got, vectors)


@pytest.mark.parametrize("content,message", [
    ("a 1 2 3\nb 1 2\n", "line 2: token 'b' has 2 values, expected 3"),
    ("a 1 2\nb 1 x\n", "line 2: token 'b' has a value that is not a number"),
    ("a 1 2\n\nb 1 2\n", "line 2: empty line"),
    ("a 1 2\na 3 4\n", "line 2: token 'a' appears twice"),
    ("a 1 nan\n", "line 1: token 'a' has NaN"),
    ("lonely\n", "line 1: expected 'token v1 ... vd'"),
    ("", "holds no vectors"),
])
def test_glove_loader_names_the_malformed_line(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_text(content)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        load_glove_text(path)


def test_glove_loader_checks_the_expected_dimension(tmp_path):
    with pytest.raises(ValueError, match="has 4 values, expected 3"):
        load_glove_text(FIXTURE, dim=3)
