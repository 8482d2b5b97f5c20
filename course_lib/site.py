"""The course website: static HTML from the committed, executed notebooks (never re-executed), README.md,
README.zh-CN.md and docs/*.md.

nbconvert renders every page with JupyterLab's look (template ``site/templates/course``); a Markdown file goes
through the same renderer as a one-cell notebook, so math, tables and code look alike everywhere. Each page
then gets a sidebar, previous/next links, a Colab badge (notebooks), GitHub-style heading ids (``#course-map``)
and rewritten links: ``X.ipynb`` and ``X.md`` go to the built page, any other file of the repository to
GitHub. MathJax 2 is served by the site itself (``_static/mathjax``, from the jupyter-server-mathjax package):
a page fetches nothing from the internet. The site mirrors the repository's layout (README.md -> index.html,
notebooks/01_x.ipynb -> notebooks/01_x.html), so relative links keep their shape.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

REPO_URL = "https://github.com/llm-seqrec-course/llm-seqrec-course"
SITE_NAME = "LLM-enhanced sequential recommendation"
DEFAULT_OUT = Path("site") / "_build" / "html"
ASSETS = Path(__file__).resolve().parent.parent / "site"      # templates/ and static/ of the checkout
MARKER = ".course-site"                                         # marks a folder this module built
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp"}
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
# Debian's Chromium, driven by playwright (never `playwright install`: its CDN is out of reach).
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class SiteError(Exception):
    """Bad input for the site build: the message says what is wrong and what to do."""


@dataclass(frozen=True)
class Page:
    source: str    # path in the repository, POSIX style: "notebooks/01_data_cleaning.ipynb"
    title: str
    section: str   # sidebar heading: "Course", "Notebooks", "Solutions", "Docs"

    @property
    def out(self) -> str:
        """Path of the built page in the site: README.md -> index.html, X.ipynb / X.md -> X.html."""
        return page_out(self.source)


def page_out(source: str) -> str:
    return "index.html" if source == "README.md" else posixpath.splitext(source)[0] + ".html"


def _title(path: Path) -> str:
    """The first ``# `` heading of a notebook or Markdown file, else its file name."""
    if path.suffix == ".ipynb":
        try:
            cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        except (ValueError, KeyError) as err:
            raise SiteError(f"{path}: not a readable notebook ({type(err).__name__}: {err})") from err
        text = "\n".join("".join(c["source"]) for c in cells if c.get("cell_type") == "markdown")
    else:
        text = path.read_text(encoding="utf-8")
    match = re.search(r"^#\s+(.+?)\s*#*\s*$", text, re.M)
    return re.sub(r"[*_`]", "", match.group(1)) if match else path.stem


def collect_pages(root: Path) -> list[Page]:
    """Every page in site order: README, notebooks, solutions, README.zh-CN, docs (each folder sorted)."""
    root = Path(root)
    if not root.is_dir():
        raise SiteError(f"no such folder: {root}")
    if not (root / "README.md").is_file() or not (root / "notebooks").is_dir():
        raise SiteError(f"{root} has no README.md or no notebooks/ folder: run `course site` in a checkout "
                        "of the course (or pass --root)")
    found = [("README.md", "Course")]
    found += [(f"notebooks/{p.name}", "Notebooks") for p in sorted((root / "notebooks").glob("*.ipynb"))]
    found += [(f"solutions/{p.name}", "Solutions") for p in sorted((root / "solutions").glob("*.ipynb"))]
    if (root / "README.zh-CN.md").is_file():
        found.append(("README.zh-CN.md", "Course"))
    found += [(f"docs/{p.name}", "Docs") for p in sorted((root / "docs").glob("*.md"))]
    if not any(section == "Notebooks" for _, section in found):
        raise SiteError(f"{root / 'notebooks'} holds no .ipynb file: nothing to build")
    return [Page(src, _title(root / src), section) for src, section in found]


def slugify(text: str, seen: dict[str, int] | None = None) -> str:
    """GitHub's heading id: lower case, punctuation dropped, spaces to dashes; repeats get -1, -2..."""
    slug = re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")
    if seen is not None:
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        slug = f"{slug}-{count}" if count else slug
    return slug


def relative(target: str, current: str) -> str:
    """Link from site page ``current`` to site path ``target`` (both relative to the site root)."""
    return posixpath.relpath(target, posixpath.dirname(current) or ".")


