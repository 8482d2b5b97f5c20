"""Reproduce the course's SASRec numbers on ML-100k in one command (``benchmarks/seeds.py`` for SASRec).

    python benchmarks/sasrec.py --seeds 0 1 2                # full recipe (course defaults, full cross-entropy)
    python benchmarks/sasrec.py --seeds 0 1 2 --loss bce     # the original SASRec objective (one negative)
    python benchmarks/sasrec.py --seeds 0 --fast             # smoke test
    python benchmarks/sasrec.py --seeds 1 --append           # add a seed to the existing JSON
    python benchmarks/sasrec.py --seeds 0 1 2 --split recbole   # on RecBole's split (its tie rule), like for like

Writes ``benchmarks/results/sasrec[-bce][-recbole-split][-fast].json``; see ``seeds.py`` for what is measured.
"""

from __future__ import annotations

import sys

from seeds import main  # benchmarks/seeds.py


def run(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--loss" in argv:                       # --loss ce|bce picks sasrec or sasrec-bce
        at = argv.index("--loss")
        loss = argv[at + 1] if at + 1 < len(argv) else ""
        if loss not in ("ce", "bce"):
            sys.exit("sasrec.py: --loss must be ce or bce")
        del argv[at:at + 2]
        if loss == "bce":
            return main(["sasrec-bce", *argv])
    return main(argv, script="sasrec.py")


if __name__ == "__main__":
    sys.exit(run())
