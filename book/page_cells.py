"""Run the code cells of a chapter page as one Python script, in order, as the book executes them.

    python -m book.page_cells chapters/15-visualizing/index.md
    python -m book.page_cells chapters/15-visualizing/index.md --simulated-device mps

Jupyter Book runs a page's ``{code-cell}`` blocks in one kernel. This does the same without a
kernel: IPython magics (``%config ...``) are skipped, figures go to the Agg backend and
``plt.show()`` closes them, and ``myst_nb.glue`` records the pasted values. It prints one line per
cell with its time, and the page's total.

With ``--simulated-device`` the page runs with ``COURSE_DEVICE`` set to a simulated accelerator
(``book.simulated_device``) on which every tensor the page moves there is kept apart from the
CPU's, as on a real GPU: a cell that mixes them fails as it would on CUDA or MPS. Choices of
device by measurement (``cnnbook.throughput.fastest_device``) fall on the simulated device
too, which is slower than the CPU it runs on and would otherwise lose every time.

With ``--smoke`` the page runs quickly, to check its code paths rather than its results: every
``cnnbook.training.fit`` trains one epoch of two batches and reports its remaining epochs as
copies of the last one with an accuracy of 1 (so that later cells that read the history run as
after a full run), and ``assert`` statements are evaluated (an error inside one still fails the
run) but not enforced.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import dataclasses
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

CELL = re.compile(r"^```\{code-cell\}[^\n]*\n(.*?)^```", flags=re.S | re.M)


@dataclass
class Cell:
    """One code cell: its index on the page, its source (options and magics removed), its tags."""

    index: int
    source: str
    tags: list[str] = field(default_factory=list)


def code_cells(page: str | Path) -> list[Cell]:
    """The code cells of a MyST page, in order. Cell options (``:tags: [...]``) become ``tags``;
    lines that are IPython magics (``%...``) are left out of ``source``."""
    cells = []
    for index, match in enumerate(CELL.finditer(Path(page).read_text())):
        tags: list[str] = []
        lines = []
        for line in match.group(1).splitlines():
            option = re.match(r"^:tags:\s*\[(.*)\]\s*$", line)
            if option:
                tags = [t.strip().strip("'\"") for t in option.group(1).split(",") if t.strip()]
            elif line.startswith(":") and not lines:
                continue  # another cell option
            elif line.lstrip().startswith("%"):
                continue
            else:
                lines.append(line)
        cells.append(Cell(index, "\n".join(lines) + "\n", tags))
    return cells


class _EvaluateAsserts(ast.NodeTransformer):
    """``assert test, message`` -> ``test``: evaluated, not enforced."""

    def visit_Assert(self, node: ast.Assert) -> ast.Expr:
        return ast.copy_location(ast.Expr(value=node.test), node)


def _compile(cell: Cell, page: str | Path, enforce_asserts: bool):
    filename = f"{page}#cell{cell.index}"
    if enforce_asserts:
        return compile(cell.source, filename, "exec")
    tree = ast.fix_missing_locations(_EvaluateAsserts().visit(ast.parse(cell.source)))
    return compile(tree, filename, "exec")


@contextlib.contextmanager
def one_epoch_fits():
    """Inside: ``cnnbook.training.fit`` trains one epoch on (at most) the first two batches of a
    ``TensorDataset`` and pads its history to the epochs it was asked for with copies of the
    last row whose accuracies are 1."""
    from torch.utils.data import TensorDataset

    from cnnbook import training

    real_fit = training.fit

    def short_fit(model, train_set, test_set, cfg, *args, **kwargs):
        if isinstance(train_set, TensorDataset):  # two batches are enough to run every line
            train_set = TensorDataset(*(t[: 2 * cfg.batch_size] for t in train_set.tensors))
        history = real_fit(
            model, train_set, test_set, dataclasses.replace(cfg, epochs=1), *args, **kwargs
        )
        last = history[-1]
        for epoch in range(2, cfg.epochs + 1):
            history.append({**last, "epoch": epoch, "train_acc": 1.0, "test_acc": 1.0})
        return history

    training.fit = short_fit
    try:
        yield
    finally:
        training.fit = real_fit


@contextlib.contextmanager
def on_simulated_device(device_type: str = "mps"):
    """``book.simulated_device.simulated_device``, with ``fastest_device`` choosing it."""
    import torch

    from book.simulated_device import simulated_device
    from cnnbook import throughput

    real_fastest = throughput.fastest_device

    def fastest_is_the_device(*args, **kwargs):
        _, seconds = real_fastest(*args, **kwargs)
        return torch.device(device_type), seconds

    with simulated_device(device_type):
        throughput.fastest_device = fastest_is_the_device
        try:
            yield
        finally:
            throughput.fastest_device = real_fastest


@dataclass
class CellRun:
    index: int
    seconds: float


def run_cells(
    page: str | Path,
    namespace: dict | None = None,
    before_cell: Callable[[Cell], None] | None = None,
    enforce_asserts: bool = True,
) -> Iterator[CellRun]:
    """Execute the code cells of ``page`` in one namespace, yielding each cell's time once it
    has run. An exception in a cell propagates (its traceback names ``page#cellN``).
    ``enforce_asserts=False`` evaluates the test of each ``assert`` without enforcing it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.show = lambda *args, **kwargs: plt.close("all")
    os.environ.setdefault("TQDM_DISABLE", "1")
    namespace = {"__name__": "__main__"} if namespace is None else namespace
    for cell in code_cells(page):
        if before_cell is not None:
            before_cell(cell)
        start = time.perf_counter()
        exec(_compile(cell, page, enforce_asserts), namespace)  # noqa: S102
        yield CellRun(cell.index, time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("page", type=Path)
    parser.add_argument(
        "--simulated-device",
        metavar="TYPE",
        nargs="?",
        const="mps",
        default=None,
        help="run on a simulated accelerator (book.simulated_device: mps)",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="one epoch per fit, assertions evaluated but not enforced",
    )
    args = parser.parse_args(argv)
    start = time.perf_counter()
    with contextlib.ExitStack() as stack:
        if args.simulated_device:
            stack.enter_context(on_simulated_device(args.simulated_device))
        if args.smoke:
            stack.enter_context(one_epoch_fits())
        for run in run_cells(args.page, enforce_asserts=not args.smoke):
            print(f"cell {run.index}: {run.seconds:.1f} s", flush=True)
    print(f"{args.page}: {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
