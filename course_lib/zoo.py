"""The models ``course train MODEL`` knows: name -> "module:function" of its default training recipe.

Each function has the signature ``train_default(split, *, seed: int, fast: bool) -> dict`` and returns at
least ``model``, ``valid`` (validation metrics), ``epochs``, ``seconds_per_epoch``, ``total_seconds`` and the
fitted ``recommender`` (an object with ``scores(seqs) -> (B, N+1)``). To add a model: add ONE line here.
Modules are imported only when their model is trained, so a missing optional dependency breaks one model,
not the command.
"""

from __future__ import annotations

import importlib

TRAINERS: dict[str, str] = {
    "random": "course_lib.models.random:train_default",
    "pop": "course_lib.models.popularity:train_default",
    "markov": "course_lib.models.markov:train_default",
    "itemknn": "course_lib.models.itemknn:train_default",
    "item2vec": "course_lib.embeddings.defaults:train_item2vec_default",
    "glove": "course_lib.embeddings.defaults:train_glove_default",
    "sasrec": "course_lib.models.sasrec_train:train_default",
    "sasrec-bce": "course_lib.models.sasrec_train:train_default_bce",
    "bert4rec": "course_lib.models.bert4rec_train:train_default",
    "text-zeroshot": "course_lib.models.text_zero_shot:train_default",
    "sasrec-text": "course_lib.models.sasrec_text:train_default_text",
    "sasrec-fusion": "course_lib.models.sasrec_text:train_default_fusion",
}


def get_trainer(name: str):
    """The training function registered under ``name`` (ValueError listing the known names otherwise)."""
    if name not in TRAINERS:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(sorted(TRAINERS))}")
    module_name, _, function_name = TRAINERS[name].partition(":")
    module = importlib.import_module(module_name)
    try:
        return getattr(module, function_name)
    except AttributeError:
        raise ValueError(f"TRAINERS[{name!r}] points at {TRAINERS[name]!r}, which does not exist") from None
