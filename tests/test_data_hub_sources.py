"""course_lib.data.hub, amazon and mind: verified hub downloads and the two real case studies, offline.

A local HTTP server on 127.0.0.1 plays the Hugging Face hub (``$HF_ENDPOINT``): it answers the tree API with
each fixture's size and sha256 (computed here) and serves the files under ``/datasets/<repo>/resolve/``. The
fixtures are tiny files of the real layouts, written by this module; the real data is never fetched.
"""

import hashlib
import io
import json
import re
import time
import urllib.parse
import zipfile

import pandas as pd
import pytest

from local_server import LocalServer

from course_lib.data import (CaseStudyData, DataError, amazon, download, hub, hub_file, load_amazon2023,
                             load_mind, mind)

AMAZON = "McAuley-Lab/Amazon-Reviews-2023"
REVIEWS = "raw/review_categories/All_Beauty.jsonl"
META = "raw/meta_categories/meta_All_Beauty.jsonl"
MIND = "Recommenders/MIND"
T0 = 1573463158   # 11/11/2019 9:05:58 AM UTC: the earliest impression of the MIND fixture


def jsonl(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def review(user: str, item: str, ms: int, rating: float = 5.0) -> dict:
    return {"rating": rating, "title": "ok", "text": "fine", "images": [], "asin": item + "-v",
            "parent_asin": item, "user_id": user, "timestamp": ms, "helpful_vote": 0, "verified_purchase": True}


# UD has one review: removing it leaves B00Z with one (UC), removing B00Z leaves UC with one: a 3-round 2-core.
REVIEW_ROWS = [review("UA", "0001234567", 1_600_000_000_999), review("UA", "0001234567", 1_600_000_000_999),
               review("UA", "B00X", 1_600_000_100_000, 4.0), review("UA", "B00Y", 1_600_000_200_000),
               review("UA", "B00W", 1_600_000_300_000), review("UB", "0001234567", 1_600_000_050_000, 3.0),
               review("UB", "B00X", 1_600_000_060_000), review("UB", "B00X", 1_600_000_070_000, 1.0),
               review("UE", "0001234567", 1_600_000_400_000), review("UE", "B00Y", 1_600_000_300_000),
               review("UE", "B00W", 1_600_000_300_000), review("UC", "B00X", 1_600_000_000_000),
               review("UC", "B00Z", 1_600_000_000_000), review("UD", "B00Z", 1_600_000_000_000)]
META_ROWS = [
    {"main_category": "All Beauty", "title": "Rose Oil", "average_rating": 4.5, "rating_number": 10,
     "features": [], "price": None, "store": "S", "categories": [], "parent_asin": "0001234567"},
    {"main_category": "All Beauty", "title": "Brush", "categories": ["Beauty", "Tools", "Brushes"],
     "price": 3.5, "store": "S", "parent_asin": "B00X"},
    {"main_category": None, "title": "", "categories": [], "price": "None", "store": None, "parent_asin": "B00W"},
    {"main_category": "All Beauty", "title": "Filtered out", "categories": ["X"], "parent_asin": "B00Z"}]

NEWS_TRAIN = ("N1\tnews\tnewsus\tFirst story\tAn abstract\thttp://a/1\t[]\t[]\n"
              "N2\tsports\t\tSecond story\t\thttp://a/2\t[]\t[]\n"
              "N3\tnews\tnewsworld\tThird\tabc\thttp://a/3\t[]\t[]\n"
              "N4\tnews\tnewsus\tFourth\t\thttp://a/4\t[]\t[]\n"
              'N5\tlifestyle\tlifestylebuzz\tWhy "quoted" titles break parsers\tShe said "hi\thttp://a/5\t[]\t[]\n'
              "N6\tnews\tnewsus\tSixth\t\thttp://a/6\t[]\t[]\n")
NEWS_DEV = ("N3\tnews\tnewsworld\tThird\tabc\thttp://a/3\t[]\t[]\n"
            "N7\tfinance\tmarkets\tSeventh\t\thttp://a/7\t[]\t[]\n")
BEHAVIORS_TRAIN = ("1\tU1\t11/11/2019 9:05:58 AM\tN1 N2\tN3-1 N4-0 N5-1\n"
                   "2\tU2\t11/11/2019 10:00:00 AM\t\tN4-0 N3-1\n"
                   "3\tU1\t11/12/2019 8:00:00 PM\tN1 N2\tN2-1 N6-0\n")
BEHAVIORS_DEV = ("1\tU3\t11/15/2019 1:00:00 AM\tN6\tN7-1 N3-0\n"
                 "2\tU1\t11/15/2019 2:00:00 AM\tN1 N2\tN3-1 N8-1\n")


def mind_zip(behaviors: str, news: str, folder: str = "") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(folder + "behaviors.tsv", behaviors)
        archive.writestr(folder + "news.tsv", news)
        archive.writestr(folder + "entity_embedding.vec", "Q1\t0.1 0.2\n")
    return buffer.getvalue()


class HubServer(LocalServer):
    """A tiny Hugging Face hub: ``files[(repo, path)] = bytes``; ``plain`` paths have no LFS entry; ``served``
    overrides what the resolve URL sends (the listing still describes ``files``); ``hits`` lists every request."""

    def __init__(self):
        self.files, self.served, self.plain, self.status, self.hits = {}, {}, set(), {}, []
        self.page_size = 1000
        super().__init__()

    def entry(self, path: str, body: bytes) -> dict:
        out = {"type": "file", "oid": hashlib.sha1(body).hexdigest(), "size": len(body), "path": path}
        if path not in self.plain:
            out["lfs"] = {"oid": hashlib.sha256(body).hexdigest(), "size": len(body), "pointerSize": 134}
        return out

    def listing(self, repo: str, folder: str) -> list:
        prefix = folder + "/" if folder else ""
        entries, folders = [], set()
        for (r, path), body in sorted(self.files.items()):
            if r != repo or not path.startswith(prefix):
                continue
            rest = path[len(prefix):]
            if "/" in rest:
                folders.add(prefix + rest.split("/")[0])
            else:
                entries.append(self.entry(path, body))
        return [{"type": "directory", "oid": "0" * 40, "size": 0, "path": f} for f in sorted(folders)] + entries

    def answer(self, raw: str) -> tuple:
        self.hits.append(raw)
        url = urllib.parse.urlsplit(raw)
        path = urllib.parse.unquote(url.path)
        if path in self.status:
            return self.status[path], b"error", {}
        parts = path.strip("/").split("/")
        if parts[:2] == ["api", "datasets"] and len(parts) >= 6 and parts[4] == "tree":
            entries = self.listing(f"{parts[2]}/{parts[3]}", "/".join(parts[6:]))
            start = int(urllib.parse.parse_qs(url.query).get("cursor", ["0"])[0])
            page, headers = entries[start:start + self.page_size], {}
            if start + self.page_size < len(entries):
                headers["Link"] = f'<{self.url}{url.path}?cursor={start + self.page_size}>; rel="next"'
            return 200, json.dumps(page).encode(), headers
        if parts[0] == "datasets" and len(parts) >= 6 and parts[3] == "resolve":
            key = (f"{parts[1]}/{parts[2]}", "/".join(parts[5:]))
            if key in self.files:
                return 200, self.served.get(key, self.files[key]), {}
        return 404, b"not found", {}


@pytest.fixture
def server(tmp_path, monkeypatch):
    hubserver = HubServer()
    hubserver.files.update({
        (AMAZON, REVIEWS): jsonl(REVIEW_ROWS), (AMAZON, META): jsonl(META_ROWS),
        (AMAZON, "raw/review_categories/Books.jsonl"): b"{}\n", (AMAZON, "README.md"): b"# card\n",
        (MIND, "MINDsmall_train.zip"): mind_zip(BEHAVIORS_TRAIN, NEWS_TRAIN),
        (MIND, "MINDsmall_dev.zip"): mind_zip(BEHAVIORS_DEV, NEWS_DEV, folder="MINDsmall_dev/"),
        (MIND, "README.md"): b"# MIND mirror\n"})
    hubserver.plain.update({"README.md"})
    for name in ("HF_HUB_OFFLINE", "COURSE_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", hubserver.url)
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(download, "RETRY_DELAYS", (0.0, 0.0))
    hubserver.cache = tmp_path / "cache"
    yield hubserver
    hubserver.close()


def cached_files(server) -> list:
    root = server.cache / "hub"
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) if root.exists() else []


