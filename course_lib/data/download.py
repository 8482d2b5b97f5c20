"""Verified, atomic, retried downloads, and archive checks.

Every file lands as ``<name>.part`` first; it is renamed to its final name (``os.replace``, atomic) only after
it passed every check, so a failed or interrupted download never leaves a half-written file in the cache.
"""

from __future__ import annotations

import hashlib
import http.client
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath

from course_lib.data.registry import DataError
from course_lib.files import atomic_path

RETRY_DELAYS = (1.0, 4.0)   # seconds to wait before the 2nd and 3rd attempt; tests set (0.0, 0.0)
TIMEOUT_S = 30.0
CHUNK = 1 << 20


def file_digest(path: Path, algorithm: str) -> str:
    """Hex digest (``"md5"`` or ``"sha256"``) of a file, read in 1 MiB chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_checksums(path: Path, md5: str | None = None, sha256: str | None = None) -> None:
    """Raise ``DataError`` unless ``path`` matches every checksum given (None = not checked)."""
    for algorithm, expected in (("md5", md5), ("sha256", sha256)):
        if expected and file_digest(path, algorithm) != expected.lower():
            raise DataError(f"{path.name}: {algorithm} checksum mismatch (expected {expected}, got "
                            f"{file_digest(path, algorithm)}; {path.stat().st_size:,} bytes): the file is "
                            "corrupted, truncated or not the published one")


def check_zip(path: Path, required: tuple = (), label: str | None = None) -> None:
    """Raise ``DataError`` unless ``path`` is a readable zip whose members stay inside its folder.

    Names the problem: an HTML page (captive portal, login page), another non-zip file, a truncated or
    corrupted archive, a member path that would escape the extraction folder (zip-slip), a missing member.
    """
    label = label or path.name
    with open(path, "rb") as handle:
        head = handle.read(512)
    if not head.startswith(b"PK"):
        if b"<html" in head.lower() or b"<!doctype" in head.lower():
            raise DataError(f"{label}: the server sent an HTML page instead of a zip archive (a captive "
                            "portal or login page?); open the URL in a browser or use another network")
        raise DataError(f"{label}: not a zip archive (first bytes {head[:8]!r})")
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            broken = archive.testzip()
    except (zipfile.BadZipFile, EOFError, OSError) as err:
        raise DataError(f"{label}: truncated or corrupted zip archive ({err})") from None
    if broken is not None:
        raise DataError(f"{label}: corrupted zip member {broken!r}")
    for name in names:
        member = PurePosixPath(name.replace("\\", "/"))
        if member.is_absolute() or ".." in member.parts or (member.parts and ":" in member.parts[0]):
            raise DataError(f"{label}: refusing archive member {name!r}: it would land outside the cache "
                            "folder (zip-slip)")
    missing = [m for m in required if m not in names]
    if missing:
        raise DataError(f"{label}: archive lacks {missing}; it is not the expected dataset")


def _download_once(url: str, part: Path) -> None:
    """One attempt: stream ``url`` into ``part``; urllib errors unchanged, ConnectionError if cut short."""
    with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response, open(part, "wb") as out:
        expected = response.headers.get("Content-Length")
        shutil.copyfileobj(response, out, CHUNK)
    if expected is not None and part.stat().st_size < int(expected):
        raise ConnectionError(f"download truncated ({part.stat().st_size:,} of {int(expected):,} bytes)")


def download(url: str, dest: Path, *, md5: str | None = None, sha256: str | None = None,
             required: tuple = (), retry_delays: tuple | None = None) -> Path:
    """Fetch ``url`` to ``dest``: retried on network errors and HTTP 5xx, checked, then renamed atomically.

    A 4xx answer is not retried. Any failure removes the ``.part`` file and raises ``DataError``; an existing
    ``dest`` is never touched unless the new file passed every check.
    """
    delays = RETRY_DELAYS if retry_delays is None else retry_delays
    last = ""
    with atomic_path(dest) as part:
        for attempt in range(len(delays) + 1):
            if attempt:
                time.sleep(delays[attempt - 1])
            try:
                _download_once(url, part)
                break
            except urllib.error.HTTPError as err:
                last = f"HTTP {err.code} {err.reason}"
                if err.code < 500:
                    raise DataError(f"{url}: {last}") from None
            except (urllib.error.URLError, OSError, TimeoutError, http.client.HTTPException) as err:
                last = f"network error: {getattr(err, 'reason', None) or err!r}"
        else:
            raise DataError(f"{url}: {last} (after {len(delays) + 1} attempts)")
        if url.endswith(".zip") or url.endswith(".whl"):
            check_zip(part, required, label=f"{url}")
        verify_checksums(part, md5, sha256)
    return dest


def pip_download(requirement: str, dest_dir: Path) -> Path:
    """Run ``python -m pip download REQ --no-deps --only-binary=:all:`` into a temp dir; return the wheel.

    Uses the running interpreter's pip, so it works wherever this environment could install packages.
    """
    with tempfile.TemporaryDirectory(dir=dest_dir) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", requirement, "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "--quiet", "-d", tmp]
        try:
            result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        except (OSError, subprocess.TimeoutExpired) as err:
            raise DataError(f"pip download {requirement} failed: {err}") from None
        wheels = sorted(Path(tmp).glob("*.whl"))
        if result.returncode != 0 or not wheels:
            tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
            raise DataError(f"pip download {requirement} failed: {' | '.join(tail) or 'no wheel'}")
        target = dest_dir / (wheels[0].name + ".part")
        shutil.move(str(wheels[0]), target)
    return target
