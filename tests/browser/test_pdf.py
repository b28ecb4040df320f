"""The whole book as one PDF (`make pdf`), printed from the session's HTML build."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from book.pdf import build_pdf, built_docnames, toc_docnames

pytestmark = [pytest.mark.browser, pytest.mark.book, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
GENERATED_PAGES = {"genindex.html", "search.html", "py-modindex.html"}


def words(text: str) -> str:
    """Lower-case words only: PDF text extraction may split or join lines and hyphens."""
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def test_pdf_has_every_chapter_in_toc_order(html, site, site_pages, tmp_path_factory):
    from pypdf import PdfReader

    out = tmp_path_factory.mktemp("pdf") / "book.pdf"
    printed = build_pdf(html, out, browser=site.browser)  # the session's Chromium
    assert [p.docname for p in printed] == built_docnames(html)
    # Every page of the build but the generated ones (index, search) is in the PDF.
    chapters = {page.removesuffix(".html") for page in site_pages if page not in GENERATED_PAGES}
    assert chapters == {p.docname for p in printed}, "pages of the book missing from the PDF"

    reader = PdfReader(out)
    assert len(reader.pages) == sum(p.pages for p in printed)
    outline = [(item.title, reader.get_destination_page_number(item)) for item in reader.outline]
    assert outline == [(p.title, p.first_page) for p in printed], "bookmarks do not match"
    missing = []
    for p in printed:
        assert p.title, f"{p.docname} has no title"
        first_page = words(reader.pages[p.first_page].extract_text())
        if words(p.title) not in first_page:
            missing.append(f"{p.docname}: {p.title!r} not on PDF page {p.first_page + 1}")
    assert not missing, "chapters missing from the PDF:\n" + "\n".join(missing)
    print(f"{out}: {len(reader.pages)} pages, {len(printed)} chapters")


def test_toc_reading_order():
    names = toc_docnames(ROOT / "_toc.yml")
    assert names[0] == "intro" and len(names) == len(set(names)) > 1
    assert all(
        (ROOT / f"{name}.md").is_file() or (ROOT / f"{name}.ipynb").is_file() for name in names
    )
