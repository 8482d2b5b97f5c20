"""MIND-small (Microsoft News Dataset) as news clicks in the case-study schema. Opt-in, online only.

    from course_lib.data import load_mind
    news = load_mind()                    # CaseStudyData: .interactions (with ``timed``), .items, .users

Source: the official Azure links are dead, so the loader reads a Hugging Face mirror (``repo=``, default
``Recommenders/MIND``) holding ``MINDsmall_train.zip`` and ``MINDsmall_dev.zip`` at its root, each with
``behaviors.tsv`` and ``news.tsv`` (at the archive's root or in one sub-folder). Both are fetched and verified
by :func:`course_lib.data.hub.hub_file` (sha256 and size the hub publishes). Train and dev are used together.

What the rows mean:

- A click is an impression candidate labelled 1 (``N123-1``); it gets the impression's time (``11/11/2019
  9:05:58 AM``, read as UTC) and ``timed=True``. Candidates labelled 0 are not interactions.
- Each user's click *history* (the clicks before the logging period) has no timestamps in MIND. The loader
  takes the history of the user's earliest impression and places it, in its order, one second apart, ending
  one second before the earliest impression time of the whole log, so it precedes every click of the log.
  These times are made up: the rows carry ``timed=False``; filter on it when time matters.
- A (user, article) pair is kept once: its first row (history before clicks). ``rating`` is 1.0.

``items`` is the news catalogue (``news.tsv`` of both splits, plus any clicked id missing from it, titled
``"(no title)"``): ``raw_id`` (``N...``), ``title``, ``category`` (``category/subcategory``), ``abstract``, and
``published``: the first time the article appears in any impression (shown, clicked or not), a proxy for its
publication time (<NA> for articles that only occur in histories or in no impression).
"""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import pandas as pd

from course_lib.data import casestudy as cs
from course_lib.data import download as dl
from course_lib.data import hub
from course_lib.data.registry import DataError

REPO = "Recommenders/MIND"
SPLITS = ("train", "dev")
MEMBERS = ("behaviors.tsv", "news.tsv")
NEWS_COLUMNS = ["news_id", "category", "subcategory", "title", "abstract", "url", "title_entities",
                "abstract_entities"]
BEHAVIOR_COLUMNS = ["impression_id", "user_id", "time", "history", "impressions"]
TIME_FORMAT = "%m/%d/%Y %I:%M:%S %p"
IMPRESSIONS = r"(?:\S+-[01](?: \S+-[01])*)?"
CLICKED, SHOWN = r"(\S+)-1(?!\S)", r"(\S+)-[01](?!\S)"
CHUNK_ROWS = 20_000
LICENCE = ("Microsoft Research License Terms: non-commercial research use only; see "
           "https://msnews.github.io and the licence file distributed with MIND.")
CITATION = ("Fangzhao Wu, Ying Qiao, Jiun-Hung Chen, Chuhan Wu, Tao Qi, Jianxun Lian, Danyang Liu, Xing Xie, "
            "Jianfeng Gao, Winnie Wu, Ming Zhou. 2020. MIND: A Large-scale Dataset for News Recommendation. "
            "In Proceedings of ACL 2020, 3597-3606. https://aclanthology.org/2020.acl-main.331")


def _archives(repo: str, revision: str) -> list[Path]:
    """The verified train and dev archives (listing the repository first unless both are cached)."""
    names = [f"MINDsmall_{split}.zip" for split in SPLITS]
    hint = f"from course_lib.data import load_mind; load_mind(repo={repo!r})"
    if not all(hub.is_cached(repo, name, revision) for name in names):
        held = sorted(str(e.get("path")) for e in hub.tree(repo, "", revision, hint=hint))
        missing = [n for n in names if n not in held]
        if missing:
            raise DataError(f"{repo}@{revision} does not hold {missing}; it holds: {', '.join(held) or 'nothing'}. "
                            "Pass repo='<owner>/<name>' to load_mind to read another Hugging Face mirror of "
                            "MIND-small")
    return [hub.hub_file(repo, name, revision, hint=hint) for name in names]