def resolves(server) -> list:
    return [h for h in server.hits if "/resolve/" in h]


# ---------------------------------------------------------------- Amazon Reviews 2023


def test_amazon_schema_order_seconds_kcore_and_id_maps(server):
    data = load_amazon2023("All_Beauty", min_interactions=2)
    assert isinstance(data, CaseStudyData) and data.name == "amazon2023-All_Beauty"
    assert data.source == f"{AMAZON}@main" and "2403.03952" in data.citation and "dataset card" in data.licence
    inter, items, users = data.interactions, data.items, data.users
    assert list(inter.columns) == ["user_id", "item_id", "timestamp", "rating"]
    assert inter.dtypes.astype(str).tolist() == ["int64", "int64", "int64", "float64"]
    assert inter.equals(inter.sort_values(["user_id", "timestamp", "item_id"]).reset_index(drop=True))
    # UD, then B00Z, then UC fall out of the 2-core; the exact duplicate of UA's first review is dropped
    assert users["raw_id"].tolist() == ["UA", "UB", "UE"] and users["user_id"].tolist() == [1, 2, 3]
    assert items["raw_id"].tolist() == ["0001234567", "B00W", "B00X", "B00Y"]   # leading zeros kept
    assert items["item_id"].tolist() == [1, 2, 3, 4]
    assert len(inter) == 10 and inter.groupby("user_id").size().to_dict() == {1: 4, 2: 3, 3: 3}
    first = inter.iloc[0]
    assert (first["user_id"], first["item_id"], first["timestamp"]) == (1, 1, 1_600_000_000)   # ms -> s, floored
    assert inter[(inter["user_id"] == 2) & (inter["item_id"] == 3)]["rating"].tolist() == [5.0, 1.0]
    assert inter.groupby("user_id").size().min() >= 2 and inter.groupby("item_id").size().min() >= 2


