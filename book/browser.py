"""Headless Chromium for the book: the system browser, kept offline, on a local HTTP server.

Shared by the browser tests (`tests/browser/`) and the PDF build (`book/pdf.py`). Playwright
(PyPI) drives Debian's Chromium (`/usr/bin/chromium`, installed by `make chromium`); Playwright's
own browser downloads (`playwright install`) are never used.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
HOST = "127.0.0.1"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}  # a current phone, CSS pixels

# Chromium resolves some Google hosts by itself (and `page.route` cannot see those lookups):
# every host name except 127.0.0.1 resolves to nothing. The rest turns off the traffic that a
# fresh profile starts in the background.
CHROMIUM_ARGS = [
    f"--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE {HOST}",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-domain-reliability",
    "--disable-sync",
    "--disable-breakpad",
    "--disable-client-side-phishing-detection",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-features=Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider,"
    "AutofillServerCommunication,CertificateTransparencyComponentUpdater",
    "--metrics-recording-only",
    "--no-default-browser-check",
    "--no-first-run",
    "--no-pings",
    "--safebrowsing-disable-auto-update",
]

# Resolves once MathJax has typeset the page (true), or at once when the page loads no MathJax.
WAIT_FOR_MATHJAX = """async () => {
  if (!window.MathJax || !MathJax.startup || !MathJax.startup.promise) return false;
  await MathJax.startup.promise;
  return true;
}"""


def chromium_executable() -> str:
    """Path of the system Chromium, or a clear error saying how to install it."""
    if not Path(CHROMIUM).is_file():
        raise FileNotFoundError(
            f"Chromium not found at {CHROMIUM}: run `make chromium` (Debian: "
            "`apt-get install -y chromium`) or set CHROMIUM=/path/to/chromium"
        )
    return CHROMIUM


def launch(playwright):
    """A headless system Chromium that can reach nothing but 127.0.0.1."""
    return playwright.chromium.launch(
        executable_path=chromium_executable(), headless=True, args=CHROMIUM_ARGS
    )


def is_local(url: str, origin: str) -> bool:
    """Whether `url` stays on the book's own server (or is inline data)."""
    scheme = urlsplit(url).scheme
    return scheme in ("data", "blob", "about") or url.startswith(origin + "/") or url == origin


def block_external_requests(context, origin: str) -> list[str]:
    """Abort every request of `context` that leaves `origin`; returns the list they go in."""
    attempts: list[str] = []

    def handle(route):
        url = route.request.url
        if is_local(url, origin):
            route.continue_()
        else:
            attempts.append(url)
            route.abort("blockedbyclient")

    context.route("**/*", handle)
    return attempts


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve `folder` over HTTP on 127.0.0.1 (a free port) in a thread; yields the origin."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer((HOST, 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="book-http", daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