def member_folder(path: Path) -> str:
    """``""`` or ``"<folder>/"``: where ``behaviors.tsv`` and ``news.tsv`` sit; checked with ``check_zip``."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError):
        names = set()
    folders = {n[: -len(MEMBERS[0])] for n in names if n.endswith(MEMBERS[0])}
    found = sorted(f for f in folders if f.count("/") <= 1 and f + MEMBERS[1] in names)
    prefix = found[0] if found else ""
    dl.check_zip(path, tuple(prefix + m for m in MEMBERS), label=path.name)
    return prefix


def _read_tsv(path: Path, member: str, columns: list[str]) -> pd.DataFrame:
    """A headerless tab-separated member as strings (no quoting: titles contain quotes; "" for empty)."""
    try:
        with zipfile.ZipFile(path) as archive, archive.open(member) as handle:
            frame = pd.read_csv(handle, sep="\t", header=None, names=columns, dtype=str, encoding="utf-8",
                                quoting=csv.QUOTE_NONE, keep_default_na=False, na_filter=False)
    except (ValueError, zipfile.BadZipFile, OSError) as err:
        raise DataError(f"{path.name}/{member}: cannot be read as {len(columns)} tab-separated columns "
                        f"({str(err)[:200]})") from None
    return frame.fillna("")


def parse_behaviors(frame: pd.DataFrame, label: str) -> pd.DataFrame:
    """``user_id, timestamp, history, impressions`` with unix seconds; malformed rows are a ``DataError``."""
    stamps = pd.to_datetime(frame["time"], format=TIME_FORMAT, utc=True, errors="coerce")
    bad = stamps.isna() | frame["user_id"].str.strip().eq("")
    impressions = frame["impressions"].str.strip()
    bad |= ~impressions.str.fullmatch(IMPRESSIONS)
    if bad.any():
        row = frame[bad].iloc[0].to_dict()
        raise DataError(f"{label}: {int(bad.sum())} behaviour row(s) without a user, with a time not like "
                        f"'11/11/2019 9:05:58 AM', or with impressions not like 'N1-1 N2-0', e.g. {row}")
    seconds = (stamps - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
    return pd.DataFrame({"user_id": frame["user_id"].str.strip(), "timestamp": seconds.astype("int64"),
                         "history": frame["history"].str.strip(), "impressions": impressions})


def _tokens(behaviors: pd.DataFrame, pattern: str):
    """Chunks of ``user, item, timestamp``: one row per impression candidate matching ``pattern``."""
    for start in range(0, len(behaviors), CHUNK_ROWS):
        part = behaviors.iloc[start:start + CHUNK_ROWS]
        frame = pd.DataFrame({"user": part["user_id"], "timestamp": part["timestamp"],
                              "item": part["impressions"].str.findall(pattern)})
        yield frame.explode("item").dropna(subset=["item"])


def history_rows(behaviors: pd.DataFrame) -> pd.DataFrame:
    """``user, item, timestamp``: each user's history from their earliest impression, ending at log start - 1 s."""
    start = int(behaviors["timestamp"].min())
    first = behaviors.sort_values("timestamp", kind="stable").drop_duplicates("user_id")
    rows = pd.DataFrame({"user": first["user_id"], "item": first["history"].str.split()})
    rows = rows.explode("item").dropna(subset=["item"])
    position = rows.groupby("user").cumcount()
    length = rows.groupby("user")["item"].transform("size")
    return rows.assign(timestamp=start - length + position).reset_index(drop=True)


def clicks(behaviors: pd.DataFrame) -> pd.DataFrame:
    """``user, item, timestamp, timed``: histories (untimed) then clicked candidates, each pair once."""
    clicked = pd.concat(list(_tokens(behaviors, CLICKED)))   # behaviors is never empty: one chunk at least
    rows = pd.concat([history_rows(behaviors).assign(timed=False), clicked.assign(timed=True)],
                     ignore_index=True).astype({"timestamp": "int64", "timed": bool})
    rows = rows.sort_values(["user", "timestamp"], kind="stable")
    return rows.drop_duplicates(["user", "item"], keep="first", ignore_index=True)


