"""The book works offline by construction: no page asks for anything outside 127.0.0.1.

Every visit (see `conftest.py`) routes every request: anything not on the local server is
recorded and aborted, and Chromium resolves no host name but 127.0.0.1 at all (the
`--host-resolver-rules` flag, which also covers lookups `page.route` cannot see).
"""

from __future__ import annotations

import pytest

from book.browser import DESKTOP

pytestmark = [pytest.mark.browser, pytest.mark.book, pytest.mark.slow]


def test_no_page_requests_anything_outside_the_book(desktop, phone_dark):
    attempts = [
        f"{page}: {url}"
        for visits in (desktop, phone_dark)
        for page, visit in visits.items()
        for url in visit.external_requests
    ]
    assert not attempts, "pages tried to load from outside the book:\n" + "\n".join(attempts)


def test_an_external_request_is_caught_and_recorded(site, site_pages):
    """The guard itself works: a request to a CDN is aborted and shows up in the visit."""
    context = site.new_context(DESKTOP)
    try:
        tab, visit = site.open(context, site_pages[0])
        outcome = tab.evaluate(
            """() => fetch('https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-svg.js')
                       .then(() => 'loaded', e => 'failed: ' + e.message)"""
        )
    finally:
        context.close()
    assert outcome.startswith("failed"), outcome
    assert visit.external_requests == ["https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-svg.js"]


def test_chromium_resolves_no_host_name(site):
    """Without any route, a lookup fails in the browser itself (host-resolver rules)."""
    context = site.new_context(DESKTOP)
    try:
        tab = context.new_page()
        tab.goto(site.url("search.html"))
        outcome = tab.evaluate(
            """() => fetch('http://example.com/', {mode: 'no-cors'})
                       .then(() => 'loaded', e => 'failed: ' + e.message)"""
        )
    finally:
        context.close()
    assert outcome.startswith("failed"), f"example.com was reachable: {outcome}"
