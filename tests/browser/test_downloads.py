"""Exercise pages offer the student notebooks, and a reader downloads the released version.

Generic over the table of contents: every chapter folder that holds student notebooks
(`chapters/NN-slug/*.ipynb`, written by `python -m autograder release`) must offer each of
them from its page, and the file the browser downloads must be that notebook byte for byte,
with no solution or hidden test in it, that sets itself up from the learner kit the book serves
(its first cell) and checks itself (its last cell).
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

import pytest

from autograder.release import CHECK_ID, SETUP_ID, course_kit_url
from book.browser import DESKTOP

pytestmark = [pytest.mark.browser, pytest.mark.book, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
INSTRUCTOR_MARKUP = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


def exercise_pages(site_pages: list[str]) -> dict[str, list[Path]]:
    """Chapter page -> the student notebooks in its source folder."""
    found = {}
    for page in site_pages:
        folder = ROOT / PurePosixPath(page).parent
        if PurePosixPath(page).name == "index.html" and folder != ROOT:
            notebooks = sorted(folder.glob("*.ipynb"))
            if notebooks:
                found[page] = notebooks
    return found


def test_every_exercise_notebook_is_offered(desktop, site_pages):
    pages = exercise_pages(site_pages)
    assert pages, "no chapter of the book has an exercise notebook"
    missing = []
    for page, notebooks in pages.items():
        offered = {
            PurePosixPath(url.split("?")[0].split("#")[0]).name
            for url in desktop[page].data["links"]
            if "/_downloads/" in url
        }
        missing += [f"{page}: {nb.name}" for nb in notebooks if nb.name not in offered]
    assert not missing, "exercise notebooks without a download link:\n" + "\n".join(missing)


def test_downloaded_notebooks_are_the_released_versions(site, site_pages):
    downloaded = []
    context = site.new_context(DESKTOP)
    try:
        for page, notebooks in exercise_pages(site_pages).items():
            tab, _ = site.open(context, page)
            for notebook in notebooks:
                link = tab.locator(f'a[href*="/_downloads/"][href$="/{notebook.name}"]').first
                with tab.expect_download() as info:
                    link.click()
                download = info.value
                data = Path(download.path()).read_bytes()
                assert download.suggested_filename == notebook.name
                assert data == notebook.read_bytes(), (
                    f"{page} offers a {notebook.name} that differs from "
                    f"{notebook.relative_to(ROOT)}: rebuild the book after `release`"
                )
                text = data.decode("utf-8")
                leaked = [mark for mark in INSTRUCTOR_MARKUP if mark in text]
                assert not leaked, f"{notebook.name} as downloaded contains {leaked}"
                cells = json.loads(text)["cells"]
                first, last = cells[0], cells[-1]
                assert first["metadata"]["nbgrader"]["grade_id"] == SETUP_ID, notebook.name
                assert course_kit_url() in first["source"], f"{notebook.name}: setup cell's URL"
                assert last["metadata"]["nbgrader"]["grade_id"] == CHECK_ID, notebook.name
                assert "check.this_notebook()" in last["source"], notebook.name
                downloaded.append(f"{page} -> {notebook.name}")
            tab.close()
    finally:
        context.close()
    print("\n".join(downloaded))