def first_shown(behaviors: pd.DataFrame) -> pd.Series:
    """Raw news id -> the earliest time it appears among any impression's candidates."""
    parts = [chunk.groupby("item")["timestamp"].min() for chunk in _tokens(behaviors, SHOWN)]
    return pd.concat(parts).groupby(level=0).min() if parts else pd.Series(dtype="int64")


def item_table(news: pd.DataFrame, rows: pd.DataFrame, shown: pd.Series) -> tuple[pd.Series, pd.DataFrame]:
    """(raw id -> dense id, the item table) for the catalogue: every news row plus any clicked unknown id."""
    news = news.drop_duplicates("news_id").set_index("news_id")
    codes = cs.dense_ids(pd.concat([pd.Series(news.index, dtype=object), rows["item"].astype(object)]))
    table = cs.id_table(codes, "item_id").join(news, on="raw_id")
    cat, sub = (table[c].fillna("").str.strip() for c in ("category", "subcategory"))
    category = cat.where(sub.eq(""), cat + "/" + sub).where(cat.ne("") | sub.ne(""), "unknown")
    published = table["raw_id"].map(shown)
    return codes, pd.DataFrame({
        "item_id": table["item_id"].astype("int64"), "raw_id": table["raw_id"].astype(object),
        "title": cs.clean_text(table["title"], cs.NO_TITLE), "category": category.str.strip("/").astype(object),
        "abstract": cs.clean_text(table["abstract"], ""),
        "published": pd.array(published.to_numpy(dtype="float64"), dtype="Int64")})


def _read_splits(archives: list[Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(behaviors of all splits, news of all splits) from the verified archives."""
    behaviors, news = [], []
    for path in archives:
        prefix = member_folder(path)
        raw = _read_tsv(path, prefix + "behaviors.tsv", BEHAVIOR_COLUMNS)
        behaviors.append(parse_behaviors(raw, f"{path.name}/{prefix}behaviors.tsv"))
        news.append(_read_tsv(path, prefix + "news.tsv", NEWS_COLUMNS))
    all_behaviors = pd.concat(behaviors, ignore_index=True)
    if all_behaviors.empty:
        raise DataError(f"{', '.join(p.name for p in archives)}: behaviors.tsv holds no impression")
    return all_behaviors, pd.concat(news, ignore_index=True)


def load_mind(size: str = "small", *, repo: str = REPO, revision: str = "main") -> cs.CaseStudyData:
    """MIND-small's clicks (train and dev together) in the case-study schema; see the module docstring.

    Raises ``DataError`` for a size other than "small", a repository without the two archives (listing what
    it holds), a malformed file, or a download that cannot be made (offline: says where to run it).
    """
    if size != "small":
        why = (" MIND-large (several GB) is not offered here because of its size." if size == "large" else "")
        raise DataError(f"load_mind(size={size!r}): only size='small' is supported.{why}")
    cs.announce_once("mind-small", "MIND-small: news impressions and clicks of 50,000 Microsoft News users, "
                     "9-15 Nov 2019 (train + dev).", LICENCE, CITATION)
    behaviors, news = _read_splits(_archives(repo, revision))
    rows = clicks(behaviors)
    if rows.empty:
        raise DataError(f"{repo}: MIND-small holds no click and no history")
    codes, items = item_table(news, rows, first_shown(behaviors))
    users = cs.dense_ids(rows["user"])
    inter = rows.assign(user_id=rows["user"].map(users), item_id=rows["item"].map(codes), rating=1.0)
    return cs.CaseStudyData(name="mind-small", interactions=cs.finish_interactions(inter, extra=("timed",)),
                            items=items, users=cs.id_table(users, "user_id"), source=f"{repo}@{revision}",
                            licence=LICENCE, citation=CITATION)
