"""Grids of numbered cells for the chapter on backpropagation through convolutions.

A figure there is a row of small matrices (an upstream gradient, a padded or dilated copy of it,
a kernel, the resulting input gradient) with some cells shaded: the window one output reads, the
zeros that were inserted, the cell being computed. :func:`draw_grids` draws such a row::

    fig = draw_grids([
        Grid(dz, "∂L/∂Z"),
        Grid(padded, "padded", shade={(0, 0): ZERO_FACE}, frame=(0, 1, 2, 2)),
    ], gap_labels=["→"])

Row 0 is drawn at the top, like a printed matrix; every figure has a white background so that
it reads in the book's dark mode too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .grids import format_value

Block = tuple[int, int, int, int]  # (row, col, height, width)

ZERO_FACE = "#d9d9d9"  # inserted or padded zeros
WINDOW_FACE = "#bcd7f0"  # the cells one output reads
TARGET_FACE = "#c8e6c0"  # the cell being computed
KERNEL_FACE = "#f7c99b"  # kernel entries
CELL_INCHES = 0.48


@dataclass
class Grid:
    """One matrix of a figure.

    Attributes:
        values: 2-D array of numbers or strings (strings are written as they are).
        title: written above the grid.
        shade: ``{(row, col): colour}`` for cells with a background.
        frame: a block ``(row, col, height, width)`` framed with a thick line.
        fmt: format of the numbers.
    """

    values: np.ndarray | Sequence[Sequence[float | str]]
    title: str = ""
    shade: Mapping[tuple[int, int], str] = field(default_factory=dict)
    frame: Block | None = None
    fmt: str = "g"


def shade_block(block: Block, colour: str) -> dict[tuple[int, int], str]:
    """``{(r, c): colour}`` for every cell of ``block``."""
    row, col, height, width = block
    return {(r, c): colour for r in range(row, row + height) for c in range(col, col + width)}


def draw_grids(
    grids: Sequence[Grid],
    gap_labels: Sequence[str] = (),
    *,
    fontsize: float = 11,
    title: str | None = None,
) -> Figure:
    """Draw matrices side by side, top-aligned, with ``gap_labels[i]`` between grid i and i+1."""
    arrays = [np.asarray(g.values, dtype=object) for g in grids]
    gap = 1.6
    width = sum(a.shape[1] for a in arrays) + gap * (len(arrays) - 1)
    height = max(a.shape[0] for a in arrays)
    top_margin = 1.0 + (0.7 if title else 0.0)
    fig, ax = plt.subplots(
        figsize=(width * CELL_INCHES + 0.2, (height + top_margin + 0.2) * CELL_INCHES),
        facecolor="white",
    )
    left = 0.0
    for k, (grid, values) in enumerate(zip(grids, arrays, strict=True)):
        rows, cols = values.shape
        top = (height - rows) / 2  # centre shorter grids vertically
        for r in range(rows):
            for c in range(cols):
                face = grid.shade.get((r, c), "white")
                ax.add_patch(
                    Rectangle(
                        (left + c, -(top + r) - 1),
                        1,
                        1,
                        facecolor=face,
                        edgecolor="0.3",
                        linewidth=0.8,
                    )
                )
                ax.text(
                    left + c + 0.5,
                    -(top + r) - 0.5,
                    format_value(values[r, c], grid.fmt),
                    ha="center",
                    va="center",
                    fontsize=fontsize,
                )
        if grid.frame is not None:
            fr, fc, fh, fw = grid.frame
            ax.add_patch(
                Rectangle(
                    (left + fc, -(top + fr) - fh),
                    fw,
                    fh,
                    fill=False,
                    edgecolor="black",
                    linewidth=2.4,
                )
            )
        if grid.title:
            ax.text(
                left + cols / 2,
                -top + 0.35,
                grid.title,
                ha="center",
                va="bottom",
                fontsize=fontsize,
            )
        left += cols
        if k < len(gap_labels):
            ax.text(
                left + gap / 2,
                -height / 2,
                gap_labels[k],
                ha="center",
                va="center",
                fontsize=fontsize + 4,
            )
        left += gap
    if title:
        ax.text(0, 1.2, title, ha="left", va="bottom", fontsize=fontsize + 1)
    ax.set_xlim(-0.1, width + 0.1)
    ax.set_ylim(-height - 0.1, top_margin)
    ax.set_aspect("equal")
    ax.axis("off")
    fig.subplots_adjust(left=0, right=1, bottom=0, top=1)
    return fig
