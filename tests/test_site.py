"""The course website (course_lib.site, `course site`): unit tests without a browser, then every built page of
this checkout opened in headless Debian Chromium (playwright): internal links, images, console, requests, math.

The browser test skips with its reason where playwright or /usr/bin/chromium is missing, and fails under CI
(``CI`` set), where .ci/run installs both: CI never skips it silently.
"""

import importlib.util
import json
import mimetypes
import os
import re
import time
import urllib.request
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

import pytest

from course_lib import cli, site
from local_server import LocalServer

ROOT = Path(__file__).resolve().parent.parent
REPO = "https://github.com/llm-seqrec-course/llm-seqrec-course"


def need(*modules: str, chromium: bool = False) -> None:
    """Skip (locally) or fail (under CI) when what a test needs is missing."""
    missing = [f"the Python package {m} (pip install -e '.[site]')" for m in modules
               if importlib.util.find_spec(m) is None]
    if chromium and not site.CHROMIUM.is_file():
        missing.append(f"{site.CHROMIUM} (apt-get install -y chromium)")
    if missing:
        reason = "needs " + " and ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(f"{reason}: under CI this test must run, not skip")
        pytest.skip(reason)


def notebook(*markdown: str) -> str:
    cells = [{"cell_type": "markdown", "id": f"c{i}", "metadata": {}, "source": text}
             for i, text in enumerate(markdown)]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


@pytest.fixture
def tiny_repo(tmp_path):
    """A two-notebook course with a doc, a figure and a file that only GitHub shows."""
    repo = tmp_path / "repo"
    (repo / "notebooks").mkdir(parents=True)
    (repo / "docs" / "images").mkdir(parents=True)
    (repo / "benchmarks").mkdir()
    (repo / "benchmarks" / "results.json").write_text("{}")
    (repo / "docs" / "images" / "dot.png").write_bytes(
        bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                      "0000000d4944415478da63f8cfc0f01f0005000201a5e6a6560000000049454e44ae426082"))
    (repo / "README.md").write_text("# My course\n\n## Course map\n\n[first](notebooks/00_a.ipynb), "
                                    "[results](benchmarks/results.json), [guide](docs/guide.md)\n")
    (repo / "docs" / "guide.md").write_text("# Guide\n\n![dot](images/dot.png) [map](../README.md#course-map)\n")
    (repo / "notebooks" / "00_a.ipynb").write_text(notebook("# 00 · First\n\n$$x^2$$ [next](01_b.ipynb)"))
    (repo / "notebooks" / "01_b.ipynb").write_text(notebook("# 01 · *Second*\n\n## Course map\n\n## Course map"))
    return repo


# -- no browser -----------------------------------------------------------------------------------------

def test_pages_in_site_order_with_titles(tiny_repo):
    pages = site.collect_pages(tiny_repo)
    assert [(p.source, p.out, p.section) for p in pages] == [
        ("README.md", "index.html", "Course"),
        ("notebooks/00_a.ipynb", "notebooks/00_a.html", "Notebooks"),
        ("notebooks/01_b.ipynb", "notebooks/01_b.html", "Notebooks"),
        ("docs/guide.md", "docs/guide.html", "Docs")]
    assert [p.title for p in pages] == ["My course", "00 · First", "01 · Second", "Guide"]
    (tiny_repo / "solutions").mkdir()
    (tiny_repo / "solutions" / "00_a_solutions.ipynb").write_text(notebook("# Solutions 00"))
    (tiny_repo / "README.zh-CN.md").write_text("# 课程\n")
    sources = [p.source for p in site.collect_pages(tiny_repo)]
    assert sources.index("solutions/00_a_solutions.ipynb") == 3 and sources[4] == "README.zh-CN.md"


@pytest.mark.parametrize("make, message", [
    (lambda r: r / "nowhere", "no such folder"),
    (lambda r: (r / "README.md").unlink() or r, "no README.md or no notebooks/"),
    (lambda r: [p.unlink() for p in (r / "notebooks").glob("*")] and r, "holds no .ipynb"),
    (lambda r: (r / "notebooks" / "01_b.ipynb").write_text("{not json") and r, "01_b.ipynb: not a readable"),
])
def test_bad_input_is_named(tiny_repo, make, message):
    with pytest.raises(site.SiteError, match=re.escape(message)):
        site.collect_pages(make(tiny_repo))


