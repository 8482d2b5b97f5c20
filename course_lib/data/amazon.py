"""Amazon Reviews 2023 (McAuley Lab), one category at a time, in the case-study schema. Opt-in, online only.

    from course_lib.data import load_amazon2023
    beauty = load_amazon2023("All_Beauty")        # CaseStudyData: .interactions, .items, .users, .stats()

Source: the Hugging Face dataset ``McAuley-Lab/Amazon-Reviews-2023``, files
``raw/review_categories/<category>.jsonl`` (reviews) and ``raw/meta_categories/meta_<category>.jsonl`` (item
metadata), fetched and verified by :func:`course_lib.data.hub.hub_file` (sha256 and size the hub publishes).

Cleaning, in this order: an item is a ``parent_asin`` (all variants of a product together); timestamps are
milliseconds in the files and become unix seconds; exact duplicate (user, item, timestamp) rows are dropped;
``max_users`` keeps the most active users (ties broken by user id, so the choice is deterministic); then users
and items with fewer than ``min_interactions`` rows are removed repeatedly until none is left (a k-core).
Ids are renumbered 1..n in the sorted order of the raw ids (``users.raw_id``, ``items.raw_id`` keep the map).

``items.category`` is the most specific entry of the metadata's ``categories`` list, else ``main_category``,
else ``"unknown"``; items without metadata (or without a title) get the title ``"(no title)"`` and are counted
by ``stats()``. Files can be several GB: they are read in chunks, keeping only the needed columns.
"""

from __future__ import annotations

import difflib

import numpy as np
import pandas as pd

from course_lib.data import casestudy as cs
from course_lib.data.hub import hub_file
from course_lib.data.registry import DataError

REPO = "McAuley-Lab/Amazon-Reviews-2023"
CATEGORIES = (
    "All_Beauty", "Amazon_Fashion", "Appliances", "Arts_Crafts_and_Sewing", "Automotive", "Baby_Products",
    "Beauty_and_Personal_Care", "Books", "CDs_and_Vinyl", "Cell_Phones_and_Accessories",
    "Clothing_Shoes_and_Jewelry", "Digital_Music", "Electronics", "Gift_Cards", "Grocery_and_Gourmet_Food",
    "Handmade_Products", "Health_and_Household", "Health_and_Personal_Care", "Home_and_Kitchen",
    "Industrial_and_Scientific", "Kindle_Store", "Magazine_Subscriptions", "Movies_and_TV",
    "Musical_Instruments", "Office_Products", "Patio_Lawn_and_Garden", "Pet_Supplies", "Software",
    "Sports_and_Outdoors", "Subscription_Boxes", "Tools_and_Home_Improvement", "Toys_and_Games", "Video_Games",
    "Unknown")
LICENCE = ("Amazon Reviews 2023, published by the McAuley Lab (UCSD) for research use; see the dataset card "
           "(https://huggingface.co/datasets/McAuley-Lab/Amazon-Reviews-2023) for the terms.")
CITATION = ("Yupeng Hou, Jiacheng Li, Zhankui He, An Yan, Xiusi Chen, Julian McAuley. 2024. Bridging Language "
            "and Items for Retrieval and Recommendation. arXiv:2403.03952")
REVIEW_COLUMNS = ["user_id", "parent_asin", "timestamp", "rating"]
META_COLUMNS = ["parent_asin", "title", "main_category", "categories"]
CHUNK_ROWS = 50_000
# pandas < 3 turns a column named "timestamp" into dates unless told not to; pandas 3 deprecates the keyword
# (dtype=False already stops every conversion there)
_NO_DATES = {"convert_dates": False} if int(pd.__version__.split(".")[0]) < 3 else {}


def check_category(category: str) -> str:
    """``category`` if it is one of :data:`CATEGORIES`, else ``DataError`` with the closest names."""
    if category in CATEGORIES:
        return category
    lower = {c.lower(): c for c in CATEGORIES}
    close = [lower[c] for c in difflib.get_close_matches(str(category).lower(), list(lower), n=3, cutoff=0.6)]
    hint = f"did you mean {' or '.join(map(repr, close))}? " if close else ""
    raise DataError(f"unknown Amazon Reviews 2023 category {category!r}; {hint}known categories: "
                    f"{', '.join(CATEGORIES)}")


def _read_jsonl(path, columns: list[str], keep=None) -> pd.DataFrame:
    """The ``columns`` of a JSON-lines file, read in chunks (strings stay strings: no dtype guessing).

    ``keep``: optional function chunk -> boolean mask of the rows to keep.
    """
    parts = []
    try:
        with pd.read_json(path, lines=True, chunksize=CHUNK_ROWS, dtype=False, **_NO_DATES) as reader:
            for chunk in reader:
                missing = [c for c in columns if c not in chunk.columns]
                if missing:
                    raise DataError(f"{path}: records lack {missing} (fields found: {sorted(chunk.columns)}); "
                                    "not an Amazon Reviews 2023 file")
                chunk = chunk[columns]
                parts.append(chunk[keep(chunk)] if keep is not None else chunk)
    except ValueError as err:
        if isinstance(err, DataError):
            raise
        raise DataError(f"{path}: not valid JSON lines ({str(err)[:200]})") from None
    if not parts:
        raise DataError(f"{path}: the file is empty")
    return pd.concat(parts, ignore_index=True)


