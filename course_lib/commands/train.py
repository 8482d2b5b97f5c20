"""``course train MODEL [--dataset ml-100k] [--split course|recbole] [--seed S] [--fast] [--json] [--nproc N]``.

Trains (or fits) MODEL with its recipe from ``course_lib.recipes.REGISTRY`` on the leave-one-out split,
then evaluates the test targets with full ranking twice: history removed (the course's default, "test") and
history kept (RecBole's protocol, "test_history_kept"). Prints a table, or one JSON object with ``--json``,
and records the test row in the results store (``course_lib.results``). ``--split recbole`` uses RecBole
1.2.1's leave-one-out split (its tie rule for equal timestamps) instead of the course's: the one to compare
with RecBole's numbers like for like. ``--nproc N`` trains a neural model (one trained by
``course_lib.train.fit``) on N processes with DistributedDataParallel: the command re-runs itself under
torchrun (nccl on N CUDA GPUs, gloo on N CPU processes); rank 0 prints and records, and the report says N.

    course train pop --json
    course train markov --seed 1 --fast
    course train sasrec --split recbole --json
    course train sasrec --nproc 2 --fast
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys

import numpy as np
import torch

from course_lib import distributed, recipes, runtime
from course_lib.recipes.run import (LOOP_MODELS, SAVABLE_MODELS, SPLITS, Report, load_split, record_report,
                                    run_training)
from course_lib.sequences import SplitData

TABLE_METRICS = ("hr@10", "ndcg@10", "mrr", "hr@20", "ndcg@20")
# What torchrun starts in each process: the course CLI (tests point it at a script that loads tiny data).
WORKER_ENTRY: tuple[str, ...] = ("-m", "course_lib")


def format_table(report: Report) -> str:
    """A readable summary of ``report``: one row per evaluation, the headline metrics as columns."""
    split = ", RecBole's split" if report.split == "recbole" else ""
    nproc = f", {report.nproc} processes" if report.nproc > 1 else ""
    lines = [f"{report.model} on {report.dataset} (seed {report.seed}{split}"
             f"{', FAST' if report.fast else ''}{nproc}): "
             f"{report.epochs} epoch(s), {report.seconds_per_epoch:.2f} s/epoch, "
             f"{report.total_seconds:.1f} s in total",
             f"{'evaluation':<28}" + "".join(f"{m:>10}" for m in TABLE_METRICS)]
    for label, row in (("valid", report.valid), ("test (history removed)", report.test),
                       ("test (history kept)", report.test_history_kept)):
        lines.append(f"{label:<28}" + "".join(f"{row.get(m, float('nan')):>10.4f}" for m in TABLE_METRICS))
    low, high = report.test_ci["ndcg@10"]
    lines.append(f"test ndcg@10 95% bootstrap CI: [{low:.4f}, {high:.4f}]")
    lines.append(f"reproduce: {report.command()}")
    return "\n".join(lines)


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def check_nproc(model: str, nproc: int) -> None:
    """ValueError (one line) unless ``model`` can train on ``nproc`` processes on this machine's device."""
    if nproc < 1:
        raise ValueError(f"--nproc must be >= 1, got {nproc}")
    if nproc == 1:
        return
    if model not in LOOP_MODELS:
        raise ValueError(f"--nproc {nproc}: {model!r} is not trained by the training loop; "
                         f"only {', '.join(LOOP_MODELS)} train on several processes")
    device = runtime.get_device()
    if device.type == "mps":
        raise ValueError(f"--nproc {nproc}: Apple MPS has no multi-process backend; use --nproc 1 "
                         "(or COURSE_DEVICE=cpu for CPU processes)")
    if device.type == "cuda" and nproc > torch.cuda.device_count():
        raise ValueError(f"--nproc {nproc}: this machine has {torch.cuda.device_count()} CUDA GPU(s); "
                         "use at most one process per GPU")
    if device.type == "cpu" and nproc > (os.cpu_count() or 1):
        raise ValueError(f"--nproc {nproc}: this machine has {os.cpu_count()} CPU core(s); "
                         "use at most one process per core")


def worker_arguments(args: argparse.Namespace) -> list[str]:
    """The ``course train ...`` arguments every torchrun process gets: this command's, less ``--nproc``.

    A process learns N from torchrun (``WORLD_SIZE``); torchrun's own parser would also take ``--nproc`` for
    an abbreviation of its ``--nproc-per-node``.
    """
    argv = ["train", args.model, "--dataset", args.dataset, "--split", args.split, "--seed", str(args.seed)]
    flags = {"--fast": args.fast, "--json": args.json, "--no-record": args.no_record,
             "--deterministic": args.deterministic}
    argv += [flag for flag, on in flags.items() if on]
    return argv + (["--results", args.results] if args.results else []) + (["--save", args.save] if args.save else [])