def test_amazon_items_titles_categories_and_stats(server):
    data = load_amazon2023("All_Beauty", min_interactions=2)
    items = data.items.set_index("raw_id")
    assert list(data.items.columns) == ["item_id", "raw_id", "title", "category", "published"]
    assert str(data.items["published"].dtype) == "Int64" and data.items["published"].isna().all()
    assert items.loc["0001234567", "title"] == "Rose Oil" and items.loc["0001234567", "category"] == "All Beauty"
    assert items.loc["B00X", "category"] == "Brushes"                                # the most specific
    assert items.loc["B00W", ["title", "category"]].tolist() == ["(no title)", "unknown"]
    assert items.loc["B00Y", ["title", "category"]].tolist() == ["(no title)", "unknown"]   # not in meta
    stats = data.stats()
    assert stats["items without title"] == 2 and stats["users"] == 3 and stats["interactions"] == 10
    assert stats["first"] == "2020-09-13" and stats["source"] == f"{AMAZON}@main"


def test_amazon_max_users_keeps_the_most_active_deterministically(server):
    data = load_amazon2023("All_Beauty", min_interactions=1, max_users=2)
    assert data.users["raw_id"].tolist() == ["UA", "UB"]   # UA has 4; UB and UE have 3: the smaller id wins
    assert load_amazon2023("All_Beauty", min_interactions=1, max_users=2).interactions.equals(data.interactions)
    with pytest.raises(DataError, match="no user and item keep 9"):
        load_amazon2023("All_Beauty", min_interactions=9)


def test_unknown_category_suggests_the_closest(server):
    with pytest.raises(DataError, match="did you mean 'All_Beauty'"):
        load_amazon2023("All_Beuty")
    with pytest.raises(DataError, match="did you mean 'Video_Games'"):
        load_amazon2023("video_games")
    with pytest.raises(DataError, match="known categories: All_Beauty"):
        load_amazon2023("Garden gnomes")
    assert len(amazon.CATEGORIES) == 34 and server.hits == []


def test_amazon_malformed_files_are_named(server):
    server.files[(AMAZON, "raw/review_categories/Books.jsonl")] = b'{"rating": 5.0, "user_id": "U1"\n'
    with pytest.raises(DataError, match="Books.jsonl: not valid JSON lines"):
        load_amazon2023("Books")
    server.files[(AMAZON, "raw/review_categories/Gift_Cards.jsonl")] = jsonl([{"stars": 5}])
    with pytest.raises(DataError, match="records lack"):
        load_amazon2023("Gift_Cards")


# ---------------------------------------------------------------- the hub: cache, checks, offline


