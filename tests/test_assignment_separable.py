"""Grading the separable assignment: the mistakes learners make get exactly the marks they deserve.

Each wrong submission is the instructor's solution with one classic mistake of a first depthwise
or pointwise convolution: the stride forgotten, an output one pixel too small, a flipped kernel,
the weight matrix transposed, overlapping windows that overwrite instead of add, the padding left
on the gradient, a bias gradient per image, a weight gradient of the wrong shape, multiply-adds
counted as FLOPs. Its public test fails with a message that names the failing configuration, its
hidden test fails too, so the part is lost, and nothing else is. A part that hands the work to a
library convolution earns nothing and the status ``forbidden``.
"""

from __future__ import annotations

import pytest
from notebook_helpers import ROOT, edit_cell, grade_class, load, source_path

# one worker grades the class (the others would grade it again)
pytestmark = pytest.mark.xdist_group("assignment_separable")

RELEASED = ROOT / "chapters" / "14-efficient-convolutions" / "separable.ipynb"
DEPTHWISE, POINTWISE = "depthwise-solution", "pointwise-solution"
DEPTHWISE_BACKWARD = "depthwise-backward-solution"
POINTWISE_BACKWARD = "pointwise-backward-solution"
COST = "cost-solution"


def replace(old: str, new: str):
    def change(source: str) -> str:
        assert source.count(old) == 1, f"{old!r} is not in the cell exactly once"
        return source.replace(old, new)

    return change


POINTWISE_BODY = """    y = np.einsum("fc,nchw->nfhw", np.asarray(w, dtype=float)[:, :, 0, 0],
                  np.asarray(x, dtype=float))
"""
# the right values, one pixel at a time.
POINTWISE_LOOPS = """    x = np.asarray(x, dtype=float)
    matrix = np.asarray(w, dtype=float)[:, :, 0, 0]
    y = np.zeros((x.shape[0], matrix.shape[0], x.shape[2], x.shape[3]))
    for i in range(x.shape[2]):
        for j in range(x.shape[3]):
            y[:, :, i, j] = x[:, :, i, j] @ matrix.T
"""

# PyTorch's grouped convolution does the work.
TORCH_DEPTHWISE = '''import torch


def depthwise_conv2d(x, w, b=None, stride=1, padding=0):
    """Depthwise convolution, by PyTorch."""
    bias = None if b is None else torch.tensor(b)
    y = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), bias, stride=stride,
                                   padding=padding, groups=x.shape[1])
    return y.numpy()
'''

# SciPy's correlate computes the weight gradient of each channel.
SCIPY_DW = "dw[:, 0] += (g * xp[:, :, rows, cols]).sum(axis=0)"
SCIPY_BACKWARD_IMPORT = "from scipy.signal import correlate\n\n\n"


def separable_class() -> dict[str, dict]:
    """Submissions for separable: student id -> notebook."""
    src = load(source_path("separable"))
    return {
        "full": src,
        "released": load(RELEASED),
        # every window starts one pixel after the last, whatever the stride.
        "depthwise-forgets-stride": edit_cell(
            src,
            DEPTHWISE,
            replace(
                "window = xp[:, :, i * sh : i * sh + kh, j * sw : j * sw + kw]",
                "window = xp[:, :, i : i + kh, j : j + kw]",
            ),
        ),
        # (H + 2p - K) // s without the + 1: the last row and column are missing.
        "depthwise-output-off-by-one": edit_cell(
            src,
            DEPTHWISE,
            replace(
                "h_out, w_out = conv_output_size(h, kh, sh, ph), conv_output_size(wd, kw, sw, pw)",
                "h_out, w_out = (h + 2 * ph - kh) // sh, (wd + 2 * pw - kw) // sw",
            ),
        ),
        # the convolution of the mathematicians: the kernel flipped.
        "depthwise-flipped-kernel": edit_cell(
            src,
            DEPTHWISE,
            replace("(window * w[:, 0]).sum", "(window * w[:, 0, ::-1, ::-1]).sum"),
        ),
        # the right values, one pixel at a time: the part asks for no loops.
        "pointwise-with-loops": edit_cell(src, POINTWISE, replace(POINTWISE_BODY, POINTWISE_LOOPS)),
        # the (F, C, 1, 1) weights reshaped into a (C, F) matrix: right only when F or C is 1.
        "pointwise-weights-transposed": edit_cell(
            src,
            POINTWISE,
            replace(
                'np.einsum("fc,nchw->nfhw", np.asarray(w, dtype=float)[:, :, 0, 0],',
                'np.einsum("cf,nchw->nfhw", np.asarray(w, dtype=float).reshape(x.shape[1], -1),',
            ),
        ),
        # `=` instead of `+=`: overlapping windows overwrite each other's gradient.
        "depthwise-backward-overwrites": edit_cell(
            src,
            DEPTHWISE_BACKWARD,
            replace("dxp[:, :, rows, cols] += g * w[:, 0]", "dxp[:, :, rows, cols] = g * w[:, 0]"),
        ),
        # the gradient of the padded input: the zeros were not an input.
        "depthwise-backward-no-crop": edit_cell(
            src,
            DEPTHWISE_BACKWARD,
            replace("dx = dxp[:, :, ph : ph + h, pw : pw + wd]", "dx = dxp"),
        ),
        # the bias gradient of every image apart: shape (N, C) instead of (C,).
        "depthwise-backward-db-per-image": edit_cell(
            src,
            DEPTHWISE_BACKWARD,
            replace("db = dy.sum(axis=(0, 2, 3))", "db = dy.sum(axis=(2, 3))"),
        ),
        # the weight gradient as an F x C matrix, not in the shape of w.
        "pointwise-backward-dw-shape": edit_cell(
            src,
            POINTWISE_BACKWARD,
            replace(
                'np.einsum("nfhw,nchw->fc", dy, x)[:, :, None, None]',
                'np.einsum("nfhw,nchw->fc", dy, x)',
            ),
        ),
        # multiply-adds reported as FLOPs.
        "cost-flops-as-macs": edit_cell(
            src,
            COST,
            lambda s: s.replace("int(2 * params * h_out * w_out)", "int(params * h_out * w_out)"),
        ),
        # the separable layer's cost without its depthwise half.
        "cost-forgets-depthwise": edit_cell(
            src,
            COST,
            replace("params = c_in * k * k + c_in * c_out", "params = c_in * c_out"),
        ),
        "depthwise-calls-torch": edit_cell(src, DEPTHWISE, lambda s: TORCH_DEPTHWISE),
        "backward-uses-scipy": edit_cell(
            src,
            DEPTHWISE_BACKWARD,
            lambda s: (
                SCIPY_BACKWARD_IMPORT
                + replace(
                    SCIPY_DW,
                    "dw[:, 0] += np.stack([correlate(xp[:, c, rows, cols], g[:, c], mode='valid')"
                    "[0] for c in range(g.shape[1])])",
                )(s)
            ),
        ),
    }


