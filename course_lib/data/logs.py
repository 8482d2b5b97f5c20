"""Your own interaction log -> the course schema, with a report of every row dropped and why.

::

    frame, report = load_interactions("clicks.csv", user_col="uid", item_col="sku", time_col="ts")
    print(report)          # a CleaningReport (course_lib.cleaning): rows dropped per reason

Accepts a CSV path, a Parquet path (``.parquet``/``.pq``) or a DataFrame. Returns ``user_id, item_id,
timestamp`` (+ ``rating`` when ``rating_col`` is given), all int64, timestamps in unix seconds, in the input's
row order. Timestamps may be numbers or date strings (ISO 8601) or datetimes.

Two kinds of problem:

- the *file* is unusable (empty, header only, missing columns, ragged rows, binary garbage, a column with no
  usable value at all) -> ``DataError`` naming the problem;
- some *rows* are unusable (missing or non-numeric id, unparseable timestamp, non-numeric rating) -> dropped and
  counted in the report. Set ``strict=True`` to raise instead.

Ids must be integers unless ``encode_ids=True``, which maps text ids (``"sku-17"``) to 1..n in sorted order
(the mappings are in ``report.id_maps``).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from course_lib.cleaning import CleaningReport
from course_lib.data.registry import DataError


def _read(source) -> pd.DataFrame:
    """A DataFrame from a DataFrame, a Parquet file or a CSV file, or ``DataError`` saying why not."""
    if isinstance(source, pd.DataFrame):
        return source.copy()
    path = Path(source)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty")
    head = path.read_bytes()[:4096]
    if path.suffix.lower() in {".parquet", ".pq"} or head.startswith(b"PAR1"):
        try:
            return pd.read_parquet(path)
        except Exception as err:  # pyarrow raises several types for broken files
            raise DataError(f"{path}: not a readable Parquet file ({err})") from None
    if b"\x00" in head:
        raise DataError(f"{path}: looks like a binary file, not a CSV (NUL bytes in the first 4 KiB)")
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], skipinitialspace=True)
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text; re-save the CSV as UTF-8") from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: no columns (empty or blank file)") from None
    except pd.errors.ParserError as err:
        raise DataError(f"{path}: ragged rows, some lines have more fields than the header ({err})") from None


def _numeric(col: pd.Series) -> pd.Series:
    """Float series; non-numeric text -> NaN."""
    return pd.to_numeric(col, errors="coerce").astype("float64")


def _timestamps(col: pd.Series) -> pd.Series:
    """Unix seconds as float (NaN where unparseable) from numbers, numeric text, date text or datetimes."""
    if pd.api.types.is_datetime64_any_dtype(col):
        stamps = pd.to_datetime(col, utc=True)
    else:
        numbers = _numeric(col)
        if numbers.notna().sum() >= col.notna().sum() / 2:
            return numbers
        stamps = pd.to_datetime(col, errors="coerce", utc=True, format="ISO8601")
    seconds = (stamps - pd.Timestamp("1970-01-01", tz="UTC")) // pd.Timedelta(seconds=1)
    return seconds.astype("float64")


def _encode(col: pd.Series) -> tuple[pd.Series, dict]:
    values = col.dropna().astype(str)
    uniques = np.sort(values.unique())
    mapping = {raw: i + 1 for i, raw in enumerate(uniques.tolist())}
    return col.map(lambda v: mapping.get(str(v), np.nan) if pd.notna(v) else np.nan).astype("float64"), mapping


def _parse(values: pd.Series, canon: str, col: str, name: str, encode_ids: bool) -> tuple[pd.Series, dict | None]:
    """One column -> float series (NaN = unusable row) and the id map if ids were encoded; DataError if none usable."""
    is_id = canon in ("user_id", "item_id")
    mapping = None
    if is_id and encode_ids:
        parsed, mapping = _encode(values)
    elif canon == "timestamp":
        parsed = _timestamps(values)
    else:
        parsed = _numeric(values)
        if is_id:
            parsed = parsed.where(parsed == parsed.round())            # 1.5 is not an id
    if parsed.notna().sum() == 0:
        sample = values.dropna().astype(str).head(3).tolist()
        hint = "; pass encode_ids=True for text ids" if is_id else ""
        raise DataError(f"{name}: column {col!r} has no usable {canon} value (e.g. {sample}){hint}")
    return parsed, mapping


def load_interactions(source, user_col: str = "user_id", item_col: str = "item_id", time_col: str = "timestamp",
                      rating_col: str | None = None, *, encode_ids: bool = False,
                      strict: bool = False) -> tuple[pd.DataFrame, CleaningReport]:
    """Validate a learner's log and return ``(frame, report)`` in the course schema (see module docstring).

    Returns:
        frame: ``user_id, item_id, timestamp`` (+ ``rating``), int64, input row order, unusable rows removed.
        report: a ``CleaningReport`` with one step, "load and validate", counting dropped rows per reason.
    """
    raw = _read(source)
    name = "the DataFrame" if isinstance(source, pd.DataFrame) else str(source)
    wanted = {"user_id": user_col, "item_id": item_col, "timestamp": time_col}
    if rating_col is not None:
        wanted["rating"] = rating_col
    missing = [c for c in wanted.values() if c not in raw.columns]
    if missing:
        raise DataError(f"{name}: missing column(s) {missing}; it has {list(raw.columns)} "
                        "(pass user_col=..., item_col=..., time_col=... to name yours)")
    if len(raw) == 0:
        raise DataError(f"{name}: header only, no rows")
    report, columns, reasons = CleaningReport(), {}, {}
    bad = pd.Series(False, index=raw.index)
    for canon, col in wanted.items():
        columns[canon], mapping = _parse(raw[col], canon, col, name, encode_ids)
        if mapping is not None:
            report.id_maps[canon] = mapping
        reasons[f"missing {col}"] = int((raw[col].isna() & ~bad).sum())
        reasons[f"invalid {col}"] = int((columns[canon].isna() & raw[col].notna() & ~bad).sum())
        bad |= columns[canon].isna()
    if strict and bad.any():
        raise DataError(f"{name}: {int(bad.sum())} unusable rows: "
                        + ", ".join(f"{k}: {v}" for k, v in reasons.items() if v))
    if bad.any():                     # say it now, not only in the report: a silent drop is how data goes missing
        counts = ", ".join(f"{k}: {v}" for k, v in reasons.items() if v)
        warnings.warn(f"{name}: dropped {int(bad.sum())} of {len(raw)} rows ({counts}); the report lists them, "
                      "strict=True stops instead", UserWarning, stacklevel=2)
    frame = pd.DataFrame(columns)[~bad]
    frame = frame.astype({c: "int64" for c in ("user_id", "item_id", "timestamp")}).reset_index(drop=True)
    if "rating" in frame and (frame["rating"] == frame["rating"].round()).all():
        frame["rating"] = frame["rating"].astype("int64")
    report.record("load and validate", raw, frame, reasons)
    return frame, report


def log_stats(interactions: pd.DataFrame, catalogue_size: int) -> dict:
    """Counts worth printing for a log in the course schema: rows, users, items, density, per-user lengths, span."""
    per_user = interactions.groupby("user_id").size()
    first, last = (pd.to_datetime(interactions["timestamp"].agg(f), unit="s") for f in ("min", "max"))
    users, items = interactions["user_id"].nunique(), interactions["item_id"].nunique()
    return {"interactions": len(interactions), "users": users, "items": items, "catalogue items": catalogue_size,
            "density": len(interactions) / max(users * items, 1), "min per user": int(per_user.min()),
            "median per user": float(per_user.median()), "max per user": int(per_user.max()),
            "first": str(first.date()), "last": str(last.date())}
