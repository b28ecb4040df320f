"""Grading the conv-backward assignment: the classic mistakes of a backward pass lose exactly
the parts that test them.

conv-backward is worth 18: loop backward 3+4, im2col backward 2+3, relative_error 1+1,
numerical_gradient 2+2. That the source earns full marks and the release zero is tested for
every assignment in test_grade.py.
"""

from __future__ import annotations

import pytest
from notebook_helpers import edit_cell, grade_class, load, source_path

# one worker grades the class (the others would grade it again)
pytestmark = pytest.mark.xdist_group("assignment_conv_backward")

LOOP = "backward-loop-solution"
IM2COL = "backward-im2col-solution"
CHECKER = "gradient-check-solution"


def wrong_submissions() -> dict[str, dict]:
    """Student id -> a copy of the source notebook with one classic mistake."""
    src = load(source_path("conv-backward"))
    return {
        # dx correlates dy with w instead of w rotated by 180 degrees, in both versions
        "no-flip": edit_cell(
            edit_cell(
                src,
                LOOP,
                lambda s: s.replace(
                    "dxp[n, :, rows, cols] += dy[n, f, i, j] * w[f]",
                    "dxp[n, :, rows, cols] += dy[n, f, i, j] * w[f, :, ::-1, ::-1]",
                ),
            ),
            IM2COL,
            lambda s: s.replace(
                "w_mat = w.reshape(n_filters, -1)",
                "w_mat = w[:, :, ::-1, ::-1].reshape(n_filters, -1)",
            ),
        ),
        # db summed over the positions of each image but not over the batch
        "db-wrong-axes": edit_cell(
            src,
            LOOP,
            lambda s: s.replace("db = dy.sum(axis=(0, 2, 3))", "db = dy.sum(axis=(2, 3))[0]"),
        ),
        # windows placed as if the stride were 1: the upstream gradient is not spread out
        "stride-without-dilation": edit_cell(
            src,
            LOOP,
            lambda s: s.replace(
                "rows = slice(i * sh, i * sh + kh)", "rows = slice(i, i + kh)"
            ).replace("cols = slice(j * sw, j * sw + kw)", "cols = slice(j, j + kw)"),
        ),
        # one-sided differences (f(x + h) - f(x)) / h: error of order h, not h**2
        "forward-differences": edit_cell(
            src,
            CHECKER,
            lambda s: s.replace(
                "x[idx] = old - h\n        f_minus = float(f(x))",
                "x[idx] = old\n        f_minus = float(f(x))",
            ).replace(
                "grad[idx] = (f_plus - f_minus) / (2 * h)", "grad[idx] = (f_plus - f_minus) / h"
            ),
        ),
        # the checker leaves every entry at old - h
        "checker-leaves-x-changed": edit_cell(
            src,
            CHECKER,
            lambda s: s.replace("        x[idx] = old\n        grad[idx]", "        grad[idx]"),
        ),
        # correct numbers, but a comprehension where the part asks for no Python loops
        "im2col-with-loop": edit_cell(
            src,
            IM2COL,
            lambda s: s.replace(
                "    db = dy_mat.sum(axis=(0, 2))",
                "    db = np.array([dy_mat[:, f].sum() for f in range(n_filters)])",
            ),
        ),
    }


# student id -> (score, status); a part that fails keeps the share of its checks that pass
EXPECTED = {
    "no-flip": (14.66, "ok"),  # both backward passes fail, each keeps its passed checks' share
    "db-wrong-axes": (16.41, "ok"),  # the one-image public example passes; a batch of 2 does not
    "stride-without-dilation": (15.93, "ok"),  # the loop fails from the first stride-2 case
    "forward-differences": (16.41, "ok"),  # relative_error still right; numerical_gradient loses
    "checker-leaves-x-changed": (15.87, "ok"),
    "im2col-with-loop": (13, "ok"),  # check_no_python_loops fails the im2col parts
}


@pytest.fixture(scope="session")  # once per worker, even if other modules' tests run in between
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("conv-backward")
    return grade_class(base, "conv-backward", wrong_submissions(), seed=1, cell_timeout=30)


@pytest.mark.slow
@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_mistake_costs_the_parts_that_test_it(graded, student):
    result = graded[student]
    assert (result.score, result.status) == EXPECTED[student], (result.reason, result.parts)


@pytest.mark.slow
def test_feedback_names_the_wrong_array_and_configuration(graded):
    parts = {p.grade_id: p for p in graded["no-flip"].parts}
    message = parts["backward-loop"].message
    assert "(dx) returned the wrong values" in message
    assert "configuration: dy.shape=(1, 1, 2, 2), x.shape=(1, 1, 3, 3)" in message
    message = {p.grade_id: p for p in graded["db-wrong-axes"].parts}["backward-loop"].message
    assert "(db) returned the wrong values" in message and "stride=1, padding=0" in message