# student id -> (score, status); separable is worth 19: depthwise 2+3, pointwise 1+1, depthwise
# backward 2+4, pointwise backward 1+2, cost 1+2.
EXPECTED = {
    "full": (19, "ok"),
    "released": (0, "ok"),
    "depthwise-forgets-stride": (16.84, "ok"),
    "depthwise-output-off-by-one": (14, "ok"),
    "depthwise-flipped-kernel": (14.6, "ok"),
    "pointwise-with-loops": (17, "ok"),
    "pointwise-weights-transposed": (17.65, "ok"),
    "depthwise-backward-overwrites": (18.04, "ok"),
    "depthwise-backward-no-crop": (17.43, "ok"),
    "depthwise-backward-db-per-image": (17, "ok"),
    "pointwise-backward-dw-shape": (18, "ok"),
    "cost-flops-as-macs": (16, "ok"),
    "cost-forgets-depthwise": (17.4, "ok"),
    "depthwise-calls-torch": (14, "forbidden"),
    "backward-uses-scipy": (13, "forbidden"),
}


@pytest.fixture(scope="session")  # once per worker, even if other modules' tests run in between
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("separable-class")
    return grade_class(base, "separable", separable_class(), seed=7)


def message(graded, student: str, part: str) -> str:
    (found,) = [p for p in graded[student].parts if p.grade_id == part]
    return found.message


@pytest.mark.slow
@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_separable_submission_gets_the_grade_it_deserves(graded, student):
    score, status = EXPECTED[student]
    result = graded[student]
    assert (result.score, result.status) == (score, status), (result.reason, result.parts)


@pytest.mark.slow
def test_public_messages_name_the_failing_configuration(graded):
    stride = message(graded, "depthwise-forgets-stride", "depthwise")
    assert "returned the wrong values" in stride and "stride=2" in stride
    assert "expected shape" in message(graded, "depthwise-output-off-by-one", "depthwise")
    assert "the chapter's example" in message(graded, "depthwise-flipped-kernel", "depthwise")
    assert "pointwise_conv2d" in message(graded, "pointwise-with-loops", "pointwise")
    assert "loop" in message(graded, "pointwise-with-loops", "pointwise")
    assert "w (3, 2, 1, 1)" in message(graded, "pointwise-weights-transposed", "pointwise")
    overwrites = message(graded, "depthwise-backward-overwrites", "depthwise-backward")
    assert "(dx)" in overwrites and "the chapter's example" in overwrites
    no_crop = message(graded, "depthwise-backward-no-crop", "depthwise-backward")
    assert "expected shape" in no_crop and "padding=1" in no_crop
    assert "(db)" in message(graded, "depthwise-backward-db-per-image", "depthwise-backward")
    dw_shape = message(graded, "pointwise-backward-dw-shape", "pointwise-backward")
    assert "(dw)" in dw_shape and "expected shape" in dw_shape
    assert "a multiply-add is 2 FLOPs" in message(graded, "cost-flops-as-macs", "cost")
    assert "separable_conv_cost(256, 256, 3, 28, 28)" in message(
        graded, "cost-forgets-depthwise", "cost"
    )


@pytest.mark.slow
def test_forbidden_calls_are_named_with_their_line(graded):
    torch = message(graded, "depthwise-calls-torch", "depthwise")
    assert "torch" in torch and "line" in torch
    scipy = graded["backward-uses-scipy"]
    assert "scipy.signal" in message(graded, "backward-uses-scipy", "depthwise-backward")
    assert "depthwise-backward" in scipy.reason and "pointwise" not in scipy.reason


@pytest.mark.slow
def test_a_submission_is_graded_in_a_few_seconds(graded):
    """Small shapes and loops over output positions only; PyTorch computes the expected values
    once per grading run, never per submission. Wall time on a shared machine moves with its
    load: the bound is generous, the measured times are around a second."""
    assert max(result.seconds for result in graded.values()) < 10, {
        student: result.seconds for student, result in graded.items()
    }


@pytest.mark.slow
def test_check_passes_the_source_and_says_not_written_yet_for_the_release():
    from autograder.check import check_notebook
    from autograder.grading.results import PartStatus

    source = check_notebook(source_path("separable"))
    assert all(p.status == PartStatus.PASSED for p in source), [p.message for p in source]
    released = check_notebook(RELEASED)
    public = [p for p in released if p.status != PartStatus.HIDDEN]
    assert public and all("not written yet" in p.message for p in public), [
        p.message for p in public
    ]
