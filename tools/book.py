"""`make book`: the course as a static HTML book, built by Sphinx with MyST-NB from executed notebooks.

    python tools/book.py                      # the committed reference runs (reference_runs/*.ipynb, cpu profile)
                                              #   -> build/book/html/: no chapter runs, under a minute
    python tools/book.py --build build        # your own run: what `make course` wrote to build/notebooks/ and
                                              #   build/REPORT.md (`make book FROM=build`)
    python tools/book.py --out /tmp/book      # the browser test builds elsewhere

This file only lays the sources out and runs sphinx-build with book/conf.py; Sphinx, MyST-NB and the book theme
make the site. The layout mirrors the repository, so the README's and the chapters' relative links work as they
are: `index.md` is README.md with the table of contents appended, `notebooks/` holds the executed chapters
(a chapter with no executed copy goes in without outputs, with a note that says so), REPORT.md is the course
report (of the reference runs' figures, or the course runner's with its plots), and every repository file that
these pages link to is copied beside them (Markdown and notebooks become pages, anything else a download).

The site is viewable offline: MathJax and the ipywidgets embed manager come from pinned npm packages, fetched
once from the npm registry into the git-ignored book/_vendor/ (like pip, a set-up step; the build itself uses
no network) and served from the site's `_static/`. Without npm (`apt-get install npm`) and nothing fetched yet,
the build stops with that advice.
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
from rlhf_lib.report import REFERENCE_DIR, list_notebooks, reference_report, staleness  # noqa: E402

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
    if shutil.which("npm") is None:
        raise SystemExit("book: MathJax and the widget manager come from the npm registry, and there is no npm: "
                         "`apt-get install npm` (Debian/Ubuntu) or `brew install node` (macOS), then `make book`")
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


def not_executed(committed: Path, reference: bool) -> nbformat.NotebookNode:
    """The committed notebook (no outputs) with a note on top: this build has no executed copy of it."""
    nb = nbformat.read(committed, as_version=4)
    name = committed.stem
    how = (f"its executed reference run is not committed yet (`python -m rlhf_lib.course --profile cpu --only {name} "
           "--freeze-reference` takes it)" if reference else
           f"`python -m rlhf_lib.course --only {name}` executes it, then `make book FROM=build`")
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(
        f"```{{note}}\nThis chapter was not executed for this build of the book, so it shows no outputs: {how}.\n```"))
    return nb


def reference_note(run: dict, name: str) -> nbformat.NotebookNode:
    """A note under a chapter's title: which reference run the page shows, and whether its source has changed."""
    m, why = run.get("machine", {}), staleness(name)
    text = (f"This page is the chapter's **reference run**: the `cpu` profile on {m.get('cpu', 'an unnamed CPU')} "
            f"({m.get('cores', '?')} cores), {m.get('date', 'undated')}, in {run.get('seconds', '?')} s"
            + (f"; {run['note']}" if run.get("note") else "") + ".")
    if why:
        text += f" **Stale**: {why}, so some outputs may differ from what the notebook prints now."
    return nbformat.v4.new_markdown_cell(f"```{{note}}\n{text}\n```")


def assemble(src: Path, executed: Path, report: Path | None) -> list[str]:
    """Lay out the book's sources in `src`; return the chapters that have no executed copy in `executed`. With no
    `report`, the report page is the reference runs' figures (`executed` is reference_runs/)."""
    shutil.rmtree(src, ignore_errors=True)
    (src / "notebooks").mkdir(parents=True)
    pages: list[str] = []
    missing, chapters = [], []
    for committed in list_notebooks():
        copy = executed / committed.name
        nb = nbformat.read(copy, as_version=4) if copy.is_file() else not_executed(committed, report is None)
        if "rlhf_reference_run" in nb.metadata:
            nb.cells.insert(1, reference_note(nb.metadata["rlhf_reference_run"], committed.stem))
        if not copy.is_file():
            missing.append(committed.stem)
        nbformat.write(nb, src / "notebooks" / committed.name)
        chapters.append(f"notebooks/{committed.stem}")
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                copy_linked(cell.source, Path("notebooks") / committed.name, src, pages)
    if report is None:
        reference_report(src / "REPORT.md", executed)
    elif report.is_file():
        shutil.copy(report, src / "REPORT.md")
        if (report.parent / "figures").is_dir():
            shutil.copytree(report.parent / "figures", src / "figures")
    else:
        (src / "REPORT.md").write_text("# RLHF course: run report\n\nNo report yet: `make course` writes it.\n")
    readme = (ROOT / "README.md").read_text()
    if report is None:  # the book of the reference runs: a chapter's page is its reference run, so link there
        readme = re.sub(r"\]\(reference_runs/([^)/]+\.ipynb)\)", r"](notebooks/\1)", readme)
    copy_linked(readme, Path("README.md"), src, pages)
    toc = [("Chapters", chapters), ("The course run", ["REPORT"]), ("Solutions and reference", pages)]
    (src / "index.md").write_text(readme + "".join(
        f"\n```{{toctree}}\n:hidden:\n:caption: {caption}\n\n" + "\n".join(entries) + "\n```\n"
        for caption, entries in toc if entries))
    return missing


def build(out: Path, executed: Path, report: Path | None, require_all: bool = False) -> list[str]:
    """Build the HTML book in `out/html` (sources in `out/src`, Sphinx's cache in `out/doctrees`) from the executed
    notebooks in `executed` and the report `report` (None: the reference runs' figures); return the chapters
    without an executed copy."""
    if importlib.util.find_spec("myst_nb") is None:
        raise SystemExit("book: needs Sphinx, MyST-NB and sphinx-book-theme (requirements.txt; Python 3.11+)")
    fetch_js()
    missing = assemble(out / "src", executed, report)
    if len(missing) == len(list_notebooks()) or (missing and require_all):
        raise SystemExit(f"book: no executed copy of {', '.join(missing)} in {executed}: "
                         + ("take their reference runs first" if report is None else "run `make course` first"))
    shutil.rmtree(out / "html", ignore_errors=True)  # a fresh site: no page left over from an earlier build
    subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", "-c", str(CONF), "-d", str(out / "doctrees"),
                    str(out / "src"), str(out / "html")], check=True)
    return missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", type=Path, default=None,
                        help="the book of your own run: the folder `make course` wrote (build), with notebooks/ and "
                             "REPORT.md; default: the committed reference runs")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "book")
    parser.add_argument("--require-all", action="store_true", help="fail unless every chapter was executed")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    executed, report = (args.build / "notebooks", args.build / "REPORT.md") if args.build else (REFERENCE_DIR, None)
    missing = build(args.out, executed, report, args.require_all)
    print(f"book of {'your run in ' + str(args.build) if args.build else 'the reference runs'}: "
          f"{args.out / 'html' / 'index.html'} in {time.perf_counter() - start:.0f} s"
          + (f"; not executed, shown without outputs: {', '.join(missing)}" if missing else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
