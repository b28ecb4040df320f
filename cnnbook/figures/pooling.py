"""Figures for the pooling chapter: small matrices drawn as grids of numbers, side by side.

A pooling figure is a row of panels (an input, a feature map, a pooled map, a gradient), each a
grid of cells with the number written in it and an optional colour per cell, so that the window
each output comes from can be seen::

    faces = window_faces((4, 4), kernel_size=2)            # one colour per 2x2 window
    fig = panels_figure([x, y], ["input x", "max pooled"], faces=[faces, output_faces(2, 2)])

Every figure has a white background (readable in the book's dark mode); rows are drawn top to
bottom, as a matrix is printed.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .grids import format_value

WINDOW_COLOURS = ("#bcd7f0", "#f7c99b", "#c8e6c0", "#e6c8e6", "#f0e68c", "#c0e0e0")
CELL_INCHES = 0.45  # size of one cell
GAP_INCHES = 0.9  # space between two panels (room for a symbol such as an arrow)


def draw_numbers(
    ax: Axes,
    values: np.ndarray,
    *,
    title: str | None = None,
    faces: np.ndarray | None = None,
    bold: np.ndarray | None = None,
    fmt: str = "g",
    fontsize: float = 11,
) -> None:
    """Draw a 2-D array as a grid of cells on ``ax``, row 0 at the top.

    Args:
        values: the numbers (or strings) to write, shape ``(H, W)``.
        title: written above the grid.
        faces: a colour per cell, shape ``(H, W)`` (``None`` entries are white).
        bold: a boolean mask of cells whose number is written in bold with a thick border.
        fmt: format of the numbers.
    """
    values = np.asarray(values, dtype=object)
    height, width = values.shape
    for r in range(height):
        for c in range(width):
            face = "white" if faces is None or faces[r][c] is None else faces[r][c]
            strong = bool(bold is not None and bold[r][c])
            ax.add_patch(
                Rectangle(
                    (c, height - 1 - r),
                    1,
                    1,
                    facecolor=face,
                    edgecolor="black",
                    linewidth=2.2 if strong else 0.8,
                )
            )
            ax.text(
                c + 0.5,
                height - 0.5 - r,
                format_value(values[r, c], fmt, unicode_minus=True),
                ha="center",
                va="center",
                fontsize=fontsize,
                fontweight="bold" if strong else "normal",
            )
    ax.set_xlim(-0.05, width + 0.05)
    ax.set_ylim(-0.05, height + 0.05)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=fontsize)


def window_faces(
    shape: tuple[int, int], kernel_size: int, stride: int | None = None, padding: int = 0
) -> np.ndarray:
    """A colour per cell of an ``(H, W)`` input: the colour of the pooling window covering it.

    Windows are coloured in row-major order; with overlapping windows the later one wins, and
    cells no window covers stay white (``None``).
    """
    stride = kernel_size if stride is None else stride
    height, width = shape
    faces = np.full(shape, None, dtype=object)
    out_h = (height + 2 * padding - kernel_size) // stride + 1
    out_w = (width + 2 * padding - kernel_size) // stride + 1
    for i in range(out_h):
        for j in range(out_w):
            colour = WINDOW_COLOURS[(i * out_w + j) % len(WINDOW_COLOURS)]
            r0, c0 = i * stride - padding, j * stride - padding
            for r in range(max(r0, 0), min(r0 + kernel_size, height)):
                for c in range(max(c0, 0), min(c0 + kernel_size, width)):
                    faces[r, c] = colour
    return faces


def output_faces(out_h: int, out_w: int) -> np.ndarray:
    """The window colours of :func:`window_faces` for the ``(out_h, out_w)`` outputs."""
    faces = np.empty((out_h, out_w), dtype=object)
    for i in range(out_h):
        for j in range(out_w):
            faces[i, j] = WINDOW_COLOURS[(i * out_w + j) % len(WINDOW_COLOURS)]
    return faces


def panels_figure(
    arrays: Sequence[np.ndarray],
    titles: Sequence[str],
    *,
    faces: Sequence[np.ndarray | None] | None = None,
    bold: Sequence[np.ndarray | None] | None = None,
    symbols: Sequence[str] | None = None,
    fmt: str = "g",
    suptitle: str | None = None,
    cell_inches: float = CELL_INCHES,
) -> Figure:
    """A row of grids, one per array, each as wide as its number of columns.

    Args:
        arrays: the 2-D arrays to draw, left to right.
        titles: one title per panel.
        faces, bold: per panel, as in :func:`draw_numbers` (``None`` for plain cells).
        symbols: ``len(arrays) - 1`` strings written between the panels (``"→"``, ``"="``).
        fmt: format of the numbers.
        suptitle: a title above the whole row.
        cell_inches: the size of one cell (smaller for wide rows).
    """
    arrays = [np.asarray(a, dtype=object) for a in arrays]
    widths = [a.shape[1] for a in arrays]
    tallest = max(a.shape[0] for a in arrays)
    total = sum(widths) * cell_inches + GAP_INCHES * (len(arrays) - 1) + 0.2
    fig_height = tallest * cell_inches + 0.55 + (0.35 if suptitle else 0)
    fig = plt.figure(figsize=(total, fig_height))
    fig.patch.set_facecolor("white")
    left = 0.1
    bottom = 0.05 / fig_height
    for index, array in enumerate(arrays):
        h, w = array.shape
        ax = fig.add_axes(
            (
                left / total,
                bottom + (tallest - h) / 2 * cell_inches / fig_height,
                w * cell_inches / total,
                h * cell_inches / fig_height,
            )
        )
        draw_numbers(
            ax,
            array,
            title=titles[index],
            fmt=fmt,
            faces=None if faces is None else faces[index],
            bold=None if bold is None else bold[index],
        )
        left += w * cell_inches
        if symbols and index < len(arrays) - 1:
            fig.text(
                (left + GAP_INCHES / 2) / total,
                bottom + tallest * cell_inches / 2 / fig_height,
                symbols[index],
                ha="center",
                va="center",
                fontsize=16,
            )
        left += GAP_INCHES
    if suptitle:
        fig.suptitle(suptitle, x=0.1 / total, ha="left", y=0.98, fontsize=12)
    return fig
