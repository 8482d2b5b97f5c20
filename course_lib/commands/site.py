"""``course site``: the course website, static HTML built from the committed, executed notebooks."""

from __future__ import annotations

import sys
import time
import webbrowser
from pathlib import Path

from course_lib import runtime, site

SCREENSHOT_PAGE = "notebooks/10_llm_recommender.html"


def _repository_url(root: Path) -> str:
    from course_lib.commands.badges import repository_url

    try:
        return repository_url(root)
    except (OSError, KeyError, ValueError):
        return site.REPO_URL


def build(args) -> int:
    root = Path(args.root) if args.root else runtime.repo_root()
    if root is None:
        print("course site: run it from a checkout of the course, or pass --root", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else Path(root) / site.DEFAULT_OUT
    print(f"Building the course website from {root} into {out} (notebooks are shown as committed, not re-run)")
    start = time.perf_counter()
    try:
        pages = site.build_site(Path(root), out, repo_url=_repository_url(Path(root)))
    except site.SiteError as err:
        print(f"course site: {err}", file=sys.stderr)
        return 2
    index = out.resolve() / "index.html"
    print(f"{len(pages)} pages in {time.perf_counter() - start:.1f} s: {index}")
    print(f"Browse it: python -m http.server --directory {out} 8000, then open http://127.0.0.1:8000/")
    if args.screenshot:
        page, _, anchor = args.screenshot_page.partition("#")
        try:
            site.screenshot(out, page, Path(args.screenshot), anchor=anchor or None)
        except (site.SiteError, ImportError) as err:
            print(f"course site --screenshot: {err} (needs the `site` extra and Debian's Chromium)",
                  file=sys.stderr)
            return 2
        print(f"Screenshot of {args.screenshot_page}: {args.screenshot}")
    if args.open:
        webbrowser.open(index.as_uri())
    return 0


def register(sub) -> None:
    parser = sub.add_parser("site", help="build the course website (static HTML) from the executed notebooks")
    parser.add_argument("--out", help=f"output folder (default: <checkout>/{site.DEFAULT_OUT.as_posix()})")
    parser.add_argument("--root", help="the course checkout to build from (default: this one)")
    parser.add_argument("--open", action="store_true", help="open the built site in a web browser")
    parser.add_argument("--screenshot", metavar="PNG", help="also save a 1280x800 screenshot of one page "
                        "(headless Debian Chromium via playwright)")
    parser.add_argument("--screenshot-page", default=SCREENSHOT_PAGE, metavar="PAGE[#ANCHOR]",
                        help=f"the page to shoot, relative to the site (default: {SCREENSHOT_PAGE}); without an "
                        "anchor, scrolled to its first figure")
    parser.set_defaults(func=build)
