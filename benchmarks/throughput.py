"""Training throughput of the course SASRec with and without mixed precision (a GPU check).

    python benchmarks/throughput.py --epochs 3 --batch-sizes 128 512

Trains a fresh SASRec (course defaults) for a few epochs per (batch size, amp) pair on the current device and
prints seconds per epoch, training windows per second and peak memory. On a CPU only ``amp=off`` runs.
"""

from __future__ import annotations

import argparse

import torch

from course_lib import runtime
from course_lib.data import load_movielens
from course_lib.models.sasrec import SASRec, SASRecConfig
from course_lib.models.sasrec_train import DEFAULTS, MODEL_KEYS
from course_lib.sequences import NextItemDataset, leave_one_out
from course_lib.train import TrainConfig, fit

from common import peak_memory_mb  # benchmarks/common.py


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[128, 512])
    args = parser.parse_args(argv)
    device = runtime.get_device()
    split = leave_one_out(load_movielens("ml-100k").interactions)
    data = NextItemDataset(split, max_len=DEFAULTS["max_len"], all_windows=True)
    print(f"device {runtime.device_summary(device)}; {len(data)} training windows per epoch")
    modes = ("off", "auto") if device.type == "cuda" else ("off",)
    for batch_size in args.batch_sizes:
        for amp in modes:
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            runtime.seed_everything(0)
            model = SASRec(SASRecConfig(num_items=split.num_items, **{k: DEFAULTS[k] for k in MODEL_KEYS}))
            config = TrainConfig(lr=DEFAULTS["lr"], batch_size=batch_size, num_epochs=args.epochs,
                                 eval_every=args.epochs, patience=1, max_len=DEFAULTS["max_len"], amp=amp,
                                 progress=False)
            history = fit(model, data, split, config)
            per_epoch = min(history["seconds"][1:] or history["seconds"])      # skip the warm-up epoch
            print(f"batch {batch_size:4d} amp {history['amp']:8s}: {per_epoch:6.2f} s/epoch, "
                  f"{len(data) / per_epoch:8.0f} windows/s, peak {peak_memory_mb(device):7.0f} MiB, "
                  f"valid NDCG@10 {history['best_valid']['ndcg@10']:.4f} after {args.epochs} epochs", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
