"""Every page of the built book, as a reader's browser shows it.

Generic over the table of contents: whatever pages the build holds are loaded (see
`conftest.py`: once at desktop width, once at phone width in dark mode) and checked.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

import pytest

from book.browser import DESKTOP, PHONE

pytestmark = [pytest.mark.browser, pytest.mark.book, pytest.mark.slow]

# Key pages for screenshots: the introduction, the 1D chapter, the pooling chapter.
SCREENSHOT_PAGES = {
    "intro": "intro.html",
    "conv1d": "chapters/02-conv1d/index.html",
    "pooling": "chapters/08-pooling/index.html",
}
RAW_TEX = re.compile(r"\$\$|\\\(|\\\)|\\\[|\\\]|\\begin\{|\\frac\{")


def report(failures: list[str], what: str) -> str:
    return f"{len(failures)} {what}:\n" + "\n".join(failures[:40])


def test_redirects_land_on_a_page(site, redirects, site_pages):
    context = site.new_context(DESKTOP)
    try:
        for page in redirects:
            tab = context.new_page()
            tab.goto(site.url(page))
            tab.wait_for_url(lambda url, page=page: url != site.url(page))
            landed = tab.url.removeprefix(site.origin + "/")
            assert landed in site_pages, f"{page} redirects to {landed}, not a page of the book"
            tab.close()
    finally:
        context.close()


def test_pages_load_without_errors(desktop):
    failures = []
    for page, visit in desktop.items():
        failures += [f"{page}: console error: {e}" for e in visit.console_errors]
        failures += [f"{page}: uncaught exception: {e}" for e in visit.page_errors]
        failures += [f"{page}: failed request: {e}" for e in visit.failed_requests]
    assert not failures, report(failures, "problems while loading pages")


def test_math_is_typeset(desktop):
    failures, typeset = [], 0
    for page, visit in desktop.items():
        data = visit.data
        failures += [f"{page}: not typeset: {tex}" for tex in data["untypeset"]]
        failures += [f"{page}: MathJax error: {e}" for e in data["mathErrors"]]
        if data["math"] and not data["mathContainers"]:
            failures.append(f"{page}: {data['math']} math elements, no mjx-container")
        raw = sorted(set(RAW_TEX.findall(data["text"])))
        if raw:
            at = RAW_TEX.search(data["text"]).start()
            context = data["text"][max(0, at - 60) : at + 60].replace("\n", " ")
            failures.append(f"{page}: raw TeX {raw} left in the text: ...{context}...")
        typeset += data["mathContainers"]
    assert not failures, report(failures, "math problems")
    assert typeset > 0, "no page of the book has typeset math"


def test_images_load(desktop):
    failures, count = [], 0
    for page, visit in desktop.items():
        count += len(visit.data["images"])
        failures += [f"{page}: {i['src']}" for i in visit.data["images"] if not i["loaded"]]
    assert not failures, report(failures, "images did not load")
    assert count > 0, "the book shows no image at all"


def test_no_cell_output_shows_a_traceback(desktop):
    failures = []
    for page, visit in desktop.items():
        failures += [f"{page}:\n{tb}" for tb in visit.data["tracebacks"]]
    assert not failures, report(failures, "cell outputs show a traceback")


def _target(site_root: str, url: str) -> tuple[str, str] | None:
    """(path relative to the site root, fragment) of a same-site link, None for others."""
    parts = urlsplit(url)
    if f"{parts.scheme}://{parts.netloc}" != site_root:
        return None
    path = unquote(parts.path).lstrip("/")
    if path == "" or path.endswith("/"):
        path += "index.html"
    return str(PurePosixPath(path)), unquote(parts.fragment)


def test_internal_links_and_anchors_resolve(site, desktop, html):
    anchors = {page: set(visit.data["anchors"]) for page, visit in desktop.items()}
    broken, internal, external = [], 0, 0
    for page, visit in desktop.items():
        for url in visit.data["links"]:
            if urlsplit(url).scheme not in ("http", "https"):
                continue  # mailto:, javascript:
            target = _target(site.origin, url)
            if target is None:
                external += 1
                continue
            internal += 1
            path, fragment = target
            if not (html / path).is_file():
                broken.append(f"{page}: {url} (no file {path})")
            elif fragment and path.endswith(".html"):
                ids = anchors.get(path)
                if ids is None:  # an HTML file that is not a page of the book
                    ids = set(re.findall(r'\b(?:id|name)="([^"]+)"', (html / path).read_text()))
                if fragment not in ids:
                    broken.append(f"{page}: {url} (no id {fragment!r} in {path})")
    print(f"{len(desktop)} pages, {internal} internal links checked, {external} external skipped")
    assert internal > 0
    assert not broken, report(broken, "internal links do not resolve")


def test_no_page_scrolls_sideways_on_a_phone(phone_dark):
    failures = [
        f"{page}: scrollWidth {v.data['scrollWidth']} > {PHONE['width']}, "
        f"too wide: {v.data['wide']}"
        for page, v in phone_dark.items()
        if v.data["scrollWidth"] > PHONE["width"] + 1
    ]
    assert not failures, report(failures, "pages scroll sideways at 390 px")


def test_dark_mode_keeps_figures_on_an_opaque_background(phone_dark):
    failures, figures = [], 0
    for page, visit in phone_dark.items():
        if visit.data["theme"] != "dark":
            failures.append(f"{page}: the dark theme did not apply ({visit.data['theme']})")
        for figure in visit.data["figures"]:
            figures += 1
            alpha = figure["alpha"]
            if alpha is None or min(alpha) < 255:
                failures.append(f"{page}: {figure['src']} has transparent corners {alpha}")
    assert not failures, report(failures, "figures unreadable in dark mode")
    assert figures > 0, "no figure found"


def test_phone_and_dark_visits_load_without_errors(phone_dark):
    failures = []
    for page, visit in phone_dark.items():
        failures += [f"{page}: {e}" for e in visit.console_errors + visit.page_errors]
        failures += [f"{page}: {e}" for e in visit.failed_requests]
    assert not failures, report(failures, "problems at phone width / dark mode")


def test_screenshots_of_key_pages(site, html, save_screenshot):
    saved = []
    for name, page in SCREENSHOT_PAGES.items():
        assert (html / page).is_file(), f"{page} is not in the build"
        for viewport in (DESKTOP, PHONE):
            context = site.new_context(viewport)
            try:
                tab, visit = site.open(context, page)
                saved.append(save_screenshot(tab, f"{name}-{viewport['width']}"))
            finally:
                context.close()
    context = site.new_context(DESKTOP, dark=True)
    try:
        tab, _ = site.open(context, SCREENSHOT_PAGES["conv1d"])
        tab.locator("article img").first.scroll_into_view_if_needed()
        saved.append(save_screenshot(tab, "conv1d-1280-dark-figure"))
    finally:
        context.close()
    for path in saved:
        print(path)
        assert path.stat().st_size > 10_000, f"{path} looks empty"
