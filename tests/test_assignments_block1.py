"""Grading the chapter-5 assignments (conv2d, im2col): typical mistakes earn a fair grade.

Each wrong submission is the instructor's source with one realistic mistake; its expected score
follows from the points of the parts it breaks, and its feedback names the mistake. (That the
source earns full marks and the release zero is tested for every assignment in test_grade.py.)
"""

from __future__ import annotations

import pytest
from notebook_helpers import edit_cell, load, save, source_path

from autograder.grading import grade_assignment

# one worker grades the class (the others would grade it again)
pytestmark = pytest.mark.xdist_group("assignments_block1")


def conv2d_class() -> dict[str, dict]:
    src = load(source_path("conv2d"))
    loop, shape, one, cost = (
        "conv2d-loop-solution",
        "output-shape-solution",
        "conv1x1-solution",
        "cost-solution",
    )
    return {
        "forgets-bias": edit_cell(
            src,
            loop,
            lambda s: s.replace("            if b is not None:\n", "            if False:\n"),
        ),
        "wrong-stride": edit_cell(
            src,
            loop,
            lambda s: s.replace(
                "xp[n, :, i * sh : i * sh + kh, j * sw : j * sw + kw]",
                "xp[n, :, i : i + kh, j : j + kw]",
            ),
        ),
        "true-division": edit_cell(
            src,
            shape,
            lambda s: s.replace("int((h + 2 * ph - kh) // sh", "((h + 2 * ph - kh) / sh"),
        ),
        "conv1x1-loops": edit_cell(
            src,
            one,
            lambda s: s.replace(
                "    columns = x.transpose(1, 0, 2, 3).reshape(c, n * h * wd)\n"
                "    y = (m @ columns).reshape(m.shape[0], n, h, wd).transpose(1, 0, 2, 3)\n",
                "    y = np.zeros((n, m.shape[0], h, wd))\n"
                "    for i in range(h):\n"
                "        for j in range(wd):\n"
                "            y[:, :, i, j] = x[:, :, i, j] @ m.T\n",
            ),
        ),
        "conv1x1-no-transpose": edit_cell(
            src,
            one,
            lambda s: s.replace(
                "x.transpose(1, 0, 2, 3).reshape(c, n * h * wd)", "x.reshape(c, n * h * wd)"
            ).replace(
                ".reshape(m.shape[0], n, h, wd).transpose(1, 0, 2, 3)",
                ".reshape(n, m.shape[0], h, wd)",
            ),
        ),
        "flops-are-macs": edit_cell(src, cost, lambda s: s.replace("int(2 * c_in", "int(c_in")),
    }


def im2col_class() -> dict[str, dict]:
    src = load(source_path("im2col"))
    im2col, col2im, conv = "im2col-solution", "col2im-solution", "conv2d-im2col-solution"
    return {
        "row-order-kernel-first": edit_cell(
            src,
            im2col,
            lambda s: s.replace(
                "return xp[:, :, rows, cols].reshape(",
                "return xp[:, :, rows, cols].transpose(0, 2, 1, 3).reshape(",
            ),
        ),
        "im2col-loops-over-kernel": edit_cell(
            src,
            im2col,
            lambda s: s.replace(
                "    # rows[u*kw",
                "    windows = [xp[:, :, u : u + sh * (h_out - 1) + 1 : sh,"
                " v : v + sw * (w_out - 1) + 1 : sw] for u in range(kh) for v in range(kw)]\n"
                "    return np.stack(windows, axis=2).reshape(n, c * kh * kw, h_out * w_out)\n"
                "    # rows[u*kw",
            ),
        ),
        "col2im-fancy-plus-equals": edit_cell(
            src,
            col2im,
            lambda s: s.replace(
                "np.add.at(xp, (slice(None), slice(None), rows, columns), values)",
                "xp[:, :, rows, columns] += values",
            ),
        ),
        "conv-forgets-bias": edit_cell(
            src, conv, lambda s: s.replace("    if b is not None:\n", "    if False:\n")
        ),
    }


CLASSES = {"conv2d": conv2d_class, "im2col": im2col_class}

