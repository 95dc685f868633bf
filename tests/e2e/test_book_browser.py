"""End to end: the static book (`make book`), built from the committed reference runs (reference_runs/*.ipynb) or
from a build folder of executed notebooks, read in a real (headless) Chromium served from loopback.

Every page of the book loads with no console error, no failed request and no request that leaves the machine
(any URL that is not the local server, data: or blob: is aborted and fails the test); every image loads; every
internal link resolves, to its anchor too. Each executed chapter shows a figure, renders its math with the
MathJax shipped in the site (where its Markdown has math), shows the static views of its saved widgets and its
audio players, and links its .ipynb. The report page has the key figures (and, from a build folder, the plots);
search finds pages. The site also renders its math opened straight from disk (file://, no server).

By default it builds the book of the committed reference runs, as `make book` does: no chapter is executed. With
RLHF_BOOK_BUILD=build (or build/ci) it builds the book of what `python -m rlhf_lib.course` wrote there instead.
Without Chromium, the book's Python packages or npm it skips, naming the install command; with
RLHF_BOOK_REQUIRE_ALL=1 (.ci/run, which installs them) it fails instead, every key figure of the report must be
recorded, and a build folder must hold every chapter.
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest

from rlhf_lib.config import REPO_ROOT
from rlhf_lib.report import REFERENCE_DIR, list_notebooks

from .lab import CHROMIUM_ARGS, chromium_path

BUILD = Path(os.environ["RLHF_BOOK_BUILD"]) if os.environ.get("RLHF_BOOK_BUILD") else None  # a `make course` run
EXECUTED = BUILD / "notebooks" if BUILD else REFERENCE_DIR
REQUIRE_ALL = os.environ.get("RLHF_BOOK_REQUIRE_ALL") == "1"
SCREENSHOT = REPO_ROOT / "docs" / "img" / "book_chapter.png"
SCREENSHOT_CHAPTER = "05_applications_3_music"  # small in every profile, with plots, math and audio

playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (make setup installs it)")
pytestmark = [  # skipped where it cannot run, except under RLHF_BOOK_REQUIRE_ALL (CI), where it fails instead
    pytest.mark.skipif(importlib.util.find_spec("myst_nb") is None and not REQUIRE_ALL,
                       reason="the book's packages are not installed: `make setup` (requirements.txt, Python 3.11+)"),
    pytest.mark.skipif(chromium_path() is None and not REQUIRE_ALL,
                       reason="no Chromium on this machine: `apt-get install chromium` to run the browser test"),
    pytest.mark.skipif(shutil.which("npm") is None and not (REPO_ROOT / "book" / "_vendor" / "static").is_dir()
                       and not REQUIRE_ALL, reason="no npm to fetch MathJax for the book: `apt-get install npm`"),
]


def executed_chapters() -> list[str]:
    return [p.stem for p in list_notebooks() if (EXECUTED / p.name).is_file()]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """(html folder, chapters executed) of the book, built as `make book` builds it."""
    chapters = executed_chapters()
    if REQUIRE_ALL and BUILD:
        missing = [p.stem for p in list_notebooks() if p.stem not in chapters]
        assert not missing, f"RLHF_BOOK_REQUIRE_ALL: no executed copy of {missing} in {EXECUTED}"
    if not chapters:
        assert not REQUIRE_ALL, f"RLHF_BOOK_REQUIRE_ALL: no executed chapter in {EXECUTED}"
        pytest.skip(f"no executed chapter in {EXECUTED}: `python -m rlhf_lib.course --profile ci --only 01` "
                    "(or `make course`) first")
    out = tmp_path_factory.mktemp("book")
    start = time.monotonic()
    subprocess.run([sys.executable, str(REPO_ROOT / "tools" / "book.py"), "--out", str(out)]
                   + (["--build", str(BUILD)] if BUILD else []) + (["--require-all"] if REQUIRE_ALL and BUILD else []),
                   check=True, cwd=REPO_ROOT)
    html = out / "html"
    size = sum(p.stat().st_size for p in html.rglob("*") if p.is_file())
    print(f"book of {len(chapters)} executed chapters ({'from ' + str(BUILD) if BUILD else 'reference runs'}) "
          f"built in {time.monotonic() - start:.1f} s, "
          f"{size / 2**20:.1f} MiB")
    return html, chapters


@pytest.fixture(scope="module")
def server(site):
    """The base URL of a static file server on loopback for the built site."""
    handler = functools.partial(Quiet, directory=str(site[0]))
    httpd = QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class QuietServer(http.server.ThreadingHTTPServer):
    """A browser that drops a connection it no longer needs (a media or font request cut short) is no error."""

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


def notebook_has(name: str, pattern: str, cell_type: str) -> bool:
    """Does a cell of `cell_type` of the executed notebook contain `pattern` (in its source, or its outputs)?"""
    nb = nbformat.read(EXECUTED / f"{name}.ipynb", as_version=4)
    text = [c.source if cell_type == "markdown" else str(c.get("outputs", [])) for c in nb.cells
            if c.cell_type == cell_type]
    return any(re.search(pattern, t) for t in text)


class Browser:
    """One headless Chromium page that records console errors, failed and non-local requests."""

    def __init__(self, p, base: str):
        self.base, self.errors, self.outside, self.failed = base, [], [], []
        self.browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        self.context = self.browser.new_context(viewport={"width": 1300, "height": 900})
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(f"{self.page.url}: {m.text}"))
        self.page.on("pageerror", lambda e: self.errors.append(f"{self.page.url}: {e}"))
        self.page.on("requestfailed", lambda r: self.failed.append(f"{r.url}: {r.failure}"))
        self.page.on("response", lambda r: r.status >= 400 and self.failed.append(f"{r.url}: HTTP {r.status}"))

    def _route(self, route):
        url = route.request.url
        if url.startswith((self.base + "/", "data:", "blob:", "file://")):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def open(self, url: str):
        """Go to `url`; once it has loaded (MathJax is a deferred script: it ran by then), wait for MathJax's
        typesetting where the page has it."""
        self.page.goto(url, wait_until="load")
        assert not self.outside, f"requests that left the machine: {sorted(set(self.outside))}"
        self.page.evaluate("() => window.MathJax && MathJax.startup && MathJax.startup.promise.then(() => true)")
        return self.page


def check_math(page) -> int:
    """Every math element is typeset by MathJax, with no TeX error; return how many there are."""
    found = page.eval_on_selector_all(".math", "els => els.map(e => !!e.querySelector('mjx-container'))")
    assert all(found), f"{page.url}: {found.count(False)} of {len(found)} math elements not typeset"
    assert page.locator("mjx-merror").count() == 0, f"{page.url}: a TeX error"
    return len(found)


def check_images(page) -> int:
    broken = page.eval_on_selector_all("img", "els => els.filter(e => !(e.complete && e.naturalWidth > 0))"
                                       ".map(e => e.src)")
    assert not broken, f"{page.url}: images that did not load: {broken}"
    return page.locator("img").count()


def internal_links(page, base: str) -> set[str]:
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    return {h for h in hrefs if h.startswith(base + "/")}


def check_links(links: set[str], base: str) -> None:
    """Every internal link's file exists on the server, and its #anchor on that page."""
    pages: dict[str, str] = {}
    broken = []
    for link in sorted(links):
        parts = urlsplit(link)
        url = f"{base}{parts.path}"
        if url not in pages:
            try:
                with urllib.request.urlopen(url, timeout=10) as response:
                    pages[url] = response.read().decode("utf-8", "replace") if parts.path.endswith(".html") \
                        or parts.path.endswith("/") else ""
            except OSError as err:
                broken.append(f"{link}: {err}")
                continue
        anchor = unquote(parts.fragment)
        if anchor and pages[url] and f'id="{anchor}"' not in pages[url]:
            broken.append(f"{link}: no element with id {anchor!r}")
    assert not broken, "broken internal links:\n" + "\n".join(broken)