def torchrun_command(args: argparse.Namespace) -> list[str]:
    """``python -m torch.distributed.run --standalone --nproc_per_node N <WORKER_ENTRY> train MODEL ...``."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(args.nproc),
            *WORKER_ENTRY, *worker_arguments(args)]


def launch(args: argparse.Namespace) -> int:
    """Run ``course train`` on ``args.nproc`` processes through torchrun; returns its exit status."""
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // args.nproc)))   # CPU cores shared out
    sys.stdout.flush()
    status = subprocess.run(torchrun_command(args), env=env, check=False).returncode
    if status:
        print(f"course train: torchrun ended with exit status {status} (see the messages above)", file=sys.stderr)
    return status


def _train_and_report(args: argparse.Namespace, fast: bool) -> Report:
    """Load the split and train: ``run_training``'s report. Prints go to stderr with --json, nowhere off rank 0."""
    with contextlib.ExitStack() as stack:
        if not distributed.is_main():
            stack.enter_context(contextlib.redirect_stdout(stack.enter_context(open(os.devnull, "w"))))
        elif args.json:              # with --json, stdout carries the JSON object only
            stack.enter_context(contextlib.redirect_stdout(sys.stderr))
        split = load_split(args.dataset, args.split)
        if args.deterministic:       # one CPU thread: the same bits run after run (runtime.bit_reproducible)
            stack.enter_context(runtime.bit_reproducible())
        report = run_training(args.model, split, seed=args.seed, fast=fast, dataset=args.dataset,
                              deterministic=bool(args.deterministic))
        if args.save and distributed.is_main():
            save_report(report, split, args.save)
        return report


def save_report(report: Report, split: SplitData, folder: str) -> None:
    """``--save DIR``: the trained model as a bundle (``course_lib.bundle``), ready for ``course recommend DIR``."""
    from course_lib.bundle import save_bundle
    from course_lib.data import load_movielens

    metrics = {"valid": report.valid, "test": report.test, "test_history_kept": report.test_history_kept}
    path = save_bundle(folder, report.recommender, split, load_movielens(report.dataset).items,
                       name=report.model, dataset=report.dataset, params=report.params,
                       metrics={**metrics, "seed": report.seed, "fast": report.fast, "command": report.command()})
    print(f"saved the model to {path}: course recommend {path} --history TITLE ...")


def _worker_nproc(args: argparse.Namespace) -> int:
    """N for one of torchrun's processes: its ``WORLD_SIZE`` (``--nproc``, if given, must say the same)."""
    size = int(os.environ["WORLD_SIZE"])
    if args.nproc not in (1, size):
        raise ValueError(f"started by torchrun with WORLD_SIZE={size} but --nproc {args.nproc}: they must agree")
    return size


def _run_worker(args: argparse.Namespace, fast: bool) -> Report:
    """One of torchrun's processes: join the process group, train on this rank's share, leave the group."""
    with distributed.process_group():
        return _train_and_report(args, fast)


def _prepare_and_launch(args: argparse.Namespace) -> int:
    """Fetch the data once (not by N processes at once), then start the N processes through torchrun."""
    with contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext():
        load_split(args.dataset, args.split)
    return launch(args)


def run(args: argparse.Namespace) -> int:
    if args.fast:
        os.environ["COURSE_FAST"] = "1"
    fast = args.fast or runtime.is_fast()
    worker = distributed.launched_by_torchrun()       # one of the N processes that launch() starts
    try:
        recipes.get_trainer(args.model)     # an unknown name fails before the data is loaded
        if args.save and args.model not in SAVABLE_MODELS:
            raise ValueError(f"--save: {args.model!r} cannot be saved yet; models with bundles: "
                             f"{', '.join(SAVABLE_MODELS)}")
        check_nproc(args.model, _worker_nproc(args) if worker else args.nproc)
        if args.nproc > 1 and not worker:
            return _prepare_and_launch(args)
        report = _run_worker(args, fast) if worker else _train_and_report(args, fast)
    except ValueError as err:           # DataError is a ValueError too
        print(f"course train: {err}", file=sys.stderr)
        return 2
    if worker and os.environ["RANK"] != "0":
        return 0                        # rank 0 alone prints and records
    if not args.no_record:
        record_report(report, args.results)
    print(json.dumps(report.to_dict(), default=_json_default) if args.json else format_table(report))
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "train", help="train a model and print validation + test metrics",
        description=__doc__.split("\n\n")[1], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="models: " + ", ".join(sorted(recipes.REGISTRY)))
    parser.add_argument("model", help="model name (see the list below)")
    parser.add_argument("--dataset", default="ml-100k", help="dataset name (default: ml-100k)")
    parser.add_argument("--split", choices=tuple(SPLITS), default="course",
                        help="course: the course's leave-one-out split (default); recbole: RecBole 1.2.1's")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default: 42)")
    parser.add_argument("--fast", action="store_true", help="small settings (sets COURSE_FAST=1)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--results", default=None, help="results store file (default: $COURSE_RESULTS or the cache)")
    parser.add_argument("--no-record", action="store_true", help="do not write to the results store")
    parser.add_argument("--deterministic", action="store_true",
                        help="bit-reproducible training on a CPU (one thread: slower); two runs of a seed then agree")
    parser.add_argument("--save", metavar="DIR", default=None,
                        help="save the trained model as a bundle in DIR (" + ", ".join(SAVABLE_MODELS) + "), "
                             "for `course recommend DIR`")
    parser.add_argument("--nproc", type=int, default=1,
                        help="train on N processes with DistributedDataParallel through torchrun (default: 1); "
                             "N <= GPUs on CUDA, <= CPU cores on CPU; models: " + ", ".join(LOOP_MODELS))
    parser.set_defaults(func=run)