def test_cache_hits_are_reverified_without_the_network(server):
    load_amazon2023("All_Beauty", min_interactions=2)
    assert len(resolves(server)) == 2
    assert cached_files(server) == [f"McAuley-Lab__Amazon-Reviews-2023/main/{p}{s}"
                                    for p in (META, REVIEWS) for s in ("", ".json")]
    record = json.loads((server.cache / "hub" / "McAuley-Lab__Amazon-Reviews-2023/main" / (REVIEWS + ".json"))
                        .read_text())
    assert record["sha256"] == hashlib.sha256(jsonl(REVIEW_ROWS)).hexdigest()
    before = len(server.hits)
    load_amazon2023("All_Beauty", min_interactions=2)
    assert len(server.hits) == before                             # no listing, no download
    path = hub.local_path(AMAZON, REVIEWS)
    body = bytearray(path.read_bytes())
    body[5] ^= 1                                                  # same size, one bit flipped
    path.write_bytes(bytes(body))
    with pytest.raises(DataError, match=f"sha256 checksum mismatch.*Delete {re.escape(str(path))}"):
        load_amazon2023("All_Beauty", min_interactions=2)
    path.write_bytes(jsonl(REVIEW_ROWS)[:-10])                    # truncated
    with pytest.raises(DataError, match="bytes, expected") as err:
        load_amazon2023("All_Beauty")
    assert str(path) in str(err.value) and len(server.hits) == before


def test_checksum_or_size_mismatch_on_download_leaves_nothing(server):
    good = server.files[(AMAZON, REVIEWS)]
    server.served[(AMAZON, REVIEWS)] = good.replace(b'"UB"', b'"UX"')        # same size, other content
    with pytest.raises(DataError, match="sha256 checksum mismatch"):
        load_amazon2023("All_Beauty")
    assert cached_files(server) == []
    server.served[(AMAZON, "README.md")] = b"# card, edited\n"                # a plain file: size only
    with pytest.raises(DataError, match="expected 7"):
        hub_file(AMAZON, "README.md")
    assert cached_files(server) == [] and not list(server.cache.rglob("*.part"))


