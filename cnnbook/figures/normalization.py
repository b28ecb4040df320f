"""Which numbers a normalization layer normalizes together: the cube figure of the chapter on
normalization (after Wu and He, "Group Normalization", 2018, figure 2).

A batch of feature maps ``(N, C, H, W)`` is drawn as a box of cells: channels ``C`` along the
horizontal axis, the ``H·W`` positions of a map (flattened) along the vertical axis, and the
examples ``N`` going back in depth. The cells that share one mean and one variance are shaded.

    normalized_set("group", n=4, c=6, hw=4, groups=2)  # boolean (N, C, HW): one set
    normalization_axes_figure()                         # the four layers side by side
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Polygon

KINDS = ("batch", "layer", "instance", "group")
TITLES = {
    "batch": "batch norm",
    "layer": "layer norm",
    "instance": "instance norm",
    "group": "group norm",
}
SHADE = "#6baed6"
EMPTY = "white"
DEPTH = 0.7  # one step back in N moves a cell this far right and up (oblique projection)


def normalized_set(kind: str, n: int, c: int, hw: int, groups: int = 2) -> np.ndarray:
    """The cells ``(example, channel, position)`` of a ``(n, c, hw)`` batch that one mean and
    one variance are computed over, for the set that holds cell ``(0, 0, 0)``.

    ``"batch"``: channel 0 of every example, every position (``N·H·W`` numbers);
    ``"layer"``: every channel and position of example 0 (``C·H·W``);
    ``"instance"``: channel 0 of example 0 (``H·W``);
    ``"group"``: the first ``c // groups`` channels of example 0 (``(C/G)·H·W``).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if min(n, c, hw) < 1 or groups < 1 or c % groups:
        raise ValueError(f"need n, c, hw >= 1 and groups dividing c, got {n, c, hw, groups}")
    cells = np.zeros((n, c, hw), bool)
    if kind == "batch":
        cells[:, 0, :] = True
    elif kind == "layer":
        cells[0, :, :] = True
    elif kind == "instance":
        cells[0, 0, :] = True
    else:
        cells[0, : c // groups, :] = True
    return cells


def _cell(ax: Axes, corners: list[tuple[float, float]], shaded: bool) -> None:
    ax.add_patch(
        Polygon(
            corners, closed=True, facecolor=SHADE if shaded else EMPTY, edgecolor="black", lw=0.6
        )
    )


def draw_batch_box(ax: Axes, cells: np.ndarray, title: str) -> None:
    """Draw the visible faces (front, top, right) of a ``(N, C, HW)`` box of cells, shading
    the cells marked in ``cells``, with the three axes labelled."""
    n, c, hw = cells.shape
    dx, dy = DEPTH * np.cos(np.pi / 6), DEPTH * np.sin(np.pi / 6)

    def at(ch: float, pos: float, ex: float) -> tuple[float, float]:
        return ch + ex * dx, pos + ex * dy  # position 0 at the top of the map: drawn highest

    for j in range(c):  # front face: example 0
        for p in range(hw):
            y = hw - 1 - p
            _cell(
                ax,
                [at(j, y, 0), at(j + 1, y, 0), at(j + 1, y + 1, 0), at(j, y + 1, 0)],
                cells[0, j, p],
            )
    for e in range(n):  # top face: position 0
        for j in range(c):
            _cell(
                ax,
                [at(j, hw, e), at(j + 1, hw, e), at(j + 1, hw, e + 1), at(j, hw, e + 1)],
                cells[e, j, 0],
            )
    for e in range(n):  # right face: the last channel
        for p in range(hw):
            y = hw - 1 - p
            _cell(
                ax,
                [at(c, y, e), at(c, y + 1, e), at(c, y + 1, e + 1), at(c, y, e + 1)],
                cells[e, c - 1, p],
            )
    ax.annotate(
        "", xy=at(c, -0.6, 0), xytext=at(0, -0.6, 0), arrowprops=dict(arrowstyle="->", lw=0.8)
    )
    ax.text(c / 2, -1.3, "C (channels)", ha="center", va="center", fontsize=9)
    ax.annotate(
        "", xy=at(-0.6, 0, 0), xytext=at(-0.6, hw, 0), arrowprops=dict(arrowstyle="->", lw=0.8)
    )
    ax.text(-1.0, hw / 2, "H·W", ha="right", va="center", fontsize=9)
    ax.annotate(
        "",
        xy=at(c + 0.4, -0.2, n),
        xytext=at(c + 0.4, -0.2, 0),
        arrowprops=dict(arrowstyle="->", lw=0.8),
    )
    ax.text(*at(c + 0.8, -0.4, n / 2), "N (examples)", ha="left", va="top", fontsize=9)
    ax.set_title(title, fontsize=11)
    ax.set_aspect("equal")
    ax.set_xlim(-2.6, c + n * dx + 3.2)
    ax.set_ylim(-1.8, hw + n * dy + 0.4)
    ax.axis("off")


def normalization_axes_figure(
    n: int = 4, c: int = 6, hw: int = 4, groups: int = 2, panel_inches: float = 3.0
) -> Figure:
    """The four normalization layers side by side: the shaded cells of each panel share one
    mean and one variance (``normalized_set``)."""
    fig, axes = plt.subplots(
        1, len(KINDS), figsize=(panel_inches * len(KINDS), 2.4), layout="constrained"
    )
    fig.patch.set_facecolor("white")
    for ax, kind in zip(axes, KINDS, strict=True):
        title = TITLES[kind] + (f" ({groups} groups)" if kind == "group" else "")
        draw_batch_box(ax, normalized_set(kind, n, c, hw, groups), title)
    return fig
