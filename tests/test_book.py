"""End-to-end test of the web book: a strict build, executed pages, an offline site.

The book is built once per test session by the `html` fixture in `tests/conftest.py` (same
flags as `make book`, into a temporary folder); `tests/browser/` reads the same build.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

pytestmark = [pytest.mark.book, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = "chapters/02-conv1d/index.html"
MATHJAX = "_static/mathjax/tex-svg-full.js"

# Attributes through which a page makes the browser load something by itself.
LOADING_ATTRIBUTES = {
    "script": ("src",),
    "link": ("href",),
    "img": ("src", "srcset"),
    "iframe": ("src",),
    "source": ("src", "srcset"),
    "audio": ("src",),
    "video": ("src", "poster"),
    "embed": ("src",),
    "object": ("data",),
}
FORBIDDEN_HOSTS = (
    "unpkg.com",
    "jsdelivr",
    "cdnjs",
    "googleapis",
    "gstatic",
    "mathjax.org",
    "googletagmanager",
    "hypothes.is",
    "utteranc.es",
    "plausible.io",
)


class TagCollector(HTMLParser):
    """Collects (tag, attribute, value) for every attribute of every start tag.

    A ``<link rel="canonical">`` (Sphinx writes one per page from ``html.baseurl``: the page's
    published address, which a browser never loads) is kept apart in ``canonical``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.attributes: list[tuple[str, str, str]] = []
        self.canonical: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "link" and ("rel", "canonical") in attrs:
            self.canonical += [value or "" for name, value in attrs if name == "href"]
            return
        self.attributes += [(tag, name, value or "") for name, value in attrs]

    def handle_data(self, data):
        self.text.append(data)


def parse(page: Path) -> TagCollector:
    collector = TagCollector()
    collector.feed(page.read_text(encoding="utf-8"))
    return collector


def is_external(url: str) -> bool:
    return url.startswith("//") or urlsplit(url).scheme not in ("", "data")


def urls(value: str, attribute: str) -> list[str]:
    """The URLs in an attribute value (a srcset lists several, each with a size)."""
    if attribute == "srcset":
        return [part.split()[0] for part in value.split(",") if part.strip()]
    return [value]


def local_target(page: Path, url: str) -> Path:
    """The file that a relative URL in `page` points to."""
    return (page.parent / unquote(urlsplit(url).path)).resolve()


def test_pages_exist(html):
    for page in ("index.html", "intro.html", CHAPTER, "search.html"):
        assert (html / page).is_file(), f"{page} was not built"


def test_exercise_notebooks_are_not_pages(html):
    assert not (html / "chapters/02-conv1d/conv1d.html").exists(), (
        "the student notebook was built as a page; it must only be offered as a download"
    )


def test_title(html):
    assert "Convolutional Neural Networks from Scratch" in (html / "intro.html").read_text("utf-8")


def test_chapter_shows_executed_outputs(html):
    text = (html / CHAPTER).read_text(encoding="utf-8")
    # Pasted (glued) from the executed worked example: valid and 'same' outputs.
    assert "(7, 8, 16, 14)" in text
    assert "(2, 7, 8, 16, 14, 11)" in text
    # Printed by a code cell: the TensorFlow 'same' example n=13, k=6, s=5.
    assert "o = ceil(13/5) = 3" in text
    assert "p = (3 - 1)*5 + 6 - 13 = 3: 1 before, 2 after" in text
    assert "cell_output" in text, "no code cell output on the chapter page"


def test_chapter_figures_are_rendered(html):
    page = html / CHAPTER
    images = [
        value for tag, name, value in parse(page).attributes if tag == "img" and name == "src"
    ]
    figures = [src for src in images if "_images/" in src]
    assert len(figures) >= 5, f"expected the chapter's figures, found {images}"
    for src in figures:
        assert local_target(page, src).is_file(), f"figure {src} is missing"


def test_no_external_resources(pages):
    offending = []
    for page in pages:
        for tag, attribute, value in parse(page).attributes:
            if attribute in LOADING_ATTRIBUTES.get(tag, ()):
                offending += [
                    f"{page.name}: <{tag} {attribute}={url}>"
                    for url in urls(value, attribute)
                    if is_external(url)
                ]
        text = page.read_text(encoding="utf-8")
        offending += [f"{page.name}: mentions {host}" for host in FORBIDDEN_HOSTS if host in text]
    assert not offending, "pages load resources from outside the site:\n" + "\n".join(offending)


def test_canonical_addresses_are_the_configured_book_url(html, pages):
    """Each page names its published address (never loaded) under `html.baseurl`, the address
    the notebooks' setup cell installs the learner kit from."""
    base = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["html"]["baseurl"]
    for page in pages:
        found = parse(page).canonical
        expected = base + page.relative_to(html).as_posix()
        assert found in ([], [expected]), f"{page.name}: canonical {found}, want {expected}"
    assert parse(html / CHAPTER).canonical == [base + CHAPTER]


def test_no_external_urls_in_stylesheets(html):
    offending = []
    for sheet in html.rglob("*.css"):
        text = sheet.read_text(encoding="utf-8", errors="replace")
        for chunk in text.split("url(")[1:]:
            url = chunk.split(")", 1)[0].strip("'\" ")
            if is_external(url):
                offending.append(f"{sheet.relative_to(html)}: {url}")
    assert not offending, "stylesheets load from outside the site:\n" + "\n".join(offending)


def test_local_links_resolve(html, pages):
    broken = []
    for page in pages:
        for tag, attribute, value in parse(page).attributes:
            if attribute not in ("href", "src") or tag not in (*LOADING_ATTRIBUTES, "a"):
                continue
            if not value or value.startswith(("#", "mailto:", "javascript:")) or is_external(value):
                continue
            target = local_target(page, value)
            if not target.exists():
                broken.append(f"{page.relative_to(html)}: <{tag} {attribute}={value}>")
    assert not broken, "links to missing files:\n" + "\n".join(broken)


def test_mathjax_is_bundled_and_referenced(html):
    mathjax = html / MATHJAX
    assert mathjax.is_file() and mathjax.stat().st_size > 1_000_000, "MathJax 3 is not bundled"
    assert 'VERSION="3.' in mathjax.read_text(encoding="utf-8"), "not MathJax 3"
    assert (mathjax.parent / "LICENSE").is_file(), "MathJax's licence must ship with it"
    page = html / CHAPTER
    scripts = [
        value for tag, name, value in parse(page).attributes if tag == "script" and name == "src"
    ]
    assert any(local_target(page, src) == mathjax.resolve() for src in scripts), (
        f"the chapter does not load {MATHJAX}; its scripts are {scripts}"
    )
    assert r"\lfloor" in page.read_text(encoding="utf-8"), "the chapter has no math to typeset"


def test_exercise_notebook_is_downloadable(html):
    page = html / CHAPTER
    links = [
        value
        for tag, name, value in parse(page).attributes
        if tag == "a"
        and name == "href"
        and value.endswith("conv1d.ipynb")
        and not is_external(value)
    ]
    assert links, "the chapter has no download link to conv1d.ipynb"
    for href in links:
        target = local_target(page, href)
        assert target.is_file(), f"{href} does not resolve"
        assert (html / "_downloads") in target.parents, f"{href} is not under _downloads"
        notebook = json.loads(target.read_text(encoding="utf-8"))
        assert notebook["cells"], f"{href} is an empty notebook"
