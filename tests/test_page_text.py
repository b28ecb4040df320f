"""Checks on the text of the book's pages that need no build: what a page may refer to, the
order of the introduction, and that every training method is explained where it is first used.

The numbers in the pages' prose are checked by the pages themselves (glued from their code or
asserted there) when they run; these tests read the sources only.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
PAGES = [ROOT / "intro.md"] + [
    ROOT / f"{chapter['file']}.md" for part in TOC["parts"] for chapter in part["chapters"]
]
CODE_CELL = re.compile(r"^```\{code-cell\}[^\n]*\n(.*?)^```", flags=re.S | re.M)


def code_of(page: Path) -> str:
    return "\n".join(CODE_CELL.findall(page.read_text()))


def prose_of(page: Path) -> str:
    return CODE_CELL.sub("", page.read_text())


@pytest.mark.parametrize(
    "page", PAGES, ids=lambda p: p.parent.name if p.name == "index.md" else p.name
)
def test_no_control_characters(page):
    """A tab or another control character in a page is almost always a backslash eaten by a
    Python string (``"\\times"`` written as ``"\times"`` becomes a tab and ``imes``)."""
    text = page.read_text()
    bad = [
        (n, line)
        for n, line in enumerate(text.splitlines(), 1)
        if re.search(r"[\x00-\x08\x0b-\x1f\x7f]", line)
    ]
    assert not bad, f"{page.relative_to(ROOT)}: control characters on lines {[n for n, _ in bad]}"


@pytest.mark.parametrize(
    "page", PAGES, ids=lambda p: p.parent.name if p.name == "index.md" else p.name
)
def test_no_reference_to_the_projects_working_notes(page):
    """The book never sends its reader to notes that are not part of it."""
    text = page.read_text()
    for forbidden in ("PITFALLS", "STYLE.md", "shared/", "/work/"):
        assert forbidden not in text, f"{page.relative_to(ROOT)} mentions {forbidden!r}"


def test_introduction_lists_the_parts_in_the_order_of_the_table_of_contents():
    intro = (ROOT / "intro.md").read_text()
    section = intro.split("## How the book is organised", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\d+\. \*\*(.+?)\.\*\*", section, flags=re.M)
    assert listed == [part["caption"] for part in TOC["parts"]]


# (what a page's code uses, the explanation a page must give, the explanation's pattern)
METHODS = [
    ("Adam", r"optim\.Adam\b|optimizer=\"adam\"", r"\*Adam\* \(Kingma and Ba"),
    (
        "AdamW",
        r"optim\.AdamW|optimizer=\"adamw\"|TrainConfig\((?![^)]*optimizer=)",
        r"\*AdamW\* \(Loshchilov",
    ),
    ("weight decay", r"weight_decay=", r"\*Weight decay\*"),
    ("momentum", r"momentum=", r"\*Momentum\*"),
    ("Nesterov momentum", r"nesterov=True|optimizer=\"sgd\"", r"\*Nesterov\* momentum"),
    ("dropout", r"nn\.Dropout|F\.dropout", r"\(\*inverted\* dropout\)"),
    (
        "label smoothing",
        r"label_smoothing=(?!0\.0)",
        r"\*\*Label smoothing\*\*|\*label smoothing\*",
    ),
    (
        "one-cycle schedule",
        r"OneCycleLR|schedule=\"onecycle\"",
        r"\*one-cycle schedule\*|\*\*The one-cycle schedule\*\*",
    ),
    ("cosine schedule", r"schedule=\"cosine\"|CosineAnnealing", r"\*\*A cosine schedule\*\*"),
]


@pytest.mark.parametrize(("method", "used", "explained"), METHODS, ids=[m[0] for m in METHODS])
def test_every_training_method_is_explained_where_it_is_first_used(method, used, explained):
    first_use = next((i for i, page in enumerate(PAGES) if re.search(used, code_of(page))), None)
    assert first_use is not None, f"no page uses {method} any more: drop it from this test"
    explanation = next(
        (i for i, page in enumerate(PAGES) if re.search(explained, prose_of(page))), None
    )
    page = PAGES[first_use].relative_to(ROOT)
    assert explanation is not None, f"{method} is used ({page}) but never explained"
    assert explanation <= first_use, (
        f"{method} is first used in {page} but explained only in "
        f"{PAGES[explanation].relative_to(ROOT)}"
    )
