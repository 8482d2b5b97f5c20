"""Files of a Hugging Face *dataset* repository, downloaded once and verified on every use.

    from course_lib.data import hub_file
    path = hub_file("McAuley-Lab/Amazon-Reviews-2023", "raw/review_categories/All_Beauty.jsonl")

What is checked comes from what the hub publishes about the file: the folder listing
``GET {endpoint}/api/datasets/{repo}/tree/{revision}/{folder}`` gives each file's size and, for files stored
with Git LFS (every large data file), the sha256 of its content. The download
(``{endpoint}/datasets/{repo}/resolve/{revision}/{path}``) is checked against both before it is renamed into
the cache; the expected values are kept beside it in ``<file>.json``, and every later use recomputes the sha256
and compares the size without the network. Small files that the hub keeps in plain git (no ``lfs`` entry)
have only their size checked.

Cache: ``cache_dir() / "hub" / <repo with / replaced by __> / <revision> / <path>``.

Environment: ``$HF_ENDPOINT`` replaces ``https://huggingface.co`` (a mirror, or the tests' local server);
``HF_HUB_OFFLINE=1`` or ``COURSE_OFFLINE=1`` forbids the network: a file not in the cache is then an
immediate ``DataError``. Only public repositories are supported (no token is sent).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path, PurePosixPath

from course_lib.data import download as dl
from course_lib.data.registry import DataError, cache_dir
from course_lib.files import write_json

DEFAULT_ENDPOINT = "https://huggingface.co"
_NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


def endpoint() -> str:
    """The hub's base URL: ``$HF_ENDPOINT`` if set, else ``https://huggingface.co``."""
    return (os.environ.get("HF_ENDPOINT", "").strip() or DEFAULT_ENDPOINT).rstrip("/")


def offline() -> bool:
    """True when ``HF_HUB_OFFLINE`` or ``COURSE_OFFLINE`` is set to 1/true/yes/on."""
    return any(os.environ.get(v, "").strip().lower() in ("1", "true", "yes", "on")
               for v in ("HF_HUB_OFFLINE", "COURSE_OFFLINE"))


def local_path(repo: str, path: str, revision: str = "main") -> Path:
    """Where ``hub_file`` keeps ``repo``'s ``path`` at ``revision`` (nothing is checked or created)."""
    parts = PurePosixPath(path).parts
    if not parts or PurePosixPath(path).is_absolute() or ".." in parts or ".." in revision.split("/"):
        raise DataError(f"{path!r} (revision {revision!r}) is not a relative file path inside a repository")
    return cache_dir() / "hub" / repo.replace("/", "__") / revision.replace("/", "__") / Path(*parts)


def _sidecar(dest: Path) -> Path:
    return dest.with_name(dest.name + ".json")


def _folder(path: str) -> str:
    parent = str(PurePosixPath(path).parent)
    return "" if parent == "." else parent


def is_cached(repo: str, path: str, revision: str = "main") -> bool:
    """True when the file and its record of expected size/sha256 are in the cache (verified on use)."""
    dest = local_path(repo, path, revision)
    return dest.is_file() and _sidecar(dest).is_file()


def _offline_error(repo: str, what: str, hint: str) -> DataError:
    run = hint or f"from course_lib.data import hub_file; hub_file({repo!r}, {what!r})"
    return DataError(f"{repo}: {what} is not in the cache ({cache_dir() / 'hub'}) and the network is off "
                     f"(HF_HUB_OFFLINE/COURSE_OFFLINE). The dataset {repo} is only reachable online, e.g. in "
                     f"Colab: run `{run}` there (or unset the variable), or copy the cache folder from a machine "
                     "that has it")


def _get_json(url: str) -> tuple[object, str | None]:
    """GET ``url`` as JSON, retried like ``download``; returns (value, next-page URL or None)."""
    delays, last = dl.RETRY_DELAYS, ""
    for attempt in range(len(delays) + 1):
        if attempt:
            time.sleep(delays[attempt - 1])
        try:
            with urllib.request.urlopen(url, timeout=dl.TIMEOUT_S) as response:
                body, link = response.read(), response.headers.get("Link") or ""
            break
        except urllib.error.HTTPError as err:
            last = f"HTTP {err.code} {err.reason}"
            if err.code < 500:
                why = " (private, gated or misspelt repository?)" if err.code in (401, 403) else ""
                raise DataError(f"{url}: {last}{why}") from None
        except (urllib.error.URLError, OSError, TimeoutError, http.client.HTTPException) as err:
            last = f"network error: {getattr(err, 'reason', None) or err!r}"
    else:
        raise DataError(f"{url}: {last} (after {len(delays) + 1} attempts)")
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise DataError(f"{url}: the answer is not JSON (first bytes {body[:40]!r}); is $HF_ENDPOINT a "
                        "Hugging Face hub?") from None
    match = _NEXT_LINK.search(link)
    return value, urllib.parse.urljoin(url, match.group(1)) if match else None


