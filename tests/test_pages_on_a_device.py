"""Every training page runs on an accelerator: its code cells, run on the simulated device
(book.simulated_device), never mix the device's tensors with the CPU's.

A CPU-only machine cannot see that class of bug (chapter 15 crashed on the first GPU it met:
the model on `cuda`, the test images still on the CPU). Here each page runs as the book runs
it, but on a simulated accelerator that refuses what a GPU refuses, in the smoke mode of
`book.page_cells` (every `fit` one epoch of two batches, assertions evaluated but not
enforced): the page's results are the book build's business, its device discipline is this
test's.
"""

import re
from pathlib import Path

import pytest
import torch

from book.page_cells import on_simulated_device, one_epoch_fits, run_cells
from book.simulated_device import DeviceMismatch

# matplotlib's imshow of a tensor, with NumPy 2 and this PyTorch: not ours, not a device issue.
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)
ROOT = Path(__file__).resolve().parents[1]
TRAINING_PAGES = [
    "11-lenet",
    "12-normalization",
    "13-classic-architectures",
    "14-efficient-convolutions",
    "15-visualizing",
    "16-upsampling",
    "17-mnist1d",
    "18-resnet-training",
]


@pytest.fixture(autouse=True)
def quiet_and_quick(monkeypatch, tmp_path):
    monkeypatch.setenv("TQDM_DISABLE", "1")
    monkeypatch.setenv("COURSE_PROFILE", "quick")
    monkeypatch.setenv("COURSE_DATA", str(tmp_path / "no-data"))  # the digits, never CIFAR
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def run_page_on_the_device(page: Path) -> list[int]:
    with on_simulated_device(), one_epoch_fits():
        return [run.index for run in run_cells(page, enforce_asserts=False)]


TRAIN = """\
```{code-cell} ipython3
import torch
from cnnbook.datasets import as_datasets, digits
from cnnbook.models import lenet5
from cnnbook.training import TrainConfig, fit

data = digits(32)
model = lenet5()
history = fit(model, *as_datasets(data), TrainConfig(epochs=3, progress=False))
x_test = torch.from_numpy(data.x_test)
```
"""
BUG = """
```{code-cell} ipython3
with torch.no_grad():
    scores = model(x_test[:4])  # x_test on the CPU, model on the device
```
"""
FIX = """
```{code-cell} ipython3
with torch.no_grad():
    scores = model(x_test[:4].to(next(model.parameters()).device)).cpu()
assert scores.shape == (4, 10)
```
"""


def test_the_check_catches_chapter_15s_bug(tmp_path):
    """Chapter 15 as it was before it ran on a GPU: this check fails on it, and passes once
    the inputs follow the model."""
    buggy, fixed = tmp_path / "buggy.md", tmp_path / "fixed.md"
    buggy.write_text(TRAIN + BUG)
    fixed.write_text(TRAIN + FIX)
    with pytest.raises(DeviceMismatch, match="same device"):
        run_page_on_the_device(buggy)
    assert run_page_on_the_device(fixed) == [0, 1]
    # On the CPU alone, the bug is invisible.
    assert [run.index for run in run_cells(buggy)] == [0, 1]


def test_every_page_that_trains_is_checked():
    """A new page that trains (or picks a device) joins TRAINING_PAGES, or this fails."""
    uses_a_device = re.compile(r"\bfit\(|choose_device|fastest_device|\.to\(device")
    pages = sorted(
        page.parent.name
        for page in (ROOT / "chapters").glob("*/index.md")
        if uses_a_device.search(page.read_text())
    )
    assert pages == TRAINING_PAGES


@pytest.mark.slow
@pytest.mark.parametrize("chapter", TRAINING_PAGES)
def test_training_page_runs_on_an_accelerator(chapter):
    page = ROOT / "chapters" / chapter / "index.md"
    ran = run_page_on_the_device(page)
    assert len(ran) > 5 and ran == list(range(len(ran)))


def test_code_cells_keep_the_code_and_read_the_tags(tmp_path):
    from book.page_cells import code_cells

    page = tmp_path / "page.md"
    page.write_text(
        "Text\n\n```{code-cell} ipython3\n:tags: [remove-cell, hide-input]\n\n"
        "%config InlineBackend.figure_formats = ['svg']\nx = 1\n```\n\n"
        "```{code-cell} ipython3\nassert x == 1\n```\n\n```python\nnot a cell\n```\n"
    )
    first, second = code_cells(page)
    assert first.tags == ["remove-cell", "hide-input"]
    assert "%config" not in first.source and "x = 1" in first.source
    assert second.source == "assert x == 1\n" and second.tags == []
