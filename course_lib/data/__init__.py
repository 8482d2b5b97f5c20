"""Datasets for the course: MovieLens (two routes, one schema), your own logs, synthetic and real case studies.

Public API::

    from course_lib.data import load_movielens, load_interactions, DataError, cache_dir, synthetic
    ml = load_movielens("ml-100k")            # MovieLens: .interactions, .items, .users
    log, report = load_interactions("my_log.csv", user_col="uid", item_col="sku", time_col="ts")
    shop = synthetic.make_shop_log(seed=0)    # SyntheticLog: .interactions, .items, .truth

    # opt-in, online only (e.g. Colab): real case studies from the Hugging Face hub, verified and cached
    from course_lib.data import load_amazon2023, load_mind, hub_file, CaseStudyData
    beauty = load_amazon2023("All_Beauty")    # CaseStudyData: .interactions, .items, .users, .stats()
    news = load_mind("small")                 # MIND-small clicks; .interactions["timed"] marks real times
    path = hub_file("owner/dataset", "folder/file.jsonl")   # any file of a hub dataset, sha256-verified

See ``registry`` (names, checksums, licences, cache folder), ``download`` (verified atomic downloads),
``movielens`` (parsing and routes), ``logs`` (validating your own log), ``synthetic`` (planted structure),
``hub`` (hub files checked against the hub's published size and sha256), ``casestudy`` (the shared schema),
``amazon`` and ``mind`` (the two real case studies).
"""

from course_lib.data import streams, synthetic
from course_lib.data.amazon import load_amazon2023
from course_lib.data.casestudy import CaseStudyData
from course_lib.data.hub import hub_file
from course_lib.data.logs import load_interactions
from course_lib.data.mind import load_mind
from course_lib.data.movielens import GENRES, MovieLens, is_available, load_movielens
from course_lib.data.registry import REGISTRY, DataError, DatasetInfo, cache_dir, dataset_info

__all__ = ["CaseStudyData", "DataError", "DatasetInfo", "GENRES", "MovieLens", "REGISTRY", "cache_dir",
           "dataset_info", "hub_file", "is_available", "load_amazon2023", "load_interactions", "load_mind",
           "load_movielens", "streams", "synthetic"]
