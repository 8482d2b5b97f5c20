"""Numbers quoted in prose must come from a run: a re-execution cannot leave markdown stale unnoticed.

Every measured-looking number in a notebook's markdown (two or more decimals, or one decimal followed by × or
%) must match, to the precision it is written with, a number that the notebook's own stored outputs print or
that a committed results file (``benchmarks/results/``) holds. The README and the docs are held to the results
files and the notebooks' outputs. Math (``$…$``), code spans, links and version strings are not prose numbers.
When this test fails after a re-run, update the sentence (or point it at the output) rather than the test.
"""

import json
import re
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
QUOTED = re.compile(r"(?<![\w.\-/+])(\d+\.\d{2,}|\d+\.\d(?=\s?(?:×|%|x\b)))(?![\w.])")
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE]-?\d+)?")


def prose(markdown: str) -> str:
    """Markdown without what is not prose: math, code, link targets, URLs, arXiv ids, HTML tags."""
    for pattern in (r"\$\$.*?\$\$", r"\$[^$\n]+\$", r"```.*?```", r"`[^`\n]*`", r"\]\([^)]*\)", r"https?://\S+",
                    r"arXiv:\s?\d+\.\d+", r"<[^>]+>"):
        markdown = re.sub(pattern, " ", markdown, flags=re.S)
    return markdown


def numbers_in(text: str) -> list[float]:
    return [float(x) for x in NUMBER.findall(text)]


def notebook_parts(path: Path) -> tuple[list[tuple[int, str]], list[float]]:
    """(markdown cells as (index, prose), every number the stored outputs print)."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    join = lambda v: "".join(v) if isinstance(v, list) else str(v)  # noqa: E731
    markdown = [(i, prose(join(c["source"]))) for i, c in enumerate(cells) if c["cell_type"] == "markdown"]
    printed = []
    for cell in cells:
        for out in cell.get("outputs", []):
            printed += numbers_in(join(out.get("text", "")))
            for mime, value in out.get("data", {}).items():
                if mime.startswith("text/"):
                    printed += numbers_in(join(value))
    return markdown, printed


@lru_cache(maxsize=1)
def results_numbers() -> tuple[float, ...]:
    files = [*(ROOT / "benchmarks" / "results").glob("*.json"), *(ROOT / "benchmarks" / "results").glob("*.txt")]
    return tuple(n for f in files for n in numbers_in(f.read_text(encoding="utf-8")))


def backed(quoted: str, pool) -> bool:
    """``quoted`` (e.g. '0.1069', '1.47') equals some pool value rounded to its precision (or as a percent)."""
    decimals = len(quoted.split(".")[1])
    value, half = float(quoted), 0.5 * 10 ** -decimals + 1e-9
    return any(abs(abs(y) - value) <= half or abs(abs(y) * 100 - value) <= half for y in pool)


def stale(markdown: list[tuple[int, str]], pool) -> list[str]:
    return [f"cell {i}: {m.group(1)} in '…{text[max(0, m.start() - 60):m.end() + 15]}…'".replace("\n", " ")
            for i, text in markdown for m in QUOTED.finditer(text) if not backed(m.group(1), pool)]


def all_outputs() -> list[float]:
    return [n for p in sorted((ROOT / "notebooks").glob("*.ipynb")) for n in notebook_parts(p)[1]]


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("*.ipynb")) +
                         sorted((ROOT / "solutions").glob("*.ipynb")), ids=lambda p: p.name)
def test_numbers_in_notebook_prose_come_from_its_outputs(path):
    markdown, printed = notebook_parts(path)
    pool = [*printed, *results_numbers()]
    if path.parent.name == "solutions":          # solutions discuss their notebook's outputs too
        pool += notebook_parts(ROOT / "notebooks" / path.name.replace("_solutions", ""))[1]
    problems = stale(markdown, pool)
    assert not problems, "numbers in prose that no output or results file holds:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", [p for p in [ROOT / "README.md", ROOT / "README.zh-CN.md",
                                              *sorted((ROOT / "docs").glob("**/*.md"))] if p.exists()],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_numbers_in_pages_come_from_results_or_notebooks(path):
    pool = [*results_numbers(), *all_outputs()]
    problems = stale([(0, prose(path.read_text(encoding="utf-8")))], pool)
    assert not problems, "numbers that no results file or notebook output holds:\n" + "\n".join(problems)


def test_the_check_catches_a_stale_number():
    markdown = [(3, prose("SASRec reaches 0.1069 ($x = 0.5$, `lr=0.001`), a 1.5× gain; see arXiv:1808.09781."))]
    assert stale(markdown, [0.10687, 1.48]) == []
    assert len(stale(markdown, [0.1075, 1.48])) == 1 and len(stale(markdown, [0.1069, 1.62])) == 1
