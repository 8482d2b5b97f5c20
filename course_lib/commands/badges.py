"""``course badges``: rewrite every Colab badge, clone URL and install URL from ``[project.urls] Repository``.

The notebooks' setup cell clones the repository in Colab (``git clone -q --depth 1 URL FOLDER``); badges point
at ``colab.research.google.com/github/OWNER/REPO/blob/main/...``; a ``git+https://github.com/OWNER/REPO`` pip
URL, where one is written, is kept in step too.

The repository URL is written once, in ``pyproject.toml``. When the course moves (a fork, a new
organisation), change it there and run ``course badges``; ``course badges --check`` exits 1 when any
notebook or the README is out of date (the tests run it).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from course_lib import runtime

BADGE = re.compile(r"colab\.research\.google\.com/github/[\w.-]+/[\w.-]+/blob/[\w.-]+/")
INSTALL = re.compile(r"git\+https://github\.com/[\w.-]+/[\w.-]+?(?=[\\\"'@#\s]|\.git|$)")
# `git clone [options] URL`: the URL after the options (no quotes in between), up to a quote, space or `.git`.
CLONE = re.compile(r"(git clone\b[^\n\"']*?\s)https://github\.com/[\w.-]+/[\w.-]+?(?=[\\\"'\s]|\.git|$)", re.M)


def repository_url(root: Path) -> str:
    """``[project.urls] Repository`` from the checkout's pyproject.toml, e.g. https://github.com/org/repo."""
    with open(root / "pyproject.toml", "rb") as fh:
        url = tomllib.load(fh)["project"]["urls"]["Repository"].rstrip("/")
    if not re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", url):
        raise ValueError(f"[project.urls] Repository = {url!r}: expected https://github.com/OWNER/REPO")
    return url


def rewrite(text: str, url: str, branch: str = "main") -> str:
    """Point every badge, clone URL and install URL in ``text`` at ``url``."""
    owner_repo = url.removeprefix("https://github.com/")
    text = BADGE.sub(f"colab.research.google.com/github/{owner_repo}/blob/{branch}/", text)
    text = CLONE.sub(lambda m: m.group(1) + url, text)
    return INSTALL.sub(f"git+{url}", text)


def targets(root: Path) -> list[Path]:
    """Every page that carries a badge or a clone URL: the READMEs, the notebooks, their solutions, the docs."""
    pages = [root / "README.md", root / "README.zh-CN.md", *sorted((root / "notebooks").glob("*.ipynb")),
             *sorted((root / "solutions").glob("*.ipynb")), *sorted((root / "docs").glob("**/*.md"))]
    return [page for page in pages if page.exists()]


def badges(args) -> int:
    root = Path(args.root) if args.root else runtime.repo_root()
    if root is None:
        print("course badges: run it from a checkout of the course (needs pyproject.toml)")
        return 2
    url = repository_url(root)
    stale = []
    for path in targets(root):
        if not path.exists():
            continue
        old = path.read_text(encoding="utf-8")
        new = rewrite(old, url)
        if new != old:
            stale.append(path.relative_to(root))
            if not args.check:
                path.write_text(new, encoding="utf-8")
    verb = "out of date" if args.check else "rewritten"
    print(f"{len(stale)} file(s) {verb} for {url}" + "".join(f"\n  {p}" for p in stale))
    return 1 if (args.check and stale) else 0


def register(sub) -> None:
    parser = sub.add_parser("badges", help="point Colab badges and clone/install URLs at [project.urls] Repository")
    parser.add_argument("--check", action="store_true", help="only report; exit 1 when something is stale")
    parser.add_argument("--root", help="checkout to work on (default: this one)")
    parser.set_defaults(func=badges)