@pytest.mark.parametrize("source, href, expected, copy", [
    ("notebooks/00_a.ipynb", "01_b.ipynb", "01_b.html", None),
    ("notebooks/00_a.ipynb", "../README.md#course-map", "../index.html#course-map", None),
    ("README.md", "notebooks/00_a.ipynb", "notebooks/00_a.html", None),
    ("README.md", "docs/guide.md#x", "docs/guide.html#x", None),
    ("docs/guide.md", "images/dot.png", "images/dot.png", "docs/images/dot.png"),
    ("README.md", "benchmarks/results.json", f"{REPO}/blob/main/benchmarks/results.json", None),
    ("README.md", "benchmarks/", f"{REPO}/tree/main/benchmarks", None),
    ("README.md", "https://arxiv.org/abs/1808.09781", "https://arxiv.org/abs/1808.09781", None),
    ("README.md", "#course-map", "#course-map", None),
    ("README.md", "../outside.md", "../outside.md", None),
    ("README.md", "missing.md", "missing.md", None),
])
def test_links_rewritten_to_built_pages_copies_or_github(tiny_repo, source, href, expected, copy):
    pages = site.collect_pages(tiny_repo)
    page = next(p for p in pages if p.source == source)
    outs = {p.source: p.out for p in pages}
    assert site.rewrite_link(href, page, outs, tiny_repo, REPO) == (expected, copy)


def test_github_heading_ids():
    seen = {}
    assert site.slugify("Course map", seen) == "course-map"
    assert site.slugify("Course map", seen) == "course-map-1"
    assert site.slugify("1. Data: cleaning & splits (HR@10)") == "1-data-cleaning--splits-hr10"
    assert site.slugify("学习目标（中文）") == "学习目标中文"


def test_sidebar_marks_the_current_page_and_the_pager_links_neighbours(tiny_repo):
    pages = site.collect_pages(tiny_repo)
    bar = site.sidebar_html(pages, pages[1])
    assert '<a class="current" aria-current="page" href="00_a.html">00 · First</a>' in bar
    assert 'href="../docs/guide.html"' in bar and 'href="../index.html"' in bar
    assert 'href="../index.html">&larr; My course' in site.pager_html(pages, 1)
    assert 'href="01_b.html">01 · Second &rarr;' in site.pager_html(pages, 1)
    assert "prev" not in site.pager_html(pages, 0) and "next" not in site.pager_html(pages, 3)
    banner = site.banner_html(pages[1], REPO)
    assert ("https://colab.research.google.com/github/llm-seqrec-course/llm-seqrec-course/blob/main/"
            "notebooks/00_a.ipynb") in banner


def test_fix_html_sets_ids_and_rewrites_links(tiny_repo):
    pages = site.collect_pages(tiny_repo)
    outs = {p.source: p.out for p in pages}
    html = ('<main><h2 id="Course-map">Course map<a class="anchor-link" href="#Course-map">¶</a></h2>'
            f'<a href="01_b.ipynb"><img src="{site.COLAB_BADGE}"></a></main>')
    fixed, copies = site.fix_html(html, pages[1], outs, tiny_repo, REPO)
    assert '<h2 id="course-map"><span id="Course-map"></span>Course map' in fixed
    assert 'href="#course-map"' in fixed and 'href="01_b.html"' in fixed
    assert 'src="../_static/colab-badge.svg"' in fixed and copies == set()


def test_build_is_atomic_and_never_replaces_a_foreign_folder(tiny_repo, tmp_path):
    need("nbconvert", "jupyter_server_mathjax")
    out = tmp_path / "html"
    pages = site.build_site(tiny_repo, out, REPO, log=lambda *a: None)
    assert len(pages) == 4
    for path in ("index.html", "notebooks/00_a.html", "notebooks/00_a.ipynb", "docs/guide.html",
                 "docs/images/dot.png", "_static/mathjax/MathJax.js", "_static/colab-badge.svg"):
        assert (out / path).is_file(), path
    html = (out / "notebooks" / "01_b.html").read_text()
    assert 'id="course-map"' in html and 'id="course-map-1"' in html and "cdnjs" not in html
    assert '<a download="" href="01_b.ipynb">' in html and 'href="../index.html#course-map"' in (
        out / "docs" / "guide.html").read_text()
    site.build_site(tiny_repo, out, REPO, log=lambda *a: None)        # a rebuild replaces the old one
    assert sorted(p.name for p in tmp_path.iterdir()) == ["html", "repo"]
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(site.SiteError, match="not built by `course site`"):
        site.build_site(tiny_repo, foreign, REPO)
    with pytest.raises(site.SiteError, match="would replace the repository"):
        site.build_site(tiny_repo, tiny_repo, REPO)
    assert (foreign / "notes.txt").read_text() == "keep me"