def rewrite_link(href: str, page: Page, outs: dict[str, str], root: Path,
                 repo_url: str = REPO_URL) -> tuple[str, str | None]:
    """(new href, repository file to copy into the site or None) for a link found on ``page``.

    Built pages: their HTML; images: copied beside it; other files and folders of the repository: GitHub;
    external links, in-page anchors and paths that leave the repository: unchanged.
    """
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or not parts.path:
        return href, None
    target = posixpath.normpath(posixpath.join(posixpath.dirname(page.source), parts.path))
    if target == ".." or target.startswith("../"):
        return href, None
    fragment = f"#{parts.fragment}" if parts.fragment else ""
    if target in outs:
        return relative(outs[target], page.out) + fragment, None
    path = root / target
    if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
        return relative(target, page.out), target
    if path.exists():
        kind = "tree" if path.is_dir() else "blob"
        return f"{repo_url}/{kind}/main/{'' if target == '.' else target}" + fragment, None
    return href, None


def sidebar_html(pages: list[Page], current: Page) -> str:
    parts = [f'<a class="site-title" href="{relative("index.html", current.out)}">{SITE_NAME}</a>']
    for section in dict.fromkeys(p.section for p in pages):
        parts.append(f"<h2>{section}</h2><ul>")
        for p in (p for p in pages if p.section == section):
            mark = ' class="current" aria-current="page"' if p == current else ""
            parts.append(f'<li><a{mark} href="{relative(p.out, current.out)}">{_escape(p.title)}</a></li>')
        parts.append("</ul>")
    return "".join(parts)


def pager_html(pages: list[Page], index: int) -> str:
    here, links = pages[index], []
    if index > 0:
        links.append(f'<a class="prev" rel="prev" href="{relative(pages[index - 1].out, here.out)}">'
                     f"&larr; {_escape(pages[index - 1].title)}</a>")
    if index + 1 < len(pages):
        links.append(f'<a class="next" rel="next" href="{relative(pages[index + 1].out, here.out)}">'
                     f"{_escape(pages[index + 1].title)} &rarr;</a>")
    return f'<nav class="site-pager">{"".join(links)}</nav>'


def banner_html(page: Page, repo_url: str = REPO_URL) -> str:
    """Colab badge, GitHub and download links above a notebook; a GitHub link above a Markdown page."""
    github = f'<a class="site-github" href="{repo_url}/blob/main/{page.source}">View on GitHub</a>'
    if not page.source.endswith(".ipynb"):
        return f'<div class="site-banner">{github}</div>'
    colab = f"https://colab.research.google.com/github/{repo_url.removeprefix('https://github.com/')}" \
            f"/blob/main/{page.source}"
    badge = relative("_static/colab-badge.svg", page.out)
    return (f'<div class="site-banner"><a class="site-colab" href="{colab}"><img src="{badge}" '
            f'alt="Open In Colab" width="117" height="20"></a>{github}'
            f'<a href="{posixpath.basename(page.source)}" download>Download the notebook</a></div>')


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fix_html(html: str, page: Page, outs: dict[str, str], root: Path, repo_url: str = REPO_URL):
    """GitHub-style heading ids and rewritten links in a rendered page -> (html, files to copy)."""
    from bs4 import BeautifulSoup

    soup, copies, seen = BeautifulSoup(html, "html.parser"), set(), {}
    main = soup.find("main")
    for heading in main.find_all(re.compile(r"^h[1-6]$")):
        anchor = heading.find("a", class_="anchor-link")
        text = heading.get_text().removesuffix(anchor.get_text() if anchor else "")
        old, new = heading.get("id"), slugify(text, seen)
        heading["id"] = new
        if anchor is not None:
            anchor["href"] = f"#{new}"
        if old and old != new and not soup.find(id=old):
            heading.insert(0, soup.new_tag("span", id=old))   # nbconvert's id, for in-notebook links
    for tag, attr in (("a", "href"), ("img", "src")):
        for node in main.find_all(tag, **{attr: True}):
            if node.find_parent(class_=("site-banner", "site-pager")):    # the site's own links, already right
                continue
            if node[attr] == COLAB_BADGE:
                node[attr] = relative("_static/colab-badge.svg", page.out)
                continue
            node[attr], copy = rewrite_link(node[attr], page, outs, root, repo_url)
            if copy:
                copies.add(copy)
    return str(soup), copies