# (assignment, student) -> (score, status). conv2d is worth 17: output shape 1+1, loop 3+4,
# 1x1 as a matrix product 2+2, parameters 1+1, FLOPs 1+1. im2col is worth 17: im2col 3+4,
# col2im 2+3, conv2d_im2col 2+3. Each check of a part earns its share (partial credit): a
# mistake that shows only on some inputs keeps the share of the checks it passes, e.g. a
# forgotten bias keeps the checks made without a bias. A part that breaks a rule (no loops)
# earns nothing. The hidden tests are drawn from the seed, so the shares are fixed.
EXPECTED = {
    ("conv2d", "forgets-bias"): (11.16, "ok"),  # loop 0.38/3 (1 of 8), hidden 0.78/4
    ("conv2d", "wrong-stride"): (13.17, "ok"),  # the stride-1 checks pass: 1.5/3, 1.67/4
    # Charged once: the loop runs with a correct output shape, and says so.
    ("conv2d", "true-division"): (15, "ok"),  # float output shape: that part alone
    ("conv2d", "conv1x1-loops"): (13, "ok"),  # right values, but the part asks for no loops
    ("conv2d", "conv1x1-no-transpose"): (14.86, "ok"),  # wrong only when N > 1
    ("conv2d", "flops-are-macs"): (15, "ok"),
    # Charged once: the convolution built on im2col runs with a correct im2col.
    ("im2col", "row-order-kernel-first"): (13, "ok"),  # right only when C = 1
    ("im2col", "im2col-loops-over-kernel"): (10, "ok"),  # right values, breaks the no-loop rule
    ("im2col", "col2im-fancy-plus-equals"): (13.76, "ok"),  # right where windows do not overlap
    ("im2col", "conv-forgets-bias"): (12.93, "ok"),
}

# (assignment, student, failing public part, words its message must contain)
FEEDBACK = [
    ("conv2d", "forgets-bias", "conv2d-loop", "conv2d_loop(x, w, b) returned the wrong values"),
    ("conv2d", "wrong-stride", "conv2d-loop", "stride=2, padding=1) returned the wrong values"),
    ("conv2d", "true-division", "output-shape", "every entry should be an int"),
    ("conv2d", "conv1x1-loops", "conv1x1", "conv1x1_as_matmul uses a Python for"),
    ("conv2d", "flops-are-macs", "conv2d-flops", "returned 1024000000, expected 2048000000"),
    ("im2col", "row-order-kernel-first", "im2col", "im2col(x, 2, 2, stride=2) returned the wrong"),
    ("im2col", "im2col-loops-over-kernel", "im2col", "im2col uses a Python list comprehension"),
    ("im2col", "col2im-fancy-plus-equals", "col2im", "col2im(im2col(ones), (1, 1, 3, 3), 2, 2)"),
]


@pytest.fixture(scope="session")  # once per worker, even if other modules' tests run in between
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("block1")
    results = {}
    for assignment, make_class in CLASSES.items():
        submissions = base / assignment / "submissions"
        for student, nb in make_class().items():
            save(nb, submissions / student / assignment / f"{assignment}.ipynb")
        for result in grade_assignment(
            assignment, submissions, base / assignment / "out", workers=2, seed=4321
        ):
            results[assignment, result.student_id] = result
    return results


@pytest.mark.slow
@pytest.mark.parametrize("key", sorted(EXPECTED), ids=lambda key: "/".join(key))
def test_each_submission_gets_the_grade_it_deserves(graded, key):
    result = graded[key]
    assert (result.score, result.status) == EXPECTED[key], (result.reason, result.parts)
    assert result.max_score == 17


@pytest.mark.slow
@pytest.mark.parametrize(
    ("assignment", "student", "part", "words"), FEEDBACK, ids=[f[1] for f in FEEDBACK]
)
def test_feedback_names_the_mistake(graded, assignment, student, part, words):
    parts = {p.grade_id: p for p in graded[assignment, student].parts}
    assert parts[part].status == "failed"
    assert words in parts[part].message
    hidden = parts[f"{part}-hidden"]
    assert hidden.status == "failed" and hidden.hint, "a failing hidden part comes with a hint"
