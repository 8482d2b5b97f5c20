"""Datasets for the course: MovieLens (two routes, one schema), your own logs, synthetic case studies.

Public API::

    from course_lib.data import load_movielens, load_interactions, DataError, cache_dir, synthetic
    ml = load_movielens("ml-100k")            # MovieLens: .interactions, .items, .users
    log, report = load_interactions("my_log.csv", user_col="uid", item_col="sku", time_col="ts")
    shop = synthetic.make_shop_log(seed=0)    # SyntheticLog: .interactions, .items, .truth

See ``registry`` (names, checksums, licences, cache folder), ``download`` (verified atomic downloads),
``movielens`` (parsing and routes), ``logs`` (validating your own log), ``synthetic`` (planted structure).
"""

from course_lib.data import synthetic
from course_lib.data.logs import load_interactions
from course_lib.data.movielens import GENRES, MovieLens, is_available, load_movielens
from course_lib.data.registry import REGISTRY, DataError, DatasetInfo, cache_dir, dataset_info

__all__ = ["DataError", "DatasetInfo", "GENRES", "MovieLens", "REGISTRY", "cache_dir", "dataset_info",
           "is_available", "load_interactions", "load_movielens", "synthetic"]
