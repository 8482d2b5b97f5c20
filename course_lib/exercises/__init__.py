"""Checkers for the notebooks' exercises: each says right or wrong with a hint, and never prints the answer.

Use one in a notebook after working an exercise out::

    from course_lib.exercises import check_kcore_drop
    check_kcore_drop(n_dropped)          # ✅ Exercise 01.1: right.  /  ❌ Exercise 01.1: not yet. Hint: …

``REGISTRY`` maps every checked exercise (``"NN.k"``) to its checker; ``course grade`` reads the verdicts back
from executed notebooks. Worked solutions are in ``solutions/``.
"""

from __future__ import annotations

import importlib

from course_lib.exercises.core import REGISTRY, Verdict, checker, verdict

# one module per part of the course; importing a module registers its checkers
TOPICS = ("data", "evaluation", "embeddings", "sequence_models", "text", "gpu", "serving", "llm", "sessions")
_EXPORTED: dict[str, object] = {}
for _topic in TOPICS:
    try:
        _module = importlib.import_module(f"{__name__}.{_topic}")
    except ModuleNotFoundError as err:  # a topic without checkers yet
        if err.name != f"{__name__}.{_topic}":
            raise
        continue
    for _name in dir(_module):
        if _name.startswith("check_"):
            _EXPORTED[_name] = getattr(_module, _name)
globals().update(_EXPORTED)

__all__ = ["REGISTRY", "Verdict", "checker", "verdict", *sorted(_EXPORTED)]


def checked_exercises() -> list[str]:
    """Exercise ids that have a checker, in course order."""
    return sorted(REGISTRY, key=lambda e: tuple(int(p) for p in e.split(".")))
