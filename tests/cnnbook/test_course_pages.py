"""Helpers that paste computed numbers into chapter text."""

import numpy as np

from cnnbook.pages import fmt_int, matrix_tex, sci_tex, vec


def test_vec_and_fmt_int():
    assert vec([7, 8.0, 16]) == "$(7, 8, 16)$"
    assert fmt_int(np.int64(1225)) == "1,225"


def test_matrix_tex():
    tex = matrix_tex(np.array([[19, 25], [37, 43]]))
    assert tex == r"\begin{bmatrix}19 & 25 \\ 37 & 43\end{bmatrix}"


def test_sci_tex():
    assert sci_tex(3.2e-10) == r"3 \cdot 10^{-10}"
    assert sci_tex(1.234e5, 2) == r"1.23 \cdot 10^{5}"
    assert sci_tex(9.6e-8) == r"1 \cdot 10^{-7}"  # rounding carries into the exponent
