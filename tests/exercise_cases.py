"""How every exercise checker is tested both ways.

A topic's test module (``tests/test_exercises_<topic>.py``) lists ``CASES``: for each checker, a right answer
that must pass and a typical wrong answer that must fail with a hint (and without printing the right answer).
``tests/test_exercises.py`` collects them all and checks that every registered checker has a case.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass
class Case:
    """``right()`` and ``wrong()`` return the (args, kwargs) to call ``checker`` with; they may compute."""

    checker: Callable
    right: Callable[[], tuple[tuple, dict]]
    wrong: Callable[[], tuple[tuple, dict]]
    hint: str = ""                        # a word the wrong answer's hint must contain
    secret: Any = None                    # optional: the right answer, which must never be printed
    id: str = field(default="")

    def __post_init__(self):
        self.id = self.id or self.checker.__name__


def run_both_ways(case: Case, capsys) -> None:
    """The right answer passes; the wrong one fails, prints its hint, and never prints the secret."""
    args, kwargs = case.right()
    assert case.checker(*args, **kwargs).ok, f"{case.id}: the right answer was judged wrong"
    capsys.readouterr()
    args, kwargs = case.wrong()
    result = case.checker(*args, **kwargs)
    printed = capsys.readouterr().out
    assert not result.ok, f"{case.id}: a wrong answer was judged right"
    assert "Hint:" in printed and result.message in printed
    if case.hint:
        assert case.hint.lower() in printed.lower(), f"{case.id}: hint lacks {case.hint!r}: {printed}"
    if case.secret is not None:
        assert str(case.secret) not in printed, f"{case.id}: the hint gives the answer away"
