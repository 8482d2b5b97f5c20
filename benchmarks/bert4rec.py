"""Reproduce the course's BERT4Rec numbers on ML-100k in one command (``benchmarks/seeds.py`` for BERT4Rec).

    python benchmarks/bert4rec.py --seeds 0 1 2            # full recipe (course defaults)
    python benchmarks/bert4rec.py --seeds 0 --fast         # smoke test
    python benchmarks/bert4rec.py --seeds 1 --out benchmarks/results/bert4rec-seed1.json   # one seed per call
    python benchmarks/bert4rec.py --merge benchmarks/results/bert4rec-seed*.json           # ... then one table
    python benchmarks/bert4rec.py --seeds 0 1 2 --split recbole   # on RecBole's split (its tie rule), like for like

Writes ``benchmarks/results/bert4rec[-recbole-split][-fast].json``; see ``seeds.py`` for what is measured.
"""

from __future__ import annotations

import sys

from seeds import main  # benchmarks/seeds.py

if __name__ == "__main__":
    sys.exit(main(script="bert4rec.py"))
