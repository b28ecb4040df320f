"""The book's search page (Sphinx's JavaScript search over searchindex.js) finds chapters."""

from __future__ import annotations

import pytest

from book.browser import DESKTOP

pytestmark = [pytest.mark.browser, pytest.mark.book, pytest.mark.slow]


@pytest.mark.parametrize(
    ("query", "expected"),
    [("max pooling", "pooling/index.html"), ("im2col", "im2col/index.html")],
)
def test_search_finds_the_chapter(site, query, expected):
    context = site.new_context(DESKTOP)
    try:
        tab, visit = site.open(context, f"search.html?q={query.replace(' ', '+')}")
        # Sphinx writes this summary once the search has run over every result.
        tab.wait_for_function(
            "() => /Search finished|did not match/.test("
            "document.querySelector('#search-results .search-summary')?.textContent || '')",
            timeout=30_000,
        )
        hits = tab.eval_on_selector_all("#search-results ul.search li a", "a => a.map(x => x.href)")
        summary = tab.text_content("#search-results .search-summary")
    finally:
        context.close()
    assert not visit.console_errors + visit.page_errors + visit.external_requests
    assert any(expected in hit for hit in hits), (
        f"searching {query!r} did not find {expected}: {summary}\n" + "\n".join(hits)
    )
