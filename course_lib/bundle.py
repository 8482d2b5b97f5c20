"""Saved models: a self-describing folder that rebuilds a trained recommender on any device, without pickle.

A bundle is a folder with two files::

    bundle.json        format version, model name and class, its config, the item-id map with titles, the split's
                       tie rule, training settings, metrics, library versions
    weights.safetensors  the state dict (safetensors: tensors only, nothing executable)

``save_bundle(folder, model, split, items, ...)`` writes both into ``<folder>.part`` and renames it, so a crash
never leaves half a bundle; ``load_bundle(folder)`` checks the format version, the files and that the weights fit
the configuration before returning anything. The loop-trained models are supported: SASRec and BERT4Rec.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
import torch

FORMAT_VERSION = 1
META_FILE, WEIGHTS_FILE = "bundle.json", "weights.safetensors"


class BundleError(ValueError):
    """A bundle cannot be written or read; the message says which file and why."""


def _architectures() -> dict:
    from course_lib.models.bert4rec import Bert4Rec, Bert4RecConfig
    from course_lib.models.sasrec import SASRec, SASRecConfig
    return {"SASRec": (SASRec, SASRecConfig), "Bert4Rec": (Bert4Rec, Bert4RecConfig)}


@dataclass
class Bundle:
    """A loaded bundle: the model (eval mode), internal id -> raw id / title, and everything recorded with it."""

    model: torch.nn.Module
    item_ids: np.ndarray          # (N+1,) raw item id of each internal id; item_ids[0] = -1 (padding)
    titles: np.ndarray            # (N+1,) title of each internal id; titles[0] = ""
    meta: dict

    @property
    def name(self) -> str:
        return self.meta["model"]


def _versions() -> dict:
    out = {}
    for package in ("llm-seqrec-course", "torch", "transformers", "numpy"):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            out[package] = None
    return out


def save_bundle(folder, model: torch.nn.Module, split, items: pd.DataFrame, *, name: str, dataset: str = "ml-100k",
                params: dict | None = None, metrics: dict | None = None) -> Path:
    """Write ``model`` (SASRec or BERT4Rec) with what it needs to recommend to ``folder``; returns the folder.

    ``split``: the SplitData it was trained on (its item-id map and tie rule); ``items``: the catalogue (item_id,
    title); ``params``/``metrics``: the recipe's settings and the run's metrics, recorded as they are.
    """
    from safetensors.torch import save_model

    kind = type(model).__name__
    if kind not in _architectures():
        raise BundleError(f"cannot bundle a {kind}: supported models are {sorted(_architectures())}")
    if model.num_items != split.num_items:
        raise BundleError(f"the model has {model.num_items} items but the split {split.num_items}: "
                          "save it with the split it was trained on")
    folder = Path(folder)
    titles = dict(zip(items["item_id"], items["title"]))
    meta = {"format_version": FORMAT_VERSION, "model": name, "class": kind, "dataset": dataset,
            "config": dataclasses.asdict(model.config), "tie_break": split.tie_break,
            "item_ids": [int(i) for i in split.item_ids[1:]],
            "titles": [str(titles.get(int(i), "")) for i in split.item_ids[1:]],
            "params": params or {}, "metrics": metrics or {}, "versions": _versions()}
    part = folder.with_name(folder.name + ".part")
    shutil.rmtree(part, ignore_errors=True)
    part.mkdir(parents=True)
    try:
        save_model(model, str(part / WEIGHTS_FILE))        # tensors on any device; shared tensors saved once
        (part / META_FILE).write_text(json.dumps(meta, indent=1, default=float), encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        part.rename(folder)
    finally:
        shutil.rmtree(part, ignore_errors=True)
    return folder


def _read_meta(folder: Path) -> dict:
    path = folder / META_FILE
    if not folder.is_dir():
        raise BundleError(f"{folder} is not a bundle folder (it does not exist or is a file)")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BundleError(f"{folder} has no {META_FILE}: not a bundle (save one with course train MODEL --save DIR)") from None
    except ValueError as err:
        raise BundleError(f"{path} is not valid JSON ({err}): the bundle is damaged") from None
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise BundleError(f"{folder} has bundle format {version!r}; this version of the course reads format "
                          f"{FORMAT_VERSION}: save the model again")
    missing = [k for k in ("model", "class", "config", "item_ids", "titles") if k not in meta]
    if missing or meta["class"] not in _architectures():
        raise BundleError(f"{path} lacks {missing} or names an unknown model class {meta.get('class')!r}")
    return meta


def load_bundle(folder, device=None) -> Bundle:
    """Rebuild the bundled model on ``device`` (default: the course device) in eval mode; see the module docstring."""
    from safetensors import SafetensorError
    from safetensors.torch import load_model

    from course_lib import runtime

    folder = Path(folder)
    meta = _read_meta(folder)
    model_class, config_class = _architectures()[meta["class"]]
    try:
        model = model_class(config_class(**meta["config"]))
    except (TypeError, ValueError) as err:
        raise BundleError(f"{folder / META_FILE}: the model configuration does not build ({err})") from None
    weights = folder / WEIGHTS_FILE
    if not weights.is_file():
        raise BundleError(f"{folder} has no {WEIGHTS_FILE}: the bundle is incomplete")
    try:
        load_model(model, str(weights), strict=True)
    except (SafetensorError, OSError) as err:
        raise BundleError(f"{weights} cannot be read ({err}): the file is truncated or not safetensors") from None
    except RuntimeError as err:
        first = str(err).strip().splitlines()[0][:300]
        raise BundleError(f"{weights} does not fit the configuration in {META_FILE}: {first}") from None
    if len(meta["item_ids"]) != model.num_items or len(meta["titles"]) != model.num_items:
        raise BundleError(f"{folder}: the item map has {len(meta['item_ids'])} items, the model {model.num_items}")
    model.to(runtime.get_device(str(device)) if device is not None else runtime.get_device()).eval()
    item_ids = np.array([-1] + meta["item_ids"], dtype=np.int64)
    titles = np.array([""] + meta["titles"], dtype=object)
    return Bundle(model=model, item_ids=item_ids, titles=titles, meta=meta)


def in_memory(model, split, items: pd.DataFrame, *, name: str, dataset: str = "ml-100k") -> Bundle:
    """A trained model (any recommender with ``scores(seqs)``) as an unsaved Bundle, for ``recommend`` & co."""
    titles = dict(zip(items["item_id"], items["title"]))
    item_ids = np.asarray(split.item_ids, dtype=np.int64).copy()
    item_ids[0] = -1
    names = np.array([""] + [str(titles.get(int(i), "")) for i in split.item_ids[1:]], dtype=object)
    return Bundle(model=model, item_ids=item_ids, titles=names,
                  meta={"model": name, "class": type(model).__name__, "dataset": dataset,
                        "tie_break": split.tie_break})
