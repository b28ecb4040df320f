"""Pasting numbers computed by a page's code into its text (MyST-NB ``glue``).

Every number a chapter prints in prose comes from its own code::

    glue_int("o_valid", n - k + 1)          # text: {glue:text}`o_valid`
    glue_md("x_vec", "$x = " + vec(x) + "$")  # text: {glue:md}`x_vec:myst`

``{glue:md}`` content is MyST Markdown, so ``$...$`` in it is typeset by MathJax.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def glue_md(name: str, text: str) -> None:
    """Glue MyST Markdown (``$math$`` allowed); paste with ``{glue:md}`name:myst```."""
    from IPython.display import Markdown
    from myst_nb import glue

    glue(name, Markdown(text), display=False)


def glue_int(name: str, value: int | np.integer) -> None:
    """Glue an integer; paste with ``{glue:text}`name```."""
    from myst_nb import glue

    glue(name, int(value), display=False)


def glue_number(name: str, value: float, fmt: str = ",.3g") -> None:
    """Glue a formatted number as text (``1,225`` or ``2.05e+09``); paste with ``{glue:text}``."""
    from myst_nb import glue

    glue(name, format(value, fmt), display=False)


def fmt_int(value: int | np.integer) -> str:
    """``1225`` as ``1,225``."""
    return f"{int(value):,}"


def vec(values: Iterable[float]) -> str:
    """``[7, 8, 16]`` as inline math ``$(7, 8, 16)$``."""
    return "$(" + ", ".join(f"{v:g}" for v in values) + ")$"


def matrix_tex(a: np.ndarray, fmt: str = "g") -> str:
    r"""A 2-D array as a LaTeX ``bmatrix`` (without the surrounding ``$``)."""
    a = np.asarray(a)
    rows = [" & ".join(format(v, fmt) for v in row) for row in np.atleast_2d(a)]
    return r"\begin{bmatrix}" + r" \\ ".join(rows) + r"\end{bmatrix}"


def sci_tex(value: float, digits: int = 0) -> str:
    r"""``3.2e-10`` as LaTeX ``3 \cdot 10^{-10}`` (``digits`` decimals in the mantissa), without
    the surrounding ``$``."""
    mantissa, exponent = f"{value:.{digits}e}".split("e")
    return rf"{mantissa} \cdot 10^{{{int(exponent)}}}"
