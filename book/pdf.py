"""The whole book as one PDF, printed from the built HTML by the system Chromium.

    python -m book.pdf [--html _build/html] [--out _build/pdf/book.pdf]   (or `make pdf`)

Jupyter Book's own HTML-to-PDF route (`--builder pdfhtml`) drives pyppeteer, which downloads a
Chromium of its own. This prints the pages that `make book` built, in the order of the build's
table of contents, with Debian's Chromium through Playwright (`page.pdf()`, the theme's print
stylesheet, MathJax typeset first), then joins them with pypdf and adds one bookmark per page
(its title). The browser is offline (see `book/browser.py`): a page that tried to load anything
from outside the local server makes the build fail.
"""

from __future__ import annotations

import argparse
import io
import posixpath
import re
import sys
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from autograder.layout import PROJECT_ROOT

ROOT = PROJECT_ROOT


@dataclass
class PrintedPage:
    docname: str
    title: str
    first_page: int  # index in the joined PDF
    pages: int


def toc_docnames(toc_file: Path) -> list[str]:
    """Documents of a `jb-book` table of contents, in reading order (root first)."""
    toc = yaml.safe_load(toc_file.read_text(encoding="utf-8"))
    names = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                names.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    for part in toc.get("parts") or [{"chapters": toc.get("chapters")}]:
        walk(part.get("chapters"))
    return [name.removesuffix(".md").removesuffix(".ipynb") for name in names]


class _NavLinks(HTMLParser):
    """The hrefs of the documents listed in the theme's left navigation, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0  # > 0 inside <nav class="bd-docs-nav ...">
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        if tag == "nav" and ("bd-docs-nav" in classes or self.depth):
            self.depth += 1
        elif tag == "a" and self.depth and "internal" in classes:
            self.hrefs.append(attributes.get("href") or "")

    def handle_endtag(self, tag):
        if tag == "nav" and self.depth:
            self.depth -= 1


def built_docnames(html: Path) -> list[str]:
    """Documents of an HTML build in reading order, as its own navigation lists them.

    The table of contents the pages were built from, even when `_toc.yml` changed since.
    """
    index = (html / "index.html").read_text(encoding="utf-8")
    root = re.search(r'url=([^"\s]+)\.html', index)
    root_name = root.group(1) if root else "intro"
    parser = _NavLinks()
    parser.feed((html / f"{root_name}.html").read_text(encoding="utf-8"))
    names = [root_name]
    for href in parser.hrefs:
        path = urlsplit(href).path
        if path.endswith(".html"):
            name = posixpath.normpath(posixpath.join(posixpath.dirname(root_name), path))
            name = name.removesuffix(".html")
            if name not in names:
                names.append(name)
    return names


def build_pdf(
    html: Path, out: Path, toc_file: Path | None = None, browser=None
) -> list[PrintedPage]:
    """Print every page of the book in `html` to one PDF at `out`; returns what went where.

    The order is that of `toc_file` (a `_toc.yml`) when given, else the build's own navigation.
    `browser`: a Playwright Chromium already running (from `book.browser.launch`); by default
    one is started and closed here.
    """
    from playwright.sync_api import sync_playwright

    from book.browser import launch, serve

    docnames = toc_docnames(toc_file) if toc_file else built_docnames(html)
    missing = [name for name in docnames if not (html / f"{name}.html").is_file()]
    if missing:
        raise FileNotFoundError(f"not in the HTML build {html}: {missing}; run `make book`")
    with serve(html) as origin:
        if browser is not None:
            return _print_pages(browser, origin, docnames, out)
        with sync_playwright() as playwright:
            browser = launch(playwright)
            try:
                return _print_pages(browser, origin, docnames, out)
            finally:
                browser.close()


def _print_pages(browser, origin: str, docnames: list[str], out: Path) -> list[PrintedPage]:
    from pypdf import PdfReader, PdfWriter

    from book.browser import WAIT_FOR_MATHJAX, block_external_requests

    out.parent.mkdir(parents=True, exist_ok=True)
    writer = PdfWriter()
    printed: list[PrintedPage] = []
    context = browser.new_context(color_scheme="light")
    try:
        blocked = block_external_requests(context, origin)
        page = context.new_page()
        for name in docnames:
            page.goto(f"{origin}/{name}.html", wait_until="load")
            page.evaluate(WAIT_FOR_MATHJAX)
            page.evaluate("document.fonts.ready.then(() => true)")
            title = page.evaluate(
                """() => {
                  const h1 = document.querySelector('article h1, main h1, h1');
                  if (!h1) return document.title;
                  const copy = h1.cloneNode(true);
                  copy.querySelectorAll('.headerlink').forEach(e => e.remove());
                  return copy.textContent.trim();
                }"""
            )
            data = page.pdf(
                format="A4",
                print_background=True,
                margin={"top": "15mm", "bottom": "15mm", "left": "14mm", "right": "14mm"},
            )
            reader = PdfReader(io.BytesIO(data))
            first = len(writer.pages)
            for pdf_page in reader.pages:
                writer.add_page(pdf_page)
            writer.add_outline_item(title=title, page_number=first)
            printed.append(PrintedPage(name, title, first, len(reader.pages)))
    finally:
        context.close()
    if blocked:
        raise RuntimeError("pages tried to load from outside the book:\n" + "\n".join(blocked))
    writer.add_metadata({"/Title": printed[0].title if printed else "", "/Producer": "book.pdf"})
    with out.open("wb") as handle:
        writer.write(handle)
    return printed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", type=Path, default=ROOT / "_build" / "html")
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "pdf" / "book.pdf")
    parser.add_argument("--toc", type=Path, help="a _toc.yml (default: the build's navigation)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    printed = build_pdf(args.html, args.out, args.toc)
    total = sum(p.pages for p in printed)
    for p in printed:
        print(f"{p.first_page + 1:4d}-{p.first_page + p.pages:<4d} {p.docname}: {p.title}")
    seconds = time.perf_counter() - start
    print(f"wrote {args.out} ({total} pages, {len(printed)} documents) in {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
