"""How fast the offline LLM is ready, how much memory it takes, how long re-ranking every user takes.

    python benchmarks/llm_ready.py      # -> benchmarks/results/llm-ready.json (about 3 minutes on 2 CPU cores)

Three numbers for notebook 10's LLM (SmolLM2-135M-Instruct, converted once by ``course llm fetch``):

- ``ready_seconds``: ``load_llm()`` from the converted cache in a fresh process (checksums verified, weights read,
  model built), the median of three processes;
- ``peak_rss_gb``: the peak resident memory of such a process after loading and scoring (``ru_maxrss``);
- ``rerank_seconds``: the LLM scoring SASRec-style candidates, 20 per user, for all 943 test users of ML-100k
  (the candidates come from a Markov model here: the LLM's cost does not depend on which model proposed them),
  prompts with the 10 most recent titles, in the dtype the recipe uses (``recipes.llm.llm_dtype``).

Run it alone: other processes on the cores change every number.
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"

CHILD = """
import json, resource, time
start = time.perf_counter()
from course_lib import llm
from course_lib.recipes.llm import llm_dtype
import torch
lm = llm.load_llm(dtype=llm_dtype(torch.device("cpu")), device="cpu")
ready = time.perf_counter() - start
llm.sequence_logprobs(lm, ["The next film they watch is:"], [" Toy Story"])
print(json.dumps({"ready_seconds": ready, "load_seconds": lm.load_seconds, "dtype": str(lm.model.dtype),
                  "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}))
"""


def fresh_process() -> dict:
    """One fresh Python: import, load, score once; its timings and peak memory."""
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def rerank_all_users() -> dict:
    """Seconds for the LLM to score 20 candidates of every test user (cold caches)."""
    import torch

    from course_lib.llm import load_llm
    from course_lib.llm_rerank import FULL_HISTORY, LLMReranker, TitleScorer
    from course_lib.models.markov import MarkovRecommender
    from course_lib.recipes.llm import llm_dtype, movielens_titles
    from course_lib.recipes.run import load_split
    from course_lib.sequences import pad_left

    split = load_split("ml-100k")
    lm = load_llm(dtype=llm_dtype(torch.device("cpu")), device="cpu")
    reranker = LLMReranker(MarkovRecommender().fit(split), TitleScorer(lm, movielens_titles(split)), 20,
                           weight=0.5, max_titles=10)
    histories = split.histories("test")
    start = time.perf_counter()
    for first in range(0, len(histories), 64):
        reranker.scores(pad_left(histories[first:first + 64], FULL_HISTORY))
    seconds = time.perf_counter() - start
    return {"rerank_seconds": seconds, "users": len(histories), "candidates": 20,
            "pairs_scored": reranker.scorer.pairs_scored, "threads": torch.get_num_threads()}


def main() -> int:
    from course_lib import runtime
    from course_lib.files import write_json

    runs = [fresh_process() for _ in range(3)]
    report = {"model": "SmolLM2-135M-Instruct (packaged GGUF, converted)", "device": runtime.device_summary(),
              "command": "python benchmarks/llm_ready.py", "dtype": runs[0]["dtype"],
              "ready_seconds": statistics.median(r["ready_seconds"] for r in runs),
              "peak_rss_gb": max(r["peak_rss_gb"] for r in runs), "runs": runs, **rerank_all_users(),
              "peak_rss_gb_main": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
              "targets": {"ready_seconds": 10, "peak_rss_gb": 4, "rerank_seconds": 300}}
    write_json(RESULTS / "llm-ready.json", report)
    print(json.dumps({k: v for k, v in report.items() if k != "runs"}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
