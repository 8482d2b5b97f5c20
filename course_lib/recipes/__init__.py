"""Recipes: how each model of the course is trained and chosen on validation, and the one registry of them.

A recipe module holds a model family's defaults (``DEFAULTS``), its FAST overrides, and functions that build,
fit and report. ``REGISTRY`` maps every name ``course train MODEL`` knows to its entry point,
``train(split, *, seed: int, fast: bool) -> dict`` (see ``recipes.common`` for the dict); the CLI, the benchmarks
and the notebooks all look models up here, and ``recipes.run.run_training`` evaluates any of them the same way.
Recipes sit above the models (``course_lib.models``: architectures and scorers) and the training loop
(``course_lib.train``); neither imports them.

To add a model: its architecture in ``models/``, its recipe module here, and ONE line in ``REGISTRY``. Modules
are imported only when their model is trained, so a missing optional dependency breaks one model, not the command.
"""

from __future__ import annotations

import importlib

REGISTRY: dict[str, str] = {
    "random": "course_lib.recipes.baselines:train_random",
    "pop": "course_lib.recipes.baselines:train_pop",
    "markov": "course_lib.recipes.baselines:train_markov",
    "itemknn": "course_lib.recipes.baselines:train_itemknn",
    "item2vec": "course_lib.recipes.embeddings:train_item2vec_default",
    "glove": "course_lib.recipes.embeddings:train_glove_default",
    "sasrec": "course_lib.recipes.sasrec:train_default",
    "sasrec-bce": "course_lib.recipes.sasrec:train_default_bce",
    "bert4rec": "course_lib.recipes.bert4rec:train_default",
    "gru4rec": "course_lib.recipes.gru4rec:train_default",
    "text-zeroshot": "course_lib.recipes.text:train_zeroshot",
    "sasrec-text": "course_lib.recipes.text:train_default_text",
    "sasrec-fusion": "course_lib.recipes.text:train_default_fusion",
    "llm-rerank": "course_lib.recipes.llm:train_default",
    "llm-zeroshot": "course_lib.recipes.llm_encoder:train_llm_zeroshot",
    "sasrec-llm-fusion": "course_lib.recipes.llm_encoder:train_llm_fusion",
    "llm-finetune": "course_lib.recipes.llm_finetune:train_default",
}


def get_trainer(name: str):
    """The training function registered under ``name`` (ValueError listing the known names otherwise)."""
    if name not in REGISTRY:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(sorted(REGISTRY))}")
    module_name, _, function_name = REGISTRY[name].partition(":")
    module = importlib.import_module(module_name)
    try:
        return getattr(module, function_name)
    except AttributeError:
        raise ValueError(f"REGISTRY[{name!r}] points at {REGISTRY[name]!r}, which does not exist") from None


def recipe_module(name: str):
    """The module of ``name``'s recipe (its ``DEFAULTS``, ``FAST_OVERRIDES``, ``train_*`` functions)."""
    get_trainer(name)
    return importlib.import_module(REGISTRY[name].partition(":")[0])
