"""course_lib.data.large: MovieLens-25M's route (verified download, atomic extraction) and the lazy polars reader,
on a tiny archive of the same layout served from 127.0.0.1 (the real file is 262 MB and online only)."""

import dataclasses
import io
import zipfile

import pytest

from course_lib.data import DataError, download, registry
from course_lib.sequences import leave_one_out
from test_data_movielens import Server, md5   # the local HTTP server of the ML-100k route tests

pl = pytest.importorskip("polars")
from course_lib.data import large  # noqa: E402  (needs polars only when called; imported after the skip)

RATINGS = "userId,movieId,rating,timestamp\n" + "".join(
    f"{user},{item},{3.5 if item % 2 else 4.0},{1_000 + 10 * user + step}\n"
    for user in range(1, 9) for step, item in enumerate(range(user, user + 3 + user % 4)))
MOVIES = "movieId,title,genres\n1,Toy Story (1995),Animation|Children's|Comedy\n"


def archive(ratings: str = RATINGS) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("ml-25m/ratings.csv", ratings)
        zf.writestr("ml-25m/movies.csv", MOVIES)
    return buffer.getvalue()


@pytest.fixture
def served(tmp_path, monkeypatch):
    server = Server()
    body = archive()
    server.routes["/ml-25m.zip"] = (200, body)
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("COURSE_DATA_MIRROR", server.url)
    monkeypatch.setattr(download, "RETRY_DELAYS", (0.0, 0.0))
    monkeypatch.setitem(registry.REGISTRY, "ml-25m", dataclasses.replace(registry.REGISTRY["ml-25m"], md5=md5(body)))
    server.cache = tmp_path / "cache"
    yield server
    server.close()


def test_scan_ratings_is_lazy_and_in_the_course_schema(served):
    ratings = large.scan_ratings("ml-25m")
    assert isinstance(ratings, pl.LazyFrame)
    table = ratings.collect()
    assert table.columns == ["user_id", "item_id", "rating", "timestamp"]
    assert table.height == RATINGS.count("\n") - 1
    assert (served.cache / "ml-25m" / "ratings.csv").exists() and served.hits["/ml-25m.zip"] == 1
    large.scan_ratings("ml-25m").collect()                      # cached: neither downloaded nor extracted again
    assert served.hits["/ml-25m.zip"] == 1
    assert not list(served.cache.rglob("*.part"))


def test_sample_users_gives_whole_histories_ready_to_split(served):
    ratings = large.scan_ratings("ml-25m")
    sample = large.sample_users(ratings, num_users=3, min_ratings=5, seed=0)
    counts = ratings.group_by("user_id").len().collect().to_pandas().set_index("user_id")["len"]
    assert sample["user_id"].nunique() == 3 and (counts[sample["user_id"].unique()] >= 5).all()
    sizes = sample.groupby("user_id").size()
    assert sizes.to_dict() == {user: int(counts[user]) for user in sizes.index}   # every rating of a chosen user
    assert leave_one_out(sample).num_users == 3
    assert large.sample_users(ratings, 3, 5, seed=0).equals(sample)             # the seed fixes the sample


def test_bad_requests_are_named(served, monkeypatch):
    with pytest.raises(DataError, match="not a large MovieLens dataset"):
        large.ratings_csv("ml-100k")
    with pytest.raises(DataError, match="no user has 99"):
        large.sample_users(large.scan_ratings(), 2, min_ratings=99)
    served.routes["/ml-25m.zip"] = (200, archive(RATINGS + "9,1,5.0,1\n"))     # not the archive GroupLens published
    (served.cache / "ml-25m.zip").unlink()
    with pytest.raises(DataError, match="md5 checksum mismatch"):
        large.ratings_csv("ml-25m")
    assert not (served.cache / "ml-25m.zip").exists()


def test_missing_polars_says_how_to_get_it(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_polars(name, *args, **kwargs):
        if name == "polars":
            raise ImportError("No module named 'polars'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_polars)
    with pytest.raises(DataError, match="pip install polars"):
        large.scan_ratings("ml-25m")
