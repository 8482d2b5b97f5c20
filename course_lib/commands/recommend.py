"""``course recommend BUNDLE --history TITLE [TITLE ...] [-k 10] [--json]``.

Loads a model saved with ``course train MODEL --save BUNDLE`` and recommends for a history typed as titles
(case-insensitive, year optional) or raw item ids, oldest first. Each recommendation names the history items
behind it (``course_lib.explain``: occlusion by default, ``--explain attention`` for the attention weights). An unknown or ambiguous title, or a damaged bundle, exits with status 2
and one line saying why.

    course recommend models/sasrec --history "Star Wars (1977)" "Fargo" -k 5
    course recommend models/sasrec --history 50 100 --json
"""

from __future__ import annotations

import argparse
import json
import sys


def run(args: argparse.Namespace) -> int:
    from course_lib.bundle import BundleError, load_bundle
    from course_lib.explain import default_method
    from course_lib.recommend import TitleError, recommend

    try:
        bundle = load_bundle(args.bundle)
        table = recommend(bundle, args.history, k=args.k, explain=args.explain)
    except (BundleError, TitleError, ValueError) as err:
        print(f"course recommend: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"model": bundle.name, "history": args.history, "explain": args.explain or default_method(bundle.model),
                          "recommendations": table.to_dict("records")}))
        return 0
    print(f"{bundle.name} ({bundle.meta.get('dataset', '?')}), top {len(table)} after {len(args.history)} item(s):")
    for row in table.itertuples():
        because = f"   <- {'; '.join(row.because)}" if row.because else ""
        print(f"{row.rank:3d}. {row.title}  [{row.item_id}]  {row.score:.3f}{because}")
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "recommend", help="recommend items for a history of titles with a saved model",
        description=__doc__.split("\n\n")[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bundle", help="folder written by `course train MODEL --save DIR`")
    parser.add_argument("--history", nargs="+", required=True, help="titles or item ids, oldest first")
    parser.add_argument("-k", type=int, default=10, help="how many recommendations (default: 10)")
    parser.add_argument("--explain", choices=("occlusion", "attention"), default=None,
                        help="how the reasons are found for SASRec/BERT4Rec: occlusion (default; each history item's effect "
                             "on each recommended item) or attention (the last layer's weights, the same for every "
                             "item). Markov names transitions, item2vec/GloVe neighbours.")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)
