"""Training throughput of the course SASRec on the current device: batch size, sequence length, precision, compile.

    python benchmarks/throughput.py                      # writes benchmarks/results/throughput-<device>.json
    python benchmarks/throughput.py --steps 20 --out /tmp/t.json

Times real optimizer steps (``course_lib.throughput.measure_training``, synchronised) of a fresh SASRec with the
course defaults on ML-100k training windows and records sequences per second and peak GPU memory for:
every batch size from 64 doubling until out of memory (or --max-batch), sequence lengths 50/100/200 at batch 256,
each precision the device really has (fp32; fp16 + GradScaler and bf16 on CUDA, bf16 only at compute capability
>= 8.0) and torch.compile at batch 256. Notebook 08 reads the JSON. On a CPU only fp32 runs.
"""

from __future__ import annotations

import argparse
import platform
from pathlib import Path

import torch

from course_lib import runtime, throughput
from course_lib.data import load_movielens
from course_lib.models.sasrec import SASRec, SASRecConfig
from course_lib.recipes.sasrec import DEFAULTS, MODEL_KEYS
from course_lib.sequences import NextItemDataset, leave_one_out

from common import write_json  # benchmarks/common.py

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="timed optimizer steps per measurement")
    parser.add_argument("--max-batch", type=int, default=16384, help="stop the batch-size search here")
    parser.add_argument("--out", type=Path, default=None, help="JSON file (default: results/throughput-<device>.json)")
    args = parser.parse_args(argv)
    device = runtime.get_device()
    split = leave_one_out(load_movielens("ml-100k").interactions)

    def measure(batch_size: int, max_len: int = DEFAULTS["max_len"], amp: str = "off", compile: bool = False):
        runtime.seed_everything(0)
        settings = {**{k: DEFAULTS[k] for k in MODEL_KEYS}, "max_len": max_len}
        model = SASRec(SASRecConfig(num_items=split.num_items, **settings))
        data = NextItemDataset(split, max_len=max_len, all_windows=True)
        row = throughput.measure_training(model, data, batch_size, device=device, amp=amp, steps=args.steps,
                                          compile=compile, lr=DEFAULTS["lr"])
        row["max_len"] = max_len
        print(row, flush=True)
        return row

    batch_rows, why = throughput.largest_batch(measure, start=64, cap=args.max_batch)
    print(why, flush=True)
    length_rows = [measure(256, max_len) for max_len in (50, 100, 200)]
    amp_rows = [measure(batch, amp=amp) for batch in (128, 1024) for amp in throughput.native_precisions(device)]
    compile_rows = []
    for compiled in (False, True):
        try:
            compile_rows.append(measure(256, compile=compiled))
        except Exception as error:          # a platform without a working compiler: record it, go on
            compile_rows.append({"compiled": compiled, "error": f"{type(error).__name__}: {error}"[:300]})
    report = {"device": runtime.device_summary(device), "torch": torch.__version__, "python": platform.python_version(),
              "steps": args.steps, "model": {k: DEFAULTS[k] for k in MODEL_KEYS},
              "batch_sizes": batch_rows, "batch_search": why, "lengths": length_rows, "precision": amp_rows,
              "compile": compile_rows, "command": "python benchmarks/throughput.py"}
    name = "cpu" if device.type != "cuda" else torch.cuda.get_device_name(device).split()[-1].lower()
    write_json(report, args.out or RESULTS / f"throughput-{name}.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
