"""Helpers that paste computed numbers into chapter text."""

import numpy as np

from cnnbook.pages import fmt_int, matrix_tex, vec


def test_vec_and_fmt_int():
    assert vec([7, 8.0, 16]) == "$(7, 8, 16)$"
    assert fmt_int(np.int64(1225)) == "1,225"


def test_matrix_tex():
    tex = matrix_tex(np.array([[19, 25], [37, 43]]))
    assert tex == r"\begin{bmatrix}19 & 25 \\ 37 & 43\end{bmatrix}"