def parse_reviews(path) -> pd.DataFrame:
    """``user, item, timestamp, rating`` (raw string ids, unix seconds) from a reviews file, duplicates dropped."""
    raw = _read_jsonl(path, REVIEW_COLUMNS)
    stamp = pd.to_numeric(raw["timestamp"], errors="coerce")
    rating = pd.to_numeric(raw["rating"], errors="coerce")
    bad = stamp.isna() | rating.isna() | raw["user_id"].isna() | raw["parent_asin"].isna()
    if bad.any():
        row = raw[bad].iloc[0].to_dict()
        raise DataError(f"{path}: {int(bad.sum())} review(s) with a missing or non-numeric field, e.g. {row}")
    frame = pd.DataFrame({"user": raw["user_id"].astype(str), "item": raw["parent_asin"].astype(str),
                          "timestamp": (stamp.astype("int64") // 1000), "rating": rating.astype("float64")})
    return frame.drop_duplicates(["user", "item", "timestamp"], keep="first", ignore_index=True)


def most_active(frame: pd.DataFrame, max_users: int) -> pd.DataFrame:
    """The rows of the ``max_users`` users with the most rows (ties: smaller raw user id first)."""
    if max_users < 1:
        raise DataError(f"max_users must be >= 1 (or None), got {max_users}")
    counts = frame.groupby("user").size().rename("n").reset_index()
    chosen = counts.sort_values(["n", "user"], ascending=[False, True], kind="stable")["user"].head(max_users)
    return frame[frame["user"].isin(chosen)].reset_index(drop=True)


def k_core(frame: pd.DataFrame, k: int) -> pd.DataFrame:
    """Remove users and items with fewer than ``k`` rows, again and again until every one has ``k`` or more."""
    if k < 1:
        raise DataError(f"min_interactions must be >= 1, got {k}")
    while True:
        users = frame.groupby("user")["item"].transform("size")
        items = frame.groupby("item")["user"].transform("size")
        keep = (users >= k) & (items >= k)
        if keep.all():
            return frame.reset_index(drop=True)
        frame = frame[keep]


def _category(main, categories) -> str:
    """The most specific category: the last of ``categories``, else ``main_category``, else "unknown"."""
    if isinstance(categories, (list, tuple, np.ndarray)):
        named = [str(c).strip() for c in categories if isinstance(c, str) and c.strip()]
        if named:
            return named[-1]
    return main.strip() if isinstance(main, str) and main.strip() else "unknown"


def parse_items(path, codes: pd.Series) -> pd.DataFrame:
    """The item table for the items in ``codes`` (raw parent_asin -> dense id) from a metadata file."""
    wanted = set(codes.index)
    meta = _read_jsonl(path, META_COLUMNS, keep=lambda c: c["parent_asin"].astype(str).isin(wanted))
    meta = meta.assign(parent_asin=meta["parent_asin"].astype(str)).drop_duplicates("parent_asin")
    table = cs.id_table(codes, "item_id").merge(meta, how="left", left_on="raw_id", right_on="parent_asin")
    category = [_category(m, c) for m, c in zip(table["main_category"], table["categories"])]
    return pd.DataFrame({"item_id": table["item_id"].astype("int64"), "raw_id": table["raw_id"].astype(object),
                         "title": cs.clean_text(table["title"], cs.NO_TITLE),
                         "category": pd.Series(category, dtype=object),
                         "published": pd.array([pd.NA] * len(table), dtype="Int64")})


def load_amazon2023(category: str, *, revision: str = "main", min_interactions: int = 5,
                    max_users: int | None = None) -> cs.CaseStudyData:
    """One category of Amazon Reviews 2023 in the case-study schema (see the module docstring).

    Raises ``DataError`` for an unknown category (with the closest names), a filter that leaves nothing, a
    file that is not what it should be, or a download that cannot be made (offline: say where to run it).
    """
    category = check_category(category)
    if min_interactions < 1:
        raise DataError(f"min_interactions must be >= 1, got {min_interactions}")
    cs.announce_once(f"amazon2023-{category}", f"Amazon Reviews 2023, category {category} (user reviews with "
                     "ratings, 1996-2023; items = parent_asin).", LICENCE, CITATION)
    hint = f"from course_lib.data import load_amazon2023; load_amazon2023({category!r})"
    reviews = hub_file(REPO, f"raw/review_categories/{category}.jsonl", revision, hint=hint)
    frame = parse_reviews(reviews)
    if max_users is not None:
        frame = most_active(frame, max_users)
    frame = k_core(frame, min_interactions)
    if frame.empty:
        raise DataError(f"Amazon {category}: no user and item keep {min_interactions} or more reviews after the "
                        "k-core filter; lower min_interactions or raise max_users")
    meta = hub_file(REPO, f"raw/meta_categories/meta_{category}.jsonl", revision, hint=hint)
    users, items = cs.dense_ids(frame["user"]), cs.dense_ids(frame["item"])
    inter = frame.assign(user_id=frame["user"].map(users), item_id=frame["item"].map(items))
    return cs.CaseStudyData(name=f"amazon2023-{category}", interactions=cs.finish_interactions(inter),
                            items=parse_items(meta, items), users=cs.id_table(users, "user_id"),
                            source=f"{REPO}@{revision}", licence=LICENCE, citation=CITATION)
