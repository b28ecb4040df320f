"""The built book in a real browser: headless Debian Chromium driven by Playwright.

The session's book build (the `html` fixture of `tests/conftest.py`) is served over HTTP on
127.0.0.1 (a free port, a thread of this process). Every page is visited twice, once per
session: at desktop width (1280 px, light theme) and at phone width (390 px, dark theme). Each
visit records what went wrong while loading (console errors, uncaught exceptions, failed
requests, requests that tried to leave 127.0.0.1, which are aborted) and collects, in one pass
over the DOM, what the tests check. The tests then only read these reports, so adding a check
costs no extra page load.

Screenshots go to `_build/screenshots/` and their names are listed at the end of the run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from book.browser import DESKTOP, PHONE, WAIT_FOR_MATHJAX, is_local, launch, serve

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "_build" / "screenshots"
SAVED_SCREENSHOTS: list[Path] = []

# One pass over a loaded page at desktop width: what every test of test_pages.py reads.
COLLECT_DESKTOP = """async () => {
  const images = [...document.images];
  images.forEach(i => { i.loading = 'eager'; });
  await Promise.all(images.map(i => i.decode().catch(() => null)));
  const math = [...document.querySelectorAll('.math')];
  const main = (document.querySelector('main') || document.body).cloneNode(true);
  main.querySelectorAll('pre, code, script, style, textarea, mjx-container, .highlight')
      .forEach(e => e.remove());
  const outputs = [...document.querySelectorAll('.cell_output .output, .output')];
  return {
    url: location.href,
    title: document.title,
    images: images.map(i => ({src: i.currentSrc || i.src,
                              loaded: i.complete && i.naturalWidth > 0})),
    math: math.length,
    mathContainers: document.querySelectorAll('mjx-container').length,
    untypeset: math.filter(m => !m.querySelector('mjx-container'))
                   .map(m => m.textContent.trim().slice(0, 80)),
    mathErrors: [...document.querySelectorAll('mjx-merror, [data-mjx-error]')]
                   .map(e => e.getAttribute('data-mjx-error') || e.textContent.slice(0, 80)),
    text: main.textContent,
    tracebacks: outputs
      .filter(o => o.classList.contains('traceback') || o.classList.contains('error')
                   || o.textContent.includes('Traceback (most recent call last)'))
      .filter(o => !o.closest('.tag_raises-exception'))
      .map(o => o.textContent.trim().slice(0, 300)),
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    anchors: [...document.querySelectorAll('[id]')].map(e => e.id)
               .concat([...document.querySelectorAll('a[name]')].map(a => a.name)),
  };
}"""

# One pass at phone width in dark mode: sideways scrolling and the figures' backgrounds.
COLLECT_PHONE_DARK = """async () => {
  const figures = [...document.images].filter(i => i.src.includes('/_images/'));
  figures.forEach(i => { i.loading = 'eager'; });
  await Promise.all(figures.map(i => i.decode().catch(() => null)));
  const width = document.documentElement.clientWidth;
  const corners = figures.map(img => {
    const w = img.naturalWidth, h = img.naturalHeight;
    if (!w || !h) return {src: img.src, alpha: null};
    const canvas = document.createElement('canvas');
    canvas.width = w; canvas.height = h;
    const g = canvas.getContext('2d');
    g.drawImage(img, 0, 0, w, h);
    // 2 px in from each corner: an SVG's last row and column are partly covered pixels.
    const alpha = [[2, 2], [w - 3, 2], [2, h - 3], [w - 3, h - 3]]
      .map(([x, y]) => g.getImageData(x, y, 1, 1).data[3]);
    return {src: img.src, alpha};
  });
  const describe = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
    + (e.className && typeof e.className === 'string'
       ? '.' + e.className.trim().split(/\\s+/).join('.') : '');
  // What sticks out: wider than the screen and not clipped by a scrolling ancestor.
  const clipped = e => {
    for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== 'visible') return true;
    }
    return false;
  };
  const wide = [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > width + 1 && !clipped(e))
    .filter(e => getComputedStyle(e).position !== 'fixed')
    .filter(e => !e.parentElement || e.parentElement.getBoundingClientRect().right <= width + 1)
    .slice(0, 8).map(e => describe(e) + ' (' + Math.round(e.getBoundingClientRect().right) + 'px)');
  return {
    url: location.href,
    theme: document.documentElement.dataset.theme,
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: width,
    wide,
    figures: corners,
  };
}"""


@dataclass
class Visit:
    """What happened while one page loaded, and what was collected from it."""

    page: str  # path relative to the site root, e.g. chapters/02-conv1d/index.html
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)
    data: dict = field(default_factory=dict)


class Site:
    """The book served on 127.0.0.1 and a headless Chromium that reaches nothing else."""

    def __init__(self, html: Path, origin: str, browser) -> None:
        self.html = html
        self.origin = origin
        self.browser = browser

    def url(self, page: str) -> str:
        return f"{self.origin}/{page}"

    def new_context(self, viewport: dict, dark: bool = False):
        context = self.browser.new_context(
            viewport=viewport,
            color_scheme="dark" if dark else "light",
            accept_downloads=True,
        )
        if dark:  # what the theme's switch stores (pydata-sphinx-theme 0.15)
            context.add_init_script(
                "localStorage.setItem('mode', 'dark'); localStorage.setItem('theme', 'dark');"
            )
        return context

    def open(self, context, page: str, collect: str | None = None):
        """Load `page` in a new tab of `context`, wait for MathJax; returns (tab, Visit)."""
        visit = Visit(page)
        tab = context.new_page()
        tab.on(
            "console",
            lambda m: (
                visit.console_errors.append(f"{m.text} ({m.location.get('url', '')})")
                if m.type == "error"
                else None
            ),
        )
        tab.on("pageerror", lambda e: visit.page_errors.append(str(e)))
        tab.on(
            "requestfailed",
            lambda r: (
                visit.failed_requests.append(f"{r.url}: {r.failure}")
                if is_local(r.url, self.origin)
                else None
            ),
        )
        tab.on(
            "response",
            lambda r: (
                visit.failed_requests.append(f"{r.url}: HTTP {r.status}")
                if r.status >= 400
                else None
            ),
        )

        def route(request_route):
            url = request_route.request.url
            if is_local(url, self.origin):
                request_route.continue_()
            else:
                visit.external_requests.append(url)
                request_route.abort("blockedbyclient")

        tab.route("**/*", route)
        tab.goto(self.url(page), wait_until="load")
        tab.evaluate(WAIT_FOR_MATHJAX)
        if collect:
            visit.data = tab.evaluate(collect)
        return tab, visit

    def visit_all(self, pages: list[str], viewport: dict, collect: str, dark: bool = False):
        context = self.new_context(viewport, dark)
        visits = {}
        try:
            for page in pages:
                tab, visit = self.open(context, page, collect)
                tab.close()
                visits[page] = visit
        finally:
            context.close()
        return visits


@pytest.fixture(scope="session")
def save_screenshot():
    """save_screenshot(tab, name) -> path: a PNG of the tab's viewport in _build/screenshots/."""

    def save(tab, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        tab.screenshot(path=str(path))
        SAVED_SCREENSHOTS.append(path)
        return path

    return save


@pytest.fixture(scope="session")
def site(html):
    from playwright.sync_api import sync_playwright

    with serve(html) as origin, sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            yield Site(html, origin, browser)
        finally:
            browser.close()


def is_redirect(page: Path) -> bool:
    """Whether `page` only redirects elsewhere (Jupyter Book's index.html)."""
    text = page.read_text(encoding="utf-8", errors="replace")
    return len(text) < 2000 and 'http-equiv="refresh"' in text.lower()


@pytest.fixture(scope="session")
def site_pages(html, pages) -> list[str]:
    """Every page of the build, as paths relative to the site root (redirects left out)."""
    return [page.relative_to(html).as_posix() for page in pages if not is_redirect(page)]


@pytest.fixture(scope="session")
def redirects(html, pages) -> list[str]:
    """The pages that only redirect (meta refresh), relative to the site root."""
    return [page.relative_to(html).as_posix() for page in pages if is_redirect(page)]


@pytest.fixture(scope="session")
def desktop(site, site_pages) -> dict[str, Visit]:
    """Every page loaded once at 1280 px, light theme."""
    return site.visit_all(site_pages, DESKTOP, COLLECT_DESKTOP)


@pytest.fixture(scope="session")
def phone_dark(site, site_pages) -> dict[str, Visit]:
    """Every page loaded once at 390 px, dark theme."""
    return site.visit_all(site_pages, PHONE, COLLECT_PHONE_DARK, dark=True)


def pytest_terminal_summary(terminalreporter):
    if SAVED_SCREENSHOTS:
        terminalreporter.section("browser screenshots")
        for path in SAVED_SCREENSHOTS:
            terminalreporter.write_line(str(path.relative_to(ROOT)))
