"""Reading exercise verdicts back from executed notebooks: what ``course grade`` tabulates.

Every checker prints a line that starts ``✅ Exercise NN.k: right.`` or ``❌ Exercise NN.k: not yet.``
(``core.verdict``). A student who submits an executed notebook therefore carries their verdicts in its
outputs; ``grade`` reads them, one row per submission. An exercise counts as passed when any of its verdicts
in the file is right (students may try more than once). Printed text can be faked: for summative grading,
re-execute the submissions first (``jupyter nbconvert --execute``) and grade the re-executed copies.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

VERDICT_LINE = re.compile(r"^(✅|❌) Exercise (\d\d\.\d+): (?:right|not yet)", re.M)


class GradingError(ValueError):
    """A submission that cannot be read as a notebook."""


def _output_text(output: dict) -> str:
    value = output.get("text", "")
    if not value:
        value = output.get("data", {}).get("text/plain", "")
    return "".join(value) if isinstance(value, list) else str(value)


def verdicts(path: str | Path) -> dict[str, bool]:
    """``{exercise id: passed}`` for every exercise a notebook's stored outputs hold a verdict on."""
    path = Path(path)
    if not path.is_file():
        raise GradingError(f"{path}: no such file")
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
        cells = notebook["cells"]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as err:
        raise GradingError(f"{path}: not a Jupyter notebook ({err.__class__.__name__})") from None
    found: dict[str, bool] = {}
    for cell in cells:
        for output in cell.get("outputs", []) if isinstance(cell, dict) else []:
            for mark, exercise in VERDICT_LINE.findall(_output_text(output)):
                found[exercise] = found.get(exercise, False) or mark == "✅"
    return found


def grade(paths: list[str | Path]) -> pd.DataFrame:
    """One row per submission (its file name, or its path where two names clash), one column per exercise seen: True, False or <NA> (not tried);
    then ``passed`` (count) and ``tried`` (count). Sorted by exercise id."""
    paths = [Path(p) for p in paths]
    names = [p.name for p in paths]
    if len(set(names)) < len(names):           # same file name in several folders: name rows by their path
        names = [str(p) for p in paths]
    if len(set(names)) < len(names):
        raise GradingError("the same submission is listed twice")
    rows = {name: verdicts(p) for name, p in zip(names, paths)}
    exercises = sorted({e for row in rows.values() for e in row}, key=lambda e: tuple(map(int, e.split("."))))
    table = pd.DataFrame([{e: row.get(e, pd.NA) for e in exercises} for row in rows.values()],
                         index=pd.Index(list(rows), name="submission"), columns=exercises, dtype="boolean")
    table["passed"] = table[exercises].sum(axis=1).astype(int) if exercises else 0
    table["tried"] = table[exercises].notna().sum(axis=1).astype(int) if exercises else 0
    return table
