"""An on-disk cache of item-text embeddings, so a notebook encodes a catalogue once.

A cache entry is keyed by everything that changes the vectors:

* the encoder: a local directory is identified by the sha256 of its weights file, a hub id by the commit
  its files came from (``Encoder.fingerprint``);
* the text template;
* the dataset name and a hash of the item table actually encoded (raw ids + texts).

The key's sha256 names the file (``<cache_dir>/text_embeddings/<dataset>-<key>.npz``), and the key itself is
stored inside it and compared on load, so changing any part gives a miss and a fresh encoding. Each file also
stores the sha256 of its vectors; a file that cannot be read or whose checksum fails is recomputed. Files are
written to ``*.part`` and renamed with ``os.replace``: a crash mid-write never leaves a half-written entry.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from course_lib import text
from course_lib.files import atomic_path

CACHE_VERSION = 1


@dataclass
class TextEmbeddings:
    """Embeddings of an item table.

    Attributes:
        vectors: float32 (M, D), row ``i`` = item ``item_ids[i]`` (unit rows when normalised).
        item_ids: (M,) raw item ids.
        texts: the M texts that were encoded.
        from_cache: True when read from disk, False when encoded now.
        seconds: wall time of this call (load or encode + write).
        path: the cache file.
    """

    vectors: np.ndarray
    item_ids: np.ndarray
    texts: list
    from_cache: bool
    seconds: float
    path: Path

    def table(self, split_item_ids: np.ndarray) -> np.ndarray:
        """(N+1, D) rows aligned with a split's internal ids (``split.item_ids``); row 0 (padding) = zeros."""
        position = {raw: row for row, raw in enumerate(self.item_ids.tolist())}
        missing = [raw for raw in split_item_ids[1:].tolist() if raw not in position]
        if missing:
            raise ValueError(f"{len(missing)} item(s) of the split have no text embedding, e.g. {missing[:5]}")
        out = np.zeros((len(split_item_ids), self.vectors.shape[1]), dtype=np.float32)
        out[1:] = self.vectors[[position[raw] for raw in split_item_ids[1:].tolist()]]
        return out


def cache_root() -> Path:
    """``<course data cache>/text_embeddings`` (``course_lib.data.cache_dir()``, i.e. ``$COURSE_DATA_DIR`` if set)."""
    from course_lib.data import cache_dir

    return cache_dir() / "text_embeddings"


def cache_key(fingerprint: str, template: str, dataset: str, item_ids: np.ndarray, texts: list[str],
              normalize: bool = True, max_length: int = 128) -> dict:
    """The dictionary that identifies a cache entry (stored in the file and hashed into its name)."""
    items = hashlib.sha256()
    items.update(np.asarray(item_ids, dtype=np.int64).tobytes())
    items.update("\x1f".join(texts).encode("utf-8"))
    return {"version": CACHE_VERSION, "model": fingerprint, "template": template, "dataset": dataset,
            "items_sha256": items.hexdigest(), "normalize": normalize, "max_length": max_length}


def _key_digest(key: dict) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode("utf-8")).hexdigest()


def _vectors_digest(vectors: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(vectors, dtype=np.float32).tobytes()).hexdigest()


def read_entry(path: Path, key: dict) -> np.ndarray | None:
    """The vectors stored at ``path`` if the file is intact and was written for ``key``; else None."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            meta = json.loads(str(stored["meta"]))
            vectors = stored["vectors"]
    except Exception:  # a truncated or corrupted file: any read error means "recompute"
        return None
    if meta.get("key") != key or meta.get("vectors_sha256") != _vectors_digest(vectors):
        return None
    return vectors


def write_entry(path: Path, key: dict, vectors: np.ndarray) -> None:
    """Write ``vectors`` with their key and checksum: to ``path.part`` first, then an atomic rename."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    meta = json.dumps({"key": key, "vectors_sha256": _vectors_digest(vectors)})
    with atomic_path(path) as part, open(part, "wb") as fh:
        np.savez(fh, vectors=vectors, meta=np.array(meta))
        fh.flush()
        os.fsync(fh.fileno())


def _fingerprint(encoder: text.Encoder | str | None) -> tuple[text.Encoder | str, str]:
    """(encoder or its local path, fingerprint); loads the model only for a hub id (its commit hash)."""
    if isinstance(encoder, text.Encoder):
        return encoder, encoder.fingerprint
    path_or_id = text.default_model_path() if encoder is None else str(encoder)
    fingerprint = text.model_fingerprint(path_or_id)
    if fingerprint is None:  # a hub id: the commit its files came from is only known once loaded
        loaded = text.load_encoder(path_or_id)
        return loaded, loaded.fingerprint
    return path_or_id, fingerprint


def embed_items(items: pd.DataFrame, dataset: str, encoder: text.Encoder | str | None = None,
                template: str = text.DEFAULT_TEMPLATE, batch_size: int = 64, normalize: bool = True,
                cache_dir: str | Path | None = None, use_cache: bool = True, progress: bool = True) -> TextEmbeddings:
    """Embeddings of every item of ``items``, read from the cache or encoded (and cached).

    Args:
        items: the item table (``item_id, title, year, genres``).
        dataset: its name, part of the cache key (e.g. ``"ml-100k"``).
        encoder: a loaded ``Encoder``, or a name/path for ``text.load_encoder`` (None = the packaged
            all-MiniLM-L6-v2). A local directory is fingerprinted without loading it, so a cache hit
            does not pay for loading the model.
        template: the item-text template (see ``text.item_texts``).
        cache_dir: default ``cache_root()``.
        use_cache: False encodes without reading or writing the cache.
        progress: show a progress bar while encoding.
    Returns:
        TextEmbeddings with ``vectors`` (M, D) in the order of ``items``.
    """
    start = time.perf_counter()
    item_ids = items["item_id"].to_numpy(dtype=np.int64)
    texts = text.item_texts(items, template)
    encoder, fingerprint = _fingerprint(encoder)
    key = cache_key(fingerprint, template, dataset, item_ids, texts, normalize)
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", dataset)
    path = Path(cache_dir or cache_root()) / f"{slug}-{_key_digest(key)[:24]}.npz"
    vectors = read_entry(path, key) if use_cache else None
    if vectors is not None:
        return TextEmbeddings(vectors, item_ids, texts, True, time.perf_counter() - start, path)
    if not isinstance(encoder, text.Encoder):
        encoder = text.load_encoder(encoder)
    vectors = text.encode(texts, encoder, batch_size=batch_size, normalize=normalize, progress=progress)
    if use_cache:
        write_entry(path, key, vectors)
    return TextEmbeddings(vectors, item_ids, texts, False, time.perf_counter() - start, path)
