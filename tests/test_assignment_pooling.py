"""Grading the pooling assignment: the mistakes learners make get exactly the marks they deserve.

Each wrong submission is the instructor's solution with one classic mistake. Its public test
fails with a message that names the mistake's configuration, and its hidden test fails too, so
the part is lost, and nothing else is.
"""

from __future__ import annotations

import pytest
from notebook_helpers import ROOT, edit_cell, grade_class, load, source_path

# one worker grades the class (the others would grade it again)
pytestmark = pytest.mark.xdist_group("assignment_pooling")

RELEASED = ROOT / "chapters" / "08-pooling" / "pooling.ipynb"
AS_CONV_BODY = """    box = np.full((1, 1, k, k), 1.0 / (k * k))
    y = conv2d(x.reshape(n * c, 1, h, w), box, stride=k)
    return y.reshape(n, c, y.shape[2], y.shape[3])"""


def pooling_class() -> dict[str, dict]:
    """Submissions for pooling: student id -> notebook."""
    src = load(source_path("pooling"))
    return {
        "full": src,
        "released": load(RELEASED),
        # np.argmax on the reversed window: the *last* maximum gets the gradient on ties.
        "ties-to-last": edit_cell(
            src,
            "max-pool-backward-solution",
            lambda s: s.replace(
                "first = window.reshape(n, c, k * k).argmax(axis=2)",
                "first = k * k - 1 - window.reshape(n, c, k * k)[:, :, ::-1].argmax(axis=2)",
            ),
        ),
        # `=` instead of `+=`: overlapping windows overwrite each other's shares.
        "avg-backward-overwrites": edit_cell(
            src, "avg-pool-backward-solution", lambda s: s.replace("] += (", "] = (")
        ),
        # zero padding for max pooling: an all-negative border window returns 0.
        "max-pads-zeros": edit_cell(
            src,
            "max-pool-solution",
            lambda s: s.replace("constant_values=-np.inf", "constant_values=0.0"),
        ),
        # divides by the number of real inputs (count_include_pad=False) instead of k*k.
        "avg-excludes-padding": edit_cell(
            src,
            "avg-pool-solution",
            lambda s: s.replace(
                "y[:, :, i, j] = window.sum(axis=(2, 3)) / (k * k)",
                "real = np.pad(np.ones(x.shape[2:]), padding)"
                "[i * stride : i * stride + k, j * stride : j * stride + k].sum()\n"
                "            y[:, :, i, j] = window.sum(axis=(2, 3)) / real",
            ),
        ),
        # right values, but not written as a convolution.
        "as-conv-without-conv": edit_cell(
            src,
            "as-conv-solution",
            lambda s: s.replace(AS_CONV_BODY, "    return avg_pool2d(x, k)"),
        ),
    }


# student id -> (score, status); pooling is worth 19: output shape 1+1, max pooling 2+2,
# average pooling 1+2, max backward 2+3, average backward 1+2, as a convolution 1+1.
EXPECTED = {
    "full": (19, "ok"),
    "released": (0, "ok"),
    "ties-to-last": (17.32, "ok"),
    "avg-backward-overwrites": (18.2, "ok"),
    "max-pads-zeros": (17.58, "ok"),
    "avg-excludes-padding": (17.75, "ok"),
    "as-conv-without-conv": (18.62, "ok"),
}


@pytest.fixture(scope="session")  # once per worker, even if other modules' tests run in between
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("pooling-class")
    return grade_class(base, "pooling", pooling_class(), seed=7)


@pytest.mark.slow
@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_pooling_submission_gets_the_grade_it_deserves(graded, student):
    score, status = EXPECTED[student]
    result = graded[student]
    assert (result.score, result.status) == (score, status), (result.reason, result.parts)


@pytest.mark.slow
def test_public_messages_name_the_failing_configuration(graded):
    def message(student: str, part: str) -> str:
        (found,) = [p for p in graded[student].parts if p.grade_id == part]
        return found.message

    assert "ties: the first maximum wins" in message("ties-to-last", "max-pool-backward")
    assert "stride=2" in message("avg-backward-overwrites", "avg-pool-backward")
    assert "padding=1" in message("max-pads-zeros", "max-pool")
    assert "conv2d calls" in message("as-conv-without-conv", "as-conv")
