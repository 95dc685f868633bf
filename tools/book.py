"""`make book`: the course as a static HTML book, built by Sphinx with MyST-NB from the executed notebooks.

    python tools/book.py                      # build/notebooks/ + build/REPORT.md -> build/book/html/
    python tools/book.py --out /tmp/book      # the browser test builds elsewhere
    python tools/book.py --notebooks build/ci/notebooks --report build/ci/REPORT.md --require-all
                                              # `make book-test`: fail unless every chapter was executed

This file only lays the sources out and runs sphinx-build with book/conf.py; Sphinx, MyST-NB and the book theme
make the site. The layout mirrors the repository, so the README's and the chapters' relative links work as they
are: `index.md` is README.md with the table of contents appended, `notebooks/` holds the executed chapters
(a chapter that `make course` has not executed yet goes in without outputs, with a note that says so), REPORT.md
is the course runner's report with its plots, and every repository file that these pages link to is copied
beside them (Markdown and notebooks become pages, anything else a download).

The site is viewable offline: MathJax and the ipywidgets embed manager come from pinned npm packages, fetched
once from the npm registry into the git-ignored book/_vendor/ (like pip, a set-up step; the build itself uses
no network) and served from the site's `_static/`.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from rlhf_lib.course import list_notebooks  # noqa: E402  (the course order, one definition)

CONF = ROOT / "book"
STATIC = CONF / "_vendor" / "static"  # git-ignored
# npm package -> (version, the sha512 of its tarball as the registry lists it, [(files in the package, where in
# _static)]). MathJax: what tex-mml-chtml.js loads at run time (TeX extensions, CHTML fonts, menu, a11y). The widget
# manager's fonts go where its modules resolve (book/_static/widgets.js).
JS = {
    "mathjax": ("3.2.2", "Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw==",
                [("es5/tex-mml-chtml.js", "mathjax/"), ("es5/input", "mathjax/"), ("es5/output/chtml", "mathjax/output/"),
                 ("es5/ui", "mathjax/"), ("es5/a11y", "mathjax/"), ("es5/sre", "mathjax/"), ("LICENSE", "mathjax/")]),
    "requirejs": ("2.3.8", "7/cTSLOdYkNBNJcDMWf+luFvMriVm7eYxp4BcFCsAX0wF421Vyce5SXP17c+Jd5otXKGNehIonFlyQXSowL6Mw==",
                  [("require.js", "widgets/")]),
    "@jupyter-widgets/html-manager": (
        "1.0.15", "5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA==",
        [("dist/embed-amd.js", "widgets/"),
         ("dist/*.woff2", "widgets/@jupyter-widgets/"), ("dist/*.woff2", "widgets/@jupyter-widgets/html-manager/dist/")]),
}
LINK = re.compile(r"\]\(([^)\s]+)\)")  # a Markdown link or image target


def fetch_js() -> None:
    """Unpack the pinned npm packages' files the site serves into book/_vendor/static (once per version set)."""
    stamp, wanted = STATIC / ".js.json", json.dumps(JS)
    if stamp.is_file() and stamp.read_text() == wanted:
        return
    shutil.rmtree(STATIC, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        specs = [f"{name}@{version}" for name, (version, _, _) in JS.items()]
        packed = json.loads(subprocess.run(["npm", "pack", "--json", "--pack-destination", tmp, *specs],
                                           check=True, capture_output=True, text=True).stdout)
        for entry in packed:
            version, integrity, files = JS[entry["name"]]
            tarball = Path(tmp) / entry["filename"]
            digest = base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
            if digest != integrity:
                raise RuntimeError(f"{entry['name']}@{version}: integrity {digest} is not the pinned {integrity}")
            unpacked = Path(tmp) / entry["name"].replace("/", "_")
            with tarfile.open(tarball) as tar:
                tar.extractall(unpacked, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
            for source, target in files:
                paths = sorted((unpacked / "package").glob(source))
                if not paths:
                    raise RuntimeError(f"{entry['name']}@{version} has no {source}")
                for path in paths:
                    (STATIC / target).mkdir(parents=True, exist_ok=True)
                    (shutil.copytree if path.is_dir() else shutil.copy)(path, STATIC / target / path.name)
    stamp.write_text(wanted)


def copy_linked(text: str, where: Path, src: Path, pages: list[str]) -> None:
    """Copy every repository file that `text` (a page at repository path `where`) links to into `src`, at the
    same relative path; follow the links of a Markdown file so copied; list the pages (Markdown, notebooks) in
    `pages`."""
    for target in LINK.findall(text):
        target = target.split("#")[0]
        if not target or re.match(r"[a-z]+:", target) or target.startswith("/"):
            continue
        path = (ROOT / where.parent / target).resolve()
        if not path.is_file() or not path.is_relative_to(ROOT):
            continue
        rel = path.relative_to(ROOT)
        dest = src / rel
        if dest.exists():
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, dest)
        if path.suffix == ".md":
            copy_linked(path.read_text(), rel, src, pages)
        if path.suffix in (".md", ".ipynb"):
            pages.append(rel.with_suffix("").as_posix())


def not_executed(committed: Path) -> nbformat.NotebookNode:
    """The committed notebook (no outputs) with a note on top: this build has no executed copy of it."""
    nb = nbformat.read(committed, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(
        "```{note}\nThis chapter was not executed for this build of the book, so it shows no outputs: "
        f"`python -m rlhf_lib.course --only {committed.stem.split('_')[0]}` executes it, then `make book`.\n```"))
    return nb


def assemble(src: Path, executed: Path, report: Path) -> list[str]:
    """Lay out the book's sources in `src`; return the chapters that have no executed copy in `executed`."""
    shutil.rmtree(src, ignore_errors=True)
    (src / "notebooks").mkdir(parents=True)
    pages: list[str] = []
    missing, chapters = [], []
    for committed in list_notebooks():
        copy = executed / committed.name
        nb = nbformat.read(copy, as_version=4) if copy.is_file() else not_executed(committed)
        if not copy.is_file():
            missing.append(committed.stem)
        nbformat.write(nb, src / "notebooks" / committed.name)
        chapters.append(f"notebooks/{committed.stem}")
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                copy_linked(cell.source, Path("notebooks") / committed.name, src, pages)
    if report.is_file():
        shutil.copy(report, src / "REPORT.md")
        if (report.parent / "figures").is_dir():
            shutil.copytree(report.parent / "figures", src / "figures")
    else:
        (src / "REPORT.md").write_text("# RLHF course: run report\n\nNo report yet: `make course` writes it.\n")
    readme = (ROOT / "README.md").read_text()
    copy_linked(readme, Path("README.md"), src, pages)
    toc = [("Chapters", chapters), ("The course run", ["REPORT"]), ("Solutions and reference", pages)]
    (src / "index.md").write_text(readme + "".join(
        f"\n```{{toctree}}\n:hidden:\n:caption: {caption}\n\n" + "\n".join(entries) + "\n```\n"
        for caption, entries in toc if entries))
    return missing


def build(out: Path, executed: Path, report: Path, require_all: bool = False) -> list[str]:
    """Build the HTML book in `out/html` (sources in `out/src`, Sphinx's cache in `out/doctrees`); return the
    chapters without an executed copy."""
    if importlib.util.find_spec("myst_nb") is None:
        raise SystemExit("book: needs Sphinx, MyST-NB and sphinx-book-theme (requirements.txt; Python 3.11+)")
    fetch_js()
    missing = assemble(out / "src", executed, report)
    if len(missing) == len(list_notebooks()) or (missing and require_all):
        raise SystemExit(f"book: no executed copy of {', '.join(missing)} in {executed}: run `make course` first")
    shutil.rmtree(out / "html", ignore_errors=True)  # a fresh site: no page left over from an earlier build
    subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", "-c", str(CONF), "-d", str(out / "doctrees"),
                    str(out / "src"), str(out / "html")], check=True)
    return missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notebooks", type=Path, default=ROOT / "build" / "notebooks",
                        help="the executed notebooks (what `make course` writes)")
    parser.add_argument("--report", type=Path, default=ROOT / "build" / "REPORT.md")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "book")
    parser.add_argument("--require-all", action="store_true", help="fail unless every chapter was executed")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    missing = build(args.out, args.notebooks, args.report, args.require_all)
    print(f"book: {args.out / 'html' / 'index.html'} in {time.perf_counter() - start:.0f} s"
          + (f"; not executed yet, shown without outputs: {', '.join(missing)}" if missing else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
