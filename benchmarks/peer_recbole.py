"""Peer benchmark: the course's SASRec, GRU4Rec and BERT4Rec beside RecBole 1.2.1's, each trained to convergence.

    python benchmarks/peer_recbole.py --setup                    # once: .venv-recbole/ with recbole==1.2.1 (~2 min)
    python benchmarks/peer_recbole.py                            # all three models -> results/peer-recbole.json
    python benchmarks/peer_recbole.py --resume                   # go on after an interruption
    python benchmarks/peer_recbole.py --fast --models SASRec     # smoke test: 2 epochs a side, one seed (-fast.json)

RecBole side: ``peer_recbole_worker.py`` in its own environment (``.venv-recbole``: RecBole 1.2.1 needs NumPy < 2,
so it never enters the course's requirements), one process per model, RecBole's default model and training
settings, one validation per epoch, early stopping on validation NDCG@10 (``stopping_step`` = ``--patience``),
``--max-epochs`` as a cap. ``"converged": true`` only when early stopping fired before the cap.
Course side: the recipes of ``sasrec``, ``gru4rec`` and ``bert4rec`` as they ship (their own early stopping),
over ``--seeds``, trained by ``seeds.run_seed`` on ``--split recbole``, one process per model too, so that peak
memory is each model's own. Both sides: RecBole's leave-one-out split of ML-100k (all 100,000 ratings), test
NDCG@10 / HR@10 with full ranking and the history kept (RecBole's protocol). Device: CUDA when there is one.

One JSON file holds both sides per model, the ratios course / RecBole (test NDCG@10, HR@10, seconds to best),
the settings, versions and the command; it is written (atomically) after each side of each model, and
``--resume`` skips what it already holds. A run without ``--resume`` starts a new file.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import platform
import shlex
import subprocess
import sys
from pathlib import Path

from common import summarize_runs, write_json  # benchmarks/common.py

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv-recbole"
WORKER = Path(__file__).resolve().with_name("peer_recbole_worker.py")
RESULTS = ROOT / "benchmarks" / "results"
RECBOLE_VERSION = "1.2.1"
RECBOLE_PACKAGES = (f"recbole=={RECBOLE_VERSION}", "numpy<2", "pandas<2.2", "scipy<1.13")
MODELS = {"SASRec": "sasrec", "GRU4Rec": "gru4rec", "BERT4Rec": "bert4rec"}   # RecBole name -> course recipe
FAST_EPOCHS = 2
SIDE_KEYS = ("epochs", "epochs_to_best", "seconds_to_best", "total_seconds", "seconds_per_epoch",
             "peak_memory_mb", "valid_ndcg@10", "test_kept_ndcg@10", "test_kept_hr@10")
RATIO_KEYS = ("test_kept_ndcg@10", "test_kept_hr@10", "seconds_to_best")
SETUP_HINT = "run python benchmarks/peer_recbole.py --setup first"


class MissingRecBole(RuntimeError):
    """``.venv-recbole`` is missing or does not import RecBole 1.2.1."""


def venv_python(venv: Path | None = None) -> Path:
    """The interpreter of the RecBole environment; ``MissingRecBole`` (with the setup command) when absent."""
    venv = venv or VENV
    python = venv / "bin" / "python"
    if not python.exists():
        raise MissingRecBole(f"{venv} not found: {SETUP_HINT}")
    return python


def recbole_version(python: Path) -> str | None:
    """The RecBole version ``python`` imports, or None when it imports none."""
    done = subprocess.run([str(python), "-c", "import recbole; print(recbole.__version__)"],
                          capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else None


def setup(venv: Path | None = None, torch_spec: str | None = None) -> None:
    """Create ``venv`` with torch first (the course's version: a CPU build where the course has one), then RecBole
    1.2.1 and the NumPy/pandas/SciPy it was released against. Does nothing when ``venv`` already has it."""
    venv = venv or VENV
    python = venv / "bin" / "python"
    if python.exists() and recbole_version(python) == RECBOLE_VERSION:
        print(f"{venv} already imports recbole {RECBOLE_VERSION}")
        return
    torch_spec = torch_spec or f"torch=={importlib.metadata.version('torch').split('+')[0]}"
    for command in ([sys.executable, "-m", "venv", str(venv)],
                    [str(python), "-m", "pip", "install", *shlex.split(torch_spec)],   # may add --index-url
                    [str(python), "-m", "pip", "install", *RECBOLE_PACKAGES]):
        print("+", shlex.join(command), flush=True)
        subprocess.run(command, check=True)
    if recbole_version(python) != RECBOLE_VERSION:
        raise MissingRecBole(f"{venv} was built but does not import recbole {RECBOLE_VERSION}")
    print(f"{venv} ready: recbole {RECBOLE_VERSION}")


def last_json_line(stdout: str, what: str) -> dict:
    """The last line of ``stdout`` that is a JSON object (what a worker prints when it is done)."""
    for line in reversed(stdout.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError(f"{what} printed no JSON result")


def run_worker(command: list[str], what: str) -> dict:
    """Run a worker process (its log goes to our stderr) and return the JSON line it printed."""
    print("+", shlex.join(command), file=sys.stderr, flush=True)
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed (exit code {done.returncode}); its log is above")
    return last_json_line(done.stdout, what)


def run_recbole(model: str, epochs: int, patience: int, seed: int, python: Path) -> dict:
    """One RecBole model trained by ``peer_recbole_worker.py`` in the RecBole environment."""
    return run_worker([str(python), str(WORKER), "--model", model, "--epochs", str(epochs),
                       "--patience", str(patience), "--seed", str(seed)], f"RecBole {model}")


def run_course(recipe: str, seeds: list[int], fast: bool) -> dict:
    """The course's ``recipe`` over ``seeds`` (``--course-run`` of this script, in a fresh process)."""
    command = [sys.executable, str(Path(__file__).resolve()), "--course-run", recipe,
               "--seeds", *map(str, seeds), *(["--fast"] if fast else [])]
    return run_worker(command, f"course {recipe}")


def course_runs(recipe: str, seeds: list[int], fast: bool) -> dict:
    """Train ``recipe`` on RecBole's split for each seed, as ``benchmarks/seeds.py`` does (``seeds.run_seed``)."""
    import torch

    import seeds as seeds_script  # benchmarks/seeds.py
    from course_lib import runtime
    from course_lib.recipes.run import load_split

    device = runtime.get_device()
    split = load_split("ml-100k", "recbole")
    overrides = {"num_epochs": FAST_EPOCHS} if fast else None
    rows = []
    for seed in seeds:
        rows.append(seeds_script.run_seed(recipe, split, seed, fast, device, overrides=overrides))
        print(f"course {recipe} seed {seed}: {rows[-1]['epochs']} epochs, test NDCG@10 kept "
              f"{rows[-1]['test_kept_ndcg@10']:.4f}", file=sys.stderr, flush=True)
    return {"recipe": recipe, "device": runtime.device_summary(device), "torch_threads": torch.get_num_threads(),
            "settings": "the recipe's DEFAULTS" + (f" + FAST_OVERRIDES + num_epochs {FAST_EPOCHS}" if fast else ""),
            "runs": rows, "versions": course_versions()}


def course_versions() -> dict:
    """Python, torch and NumPy versions of the course's environment (no RecBole in it)."""
    return {"python": platform.python_version(), "torch": importlib.metadata.version("torch"),
            "numpy": importlib.metadata.version("numpy")}


def recbole_side(row: dict) -> dict:
    """The worker's row with ``converged``: true only when RecBole's early stopping fired (before the cap)."""
    return {**row, "converged": bool(row.get("stopped_early", False))}


def course_side(result: dict) -> dict:
    """The course's runs with their mean ± sample sd (``summary``)."""
    return {**result, "summary": summarize_runs(result["runs"])}


def ratios(recbole: dict, course: dict) -> dict:
    """Course mean / RecBole for test NDCG@10, HR@10 and seconds to best (None where RecBole's value is 0)."""
    return {key: (course["summary"][key]["mean"] / recbole[key] if recbole[key] else None) for key in RATIO_KEYS}


def new_report(args, argv: list[str]) -> dict:
    """The settings part of the results file (its ``models`` filled in as they finish)."""
    return {"what": "RecBole 1.2.1's SASRec, GRU4Rec and BERT4Rec, trained to convergence, beside the course's",
            "dataset": "ml-100k, RecBole's atomic files: all 100,000 ratings",
            "protocol": "leave-one-out by time (eval_args: split LS valid_and_test, order TO, mode full, group_by "
                        "user), full ranking, history kept; model selection on validation NDCG@10",
            "fast": args.fast, "models_requested": args.models,
            "settings": {"recbole_max_epochs": args.max_epochs, "recbole_patience": args.patience,
                         "recbole_eval_step": 1, "recbole_seed": args.recbole_seed, "course_seeds": args.seeds,
                         "course_split": "recbole",
                         "course_max_epochs": FAST_EPOCHS if args.fast else "the recipe's num_epochs"},
            "command": "python benchmarks/peer_recbole.py " + shlex.join(argv), "models": {}}


def check_resumable(report: dict, args) -> None:
    """Refuse to resume into a file written with other settings."""
    fresh = new_report(args, [])
    if report.get("fast") != args.fast or report.get("settings") != fresh["settings"]:
        raise ValueError(f"{args.out} holds runs with other settings ({report.get('settings')}); cannot --resume")


def run_model(report: dict, model: str, args, python: Path, out: Path) -> None:
    """Both sides of ``model`` (skipping a side ``report`` already holds), saving after each."""
    entry = report["models"].setdefault(model, {})
    if "recbole" not in entry:
        entry["recbole"] = recbole_side(run_recbole(model, args.max_epochs, args.patience, args.recbole_seed,
                                                    python))
        report.setdefault("versions", {})["recbole_env"] = entry["recbole"]["versions"]
        report.setdefault("device", {})["recbole"] = entry["recbole"]["device"]
        write_json(report, out)
    if "course" not in entry:
        entry["course"] = course_side(run_course(MODELS[model], args.seeds, args.fast))
        report.setdefault("versions", {})["course_env"] = entry["course"]["versions"]
        report.setdefault("device", {})["course"] = entry["course"]["device"]
    entry["ratios"] = ratios(entry["recbole"], entry["course"])
    write_json(report, out)


def table(report: dict) -> str:
    """A side-by-side text table of ``report``'s models."""
    head = f"{'model':9s} {'side':8s} {'epochs':>7s} {'best':>5s} {'s to best':>10s} {'peak MiB':>9s} " \
           f"{'valid NDCG':>10s} {'test NDCG@10':>16s} {'test HR@10':>16s}"
    lines = [head]
    for model, entry in report["models"].items():
        if "recbole" in entry:
            r = entry["recbole"]
            lines.append(f"{model:9s} {'RecBole':8s} {r['epochs']:7d} {r['epochs_to_best']:5d} "
                         f"{r['seconds_to_best']:10.0f} {r['peak_memory_mb']:9.0f} {r['valid_ndcg@10']:10.4f} "
                         f"{r['test_kept_ndcg@10']:16.4f} {r['test_kept_hr@10']:16.4f}"
                         f"{'' if r['converged'] else '  (cap reached)'}")
        if "course" in entry:
            s = entry["course"]["summary"]
            pm = {k: f"{s[k]['mean']:.4f}±{s[k]['std']:.4f}" for k in ("test_kept_ndcg@10", "test_kept_hr@10")}
            lines.append(f"{'':9s} {'course':8s} {s['epochs']['mean']:7.1f} {s['epochs_to_best']['mean']:5.1f} "
                         f"{s['seconds_to_best']['mean']:10.0f} {s['peak_memory_mb']['mean']:9.0f} "
                         f"{s['valid_ndcg@10']['mean']:10.4f} {pm['test_kept_ndcg@10']:>16s} "
                         f"{pm['test_kept_hr@10']:>16s}")
        if "ratios" in entry:
            q = {k: "n/a" if v is None else f"{v:.2f}" for k, v in entry["ratios"].items()}
            lines.append(f"{'':9s} course/RecBole: test NDCG@10 {q['test_kept_ndcg@10']}, HR@10 "
                         f"{q['test_kept_hr@10']}, seconds to best {q['seconds_to_best']}")
    return "\n".join(lines)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setup", action="store_true", help=f"create {VENV.name}/ with recbole {RECBOLE_VERSION}")
    parser.add_argument("--torch-spec", default=None,
                        help="what --setup passes to pip for torch (default: the course's version, e.g. "
                             "torch==2.13.0; on a GPU machine e.g. 'torch==2.13.0 --index-url <a CUDA index>')")
    parser.add_argument("--models", nargs="+", choices=tuple(MODELS), default=list(MODELS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="the course's seeds")
    parser.add_argument("--max-epochs", type=int, default=300, help="RecBole's epoch cap")
    parser.add_argument("--patience", type=int, default=10, help="RecBole's stopping_step")
    parser.add_argument("--recbole-seed", type=int, default=2020, help="RecBole's seed (its default)")
    parser.add_argument("--fast", action="store_true", help=f"smoke test: {FAST_EPOCHS} epochs a side, one seed")
    parser.add_argument("--resume", action="store_true", help="keep the models --out already holds")
    parser.add_argument("--out", type=Path, default=None, help="results file")
    parser.add_argument("--course-run", default=None, help=argparse.SUPPRESS)   # the course side's process
    args = parser.parse_args(argv)
    if args.fast:
        args.max_epochs, args.seeds = FAST_EPOCHS, args.seeds[:1]
    args.out = args.out or RESULTS / f"peer-recbole{'-fast' if args.fast else ''}.json"
    return args


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse(argv)
    if args.course_run:
        stdout = sys.stdout
        with contextlib.redirect_stdout(sys.stderr):
            result = course_runs(args.course_run, args.seeds, args.fast)
        print(json.dumps(result), file=stdout, flush=True)
        return 0
    if args.setup:
        setup(torch_spec=args.torch_spec)
        return 0
    python = venv_python()
    report = new_report(args, [a for a in argv if a != "--resume"])   # the command that redoes the whole file
    if args.resume and args.out.exists():
        previous = json.loads(args.out.read_text())
        check_resumable(previous, args)
        report = {**previous, "command": report["command"], "models_requested": report["models_requested"]}
    for model in args.models:
        if {"recbole", "course"} <= set(report["models"].get(model, {})):
            print(f"{model}: already in {args.out}, skipped")
            continue
        run_model(report, model, args, python, args.out)
    print(table(report))
    print("wrote", args.out)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except MissingRecBole as error:
        sys.exit(str(error))
