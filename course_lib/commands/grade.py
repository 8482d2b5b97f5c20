"""``course grade``: tabulate the exercise verdicts in students' executed notebooks."""

from __future__ import annotations

from pathlib import Path

from course_lib.files import atomic_path


def grade_command(args) -> int:
    from course_lib.exercises.grading import GradingError, grade

    paths = [p for given in args.submissions for p in (sorted(Path(given).rglob("*.ipynb"))
                                                          if Path(given).is_dir() else [Path(given)])]
    if not paths:
        print("course grade: no notebooks found in " + " ".join(args.submissions))
        return 2
    try:
        table = grade(paths)
    except GradingError as err:
        print(f"course grade: {err}")
        return 2
    shown = table.astype(object).where(table.notna(), "").replace({True: "✅", False: "❌"})
    print(shown.to_string())
    if args.csv:
        with atomic_path(args.csv) as part:
            table.to_csv(part)
        print(f"wrote {args.csv}")
    if table["tried"].eq(0).any():
        print("note: submissions with no verdict at all were not executed, or call no checker")
    return 0


def register(sub) -> None:
    parser = sub.add_parser("grade", help="tabulate exercise verdicts (✅/❌) in executed student notebooks",
                            description="Reads the verdict lines that course_lib.exercises checkers print "
                                        "into executed notebooks: one row per submission.")
    parser.add_argument("submissions", nargs="+", help="executed .ipynb files, or folders holding them")
    parser.add_argument("--csv", help="also write the table to this CSV file")
    parser.set_defaults(func=grade_command)