def test_cli_builds_or_names_bad_input(tiny_repo, tmp_path, capsys):
    assert cli.main(["site", "--root", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")]) == 2
    assert "no such folder" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    need("nbconvert", "jupyter_server_mathjax")
    assert cli.main(["site", "--root", str(tiny_repo), "--out", str(tmp_path / "out")]) == 0
    assert "4 pages in" in capsys.readouterr().out and (tmp_path / "out" / "index.html").is_file()


# -- every page in Chromium -----------------------------------------------------------------------------

class SiteServer(LocalServer):
    """The built site on 127.0.0.1: files by path (query strings ignored), folders by their index.html."""

    def __init__(self, folder: Path):
        self.folder = folder.resolve()
        super().__init__()

    def answer(self, path):
        target = (self.folder / unquote(urlsplit(path).path).lstrip("/")).resolve()
        if target.is_dir():
            target = target / "index.html"
        if not target.is_relative_to(self.folder) or not target.is_file():
            return 404, b"not found", {}
        kind = {".woff": "font/woff", ".js": "text/javascript"}.get(target.suffix) \
            or mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        return 200, target.read_bytes(), {"Content-Type": kind}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    need("nbconvert", "jupyter_server_mathjax")
    out = tmp_path_factory.mktemp("site") / "html"
    start = time.perf_counter()
    pages = site.build_site(ROOT, out, log=lambda *a: None)
    return out, pages, time.perf_counter() - start


# Runs in the page once MathJax is done: links, images, ids, math elements, and the markdown's visible text.
INSPECT = """() => {
  const text = [...document.querySelectorAll('.jp-RenderedMarkdown')].map(el => {
    const c = el.cloneNode(true);
    c.querySelectorAll('script, style, code, pre, .MJX_Assistive_MathML').forEach(n => n.remove());
    return c.textContent; }).join('\\n');
  const bad = MathJax.Hub.getAllJax().filter(j => /<merror|mathcolor="red"/.test(j.root.toMathML('')));
  return {
    links: [...document.querySelectorAll('a[href]')].map(a => [a.getAttribute('href'), a.href]),
    images: [...document.images].map(i => [i.getAttribute('src').slice(0, 60), i.complete && i.naturalWidth]),
    ids: [...document.querySelectorAll('[id], a[name]')].map(e => e.id || e.getAttribute('name')),
    tex: document.querySelectorAll('script[type^="math/tex"]').length,
    rendered: document.querySelectorAll('span.MathJax').length,
    errors: document.querySelectorAll('.MathJax_Error, .noError, .merror').length
            + bad.map(j => j.originalText).length,
    bad: bad.map(j => j.originalText.slice(0, 60)),
    text };
}"""
RAW_TEX = re.compile(r"\$\$|\\(?:frac|sum|mathbf|mathrm|begin|hat|log)\b")


def source_has_math(root: Path, source: str) -> bool:
    """Does the page's Markdown (code blocks and spans left out) hold $...$ or $$...$$?"""
    path = root / source
    if source.endswith(".ipynb"):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    else:
        text = path.read_text(encoding="utf-8")
    text = re.sub(r"```.*?```|`[^`\n]*`", "", text, flags=re.S)
    return bool(re.search(r"\$\$.+?\$\$|\$[^\s$][^$\n]*?[^\s$\\]\$", text, re.S))


def inspect_page(tab, base: str, root: Path, page: site.Page, fetch) -> list[str]:
    """Every problem on one page: broken link, image or anchor, failed request, console error, bad math."""
    problems = []
    tab.on("console", lambda m: m.type == "error" and problems.append(f"console error: {m.text}"))
    tab.on("pageerror", lambda e: problems.append(f"script error: {e}"))
    tab.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} ({r.failure})"))
    tab.on("response", lambda r: r.status >= 400 and problems.append(f"HTTP {r.status}: {r.url}"))
    tab.goto(f"{base}/{page.out}")
    tab.wait_for_selector("body[data-math=done]", state="attached", timeout=90_000)
    found = tab.evaluate(INSPECT)
    for raw, absolute in found["links"]:
        url, fragment = urldefrag(absolute)
        if not absolute.startswith(base + "/"):
            parts = urlsplit(raw)
            if parts.scheme != "https" or "." not in parts.netloc or re.search(r"\s", raw):
                problems.append(f"external link is not a well-formed https URL: {raw!r}")
        elif fetch(url)[0] != 200:
            problems.append(f"broken link {raw!r}: HTTP {fetch(url)[0]}")
        elif fragment and unquote(fragment) not in (
                found["ids"] if url == f"{base}/{page.out}" else fetch(url)[1]):
            problems.append(f"link {raw!r}: no element with id {unquote(fragment)!r} on the target page")
    problems += [f"image not loaded: {src}" for src, width in found["images"] if not width]
    if found["rendered"] != found["tex"] or found["errors"]:
        problems.append(f"math: {found['tex']} formulas, {found['rendered']} typeset, {found['errors']} "
                        f"errors {found['bad']}")
    if source_has_math(root, page.source) and not found["rendered"]:
        problems.append("the Markdown has math but no MathJax output is on the page")
    if RAW_TEX.search(found["text"]):
        problems.append(f"raw TeX left visible: ...{RAW_TEX.search(found['text']).group(0)}...")
    return problems


@pytest.mark.slow
def test_every_page_in_chromium(built, capsys):
    need("playwright", chromium=True)
    from bs4 import BeautifulSoup
    from playwright.sync_api import sync_playwright

    out, pages, build_seconds = built
    server, cache, report, start = SiteServer(out), {}, {}, time.perf_counter()

    def fetch(url):
        """(status, ids on the page) of an internal URL, fetched once."""
        if url not in cache:
            try:
                with urllib.request.urlopen(url) as response:
                    body, status = response.read(), response.status
            except urllib.error.HTTPError as err:
                body, status = b"", err.code
            ids = [] if not url.endswith(".html") and not url.endswith("/") else [
                e.get("id") or e.get("name") for e in BeautifulSoup(body, "html.parser").select("[id], a[name]")]
            cache[url] = (status, ids)
        return cache[url]

    try:
        with sync_playwright() as pw:
            browser = site.launch_chromium(pw)
            context = browser.new_context()
            # Nothing leaves 127.0.0.1: any other request is refused and reported.
            context.route(re.compile(r"^(?!" + re.escape(server.url) + r"/)"), lambda route: route.abort())
            for page in pages:
                tab = context.new_page()
                problems = inspect_page(tab, server.url, ROOT, page, fetch)
                tab.close()
                if problems:
                    report[page.out] = problems
            browser.close()
    finally:
        server.close()
    seconds = time.perf_counter() - start
    with capsys.disabled():
        print(f"\n[site] {len(pages)} pages built in {build_seconds:.1f} s, "
              f"checked in Chromium in {seconds:.1f} s")
    assert not report, json.dumps(report, indent=1, ensure_ascii=False)


@pytest.mark.slow
def test_the_browser_check_catches_bad_math_and_broken_links(tiny_repo, tmp_path):
    """The checker itself: a TeX error, an undefined macro, a missing page and an image that is not there."""
    need("nbconvert", "jupyter_server_mathjax", "playwright", chromium=True)
    from playwright.sync_api import sync_playwright

    (tiny_repo / "notebooks" / "00_a.ipynb").write_text(notebook(
        "# Bad\n\n$\\frac{1}{$ and $\\nosuchmacro x$ [gone](02_gone.ipynb) ![x](nothing.png)"))
    out = tmp_path / "html"
    pages = site.build_site(tiny_repo, out, REPO, log=lambda *a: None)
    server = SiteServer(out)
    try:
        with sync_playwright() as pw:
            browser = site.launch_chromium(pw)
            problems = inspect_page(browser.new_page(), server.url, tiny_repo, pages[1],
                                    lambda url: (urllib.request.urlopen(url).status, []) if "gone" not in url
                                    else (404, []))
            browser.close()
    finally:
        server.close()
    text = "\n".join(problems)
    assert "math: 2 formulas, 2 typeset, " in text and "errors 0" not in text
    assert "broken link '02_gone.ipynb'" in text and "image not loaded: nothing.png" in text
    assert "HTTP 404" in text
