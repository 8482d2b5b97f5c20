"""``course run``: execute the notebooks in order, each on a fresh kernel, and print a summary table.

    course run --fast                 # every notebook in FAST mode, executed copies under runs/<timestamp>/
    course run --only 01 02           # just these
    course run --in-place             # refresh the committed notebooks (full mode unless --fast)
"""

from __future__ import annotations

import time
from pathlib import Path

from tqdm import tqdm

from course_lib import runtime
from course_lib.notebook_runner import LAB_FIX, execute_notebook, find_notebooks, format_results, missing_kernel_stack


def default_notebook_dir() -> Path:
    root = runtime.repo_root()
    return root / "notebooks" if root else Path.cwd() / "notebooks"


def output_dir(args) -> Path | None:
    """None means in place; else the folder for the executed copies."""
    if args.in_place:
        return None
    if args.output:
        return Path(args.output)
    base = runtime.repo_root() or Path.cwd()
    return base / "runs" / time.strftime("%Y%m%d-%H%M%S")


def run(args) -> int:
    missing = missing_kernel_stack()
    if missing:  # the base install leaves the kernel stack to Colab / JupyterLab: say how to get it
        print(f"course run: executing notebooks needs {' and '.join(missing)}, not installed here.\n"
              f"Install the local Jupyter stack with: {LAB_FIX}")
        return 2
    folder = Path(args.notebooks) if args.notebooks else default_notebook_dir()
    try:
        books = find_notebooks(folder, args.only)
    except ValueError as err:
        print(f"course run: {err}")
        return 2
    if not books:
        print(f"course run: no notebooks NN_*.ipynb in {folder}")
        return 2
    env = {"HF_HUB_DISABLE_PROGRESS_BARS": "1"}
    if args.fast:
        env["COURSE_FAST"] = "1"
    target = output_dir(args)
    mode = "FAST" if args.fast or runtime.is_fast() else "full"
    print(f"Running {len(books)} notebook(s) from {folder} in {mode} mode -> "
          f"{'in place' if target is None else target}")
    results = []
    for book in tqdm(books, desc="notebooks", unit="nb"):
        out = book if target is None else target / book.name
        if target is None:  # never overwrite a committed notebook with a failed run
            out = book.with_name(book.stem + ".executed.ipynb")
        result = execute_notebook(book, out, env, args.timeout)
        if target is None:
            if result.ok:
                out.replace(book)
            else:
                out.unlink(missing_ok=True)
        results.append(result)
        if not result.ok and not args.keep_going:
            break
    print(format_results(results))
    failed = [r for r in results if not r.ok]
    if failed:
        first = failed[0]
        where = f"cell {first.failed_cell}" if first.failed_cell is not None else "the kernel"
        print(f"\ncourse run: {first.name} failed at {where}: {first.error}")
        return 1
    return 0


def register(sub) -> None:
    parser = sub.add_parser("run", help="execute the notebooks in order, each on a fresh kernel")
    parser.add_argument("--fast", action="store_true", help="FAST mode (COURSE_FAST=1): small epochs and subsets")
    parser.add_argument("--only", nargs="+", metavar="NN", help="run only these notebook numbers, e.g. 01 05")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--in-place", action="store_true", help="overwrite the notebooks with executed versions")
    where.add_argument("--output", metavar="DIR", help="folder for executed copies (default runs/<timestamp>/)")
    parser.add_argument("--timeout", type=int, default=1800, metavar="S", help="per-cell timeout in seconds")
    parser.add_argument("--keep-going", action="store_true", help="continue after a failing notebook")
    parser.add_argument("--notebooks", metavar="DIR", help="folder of notebooks (default: the checkout's notebooks/)")
    parser.set_defaults(func=run)
