"""Saved models: a self-describing folder that rebuilds a trained recommender on any device, without pickle.

A bundle is a folder with two files::

    bundle.json        format version, model name and class, its config, the item-id map with titles, the split's
                       tie rule, training settings, metrics, library versions
    weights.safetensors  the model's tensors (safetensors: tensors only, nothing executable)

``save_bundle(folder, model, split, items, ...)`` writes both into ``<folder>.part`` and renames it, so a crash
never leaves half a bundle; ``load_bundle(folder)`` checks the format version, the files and that the tensors fit
the configuration before returning anything. Supported: SASRec, BERT4Rec and GRU4Rec (their state dict), and the models
whose state is a few arrays: popularity (counts), Markov (transition counts), item-KNN (similarities) and the
embedding recommender of item2vec / GloVe (item vectors). A sparse matrix is stored as its CSR arrays.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from course_lib.files import atomic_path
FORMAT_VERSION = 1
META_FILE, WEIGHTS_FILE = "bundle.json", "weights.safetensors"


class BundleError(ValueError):
    """A bundle cannot be written or read; the message says which file and why."""


def _modules() -> dict:
    """Neural models: class name -> (class, config class); the weights are the state dict."""
    from course_lib.models.bert4rec import Bert4Rec, Bert4RecConfig
    from course_lib.models.gru4rec import GRU4Rec, GRU4RecConfig
    from course_lib.models.sasrec import SASRec, SASRecConfig
    return {"SASRec": (SASRec, SASRecConfig), "Bert4Rec": (Bert4Rec, Bert4RecConfig),
            "GRU4Rec": (GRU4Rec, GRU4RecConfig)}


def _csr_tensors(prefix: str, matrix) -> dict:
    return {f"{prefix}.indptr": torch.from_numpy(matrix.indptr.astype(np.int64)),
            f"{prefix}.indices": torch.from_numpy(matrix.indices.astype(np.int64)),
            f"{prefix}.data": torch.from_numpy(matrix.data.astype(np.float64))}


def _csr(prefix: str, tensors: dict, size: int):
    import scipy.sparse as sp
    return sp.csr_matrix((tensors[f"{prefix}.data"].numpy(), tensors[f"{prefix}.indices"].numpy(),
                          tensors[f"{prefix}.indptr"].numpy()), shape=(size, size))


# Count and embedding models: class name -> (config of an instance, its tensors, rebuild from both, N from tensors)
def _count_models() -> dict:
    from course_lib.embeddings.recommender import EmbeddingRecommender
    from course_lib.models.itemknn import ItemKNNRecommender
    from course_lib.models.markov import MarkovRecommender
    from course_lib.models.popularity import PopularityRecommender

    def popularity(config, t):
        model = PopularityRecommender(**config)
        model.counts = t["counts"].float()
        return model

    def markov(config, t):
        model = MarkovRecommender(**config)
        model.transitions = _csr("transitions", t, len(t["popularity"]))
        model.row_totals, model.popularity = t["row_totals"].numpy(), t["popularity"].numpy()
        return model

    def itemknn(config, t):
        model = ItemKNNRecommender(**config)
        model.similarity, model.tie_break = _csr("similarity", t, len(t["tie_break"])), t["tie_break"].numpy()
        return model

    return {
        "PopularityRecommender": (
            lambda m: {"include_valid": m.include_valid}, lambda m: {"counts": m.counts.double()}, popularity,
            lambda t: len(t["counts"]) - 1),
        "MarkovRecommender": (
            lambda m: {"beta": m.beta, "include_valid": m.include_valid},
            lambda m: {**_csr_tensors("transitions", m.transitions), "row_totals": torch.from_numpy(m.row_totals),
                       "popularity": torch.from_numpy(m.popularity)}, markov, lambda t: len(t["popularity"]) - 1),
        "ItemKNNRecommender": (
            lambda m: {"num_recent": m.num_recent, "shrink": m.shrink, "include_valid": m.include_valid},
            lambda m: {**_csr_tensors("similarity", m.similarity), "tie_break": torch.from_numpy(m.tie_break)},
            itemknn, lambda t: len(t["tie_break"]) - 1),
        "EmbeddingRecommender": (
            lambda m: {"decay": m.decay, "max_len": m.max_len}, lambda m: {"item_emb": m.item_emb},
            lambda config, t: EmbeddingRecommender(t["item_emb"], **config), lambda t: len(t["item_emb"]) - 1),
    }


SUPPORTED = ("SASRec", "Bert4Rec", "GRU4Rec", "PopularityRecommender", "MarkovRecommender", "ItemKNNRecommender",
             "EmbeddingRecommender")


@dataclass
class Bundle:
    """A loaded bundle: the model (eval mode), internal id -> raw id / title, and everything recorded with it."""

    model: object                 # an nn.Module (SASRec, BERT4Rec) or a count / embedding recommender
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


def _num_items(model) -> int:
    if isinstance(model, torch.nn.Module):
        return model.num_items
    _, tensors, _, num_items = _count_models()[type(model).__name__]
    return num_items(tensors(model))


def save_bundle(folder, model, split, items: pd.DataFrame, *, name: str, dataset: str = "ml-100k",
                params: dict | None = None, metrics: dict | None = None) -> Path:
    """Write ``model`` (see ``SUPPORTED``) with what it needs to recommend to ``folder``; returns the folder.

    ``split``: the SplitData it was trained on (its item-id map and tie rule); ``items``: the catalogue (item_id,
    title); ``params``/``metrics``: the recipe's settings and the run's metrics, recorded as they are.
    """
    from safetensors.torch import save_file, save_model

    kind = type(model).__name__
    if kind not in SUPPORTED:
        raise BundleError(f"cannot bundle a {kind}: supported models are {', '.join(SUPPORTED)}")
    if _num_items(model) != split.num_items:
        raise BundleError(f"the model has {_num_items(model)} items but the split {split.num_items}: "
                          "save it with the split it was trained on")
    folder = Path(folder)
    titles = dict(zip(items["item_id"], items["title"]))
    config = (dataclasses.asdict(model.config) if kind in _modules() else _count_models()[kind][0](model))
    meta = {"format_version": FORMAT_VERSION, "model": name, "class": kind, "dataset": dataset,
            "config": config, "tie_break": split.tie_break,
            "item_ids": [int(i) for i in split.item_ids[1:]],
            "titles": [str(titles.get(int(i), "")) for i in split.item_ids[1:]],
            "params": params or {}, "metrics": metrics or {}, "versions": _versions()}
    with atomic_path(folder) as part:
        part.mkdir()
        if kind in _modules():
            save_model(model, str(part / WEIGHTS_FILE))    # tensors on any device; shared tensors saved once
        else:
            tensors = {k: v.detach().cpu().contiguous() for k, v in _count_models()[kind][1](model).items()}
            save_file(tensors, str(part / WEIGHTS_FILE))
        (part / META_FILE).write_text(json.dumps(meta, indent=1, default=float), encoding="utf-8")
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
    if missing or meta["class"] not in SUPPORTED:
        raise BundleError(f"{path} lacks {missing} or names an unknown model class {meta.get('class')!r}")
    return meta


def _load_module(folder: Path, meta: dict, weights: Path):
    from safetensors import SafetensorError
    from safetensors.torch import load_model

    model_class, config_class = _modules()[meta["class"]]
    try:
        model = model_class(config_class(**meta["config"]))
    except (TypeError, ValueError) as err:
        raise BundleError(f"{folder / META_FILE}: the model configuration does not build ({err})") from None
    try:
        load_model(model, str(weights), strict=True)
    except (SafetensorError, OSError) as err:
        raise BundleError(f"{weights} cannot be read ({err}): the file is truncated or not safetensors") from None
    except RuntimeError as err:
        first = str(err).strip().splitlines()[0][:300]
        raise BundleError(f"{weights} does not fit the configuration in {META_FILE}: {first}") from None
    return model, model.num_items


def _load_arrays(folder: Path, meta: dict, weights: Path):
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    _, _, rebuild, num_items = _count_models()[meta["class"]]
    try:
        tensors = load_file(str(weights))
    except (SafetensorError, OSError) as err:
        raise BundleError(f"{weights} cannot be read ({err}): the file is truncated or not safetensors") from None
    try:
        model = rebuild(meta["config"], tensors)
        return model, num_items(tensors)
    except KeyError as err:
        raise BundleError(f"{weights} has no tensor {err} that a {meta['class']} needs") from None
    except (TypeError, ValueError) as err:
        raise BundleError(f"{weights} does not fit the configuration in {META_FILE} ({err})") from None


def load_bundle(folder, device=None) -> Bundle:
    """Rebuild the bundled model (eval mode; a neural model on ``device``, default the course device; the count
    and embedding models compute on the CPU); see the module docstring."""
    from course_lib import runtime

    folder = Path(folder)
    meta = _read_meta(folder)
    weights = folder / WEIGHTS_FILE
    if not weights.is_file():
        raise BundleError(f"{folder} has no {WEIGHTS_FILE}: the bundle is incomplete")
    neural = meta["class"] in _modules()
    model, num_items = (_load_module if neural else _load_arrays)(folder, meta, weights)
    if len(meta["item_ids"]) != num_items or len(meta["titles"]) != num_items:
        raise BundleError(f"{folder}: the item map has {len(meta['item_ids'])} items, the model {num_items}")
    if neural:
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
