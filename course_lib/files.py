"""Writing files so that a crash never leaves half of one: the course's one write-then-rename helper.

    with atomic_path("results.json") as part:      # part = "results.json.part" beside the target
        part.write_text(...)                       # any writer: torch.save, np.savez, nbformat.write, a folder...
    # on success the part is renamed onto the target (os.replace: atomic on one file system);
    # on an exception it is removed and the target is left as it was.

``write_text``/``write_json`` cover the common cases. A folder target (a saved model) is replaced whole.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_path(path, suffix: str = ".part"):
    """Yield ``<path><suffix>`` (its folder created, any leftover removed); rename it onto ``path`` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + suffix)
    _remove(part)
    try:
        yield part
        if part.is_dir() and path.exists():
            _remove(path)                      # os.replace cannot put a folder over a non-empty folder
        os.replace(part, path)
    finally:
        _remove(part)


def write_text(path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns the path."""
    with atomic_path(path) as part:
        part.write_text(text, encoding="utf-8")
    return Path(path)


def write_json(path, value, indent: int | None = 1) -> Path:
    """Write ``value`` as JSON to ``path`` atomically (numbers of NumPy types become floats); returns the path."""
    return write_text(path, json.dumps(value, indent=indent, default=float) + "\n")
