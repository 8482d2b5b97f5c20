"""Resumable checkpoints of the training loop: weights, optimizer, every random generator, and what they belong to.

A checkpoint is written atomically (``course_lib.files``) and read with ``torch.load(weights_only=True)``; one
written with other training settings, or for another model, is refused with the differences named.
"""

from __future__ import annotations

import os
import random
from dataclasses import asdict

import numpy as np
import torch

# Settings that may change between a run and its resumption (they do not change the numbers).
RESUMABLE_CHANGES = {"checkpoint_path", "progress", "device", "num_workers", "eval_batch_size"}


def rng_state(loader_gen: torch.Generator) -> dict:
    """Every random generator the loop depends on, in a form torch.load(weights_only=True) accepts."""
    np_state = np.random.get_state()
    state = {"torch": torch.get_rng_state(), "loader": loader_gen.get_state(),
             "python": random.getstate(),
             "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *np_state[2:]]}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict, loader_gen: torch.Generator) -> None:
    torch.set_rng_state(state["torch"])
    loader_gen.set_state(state["loader"])
    version, *rest = state["python"]
    random.setstate((version, tuple(rest[0]), rest[1]))
    name, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: str | os.PathLike, state: dict) -> None:
    """torch.save ``state`` atomically (to ``path.part``, then renamed): a crash never leaves half a file."""
    from course_lib.files import atomic_path
    with atomic_path(path) as part:
        torch.save(state, part)


def model_settings(model: torch.nn.Module) -> dict:
    """What identifies a model's architecture in a checkpoint: its class and its config dataclass, if any."""
    config = getattr(model, "config", None)
    fields = asdict(config) if config is not None and hasattr(config, "__dataclass_fields__") else {}
    return {"class": type(model).__name__, **{k: v for k, v in fields.items() if isinstance(v, (int, float, str, bool, type(None)))}}


def _differences(saved: dict, now: dict, ignore=()) -> str:
    changed = sorted(k for k in now.keys() | saved.keys() if k not in ignore and saved.get(k) != now.get(k))
    return ", ".join(f"{k}: {saved.get(k)!r} -> {now.get(k)!r}" for k in changed)


def load_checkpoint(path: str | os.PathLike, config, model: torch.nn.Module | None = None) -> dict:
    """Load a checkpoint with ``weights_only=True``; refuse one written with other training settings (``config``,
    a ``TrainConfig``) or, when ``model`` is given, for another model (class or configuration), naming the
    differences."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a corrupt or foreign file: say which
        raise ValueError(f"cannot read checkpoint {path}: {err}") from err
    if not isinstance(state, dict) or "model" not in state or "config" not in state:
        raise ValueError(f"{path} is not a course_lib.train checkpoint")
    diffs = _differences(state["config"], asdict(config), RESUMABLE_CHANGES)
    if diffs:
        raise ValueError(f"checkpoint {path} was written with other settings ({diffs}); "
                         "delete it or use another checkpoint_path")
    if model is not None and "model_settings" in state:
        diffs = _differences(state["model_settings"], model_settings(model))
        if diffs:
            raise ValueError(f"checkpoint {path} holds another model ({diffs}); "
                             "delete it or use another checkpoint_path")
    return state
