"""Fixtures shared by the suites: the web book, built once per test session.

`tests/test_book.py` (HTML checks) and `tests/browser/` (headless Chromium) both read the same
build. It is made with the flags of `make book` (warnings are errors, every page re-read) into
a temporary folder, so the suite never disturbs `_build/html`. Notebook execution results come
from the shared cache in `_build/.jupyter_cache`, so a page runs again only when its code
changed.

Set `BOOK_HTML=/path/to/_build/html` to test an existing build instead (for example while
working on the tests themselves); the default always builds from the sources.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def build_book(out: Path) -> Path:
    """Build the book from ROOT into `out`; returns the HTML folder."""
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    assert jupyter_book.exists(), f"{jupyter_book} is missing: install the book extras"
    # Same flags as `make book`; cwd and the cache path do not depend on the output folder.
    command = [
        str(jupyter_book),
        "build",
        str(ROOT),
        "--path-output",
        str(out),
        "--builder",
        "html",
        "--warningiserror",
        "--keep-going",
        "--all",
    ]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    log = (result.stdout + result.stderr)[-8000:]
    assert result.returncode == 0, f"book build failed (exit {result.returncode}):\n{log}"
    return out / "_build" / "html"


@pytest.fixture(scope="session")
def html(tmp_path_factory) -> Path:
    """The built web book (the folder holding index.html), one build per test session."""
    existing = os.environ.get("BOOK_HTML")
    if existing:
        folder = Path(existing).resolve()
        assert (folder / "index.html").is_file(), f"BOOK_HTML={existing} holds no built book"
        return folder
    # Under pytest-xdist every worker has its own session: the first to get here builds, the
    # others wait on the lock and reuse that build (two builds would share one execution cache).
    shared = tmp_path_factory.getbasetemp().parent
    if "PYTEST_XDIST_WORKER" not in os.environ:
        shared = tmp_path_factory.getbasetemp()
    done = shared / "book-build-done"
    with (shared / "book-build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.is_file():
            return Path(done.read_text())
        folder = build_book(shared / "book")
        done.write_text(str(folder))
        return folder


@pytest.fixture(scope="session")
def pages(html) -> list[Path]:
    """Every HTML page of the build (not the theme's Jinja templates under _static/)."""
    found = sorted(p for p in html.rglob("*.html") if "_static" not in p.relative_to(html).parts)
    assert found, "the build wrote no HTML page"
    return found


@pytest.fixture(scope="session")
def kit(html, tmp_path_factory) -> Path:
    """The learner kit of `make dist`, built from the session's book (a few seconds)."""
    from book.kit import build_kit

    return build_kit(tmp_path_factory.mktemp("kit") / "dist", html)


@pytest.fixture(scope="session")
def learner_wheel(tmp_path_factory) -> Path:
    """The learner wheel alone (no book needed): `book.kit.build_wheel`."""
    from book.kit import build_wheel

    return build_wheel(tmp_path_factory.mktemp("wheel"))


# first: pytest-xdist reads the groups in its own hook (it was registered after this file)
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Under ``--dist loadgroup``, every test that reads the built book runs on one worker: it
    builds the book and goes on with those tests, while the other worker runs the rest (a worker
    that needed the book too would wait on the lock, idle, for the whole build)."""
    for item in items:
        if "html" in getattr(item, "fixturenames", ()) and not item.get_closest_marker(
            "xdist_group"
        ):
            item.add_marker(pytest.mark.xdist_group("book"))


def pytest_runtest_setup(item):
    """Fails a test that pytest-xdist left out of its group (3.8 does so silently under pytest
    9): every worker would grade the same classes again and wait for the same book build."""
    grouping = getattr(item.config.option, "loadgroup", False)
    if grouping and item.get_closest_marker("xdist_group") and "@" not in item.nodeid:
        pytest.fail(
            "pytest-xdist did not put this test in its xdist_group: this pytest and "
            "pytest-xdist do not work together (use the pins of pyproject.toml)",
            pytrace=False,
        )
