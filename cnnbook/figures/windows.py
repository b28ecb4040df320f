"""Figures of convolution windows on a grid of numbers: strides, padding, coverage, im2col.

Used by the chapters on padding and stride and on im2col. Each function returns a Matplotlib
figure with a white background (readable in the book's dark mode); the page shows it with
``plt.show()``. Rows are drawn top to bottom, as a matrix is printed.

    strided_windows_figure(x, w, stride=2)      # one panel per output: its window and value
    coverage_figure(5, 3, {"valid": ((0, 0), (0, 0)), "same": ((1, 1), (1, 1))})
    im2col_figure(x, kernel_size=2, stride=2)   # windows of (C, H, W) -> columns of X_hat
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from autograder import reference as ref

from .grids import format_value

INPUT_FACE = "white"
WINDOW_FACE = "#bcd7f0"  # the cells under the kernel (blue, as in the 1-D chapter)
PAD_FACE = "#d9d9d9"  # padded zeros
KERNEL_TEXT = "#b35806"  # kernel weights written into the window (dark orange)
WINDOW_COLOURS = plt.get_cmap("Set3").colors  # one colour per window in im2col_figure

Pads2D = tuple[tuple[int, int], tuple[int, int]]


def _white_figure(width: float, height: float, **kwargs) -> tuple[Figure, np.ndarray]:
    fig, axes = plt.subplots(figsize=(width, height), squeeze=False, layout="constrained", **kwargs)
    fig.patch.set_facecolor("white")
    return fig, axes


def draw_cells(
    ax: Axes,
    texts: Sequence[Sequence[str]],
    faces: Sequence[Sequence[str]] | None = None,
    left: float = 0.0,
    top: float = 0.0,
    fontsize: float = 10,
) -> None:
    """Draw a grid of unit cells with text; cell ``(i, j)`` has its top-left corner at
    ``(left + j, top + i)`` in an axes whose y axis points down (see :func:`finish_axes`)."""
    for i, row in enumerate(texts):
        for j, text in enumerate(row):
            face = faces[i][j] if faces is not None else INPUT_FACE
            ax.add_patch(
                plt.Rectangle((left + j, top + i), 1, 1, facecolor=face, edgecolor="black", lw=0.8)
            )
            ax.text(
                left + j + 0.5, top + i + 0.5, text, ha="center", va="center", fontsize=fontsize
            )


def finish_axes(ax: Axes, width: float, height: float, margin: float = 0.2) -> None:
    """Equal aspect, y pointing down, no ticks, limits ``[0, width] x [0, height]``."""
    ax.set_xlim(-margin, width + margin)
    ax.set_ylim(height + margin, -margin)
    ax.set_aspect("equal")
    ax.axis("off")


def strided_windows_figure(
    x: np.ndarray, w: np.ndarray, stride: int = 1, panel_inches: float = 2.6
) -> Figure:
    """One panel per output ``y[i, j]`` of a valid 2-D cross-correlation of ``x`` with ``w``.

    Each panel shows the input with the window of that output shaded, the kernel weight in the
    corner of every shaded cell (orange) and ``y[i, j]`` in the title.

    Args:
        x: input of shape ``(H, W)``.
        w: kernel of shape ``(KH, KW)``.
        stride: the same stride along both dimensions.
        panel_inches: width of one panel.
    """
    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    (h, wd), (kh, kw) = x.shape, w.shape
    y = ref.conv2d(x[None, None], w[None, None], stride=stride)[0, 0]
    oh, ow = y.shape
    fig, axes = _white_figure(
        panel_inches * ow, panel_inches * oh * h / wd + 0.35 * oh, nrows=oh, ncols=ow
    )
    for i in range(oh):
        for j in range(ow):
            ax = axes[i, j]
            r0, c0 = i * stride, j * stride
            inside = np.zeros(x.shape, dtype=bool)
            inside[r0 : r0 + kh, c0 : c0 + kw] = True
            faces = np.where(inside, WINDOW_FACE, INPUT_FACE)
            draw_cells(ax, [[format_value(v) for v in row] for row in x], faces, fontsize=8)
            ax.add_patch(plt.Rectangle((c0, r0), kw, kh, fill=False, edgecolor="black", lw=2.2))
            for a in range(kh):
                for b in range(kw):
                    ax.text(
                        c0 + b + 0.93,
                        r0 + a + 0.93,
                        format_value(w[a, b]),
                        ha="right",
                        va="bottom",
                        fontsize=7,
                        color=KERNEL_TEXT,
                    )
            ax.set_title(f"y[{i},{j}] = {format_value(y[i, j])}", fontsize=10)
            finish_axes(ax, wd, h)
    return fig


def window_counts(n: tuple[int, int], k: tuple[int, int], stride: int, pads: Pads2D) -> np.ndarray:
    """How many windows cover each cell of the padded input, shape ``(H + pads, W + pads)``."""
    (top, bottom), (left, right) = pads
    height, width = n[0] + top + bottom, n[1] + left + right
    counts = np.zeros((height, width), dtype=int)
    oh = (height - k[0]) // stride + 1
    ow = (width - k[1]) // stride + 1
    for i in range(oh):
        for j in range(ow):
            counts[i * stride : i * stride + k[0], j * stride : j * stride + k[1]] += 1
    return counts


def coverage_figure(
    n: int,
    k: int | tuple[int, int],
    cases: Mapping[str, Pads2D],
    stride: int = 1,
    cell_inches: float = 0.42,
) -> Figure:
    """Side by side, for each padding in ``cases``: the padded input and window counts.

    An ``n x n`` input is drawn with its padded zeros in grey. Every cell holds the number of
    kernel positions (windows) it takes part in; input cells that no window reaches are
    hatched red. The first window is outlined, and each title gives the padding and the
    output size.

    Args:
        n: input height and width.
        k: kernel size, an int or ``(KH, KW)``.
        cases: title -> ``((top, bottom), (left, right))`` zeros.
        stride: the same stride along both dimensions.
        cell_inches: size of one cell.
    """
    kh, kw = (k, k) if isinstance(k, int) else k
    widths = [n + sum(p[1]) for p in cases.values()]
    tallest = max(n + sum(p[0]) for p in cases.values())
    fig, axes = _white_figure(
        cell_inches * (sum(widths) + 1.0 * len(cases)),
        cell_inches * (tallest + 3.2),
        ncols=len(cases),
        gridspec_kw={"width_ratios": widths},
    )
    for ax, (name, pads) in zip(axes[0], cases.items(), strict=True):
        (top, bottom), (left, right) = pads
        counts = window_counts((n, n), (kh, kw), stride, pads)
        height, width = counts.shape
        is_pad = np.ones_like(counts, dtype=bool)
        is_pad[top : top + n, left : left + n] = False
        faces = np.where(is_pad, PAD_FACE, INPUT_FACE)
        texts = [[str(c) for c in row] for row in counts]
        draw_cells(ax, texts, faces, fontsize=11)
        for i, j in zip(*np.nonzero((counts == 0) & ~is_pad), strict=True):
            ax.add_patch(
                plt.Rectangle((j, i), 1, 1, fill=False, hatch="///", edgecolor="#d62728", lw=0)
            )
        ax.add_patch(plt.Rectangle((0, 0), kw, kh, fill=False, edgecolor="#1f77b4", lw=2.5))
        ax.add_patch(plt.Rectangle((left, top), n, n, fill=False, edgecolor="black", lw=2))
        oh = (height - kh) // stride + 1
        ow = (width - kw) // stride + 1
        pad_text = f"pad {top}/{bottom} rows, {left}/{right} cols"
        ax.set_title(f"{name}\n{pad_text}\noutput {oh}×{ow}", fontsize=11)
        finish_axes(ax, width, height)
        ax.set_anchor("N")  # panels of different sizes share their top edge
    return fig


def im2col_figure(
    x: np.ndarray, kernel_size: int, stride: int, cell_inches: float = 0.45
) -> Figure:
    """The windows of a ``(C, H, W)`` input, each in its own colour, and the columns of
    ``X_hat = ref.im2col(x)`` they become, in the same colours.

    Meant for windows that do not overlap (``stride >= kernel_size``); with overlaps a cell
    takes the colour of the last window that covers it.
    """
    x = np.asarray(x, dtype=float)
    c, h, w = x.shape
    k = kernel_size
    cols = ref.im2col(x[None], k, stride=stride)[0]
    oh = (h - k) // stride + 1
    ow = (w - k) // stride + 1
    rows, num_cols = cols.shape
    colour_of = [WINDOW_COLOURS[t % len(WINDOW_COLOURS)] for t in range(oh * ow)]

    gap = 1.0  # between channels
    left_height = c * h + (c - 1) * gap
    left_width, right_width = w, num_cols
    fig = plt.figure(
        figsize=(
            cell_inches * (left_width + right_width + 5),
            cell_inches * (max(left_height, rows) + 2.5),
        ),
        layout="constrained",
    )
    fig.patch.set_facecolor("white")
    grid = fig.add_gridspec(1, 2, width_ratios=[left_width + 2.5, right_width + 2.5])
    ax_in, ax_cols = fig.add_subplot(grid[0]), fig.add_subplot(grid[1])

    for ch in range(c):
        faces = np.full((h, w), INPUT_FACE, dtype=object)
        for t in range(oh * ow):
            i, j = divmod(t, ow)
            faces[i * stride : i * stride + k, j * stride : j * stride + k] = [
                [colour_of[t]] * k
            ] * k
        top = ch * (h + gap)
        draw_cells(
            ax_in, [[format_value(v) for v in row] for row in x[ch]], faces.tolist(), top=top
        )
        ax_in.text(
            -0.3, top + h / 2, f"channel {ch}", rotation=90, ha="right", va="center", fontsize=9
        )
    ax_in.set_title(
        f"input: {c} channels of {h}×{w}\nwindows {k}×{k}, stride {stride}", fontsize=10
    )
    finish_axes(ax_in, left_width, left_height, margin=1.2)

    faces = [[colour_of[t] for t in range(num_cols)] for _ in range(rows)]
    draw_cells(ax_cols, [[format_value(v) for v in row] for row in cols], faces)
    for t in range(num_cols):
        ax_cols.text(t + 0.5, -0.3, f"{t}", ha="center", va="bottom", fontsize=9)
    for r in range(rows):
        ch, rest = divmod(r, k * k)
        a, b = divmod(rest, k)
        ax_cols.text(-0.2, r + 0.5, f"c{ch} ({a},{b})", ha="right", va="center", fontsize=8)
    for ch in range(1, c):
        ax_cols.plot([0, num_cols], [ch * k * k] * 2, color="black", lw=2.2)
    ax_cols.set_title(f"X̂: {rows} × {num_cols}\none column per window", fontsize=10)
    finish_axes(ax_cols, right_width, rows, margin=1.2)
    return fig
