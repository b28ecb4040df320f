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
    r"""A tab or another control character in a page is almost always a backslash eaten by a
    Python string: ``"\times"`` in a string that is not raw becomes a tab and ``imes``."""
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


def page(slug: str) -> str:
    return (ROOT / "chapters" / slug / "index.md").read_text()


# Corrections of an expert review of the book's content: what each page must say now, and
# what it said before and must not say again. Numbers computed on a page are asserted by the
# page itself; these are the facts it cites.
CORRECTIONS = [
    # ImageNet: 26% was 2011's winner, 15.3% AlexNet's in 2012.
    (
        "13-classic-architectures",
        [r"In 2011 the best entry[^;]*26%", r"in 2012 AlexNet brought\s+that to 15\.3%"],
        [],
    ),
    # AlexNet's local response normalization, with PyTorch's alpha divided by the size.
    (
        "13-classic-architectures",
        [r"\*\*Local response normalization\*\*", r"alpha=5e-4"],
        [],
    ),
    # 384 filters in the 2014 paper's fourth layer; the 256 of torchvision from cuda-convnet2.
    ("13-classic-architectures", [r"384 filters in its fourth layer", r"cuda-convnet2"], []),
    # He et al.: the degradation is unlikely to be caused by vanishing gradients.
    ("13-classic-architectures", [r"unlikely to be caused by vanishing gradients"], []),
    # LeCun et al.: the padding centres features in the highest-level detectors' fields.
    ("11-lenet", [r"\*highest-level\*"], [r"PITFALLS", r"14 of 24", r"15x", r"15×"]),
    # The diagonal kernel sums to 2: it finds lines at -45 degrees; Prewitt, not Sobel.
    ("03-conv2d", [r"−45° lines", r"\*Prewitt\* operator"], [r"45° edge"]),
    ("06-making-conv-fast", [r"# a Sobel kernel"], []),
    ("08-pooling", [r"kernel of the Sobel operator"], []),
    # Shared weights (invariant in position) make the layer equivariant.
    ("01-dense-to-conv", [r"\*\*equivariance\*\*"], []),
    # The published MNIST-1D table has a GRU and a human expert, shuffled scores included.
    (
        "17-mnist1d",
        [r'"GRU": \(0\.91, 0\.57\)', r'"human expert": \(0\.96, 0\.30\)'],
        [r"four models"],
    ),
    # scikit-learn's digits: 32 x 32 bitmaps counted in 4 x 4 blocks, not scanned at 8 x 8.
    (
        "10-cnn-from-scratch",
        [r"32x32 bitmaps are divided into nonoverlapping blocks of 4x4"],
        [r"scanned at 8"],
    ),
    # GoogLeNet reduces with 1 x 1 convolutions and never expands back; ResNet's bottleneck does.
    ("05-channels-im2col", [r"never expands them back", r"expands them again to 256"], []),
    # Normalizing each channel leaves the correlation of neighbouring pixels as it was.
    ("03-conv2d", [r"leaves the correlation between neighbours exactly as it was"], []),
    # One relative error, one threshold, and how it compares with CS231n's.
    ("09-conv-backward", [r"This book's threshold is \$10\^\{-6\}\$", r"up to 2 times"], []),
    ("10-cnn-from-scratch", [r"assert worst < 1e-6"], []),
    ("12-normalization", [r"assert err_numeric < 1e-6"], []),
    # The ResNet chapter: He et al.'s recipe as it was; bfloat16 can still round updates away.
    (
        "18-resnet-training",
        [r"momentum 0\.9, weight decay\s+\$10\^\{-4\}\$", r"lost to rounding"],
        [r"Every CIFAR ResNet", r"cannot underflow", r"the standard (CIFAR )?recipe"],
    ),
    # DDP with batch norm: the identity's conditions, the measured gap, SyncBatchNorm.
    ("17-mnist1d", [r"Batch normalization breaks the first condition", r"--sync-batchnorm"], []),
]


@pytest.mark.parametrize(
    ("slug", "required", "forbidden"),
    CORRECTIONS,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(CORRECTIONS)],
)
def test_review_corrections_stay_made(slug, required, forbidden):
    text = page(slug)
    for pattern in required:
        assert re.search(pattern, text, flags=re.S), f"{slug}: no longer says {pattern!r}"
    for pattern in forbidden:
        assert not re.search(pattern, text), f"{slug}: says {pattern!r} again"


def test_the_conv1d_notebook_names_its_row_matrix_as_the_chapter_does():
    """The chapter's patch matrix holds a window per column; the notebook's rows are its
    transpose, and both say so with the same symbol."""
    import json

    notebook = json.loads((ROOT / "solutions" / "conv1d" / "conv1d.ipynb").read_text())
    part4 = next(c["source"] for c in notebook["cells"] if c["source"].startswith("## Part 4"))
    assert r"$y = \hat X^\top w$" in part4
    assert r"y = \hat X w" not in part4
    assert r"returns the row layout, $\hat{X}^\top$" in page("02-conv1d")
