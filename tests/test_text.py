"""Tests of course_lib.text (templates, encoder loading, pooling) and course_lib.text_cache."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from course_lib import text, text_cache

ITEMS = pd.DataFrame({
    "item_id": [1, 2, 3, 7],
    "title": ["Toy Story (1995)", "GoldenEye (1995)", "Four Rooms (1995)", "A Very Long Night of the King (1996)"],
    "year": pd.array([1995, 1995, 1995, 1996], dtype="Int64"),
    "genres": [["Animation", "Children's", "Comedy"], ["Action", "Adventure", "Thriller"], ["Thriller"], []],
})


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return text.save_tiny_bert(tmp_path_factory.mktemp("tiny_bert"), seed=0)


@pytest.fixture(scope="module")
def tiny(tiny_dir):
    return text.load_encoder(tiny_dir, device="cpu")


def test_item_texts_default_template_and_order():
    texts = text.item_texts(ITEMS)
    assert texts[0] == "Toy Story (1995). Genres: Animation, Children's, Comedy."
    assert texts[3] == "A Very Long Night of the King (1996). Genres: unknown."
    assert text.item_texts(ITEMS, "{title}", item_ids=[3, 1]) == ["Four Rooms (1995)", "Toy Story (1995)"]
    assert text.item_texts(ITEMS, "{title} | {year}")[1] == "GoldenEye (1995) | 1995"


def test_item_texts_bad_input_is_named():
    with pytest.raises(ValueError, match="unknown field"):
        text.item_texts(ITEMS, "{title} by {director}")
    with pytest.raises(ValueError, match="not in the items table"):
        text.item_texts(ITEMS, item_ids=[1, 99])


def test_mean_pool_ignores_padding_values():
    hidden = torch.randn(2, 5, 4)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    garbage = hidden.clone()
    garbage[0, 3:] = 1e6
    assert torch.allclose(text.mean_pool(hidden, mask), text.mean_pool(garbage, mask))
    assert torch.allclose(text.mean_pool(hidden, mask)[0], hidden[0, :3].mean(0))
    assert torch.equal(text.mean_pool(hidden, torch.zeros(2, 5)), torch.zeros(2, 4))  # empty row -> zeros


def test_encode_is_padding_length_invariant(tiny):
    short = "Toy Story (1995)."
    alone = text.encode([short], tiny)
    long_text = " ".join(["the long night of the king"] * 12)
    with_long = text.encode([long_text, short], tiny, batch_size=2)   # short text padded to the long one
    assert np.allclose(alone[0], with_long[1], atol=1e-5)


def test_encode_keeps_input_order_and_unit_norm(tiny):
    texts = text.item_texts(ITEMS)
    together = text.encode(texts, tiny, batch_size=3)
    one_by_one = np.vstack([text.encode([t], tiny) for t in texts])
    assert together.shape == (4, tiny.dim)
    assert np.allclose(together, one_by_one, atol=1e-5)
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    raw = text.encode(texts, tiny, normalize=False)
    assert not np.allclose(np.linalg.norm(raw, axis=1), 1.0)
    with pytest.raises(ValueError, match="list of strings"):
        text.encode("one string", tiny)


def test_encoder_defaults_to_the_course_device_and_tokenize_follows_it(tiny_dir, monkeypatch):
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    encoder = text.load_encoder(tiny_dir)                  # no device given: runtime.get_device()
    batch = text.tokenize(["Toy Story (1995).", "a much longer title of the king"], encoder)
    assert encoder.device == torch.device("cpu") and batch["input_ids"].device == encoder.device
    assert batch["attention_mask"].shape == batch["input_ids"].shape and batch["attention_mask"][0, -1] == 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_encoding_on_the_gpu_matches_the_cpu(tiny_dir, tiny):
    texts = text.item_texts(ITEMS)
    on_gpu = text.encode(texts, text.load_encoder(tiny_dir, device="cuda"))
    assert np.allclose(on_gpu, text.encode(texts, tiny), atol=1e-4)


def test_packaged_encoder_loads_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    encoder = text.load_encoder(device="cpu")
    assert encoder.fingerprint.startswith("sha256:") and encoder.dim == 384
    vectors = text.encode(["Toy Story (1995). Genres: Animation.", "Heat (1995). Genres: Crime, Thriller.",
                           "Toy Story 2 (1999). Genres: Animation."], encoder)
    sims = vectors @ vectors.T
    assert sims[0, 2] > sims[0, 1]  # a real encoder knows the two Toy Story films are close


def test_unknown_model_offline_gives_clear_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ValueError, match="HF_HUB_OFFLINE=1.*local model directory"):
        text.load_encoder("nobody/no-such-model-123")
    with pytest.raises(ValueError, match="no such directory"):
        text.load_encoder("./no/such/dir")


def test_cache_hit_and_invalidation(tiny, tmp_path, tiny_dir):
    first = text_cache.embed_items(ITEMS, "toy", tiny, cache_dir=tmp_path)
    again = text_cache.embed_items(ITEMS, "toy", tiny_dir, cache_dir=tmp_path)  # by path: same fingerprint
    assert not first.from_cache and again.from_cache
    assert np.array_equal(first.vectors, again.vectors)
    other_template = text_cache.embed_items(ITEMS, "toy", tiny, template="{title}", cache_dir=tmp_path)
    assert not other_template.from_cache and not np.allclose(other_template.vectors, first.vectors)
    other_model = text.load_encoder(text.save_tiny_bert(tmp_path / "other_bert", seed=1), device="cpu")
    assert other_model.fingerprint != tiny.fingerprint
    assert not text_cache.embed_items(ITEMS, "toy", other_model, cache_dir=tmp_path).from_cache
    assert not text_cache.embed_items(ITEMS, "other-dataset", tiny, cache_dir=tmp_path).from_cache
    assert not text_cache.embed_items(ITEMS.iloc[:3], "toy", tiny, cache_dir=tmp_path).from_cache
    assert text_cache.embed_items(ITEMS, "toy", tiny, cache_dir=tmp_path).from_cache


def test_cache_detects_corruption(tiny, tmp_path):
    first = text_cache.embed_items(ITEMS, "toy", tiny, cache_dir=tmp_path)
    first.path.write_bytes(first.path.read_bytes()[:200])            # truncated file
    redo = text_cache.embed_items(ITEMS, "toy", tiny, cache_dir=tmp_path)
    assert not redo.from_cache and np.allclose(redo.vectors, first.vectors, atol=1e-6)
    key = text_cache.cache_key(tiny.fingerprint, text.DEFAULT_TEMPLATE, "toy", ITEMS["item_id"].to_numpy(),
                               redo.texts)
    tampered = redo.vectors.copy()
    tampered[0, 0] += 1.0
    text_cache.write_entry(redo.path, key, redo.vectors)
    with np.load(redo.path) as stored:                              # same key, vectors changed, old checksum
        meta = str(stored["meta"])
    with open(redo.path, "wb") as fh:
        np.savez(fh, vectors=tampered, meta=np.array(meta))
    assert text_cache.read_entry(redo.path, key) is None
    assert not text_cache.embed_items(ITEMS, "toy", tiny, cache_dir=tmp_path).from_cache


def test_cache_survives_crash_mid_write(tiny, tmp_path, monkeypatch):
    good = text_cache.embed_items(ITEMS, "toy", tiny, cache_dir=tmp_path)

    def crash(fh, **arrays):
        fh.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(text_cache.np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        text_cache.embed_items(ITEMS, "toy", tiny, template="{title}", cache_dir=tmp_path)
    monkeypatch.undo()
    finished = [p.name for p in tmp_path.glob("*.npz")]
    assert finished == [good.path.name]                             # no half-written entry under a real name
    assert text_cache.embed_items(ITEMS, "toy", tiny, cache_dir=tmp_path).from_cache
    assert not text_cache.embed_items(ITEMS, "toy", tiny, template="{title}", cache_dir=tmp_path).from_cache


def test_table_aligns_with_split_ids(tiny, tmp_path):
    emb = text_cache.embed_items(ITEMS, "toy", tiny, cache_dir=tmp_path)
    table = emb.table(np.array([-1, 7, 1]))
    assert table.shape == (3, tiny.dim) and not table[0].any()
    assert np.array_equal(table[1], emb.vectors[3]) and np.array_equal(table[2], emb.vectors[0])
    with pytest.raises(ValueError, match="no text embedding"):
        emb.table(np.array([-1, 42]))
