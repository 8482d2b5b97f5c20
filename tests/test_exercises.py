"""The classroom layer, read from the committed files: every exercise has a worked solution, most have a
checker (each tested both ways), every notebook has a questionnaire answered in its solutions notebook and its
objectives and summary in Chinese, and no page speaks of anything a learner cannot see."""

import importlib
import json
import re
from pathlib import Path

import pytest

import course_lib.exercises as exercises

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
ITEM = re.compile(r"^(\d+)\.\s", re.M)
# words from how the course is made, which a learner cannot resolve ("the seed" meaning the blog post)
OUTSIDE = re.compile(r"\bthe seed's\b|\bthe seed (?:blog|post|text|document|article)\b|\bthe issue('s)?\b"
                     r"|\bissue's target|\bissue #?\d+\b|\btargets? (?:given|set) (?:to|for) us\b", re.I)
MIN_CHECKED_SHARE = 0.60


def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def text(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def section(path: Path, heading: str) -> str:
    """The markdown cell that starts with ``heading`` (e.g. '## Exercises'), from the heading on."""
    for cell in cells(path):
        body = text(cell)
        found = re.search(rf"^{re.escape(heading)}\b.*$", body, re.M)
        if cell["cell_type"] == "markdown" and found:
            return body[found.start():]
    return ""


def items(body: str) -> dict[int, str]:
    """Numbered list items of a markdown list: {number: text up to the next item or heading}."""
    starts = list(ITEM.finditer(body))
    out = {}
    for i, match in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(body)
        chunk = body[match.start():end]
        out[int(match.group(1))] = re.split(r"^#", chunk, maxsplit=1, flags=re.M)[0]
    return out


def exercise_items(path: Path) -> dict[int, str]:
    body = section(path, "## Exercises")
    return items(re.split(r"^## (?!Exercises)", body, maxsplit=1, flags=re.M)[0])


def solutions_for(path: Path) -> Path:
    return ROOT / "solutions" / f"{path.stem}_solutions.ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_exercise_has_a_worked_solution(path):
    found = exercise_items(path)
    assert 3 <= len(found) <= 6 and sorted(found) == list(range(1, len(found) + 1)), sorted(found)
    assert any("predict" in body.lower() for body in found.values()), "no 'predict, then run' exercise"
    solved = solutions_for(path)
    assert solved.exists(), f"no solutions notebook {solved.relative_to(ROOT)}"
    headings = [int(m) for c in cells(solved) if c["cell_type"] == "markdown"
                for m in re.findall(r"^## Exercise (\d+)\b", text(c), re.M)]
    assert headings == sorted(found), f"solution headings {headings} != exercises {sorted(found)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_checked_exercises_name_their_registered_checker(path):
    number = path.name[:2]
    for k, body in exercise_items(path).items():
        for name in set(re.findall(r"\b(check_\w+)\(", body)):
            func = getattr(exercises, name, None)
            assert func is not None, f"exercise {number}.{k} names {name}, which course_lib.exercises lacks"
            assert func.exercise == f"{number}.{k}", f"{name} is registered for {func.exercise}"
    registered = {e for e in exercises.REGISTRY if e.startswith(f"{number}.")}
    named = {f"{number}.{k}" for k, body in exercise_items(path).items() if re.search(r"\bcheck_\w+\(", body)}
    assert registered == named, f"checkers registered {sorted(registered)} but exercises name {sorted(named)}"


def test_most_exercises_are_checked_automatically():
    total = sum(len(exercise_items(p)) for p in NOTEBOOKS)
    checked = len(exercises.REGISTRY)
    assert total >= 50 and checked / total >= MIN_CHECKED_SHARE, f"{checked} of {total} exercises checked"


def test_every_checker_is_tested_both_ways():
    cased = set()
    for module in sorted((ROOT / "tests").glob("test_exercises_*.py")):
        cased |= {case.checker.__name__ for case in importlib.import_module(module.stem).CASES}
    missing = sorted(f.__name__ for f in exercises.REGISTRY.values() if f.__name__ not in cased)
    assert not missing, f"checkers without a right/wrong test case: {missing}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_questionnaire_is_answered_in_the_solutions(path):
    questions = items(section(path, "## Questionnaire"))
    assert 8 <= len(questions) <= 12, f"{len(questions)} questions"
    answers = items(section(solutions_for(path), "## Questionnaire answers"))
    assert sorted(answers) == sorted(questions), f"{len(answers)} answers for {len(questions)} questions"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_objectives_and_summary_in_chinese(path):
    kinds = [c for c in cells(path) if c["cell_type"] == "markdown"]
    heads = [text(c).lstrip().split("\n", 1)[0] for c in kinds]
    for english, chinese in (("## Learning objectives", "### 学习目标（中文）"), ("## Summary", "### 小结（中文）")):
        at = next(i for i, h in enumerate(heads) if h.startswith(english))
        assert heads[at + 1].startswith(chinese), f"'{chinese}' must follow '{english}'"
        assert len(re.findall(r"[\u4e00-\u9fff]", text(kinds[at + 1]))) >= 40, f"too little Chinese after {english}"


@pytest.mark.parametrize("path", sorted((ROOT / "solutions").glob("*.ipynb")), ids=lambda p: p.name)
def test_solutions_notebooks_anatomy(path):
    assert re.fullmatch(r"\d\d_[a-z0-9_]+_solutions\.ipynb", path.name)
    assert (ROOT / "notebooks" / path.name.replace("_solutions", "")).exists(), "solutions for no notebook"
    all_cells = cells(path)
    first = text(all_cells[0])
    assert re.match(r"# Solutions · \d\d · ", first) and f"blob/main/solutions/{path.name}" in first
    code = [c for c in all_cells if c["cell_type"] == "code" and text(c).strip()]
    assert "google.colab" in text(code[0]), "setup cell with the Colab guard first"
    assert "parameters" in code[1].get("metadata", {}).get("tags", []), "second code cell tagged 'parameters'"
    assert [c["execution_count"] for c in code] == list(range(1, len(code) + 1)), "commit it executed, in order"
    for cell in code:
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error" and "Traceback" not in json.dumps(out), "stored error"
    printed = "".join(json.dumps(c.get("outputs", []), ensure_ascii=False) for c in code)
    assert "❌" not in printed, "a worked solution must pass its checker"
    leak = re.search(r"/work/|/root/|/home/\w+|/tmp/|site-packages", printed)
    assert not leak, f"an output shows a machine-specific path {leak.group(0)!r}"


def learner_pages() -> list[Path]:
    pages = [*NOTEBOOKS, *sorted((ROOT / "solutions").glob("*.ipynb")), *sorted(ROOT.glob("README*.md")),
             *sorted((ROOT / "docs").glob("**/*.md")), ROOT / "data" / "README.md"]
    return [p for p in pages if p.exists()]


@pytest.mark.parametrize("path", learner_pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_words_from_outside_the_course(path):
    if path.suffix == ".ipynb":
        prose = "\n".join(text(c) for c in cells(path) if c["cell_type"] == "markdown")
    else:
        prose = path.read_text(encoding="utf-8")
    hit = OUTSIDE.search(prose)
    assert not hit, f"{hit.group(0)!r} points outside the course: learners cannot see it"


def test_readme_states_the_checked_share():
    total = sum(len(exercise_items(p)) for p in NOTEBOOKS)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"{len(exercises.REGISTRY)} of the {total} exercises are checked automatically" in readme
