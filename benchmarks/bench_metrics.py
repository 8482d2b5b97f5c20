"""Micro-benchmark: full-ranking evaluation of ML-100k-sized data (943 users x 1682 items).

    python benchmarks/bench_metrics.py                # synthetic histories of ML-100k's size
    python benchmarks/bench_metrics.py --real         # the real ML-100k split (needs course_lib.data)

Times (best of ``--repeats``) three things:
  1. ``target_ranks`` alone on ready (943, 1683) scores with every user's history excluded;
  2. ``evaluate`` end to end for a model whose scores are one matrix product (padding, scoring, ranking);
  3. the same on ``--device`` (e.g. cuda) if given.
The course requires (1)+(2) to stay under 1 s on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import torch

from course_lib import metrics
from course_lib.sequences import leave_one_out


class DotProductModel(torch.nn.Module):
    """scores = last item's embedding . item embeddings: (B, L) -> (B, N+1), column 0 = -inf."""

    def __init__(self, num_items: int, hidden_dim: int = 64):
        super().__init__()
        self.item_emb = torch.nn.Embedding(num_items + 1, hidden_dim)

    def scores(self, seqs: torch.Tensor) -> torch.Tensor:
        out = self.item_emb(seqs[:, -1]) @ self.item_emb.weight.T               # (B, N+1)
        out[:, 0] = float("-inf")
        return out


def synthetic_split(num_users: int = 943, num_items: int = 1682, rows: int = 100_000, seed: int = 0):
    """A leave-one-out split with ML-100k's shape (users, items, interactions, Zipf-like popularity)."""
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, num_items + 1) ** 0.8
    log = pd.DataFrame({"user_id": rng.integers(0, num_users, rows),
                        "item_id": rng.choice(num_items, rows, p=popularity / popularity.sum()),
                        "timestamp": rng.integers(0, 10**6, rows)})
    log = log.drop_duplicates(["user_id", "item_id"])
    return leave_one_out(log)


def best_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", action="store_true", help="use the real ML-100k split")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default=None, help="also time evaluate() on this device (e.g. cuda)")
    args = parser.parse_args()
    torch.manual_seed(0)
    if args.real:
        from course_lib.data import load_movielens
        split = leave_one_out(load_movielens("ml-100k").interactions)
    else:
        split = synthetic_split()
    histories, targets = split.histories("test"), split.targets("test")
    ready = torch.randn(split.num_users, split.num_items + 1)
    lengths = [len(h) for h in histories]
    print(f"{split.num_users} users x {split.num_items} items, history length mean {np.mean(lengths):.0f}, "
          f"torch threads {torch.get_num_threads()}")
    rank_s = best_time(lambda: metrics.target_ranks(ready, targets, histories), args.repeats)
    print(f"target_ranks on ready scores (history excluded): {rank_s * 1000:.1f} ms")
    model = DotProductModel(split.num_items)
    eval_s = best_time(lambda: metrics.evaluate(model, split), args.repeats)
    print(f"evaluate end to end (pad + score + rank + summarize): {eval_s * 1000:.1f} ms")
    if args.device:
        metrics.evaluate(model, split, device=args.device)                       # warm-up
        dev_s = best_time(lambda: metrics.evaluate(model, split, device=args.device), args.repeats)
        print(f"evaluate end to end on {args.device}: {dev_s * 1000:.1f} ms")
    print("PASS (< 1 s)" if max(rank_s, eval_s) < 1.0 else "FAIL (>= 1 s)")


if __name__ == "__main__":
    main()
