"""course grade: verdicts read back from executed notebooks, and bad submissions refused clearly."""

import json

import pandas as pd
import pytest

from course_lib.cli import main
from course_lib.exercises import verdict
from course_lib.exercises.grading import GradingError, grade, verdicts


def notebook(path, *printed):
    cells = [{"cell_type": "code", "source": "check()", "metadata": {}, "execution_count": i + 1,
              "outputs": [{"output_type": "stream", "name": "stdout", "text": text}]}
             for i, text in enumerate(printed)]
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


def test_verdict_lines_are_what_grading_reads(tmp_path, capsys):
    verdict("01.1", True, "unused")
    verdict("01.2", False, "look at the k-core")
    printed = capsys.readouterr().out
    assert verdicts(notebook(tmp_path / "a.ipynb", printed)) == {"01.1": True, "01.2": False}


def test_a_later_right_answer_passes_and_untried_exercises_stay_empty(tmp_path):
    a = notebook(tmp_path / "alice.ipynb", "❌ Exercise 02.3: not yet. Hint: x\n", "✅ Exercise 02.3: right.\n")
    b = notebook(tmp_path / "bob.ipynb", "❌ Exercise 02.3: not yet. Hint: x\n✅ Exercise 10.1: right.\n")
    table = grade([a, b])
    assert list(table.columns) == ["02.3", "10.1", "passed", "tried"]   # numeric order, not string order
    assert table.loc["alice.ipynb", "02.3"] and pd.isna(table.loc["alice.ipynb", "10.1"])
    assert table.loc["bob.ipynb", "passed"] == 1 and table.loc["bob.ipynb", "tried"] == 2


def test_bad_submissions_get_a_clear_error(tmp_path, capsys):
    (tmp_path / "broken.ipynb").write_text("{not json")
    with pytest.raises(GradingError, match="not a Jupyter notebook"):
        verdicts(tmp_path / "broken.ipynb")
    with pytest.raises(GradingError, match="no such file"):
        verdicts(tmp_path / "missing.ipynb")
    assert main(["grade", str(tmp_path / "broken.ipynb")]) == 2
    assert "not a Jupyter notebook" in capsys.readouterr().out


def test_cli_reads_a_folder_and_writes_csv(tmp_path, capsys):
    folder = tmp_path / "class"
    folder.mkdir()
    notebook(folder / "carol.ipynb", "✅ Exercise 05.1: right.\n")
    assert main(["grade", str(folder), "--csv", str(tmp_path / "grades.csv")]) == 0
    assert "carol.ipynb" in capsys.readouterr().out
    written = pd.read_csv(tmp_path / "grades.csv", index_col=0)
    assert written.loc["carol.ipynb", "passed"] == 1 and not list(tmp_path.glob("*.part"))


def test_same_file_name_in_two_folders_keeps_both_rows(tmp_path):
    (tmp_path / "alice").mkdir()
    (tmp_path / "bob").mkdir()
    a = notebook(tmp_path / "alice" / "05.ipynb", "✅ Exercise 05.1: right.\n")
    b = notebook(tmp_path / "bob" / "05.ipynb", "❌ Exercise 05.1: not yet. Hint: x\n")
    table = grade([a, b])
    assert len(table) == 2 and table["passed"].tolist() == [1, 0]
    with pytest.raises(GradingError, match="twice"):
        grade([a, a])
