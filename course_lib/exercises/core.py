"""The machinery behind every exercise checker: a registry, a verdict, tolerant comparisons.

A checker is a plain function ``check_<what it checks>(answer, ...) -> Verdict`` registered under the
exercise it belongs to (``"05.3"``: notebook 05, exercise 3). It works the right answer out for itself, says
right or wrong, and on a wrong answer gives a hint, never the answer. Bad input (a string where a number is
expected, a NaN, a list of the wrong length) is a wrong answer with a hint, not a traceback.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

REGISTRY: dict[str, Callable[..., "Verdict"]] = {}
MARK_RIGHT, MARK_WRONG = "✅", "❌"


@dataclass(frozen=True)
class Verdict:
    """What a checker decided. Truthy when right; printed once when made, so a cell shows it wherever it sits."""

    exercise: str
    ok: bool
    message: str

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        return f"Verdict(exercise={self.exercise!r}, ok={self.ok})"

    def _ipython_display_(self) -> None:  # already printed when made: show nothing twice
        return None


def verdict(exercise: str, ok: bool, hint: str, praise: str = "") -> Verdict:
    """Print and return the outcome: ``✅ Exercise 05.3: right. <praise>`` or ``❌ Exercise 05.3: not yet. Hint: …``.

    The first words (mark + exercise id) are what ``course grade`` reads back from executed notebooks.
    """
    if ok:
        message = f"{MARK_RIGHT} Exercise {exercise}: right." + (f" {praise}" if praise else "")
    else:
        message = f"{MARK_WRONG} Exercise {exercise}: not yet. Hint: {hint}"
    print(message)
    return Verdict(exercise, bool(ok), message)


def checker(exercise: str) -> Callable[[Callable[..., Verdict]], Callable[..., Verdict]]:
    """Register a checker under an exercise id ``"NN.k"``; one checker per exercise."""
    if not (len(exercise.split(".")) == 2 and all(part.isdigit() for part in exercise.split("."))):
        raise ValueError(f"exercise id must look like '05.3', got {exercise!r}")

    def register(func: Callable[..., Verdict]) -> Callable[..., Verdict]:
        if exercise in REGISTRY and REGISTRY[exercise] is not func:
            raise ValueError(f"exercise {exercise} already has a checker: {REGISTRY[exercise].__name__}")
        if not func.__name__.startswith("check_"):
            raise ValueError(f"checker names start with 'check_': {func.__name__}")
        REGISTRY[exercise] = func
        func.exercise = exercise  # type: ignore[attr-defined]
        return func

    return register


def as_number(answer: Any) -> float | None:
    """``answer`` as a finite float, or None when it is not one (a string, a NaN, an array of several values)."""
    if isinstance(answer, bool):
        return None
    try:
        value = float(answer)  # numpy scalars, 0-d tensors and one-element arrays convert
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def close_to(answer: Any, truth: float, rel: float = 0.0, abs_tol: float = 0.0) -> bool:
    """True when ``answer`` is a finite number within ``abs_tol`` or ``rel`` (relative) of ``truth``."""
    value = as_number(answer)
    return value is not None and math.isclose(value, truth, rel_tol=rel, abs_tol=abs_tol)


def number_or_hint(exercise: str, answer: Any, what: str) -> tuple[float | None, Verdict | None]:
    """Parse a numeric answer; on bad input return the wrong-answer verdict that says what was expected."""
    value = as_number(answer)
    if value is None:
        return None, verdict(exercise, False, f"pass {what} as one number (got {type(answer).__name__} {answer!r:.40}).")
    return value, None


def same_choice(answer: Any, truth: str, choices: tuple[str, ...]) -> bool | None:
    """Compare a word answer (``"up"``, ``"down"``…) case- and space-insensitively; None if not one of ``choices``."""
    if not isinstance(answer, str) or answer.strip().lower() not in choices:
        return None
    return answer.strip().lower() == truth


@lru_cache(maxsize=1)
def movielens_split():
    """MovieLens-100k's leave-one-out split, as every notebook builds it (cached: checkers share it)."""
    from course_lib.data import load_movielens
    from course_lib.sequences import leave_one_out

    ml = load_movielens("ml-100k")
    return ml, leave_one_out(ml.interactions)