def test_offline_with_an_empty_cache_fails_at_once_without_a_request(server, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.perf_counter()
    with pytest.raises(DataError, match="only reachable online.*Colab.*load_amazon2023\\('All_Beauty'\\)"):
        load_amazon2023("All_Beauty")
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    with pytest.raises(DataError, match="Recommenders/MIND.*only reachable online.*load_mind"):
        load_mind()
    assert time.perf_counter() - start < 2 and server.hits == []


def test_offline_with_a_cached_copy_works(server, monkeypatch):
    online = load_mind()
    before = len(server.hits)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    pd.testing.assert_frame_equal(load_mind().interactions, online.interactions)
    assert len(server.hits) == before


def test_hub_file_names_what_the_folder_holds_and_follows_pages(server):
    server.page_size = 1
    with pytest.raises(DataError, match="no file 'raw/review_categories/Beauty.jsonl'.*All_Beauty.jsonl"):
        hub_file(AMAZON, "raw/review_categories/Beauty.jsonl")
    assert hub_file(AMAZON, "raw/review_categories/Books.jsonl").read_bytes() == b"{}\n"   # on page 2
    assert sum("cursor=" in h for h in server.hits) >= 1


def test_a_file_placed_by_hand_is_checked_against_the_listing(server):
    path = hub.local_path(AMAZON, REVIEWS)
    path.parent.mkdir(parents=True)
    path.write_bytes(server.files[(AMAZON, REVIEWS)])
    assert hub_file(AMAZON, REVIEWS) == path and resolves(server) == []
    assert path.with_name(path.name + ".json").is_file()
    other = hub.local_path(AMAZON, META)
    other.parent.mkdir(parents=True)
    other.write_bytes(b"not the file")
    with pytest.raises(DataError, match=f"Delete {re.escape(str(other))}"):
        hub_file(AMAZON, META)


def test_network_failures_become_data_errors(server, monkeypatch):
    api = f"/api/datasets/{AMAZON}/tree/main/raw/review_categories"
    server.status[api] = 503
    with pytest.raises(DataError, match="HTTP 503.*after 3 attempts"):
        hub_file(AMAZON, REVIEWS)
    server.status[api] = 404
    with pytest.raises(DataError, match="HTTP 404"):
        hub_file(AMAZON, REVIEWS)
    assert server.hits.count(api) == 4
    server.status[api] = 200                                                  # a 200 that is not the API
    with pytest.raises(DataError, match="not JSON"):
        hub_file(AMAZON, REVIEWS)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")                    # nothing listens there
    with pytest.raises(DataError, match="network error"):
        hub_file(AMAZON, REVIEWS)
    with pytest.raises(DataError, match="not a relative file path"):
        hub_file(AMAZON, "../escape.txt")


# ---------------------------------------------------------------- MIND


def test_mind_schema_clicks_and_untimed_histories(server):
    data = load_mind()
    inter, users, items = data.interactions, data.users, data.items
    assert data.name == "mind-small" and data.source == f"{MIND}@main" and "ACL" in data.citation
    assert list(inter.columns) == ["user_id", "item_id", "timestamp", "rating", "timed"]
    assert inter.dtypes.astype(str).tolist() == ["int64", "int64", "int64", "float64", "bool"]
    assert inter.equals(inter.sort_values(["user_id", "timestamp", "item_id"]).reset_index(drop=True))
    raw_user = users.set_index("user_id")["raw_id"]
    raw_item = items.set_index("item_id")["raw_id"]
    rows = inter.assign(user=inter["user_id"].map(raw_user), item=inter["item_id"].map(raw_item))
    got = {u: list(zip(g["item"], g["timestamp"] - T0, g["timed"])) for u, g in rows.groupby("user")}
    assert got == {
        # history N1 N2 one second apart before the log; N3 and N5 clicked in one impression; the later N2 click
        # repeats a history item and N3 a click: both dropped
        "U1": [("N1", -2, False), ("N2", -1, False), ("N3", 0, True), ("N5", 0, True), ("N8", 320042, True)],
        "U2": [("N3", 3242, True)],                                    # empty history: clicks only
        "U3": [("N6", -1, False), ("N7", 316442, True)]}
    assert "N4" not in set(rows["item"])                              # shown, never clicked (label 0)
    assert (inter["rating"] == 1.0).all() and data.stats()["untimed rows (histories)"] == 3


def test_mind_items_titles_categories_and_first_appearance(server):
    items = load_mind().items
    assert list(items.columns) == ["item_id", "raw_id", "title", "category", "abstract", "published"]
    assert items["raw_id"].tolist() == [f"N{i}" for i in range(1, 9)] and items["item_id"].tolist() == list(
        range(1, 9))
    by = items.set_index("raw_id")
    assert by.loc["N5", "title"] == 'Why "quoted" titles break parsers' and by.loc["N5", "abstract"] == 'She said "hi'
    assert by.loc["N1", "category"] == "news/newsus" and by.loc["N2", "category"] == "sports"
    assert by.loc["N8", "title"] == "(no title)" and by.loc["N8", "category"] == "unknown"
    assert str(items["published"].dtype) == "Int64"
    published = by["published"]
    assert published["N3"] == T0 and published["N4"] == T0                            # shown in the first impression
    assert published["N6"] == T0 + 125642 and published["N7"] == T0 + 316442          # 11/12 8 PM, 11/15 1 AM
    assert pd.isna(published["N1"])                                                   # only ever in histories


def test_mind_repo_without_the_archives_lists_what_it_holds(server):
    server.files[("someone/news", "README.md")] = b"# nothing here\n"
    server.files[("someone/news", "data/train.parquet")] = b"PAR1"
    with pytest.raises(DataError, match="does not hold .*MINDsmall_train.zip.*README.md, data.*repo="):
        load_mind(repo="someone/news")


def test_mind_sizes_and_malformed_archives(server):
    with pytest.raises(DataError, match="not offered here because of its size"):
        load_mind("large")
    with pytest.raises(DataError, match="only size='small'"):
        load_mind("demo")
    assert server.hits == []
    server.files[(MIND, "MINDsmall_dev.zip")] = mind_zip(BEHAVIORS_DEV.replace("1:00:00 AM", "25:00"), NEWS_DEV)
    with pytest.raises(DataError, match="behaviors.tsv: 1 behaviour row"):
        load_mind()
    hub.local_path(MIND, "MINDsmall_dev.zip").unlink()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("news.tsv", NEWS_DEV)
    server.files[(MIND, "MINDsmall_dev.zip")] = buffer.getvalue()
    with pytest.raises(DataError, match="lacks.*behaviors.tsv"):
        load_mind()
    assert mind.member_folder(hub.local_path(MIND, "MINDsmall_train.zip")) == ""