def _notebook(root: Path, page: Page):
    import nbformat

    if page.source.endswith(".ipynb"):
        return nbformat.read(root / page.source, as_version=4)
    text = (root / page.source).read_text(encoding="utf-8")
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(text)])


def _mathjax_dir() -> Path:
    try:
        import jupyter_server_mathjax
    except ImportError as err:
        raise SiteError("MathJax for the site comes from jupyter-server-mathjax: "
                        'pip install -e ".[site]"') from err
    return Path(jupyter_server_mathjax.__file__).parent / "static"


def build_site(root: Path, out: Path, repo_url: str = REPO_URL, assets: Path = ASSETS, log=print) -> list[Page]:
    """Build the site of checkout ``root`` into ``out`` (written to a temporary folder, then renamed)."""
    root, out = Path(root).resolve(), Path(out).resolve()
    pages = collect_pages(root)
    if out == root or out in root.parents:
        raise SiteError(f"--out {out} would replace the repository itself: choose a folder inside or beside it")
    if out.exists() and any(out.iterdir()) and not (out / MARKER).exists():
        raise SiteError(f"{out} exists and was not built by `course site`: choose an empty or new folder")
    if not (assets / "templates" / "course" / "index.html.j2").is_file():
        raise SiteError(f"site templates missing under {assets}: `course site` needs a checkout of the course")
    mathjax = _mathjax_dir()
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="course", extra_template_basedirs=[str(assets / "templates")])
    outs = {p.source: p.out for p in pages}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.building-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        shutil.copytree(assets / "static", tmp / "_static")
        shutil.copytree(mathjax, tmp / "_static" / "mathjax")
        for i, page in enumerate(pages):
            start = time.perf_counter()
            site = {"root": "../" * page.out.count("/"), "sidebar": sidebar_html(pages, page),
                    "pager": pager_html(pages, i), "banner": banner_html(page, repo_url)}
            resources = {"site": site, "metadata": {"name": f"{page.title} · {SITE_NAME}"}}
            html, _ = exporter.from_notebook_node(_notebook(root, page), resources=resources)
            html, copies = fix_html(html, page, outs, root, repo_url)
            target = tmp / page.out
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(html, encoding="utf-8")
            for name in copies | ({page.source} if page.source.endswith(".ipynb") else set()):
                (tmp / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(root / name, tmp / name)
            log(f"  {page.out:<52} {time.perf_counter() - start:5.1f} s")
        (tmp / MARKER).write_text("built by `course site`; safe to delete\n", encoding="utf-8")
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        if out.exists():
            out.rename(old)
        tmp.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return pages


def launch_chromium(playwright, executable: Path = CHROMIUM):
    """Headless Debian Chromium through playwright, with a fresh profile and no background networking."""
    if not Path(executable).is_file():
        raise SiteError(f"{executable} not found: install Debian's Chromium (apt-get install -y chromium)")
    return playwright.chromium.launch(executable_path=str(executable), headless=True, args=CHROMIUM_ARGS)


def screenshot(site_dir: Path, page_out: str, path: Path, width: int = 1280, height: int = 800,
               anchor: str | None = None) -> None:
    """PNG of one built page after MathJax, served from a throwaway local HTTP server: at ``anchor`` (an id),
    else scrolled so that the page's first figure ends at the bottom of the window, with the text before it."""
    import functools
    import http.server
    import threading

    from playwright.sync_api import sync_playwright

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(site_dir))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as pw:
            browser = launch_chromium(pw)
            tab = browser.new_page(viewport={"width": width, "height": height})
            url = f"http://127.0.0.1:{httpd.server_address[1]}/{page_out}"
            tab.goto(url + (f"#{anchor}" if anchor else ""))
            tab.wait_for_selector("body[data-math=done]", state="attached", timeout=90_000)
            if not anchor:
                tab.evaluate("() => { const img = document.querySelector('.jp-OutputArea-output img'); if (img)"
                             " window.scrollBy(0, img.getBoundingClientRect().bottom - innerHeight + 12); }")
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            tab.screenshot(path=str(path))
            browser.close()
    finally:
        httpd.shutdown()
        httpd.server_close()