def tree(repo: str, folder: str = "", revision: str = "main", *, hint: str = "") -> list[dict]:
    """The hub's listing of ``folder`` (not recursive; all pages): dicts with ``type, path, size[, lfs]``."""
    if offline():
        raise _offline_error(repo, f"the listing of {folder or 'its root'}", hint)
    url = (f"{endpoint()}/api/datasets/{repo}/tree/{urllib.parse.quote(revision, safe='')}"
           + (f"/{urllib.parse.quote(folder.strip('/'))}" if folder.strip("/") else ""))
    entries: list[dict] = []
    while url:
        page, url = _get_json(url)
        if not isinstance(page, list) or not all(isinstance(e, dict) and "path" in e for e in page):
            raise DataError(f"{repo}: unexpected tree listing for {folder or 'the root'} (not a list of files)")
        entries.extend(page)
    return entries


def _expected(entry: dict) -> dict:
    """``{"size": int, "sha256": str | None}`` from a tree entry (sha256 only for LFS files)."""
    lfs = entry.get("lfs") or {}
    try:
        size = int(lfs.get("size", entry.get("size")))
    except (TypeError, ValueError):
        raise DataError(f"{entry.get('path')}: the hub's listing gives no size") from None
    return {"size": size, "sha256": str(lfs["oid"]).lower() if lfs.get("oid") else None}


def _find(entries: list[dict], repo: str, path: str, revision: str) -> dict:
    for entry in entries:
        if entry.get("path") == path and entry.get("type", "file") == "file":
            return entry
    names = sorted(str(e.get("path")) for e in entries)
    shown = ", ".join(names[:8]) + (f", ... ({len(names)} in all)" if len(names) > 8 else "")
    raise DataError(f"{repo}@{revision} has no file {path!r}; its folder holds: {shown or 'nothing'}")


def _check(path: Path, expected: dict, what: str) -> None:
    """Raise ``DataError`` unless ``path`` has the expected size and (when known) sha256."""
    size = path.stat().st_size
    if size != expected["size"]:
        raise DataError(f"{what}: {size:,} bytes, expected {expected['size']:,} (truncated or not the "
                        "published file)")
    if expected["sha256"]:
        dl.verify_checksums(path, sha256=expected["sha256"])


def _verify_cached(dest: Path, repo: str, path: str, revision: str, hint: str) -> Path:
    """Re-check a cached file against its record (or, without one, against the hub's listing)."""
    record = _sidecar(dest)
    try:
        expected = json.loads(record.read_text(encoding="utf-8")) if record.is_file() else None
        if expected is not None and not isinstance(expected.get("size"), int):
            raise ValueError("no size")
    except (ValueError, OSError, AttributeError):
        raise DataError(f"{record}: unreadable record of the expected checksum; delete it and {dest}, then run "
                        "again to fetch a fresh copy") from None
    if expected is None:   # placed by hand or interrupted before the record was written: ask the hub once
        if offline():
            raise DataError(f"{dest} has no record of its expected checksum and the network is off; delete it "
                            "and fetch it online, or run once online to verify it")
        expected = _expected(_find(tree(repo, _folder(path), revision, hint=hint), repo, path, revision))
    try:
        _check(dest, expected, str(dest))
    except DataError as err:
        raise DataError(f"cached copy of {repo}/{path} failed verification: {err}. Delete {dest} and run "
                        "again to fetch a fresh copy") from None
    if not record.is_file():
        write_json(record, {**expected, "repo": repo, "path": path, "revision": revision})
    return dest


def hub_file(repo: str, path: str, revision: str = "main", *, hint: str = "") -> Path:
    """A verified local copy of ``path`` in the dataset repository ``repo`` at ``revision`` (module docstring).

    Downloads it on the first call (size and, for LFS files, sha256 from the hub's listing); later calls
    recompute the sha256 and compare the size against the recorded values, offline. Raises ``DataError`` for a
    path the repository lacks (naming some it has), a failed check (nothing is left in the cache), a corrupted
    cached copy (naming the file to delete), a network failure, or an uncached file while offline. ``hint``:
    what to run online, quoted in the offline error.
    """
    dest = local_path(repo, path, revision)
    if dest.is_file():
        return _verify_cached(dest, repo, path, revision, hint)
    if offline():
        raise _offline_error(repo, path, hint)
    expected = _expected(_find(tree(repo, _folder(path), revision, hint=hint), repo, path, revision))
    url = (f"{endpoint()}/datasets/{repo}/resolve/{urllib.parse.quote(revision, safe='')}/"
           f"{urllib.parse.quote(path)}")
    staging = dest.with_name(dest.name + ".fetch")
    try:
        dl.download(url, staging, sha256=expected["sha256"])
        _check(staging, expected, url)
        write_json(_sidecar(dest), {**expected, "repo": repo, "path": path, "revision": revision})
        staging.replace(dest)
    finally:
        staging.unlink(missing_ok=True)
    return dest
