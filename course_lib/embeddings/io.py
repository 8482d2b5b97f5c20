"""Item embeddings on disk (with their raw item-id mapping) and the GloVe text format.

Item embeddings are saved as ``.npz`` with two arrays: ``vectors`` (N+1, D) and ``item_ids`` (N+1,) raw
item ids (``item_ids[0] = -1`` for the padding row). Keeping the raw ids makes a file usable by any later
split: ``align_to_split`` re-indexes it to that split's internal ids, so notebooks 05-07 can initialise a
model's item table from item2vec or GloVe vectors even when their split differs.

The GloVe text format is one token per line followed by its D floats, separated by single spaces::

    the 0.418 0.24968 -0.41242 ...
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from course_lib.files import atomic_path


def save_item_embeddings(path: str | os.PathLike, vectors, item_ids, **metadata) -> Path:
    """Write ``vectors`` (N+1, D) and raw ``item_ids`` (N+1,) to ``path`` (.npz), atomically.

    ``metadata``: small scalars/strings stored alongside (e.g. model="item2vec", seed=42).
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    item_ids = np.asarray(item_ids, dtype=np.int64)
    if vectors.ndim != 2 or item_ids.ndim != 1 or vectors.shape[0] != item_ids.shape[0]:
        raise ValueError(f"need vectors (N+1, D) and item_ids (N+1,); got {vectors.shape} and {item_ids.shape}")
    if len(np.unique(item_ids)) != len(item_ids):
        raise ValueError("item_ids contain duplicates: the id mapping would be ambiguous")
    if not np.isfinite(vectors).all():
        raise ValueError("vectors contain NaN or inf")
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_suffix(".npz")
    meta = {f"meta_{k}": np.asarray(v) for k, v in metadata.items()}
    with atomic_path(path) as part, open(part, "wb") as fh:      # a file object: np.savez adds no suffix
        np.savez(fh, vectors=vectors, item_ids=item_ids, **meta)
    return path


def load_item_embeddings(path: str | os.PathLike, with_metadata: bool = False):
    """Read a file written by ``save_item_embeddings`` -> (vectors (N+1, D), item_ids (N+1,)).

    With ``with_metadata=True`` a third element, the metadata dict, is returned.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no item-embedding file at {path}")
    with np.load(path, allow_pickle=False) as data:
        missing = {"vectors", "item_ids"} - set(data.files)
        if missing:
            raise ValueError(f"{path} is not an item-embedding file: missing array(s) {sorted(missing)}")
        vectors, item_ids = data["vectors"], data["item_ids"]
        meta = {k[5:]: data[k].item() for k in data.files if k.startswith("meta_")}
    if vectors.ndim != 2 or vectors.shape[0] != item_ids.shape[0]:
        raise ValueError(f"{path}: vectors {vectors.shape} do not match item_ids {item_ids.shape}")
    return (vectors, item_ids, meta) if with_metadata else (vectors, item_ids)


def align_to_split(vectors, item_ids, split, missing: str = "zero", seed: int = 0,
                   return_found: bool = False):
    """Re-index saved vectors to ``split``'s internal ids -> FloatTensor (split.num_items + 1, D).

    Row 0 (padding) is zero. Items of the split that the file lacks get zeros (``missing="zero"``) or small
    random vectors (``missing="random"``, std = the saved vectors' std). With ``return_found`` a boolean
    (N+1,) mask of the rows that came from the file is returned as well.
    """
    if missing not in ("zero", "random"):
        raise ValueError(f"missing={missing!r}: expected 'zero' or 'random'")
    vectors = np.asarray(vectors, dtype=np.float32)
    row_of = {int(raw): row for row, raw in enumerate(np.asarray(item_ids)) if int(raw) >= 0}
    table = np.zeros((split.num_items + 1, vectors.shape[1]), dtype=np.float32)
    found = np.zeros(split.num_items + 1, dtype=bool)
    for internal in range(1, split.num_items + 1):
        row = row_of.get(int(split.item_ids[internal]))
        if row is not None:
            table[internal], found[internal] = vectors[row], True
    if missing == "random":
        lost = ~found
        lost[0] = False
        rng = np.random.default_rng(seed)
        table[lost] = rng.normal(0.0, float(vectors[1:].std() or 0.01), size=(lost.sum(), vectors.shape[1]))
    tensor = torch.from_numpy(table)
    return (tensor, found) if return_found else tensor


def save_glove_text(path: str | os.PathLike, tokens, vectors, precision: int = 6) -> Path:
    """Write ``tokens`` and their ``vectors`` (V, D) in the GloVe text format (atomically)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if len(tokens) != len(vectors):
        raise ValueError(f"{len(tokens)} tokens but {len(vectors)} vectors")
    bad = [t for t in tokens if not t or any(c.isspace() for c in t)]
    if bad:
        raise ValueError(f"tokens must be non-empty and contain no whitespace: {bad[:3]}")
    path = Path(path)
    with atomic_path(path) as part, open(part, "w", encoding="utf-8") as out:
        for token, vec in zip(tokens, vectors):
            out.write(token + " " + " ".join(f"{x:.{precision}g}" for x in vec) + "\n")
    return path


def _parse_glove_line(line: str, line_no: int, path, dim: int | None) -> tuple[str, np.ndarray]:
    parts = line.rstrip("\n").rstrip("\r").split(" ")
    if len(parts) < 2 or not parts[0]:
        raise ValueError(f"{path}, line {line_no}: expected 'token v1 ... vd', got {line[:60]!r}")
    if dim is not None and len(parts) - 1 != dim:
        raise ValueError(f"{path}, line {line_no}: token {parts[0]!r} has {len(parts) - 1} values, "
                         f"expected {dim} (like the lines before it)")
    try:
        values = np.array([float(x) for x in parts[1:]], dtype=np.float32)
    except ValueError:
        raise ValueError(f"{path}, line {line_no}: token {parts[0]!r} has a value that is not a number") from None
    if not np.isfinite(values).all():
        raise ValueError(f"{path}, line {line_no}: token {parts[0]!r} has NaN or inf values")
    return parts[0], values


def load_glove_text(path: str | os.PathLike, max_tokens: int | None = None,
                    dim: int | None = None) -> tuple[list[str], np.ndarray]:
    """Read a GloVe text file -> (tokens (V,), vectors (V, D) float32).

    ``dim`` = expected dimension (default: taken from the first line). Raises ``ValueError`` naming the
    file and line on a malformed line (wrong number of values, non-numbers, NaN) or a duplicated token.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no GloVe file at {path}")
    tokens, rows, seen = [], [], set()
    with open(path, encoding="utf-8") as lines:
        for line_no, line in enumerate(lines, start=1):
            if max_tokens is not None and len(tokens) >= max_tokens:
                break
            if not line.strip():
                raise ValueError(f"{path}, line {line_no}: empty line")
            token, values = _parse_glove_line(line, line_no, path, dim)
            if token in seen:
                raise ValueError(f"{path}, line {line_no}: token {token!r} appears twice")
            dim = len(values)
            seen.add(token)
            tokens.append(token)
            rows.append(values)
    if not tokens:
        raise ValueError(f"{path} holds no vectors")
    return tokens, np.stack(rows)


def default_embedding_path(model: str, dataset: str = "ml-100k") -> Path:
    """Where notebooks keep item embeddings for later notebooks: ``<data cache>/embeddings/<model>-<dataset>.npz``."""
    from course_lib.data import cache_dir

    return Path(cache_dir()) / "embeddings" / f"{model}-{dataset}.npz"
