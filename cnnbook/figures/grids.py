"""Drawing small matrices as grids of numbered cells: an input, a kernel and an output side by
side, with the window under the kernel highlighted.

Used by the chapters on convolution for figures a reader checks by hand::

    fig = draw_equation(
        [X, K, Y], ["⋆", "="], titles=["input X", "kernel K", "output Y"],
        highlights=[(0, 0, 2, 2), (0, 0, 2, 2), (0, 0, 1, 1)],
    )

A highlight is ``(row, col, height, width)``: the block of cells starting at ``(row, col)``.
Row 0 is drawn at the top, like a printed matrix.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

Block = tuple[int, int, int, int]  # (row, col, height, width)

CELL_FACE = "white"
HIGHLIGHT_FACES = ("#bcd7f0", "#f7c99b", "#c8e6c0")  # input window, kernel, output cell
CELL_INCHES = 0.5  # size of one cell in the figure


def format_value(value: float | str, fmt: str = "g", *, unicode_minus: bool = False) -> str:
    """A number as it is written in a cell: ``3``, ``-1``, ``0.6``, ``-∞``; text is kept as is.

    ``-0`` shows as ``0``; ``unicode_minus`` writes the typographic minus sign ``−``.
    """
    if isinstance(value, str):
        return value
    value = float(value)
    text = ("-∞" if value < 0 else "∞") if np.isinf(value) else format(value, fmt)
    text = "0" if text == "-0" else text
    return text.replace("-", "−") if unicode_minus else text


def draw_grid(
    ax: Axes,
    values: np.ndarray | Sequence[Sequence[float | str]],
    *,
    left: float = 0.0,
    top: float = 0.0,
    title: str | None = None,
    highlight: Block | None = None,
    highlight_face: str = HIGHLIGHT_FACES[0],
    fmt: str = "g",
    fontsize: float = 11,
) -> float:
    """Draw a 2-D array as a grid of cells with its numbers, its top-left corner at
    ``(left, top)``.

    The grid occupies ``[left, left + width] x [top - height, top]`` in data units (one unit
    per cell, row 0 at the top). ``highlight`` shades a block of cells and draws a thick frame
    around it.

    Returns:
        The x coordinate of the grid's right edge.
    """
    rows = [list(row) for row in values]
    width = len(rows[0])
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            inside = highlight is not None and (
                highlight[0] <= i < highlight[0] + highlight[2]
                and highlight[1] <= j < highlight[1] + highlight[3]
            )
            face = highlight_face if inside else CELL_FACE
            ax.add_patch(
                Rectangle(
                    (left + j, top - i - 1), 1, 1, facecolor=face, edgecolor="black", linewidth=0.8
                )
            )
            ax.text(
                left + j + 0.5,
                top - i - 0.5,
                format_value(value, fmt),
                ha="center",
                va="center",
                fontsize=fontsize,
                color="black",
            )
    if highlight is not None:
        row0, col0, h, w = highlight
        ax.add_patch(
            Rectangle(
                (left + col0, top - row0 - h), w, h, fill=False, edgecolor="black", linewidth=2.5
            )
        )
    if title:
        ax.text(
            left + width / 2,
            top + 0.35,
            title,
            ha="center",
            va="bottom",
            fontsize=fontsize,
            color="black",
        )
    return left + width


def draw_equation(
    arrays: Sequence[np.ndarray | Sequence[Sequence[float | str]]],
    operators: Sequence[str],
    *,
    titles: Sequence[str] | None = None,
    highlights: Sequence[Block | None] | None = None,
    caption: str | None = None,
    fmt: str = "g",
    fontsize: float = 11,
) -> Figure:
    """Draw ``arrays[0] op[0] arrays[1] op[1] ...`` as grids on one row, vertically centred.

    Args:
        arrays: 2-D arrays (numbers or text labels), drawn left to right.
        operators: ``len(arrays) - 1`` symbols written between them (``"⋆"``, ``"="``).
        titles: one title per array, written above it.
        highlights: one block (or ``None``) per array; the i-th array uses the i-th highlight
            colour (input window blue, kernel orange, output cell green).
        caption: a line of text below the grids (e.g. the sum of products).
        fmt: format of the numbers in the cells.
        fontsize: size of the numbers; titles use the same size, operators a larger one.

    Returns:
        The figure: white background, no axes, one unit of data per cell.
    """
    import matplotlib.pyplot as plt

    if len(operators) != len(arrays) - 1:
        raise ValueError(f"operators: expected {len(arrays) - 1} symbols, got {len(operators)}")
    titles = list(titles) if titles is not None else [None] * len(arrays)
    highlights = list(highlights) if highlights is not None else [None] * len(arrays)
    heights = [len(a) for a in arrays]
    widths = [len(a[0]) for a in arrays]
    tallest = max(heights)
    gap = 1.4
    total_width = sum(widths) + gap * len(operators)
    top_room, bottom_room = 1.2, (1.3 if caption else 0.3)
    total_height = tallest + top_room + bottom_room
    fig = plt.figure(
        figsize=(total_width * CELL_INCHES, total_height * CELL_INCHES), facecolor="white"
    )
    ax = fig.add_axes((0, 0, 1, 1))
    left = 0.0
    for index, array in enumerate(arrays):
        top = -(tallest - heights[index]) / 2  # centre each grid on the tallest one
        face = HIGHLIGHT_FACES[min(index, len(HIGHLIGHT_FACES) - 1)]
        right = draw_grid(
            ax,
            array,
            left=left,
            top=top,
            title=titles[index],
            highlight=highlights[index],
            highlight_face=face,
            fmt=fmt,
            fontsize=fontsize,
        )
        if index < len(operators):
            ax.text(
                right + gap / 2,
                -tallest / 2,
                operators[index],
                ha="center",
                va="center",
                fontsize=fontsize * 1.6,
                color="black",
            )
        left = right + gap
    if caption:
        ax.text(
            total_width / 2,
            -tallest - 0.75,
            caption,
            ha="center",
            va="center",
            fontsize=fontsize,
            color="black",
        )
    ax.set_xlim(-0.1, total_width + 0.1)
    ax.set_ylim(-tallest - bottom_room, top_room)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return fig
