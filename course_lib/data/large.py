"""MovieLens at scale on one machine: 25 million ratings read lazily with polars, never all into pandas at once.

Opt-in and online only (a 262 MB download, e.g. in Colab, which ships polars; locally ``pip install polars``)::

    from course_lib.data import large
    ratings = large.scan_ratings("ml-25m")                 # a polars LazyFrame: nothing is read yet
    per_user = ratings.group_by("user_id").len().collect() # polars reads only the column it needs, in parallel
    sample = large.sample_users(ratings, 5_000, seed=0)    # pandas, course schema, ready for leave_one_out

The archive is fetched through the same verified route as ML-100k (GroupLens or ``$COURSE_DATA_MIRROR``,
checked against the md5 GroupLens publishes); ``ratings.csv`` is extracted once into the cache (to a ``.part``
file, then renamed) and checked against the size the archive records for it.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from course_lib.data.movielens import fetch_grouplens
from course_lib.data.registry import DataError, announce, cache_dir, dataset_info
from course_lib.files import atomic_path

LARGE_DATASETS = ("ml-25m",)
COLUMNS = {"userId": "user_id", "movieId": "item_id", "rating": "rating", "timestamp": "timestamp"}


def _polars():
    try:
        import polars
    except ImportError:
        raise DataError("reading MovieLens-25M lazily needs polars (Colab has it): pip install polars") from None
    return polars


def ratings_csv(name: str = "ml-25m") -> Path:
    """Path of ``<name>/ratings.csv`` extracted from the verified archive (downloaded and extracted once)."""
    if name not in LARGE_DATASETS:
        raise DataError(f"{name!r} is not a large MovieLens dataset; expected one of {LARGE_DATASETS} "
                        "(load_movielens reads ml-100k)")
    info = dataset_info(name)
    announce(info)
    archive = fetch_grouplens(info)
    member = f"{name}/ratings.csv"
    target = cache_dir() / name / "ratings.csv"
    with zipfile.ZipFile(archive) as zf:
        size = zf.getinfo(member).file_size
        if target.exists() and target.stat().st_size == size:
            return target
        with atomic_path(target) as part:
            with zf.open(member) as source, open(part, "wb") as sink:
                shutil.copyfileobj(source, sink, length=1 << 20)
            if part.stat().st_size != size:
                raise DataError(f"extracting {member} from {archive} stopped short; delete the archive and fetch "
                                "it again")
    return target


def scan_ratings(name: str = "ml-25m"):
    """A polars LazyFrame of ``name``'s ratings in the course schema: user_id, item_id, rating, timestamp.

    Nothing is read until ``.collect()``; filters and aggregations written before it run in one pass.
    """
    pl = _polars()
    return pl.scan_csv(ratings_csv(name)).rename(COLUMNS).select(list(COLUMNS.values()))


def sample_users(ratings, num_users: int, min_ratings: int = 5, seed: int = 0) -> pd.DataFrame:
    """The interactions of ``num_users`` random users with at least ``min_ratings`` ratings, as pandas.

    ``ratings``: a LazyFrame from ``scan_ratings``. Returns the course schema (user_id, item_id, rating,
    timestamp), sorted by user, time and item, ready for ``course_lib.sequences.leave_one_out``.
    """
    pl = _polars()
    if num_users < 1 or min_ratings < 1:
        raise ValueError(f"num_users and min_ratings must be >= 1, got {num_users}, {min_ratings}")
    eligible = (ratings.group_by("user_id").len().filter(pl.col("len") >= min_ratings)
                .select("user_id").collect()["user_id"].sort().to_numpy())
    if len(eligible) == 0:
        raise DataError(f"no user has {min_ratings} or more ratings")
    chosen = np.random.default_rng(seed).choice(eligible, size=min(num_users, len(eligible)), replace=False)
    picked = ratings.filter(pl.col("user_id").is_in(chosen.tolist())).collect().to_pandas()
    return picked.sort_values(["user_id", "timestamp", "item_id"], kind="stable").reset_index(drop=True)
