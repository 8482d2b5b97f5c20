"""The schema the real case-study datasets share (Amazon Reviews 2023, MIND), and the helpers both loaders use.

A :class:`CaseStudyData` holds three DataFrames with dense ids (1..n, assigned in sorted order of the raw ids):

- ``interactions``: ``user_id, item_id, timestamp`` (int64, unix seconds) and ``rating`` (float64), sorted by
  ``user_id, timestamp, item_id``; a loader may add columns after these (MIND adds ``timed``);
- ``items``: ``item_id`` (int64), ``raw_id`` (the dataset's own id), ``title`` (``"(no title)"`` when the
  dataset has none), ``category`` (str), ``published`` (Int64 unix seconds or <NA>), and loader extras;
- ``users``: ``user_id`` (int64), ``raw_id`` (the dataset's own user id).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from course_lib.data.logs import log_stats

NO_TITLE = "(no title)"
INTERACTION_COLUMNS = ["user_id", "item_id", "timestamp", "rating"]
_ANNOUNCED: set[str] = set()


@dataclass
class CaseStudyData:
    """A real dataset in the course schema (module docstring); ``source`` is ``repo@revision``."""

    name: str
    interactions: pd.DataFrame
    items: pd.DataFrame
    users: pd.DataFrame
    source: str
    licence: str
    citation: str

    def stats(self) -> dict:
        """Counts worth printing: rows, users, items, density, per-user lengths, time span, gaps in the data."""
        inter = self.interactions
        out = {**log_stats(inter, len(self.items)),
               "items without title": int(self.items["title"].eq(NO_TITLE).sum())}
        if "timed" in inter.columns:
            out["untimed rows (histories)"] = int((~inter["timed"]).sum())
        out["source"] = self.source
        return out


def announce_once(name: str, description: str, licence: str, citation: str) -> None:
    """Print a dataset's description, licence and citation, once per process (like ``registry.announce``)."""
    if name in _ANNOUNCED:
        return
    _ANNOUNCED.add(name)
    print(f"{name}: {description}\nLicence: {licence}\nPlease cite: {citation}")


def dense_ids(raw: pd.Series) -> pd.Series:
    """Map each distinct raw id to 1..n in sorted order: a Series indexed by raw id, values int64."""
    keys = np.sort(pd.unique(raw.astype(str)))
    return pd.Series(np.arange(1, len(keys) + 1, dtype="int64"), index=pd.Index(keys, dtype=object))


def id_table(codes: pd.Series, name: str) -> pd.DataFrame:
    """``<name>, raw_id`` from a ``dense_ids`` map (raw ids as Python strings)."""
    return pd.DataFrame({name: codes.to_numpy(dtype="int64"),
                         "raw_id": codes.index.to_numpy(dtype=object)})


def finish_interactions(frame: pd.DataFrame, extra: tuple = ()) -> pd.DataFrame:
    """Course dtypes and order: ids and timestamp int64, rating float64, sorted by user, time, item."""
    out = frame[INTERACTION_COLUMNS + list(extra)].astype(
        {"user_id": "int64", "item_id": "int64", "timestamp": "int64", "rating": "float64"})
    return out.sort_values(["user_id", "timestamp", "item_id"], kind="stable").reset_index(drop=True)


def clean_text(values: pd.Series, empty: str) -> pd.Series:
    """Strings with missing/blank values replaced by ``empty`` (object dtype, like the MovieLens tables)."""
    text = values.astype(object).where(values.notna(), "")
    text = text.map(lambda v: v.strip() if isinstance(v, str) else str(v).strip())
    return text.where(text != "", empty).astype(object)