def test_the_book_reads_offline_in_a_browser(site, server, tmp_path):
    start = time.monotonic()
    html, chapters = site
    links: set[str] = set()
    shot = tmp_path / "book_chapter.png"
    with playwright.sync_playwright() as p:
        b = Browser(p, server)
        page = b.open(f"{server}/index.html")
        assert page.locator("h1").first.inner_text().startswith("RLHF")
        nav = page.eval_on_selector_all("nav a.reference.internal", "els => els.map(e => e.getAttribute('href'))")
        for nb in list_notebooks():  # the sidebar lists every chapter, in course order
            assert f"notebooks/{nb.stem}.html" in nav, f"the sidebar has no {nb.stem}"
        order = [nav.index(f"notebooks/{nb.stem}.html") for nb in list_notebooks()]
        assert order == sorted(order)
        check_images(page)
        links |= internal_links(page, server)

        for name in [nb.stem for nb in list_notebooks()]:  # every chapter; one not executed: text, math, links
            page = b.open(f"{server}/notebooks/{name}.html")
            assert page.locator("h1").count() >= 1, f"{name}: no title"
            check_images(page)
            math = check_math(page)
            links |= internal_links(page, server)
            if name not in chapters:
                continue
            outputs = page.locator(".cell_output img")
            assert outputs.count() >= 1, f"{name}: no figure in the outputs"
            if notebook_has(name, r"\$", "markdown"):
                assert math >= 1, f"{name}: its Markdown has math, the page renders none"
            if notebook_has(name, "application/vnd.jupyter.widget-view", "code"):
                assert page.locator(".cell_output .jupyter-widgets").count() >= 1, f"{name}: no widget view"
            if notebook_has(name, "<audio", "code"):
                assert page.locator(".cell_output audio").count() >= 1, f"{name}: no audio player"
            notebook = page.locator(f'a[href$="_sources/notebooks/{name}.ipynb"]')
            assert notebook.count() >= 1, f"{name}: no link to its notebook"
            if name == SCREENSHOT_CHAPTER or (name == chapters[-1] and not shot.exists()):  # a chapter with plots
                outputs.first.evaluate("e => e.scrollIntoView({block: 'center'})")
                page.wait_for_timeout(300)
                page.screenshot(path=str(shot))

        page = b.open(f"{server}/REPORT.html")
        key = page.locator("#key-figures table")
        assert key.count() == 1, "the report page has no key-figures table"
        if REQUIRE_ALL:
            assert "not recorded" not in key.inner_text(), "a key figure of the report was not recorded"
        if BUILD:  # the reference runs' report has their figures; their plots are in the executed notebooks
            assert check_images(page) >= 1, "the report page shows no plot"
        else:
            check_images(page)
        links |= internal_links(page, server)

        page = b.open(f"{server}/search.html?q=reward")
        page.wait_for_selector("#search-results li", timeout=30_000)
        assert page.locator("#search-results li").count() >= 1

        check_links(links, server)
        assert not b.outside, f"requests that left the machine: {sorted(set(b.outside))}"
        assert not b.failed, f"failed requests: {b.failed}"
        assert not b.errors, f"console errors: {b.errors}"

        # Opened from disk: the math still renders (MathJax and its fonts are files of the site).
        page = b.open((html / "notebooks" / f"{chapters[0]}.html").as_uri())
        if notebook_has(chapters[0], r"\$", "markdown"):
            assert check_math(page) >= 1
        assert not b.outside and not b.errors, (b.outside, b.errors)
        b.browser.close()
    if os.environ.get("RLHF_UPDATE_SCREENSHOT"):
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, SCREENSHOT)
    print(f"browser test: {len(chapters)} chapters, {len(links)} internal links, "
          f"{time.monotonic() - start:.1f} s")
