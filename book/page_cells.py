"""Run the code cells of a chapter page as one Python script, in order, as the book executes them.

    python -m book.page_cells chapters/15-visualizing/index.md
    python -m book.page_cells chapters/15-visualizing/index.md --simulated-device mps

Jupyter Book runs a page's ``{code-cell}`` blocks in one kernel. This does the same without a
kernel: IPython magics (``%config ...``) are skipped, figures go to the Agg backend and
``plt.show()`` closes them, and ``myst_nb.glue`` records the pasted values. It prints one line per
cell with its time, and the page's total. With ``--simulated-device`` the page runs with
``COURSE_DEVICE`` set to a simulated accelerator (``book.simulated_device``) on which every tensor
the page moves there is kept apart from the CPU's, as on a real GPU: a cell that mixes them
fails as it would on CUDA or MPS.
"""

from __future__ import annotations

import argparse
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


@dataclass
class CellRun:
    index: int
    seconds: float


def run_cells(
    page: str | Path,
    namespace: dict | None = None,
    before_cell: Callable[[Cell], None] | None = None,
) -> Iterator[CellRun]:
    """Execute the code cells of ``page`` in one namespace, yielding each cell's time once it
    has run. An exception in a cell propagates (its traceback names ``page#cellN``)."""
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
        exec(compile(cell.source, f"{page}#cell{cell.index}", "exec"), namespace)  # noqa: S102
        yield CellRun(cell.index, time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("page", type=Path)
    parser.add_argument(
        "--simulated-device",
        metavar="TYPE",
        default=None,
        help="run on a simulated accelerator of this type (mps or cuda)",
    )
    args = parser.parse_args(argv)
    start = time.perf_counter()
    if args.simulated_device:
        from book.simulated_device import simulated_device

        context = simulated_device(args.simulated_device)
    else:
        from contextlib import nullcontext

        context = nullcontext()
    with context:
        for run in run_cells(args.page):
            print(f"cell {run.index}: {run.seconds:.1f} s", flush=True)
    print(f"{args.page}: {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
