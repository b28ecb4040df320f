"""Grading the batchnorm assignment: the mistakes learners make get exactly the marks they deserve.

Each wrong submission is the instructor's solution with one classic mistake of a first batch
normalization: statistics over the wrong axes, the unbiased variance where the biased one
normalizes (or the other way round in the running variance), Keras's momentum, a backward pass
that treats the batch statistics as constants, a relative error of the maxima. Its public test
fails with a message that names the failing configuration, its hidden test fails too, so the
part is lost, and nothing else is. A part that hands the work to PyTorch or scikit-learn earns
nothing and the status ``forbidden``.
"""

from __future__ import annotations

import pytest
from notebook_helpers import ROOT, edit_cell, grade_class, load, source_path

# one worker grades the class (the others would grade it again)
pytestmark = pytest.mark.xdist_group("assignment_batchnorm")

RELEASED = ROOT / "chapters" / "12-normalization" / "batchnorm.ipynb"
FORWARD, RUNNING, EVAL = "forward-solution", "running-solution", "eval-solution"
BACKWARD, GRADIENT_CHECK = "backward-solution", "gradient-check-solution"


def replace(old: str, new: str):
    def change(source: str) -> str:
        assert source.count(old) == 1, f"{old!r} is not in the cell exactly once"
        return source.replace(old, new)

    return change


def replace_all(*pairs: tuple[str, str]):
    def change(source: str) -> str:
        for old, new in pairs:
            source = replace(old, new)(source)
        return source

    return change


FORWARD_STATS = (
    "    mean = x.mean(axis=(0, 2, 3), keepdims=True)\n"
    "    var = x.var(axis=(0, 2, 3), keepdims=True)\n"
)

# scikit-learn's StandardScaler on a (N*H*W, C) view: the right numbers, not the learner's work.
SKLEARN_FORWARD = '''def batchnorm_forward(x, gamma, beta, eps=1e-5):
    """Batch normalization in training mode, by scikit-learn."""
    from sklearn.preprocessing import StandardScaler

    n, c, h, w = x.shape
    rows = np.moveaxis(x, 1, -1).reshape(-1, c)
    scaled = StandardScaler().fit(rows)
    rows = (rows - scaled.mean_) / np.sqrt(scaled.var_ + eps)
    x_hat = np.moveaxis(rows.reshape(n, h, w, c), -1, 1)
    return gamma.reshape(1, -1, 1, 1) * x_hat + beta.reshape(1, -1, 1, 1)
'''

# PyTorch's autograd does the backward pass.
TORCH_BACKWARD = '''import torch


def batchnorm_backward(dy, x, gamma, eps=1e-5):
    """The gradients, by PyTorch's autograd."""
    xt = torch.tensor(x, requires_grad=True)
    gt = torch.tensor(gamma, requires_grad=True)
    bt = torch.zeros_like(gt, requires_grad=True)
    y = torch.nn.functional.batch_norm(xt, None, None, gt, bt, training=True, eps=eps)
    y.backward(torch.tensor(dy))
    return xt.grad.numpy(), gt.grad.numpy(), bt.grad.numpy()
'''


def batchnorm_class() -> dict[str, dict]:
    """Submissions for batchnorm: student id -> notebook."""
    src = load(source_path("batchnorm"))
    return {
        "full": src,
        "released": load(RELEASED),
        # one mean and one variance for the whole tensor, as if it were one channel.
        "stats-over-all-axes": edit_cell(
            src,
            FORWARD,
            replace(FORWARD_STATS, "    mean = x.mean()\n    var = x.var()\n"),
        ),
        # BatchNorm1d's axis on a 4D tensor: statistics per position, not per channel.
        "stats-over-batch-axis-only": edit_cell(
            src,
            FORWARD,
            replace(
                FORWARD_STATS,
                "    mean = x.mean(axis=0, keepdims=True)\n"
                "    var = x.var(axis=0, keepdims=True)\n",
            ),
        ),
        # normalizes with the unbiased variance (the running variance's, divided by m - 1).
        "unbiased-variance-in-forward": edit_cell(
            src,
            FORWARD,
            replace(
                "x.var(axis=(0, 2, 3), keepdims=True)",
                "x.var(axis=(0, 2, 3), ddof=1, keepdims=True)",
            ),
        ),
        # eps added to the standard deviation instead of the variance.
        "eps-outside-sqrt": edit_cell(
            src,
            FORWARD,
            replace("np.sqrt(var + eps)", "(np.sqrt(var) + eps)"),
        ),
        # the running variance collects the biased variance the batch was normalized with.
        "running-biased-variance": edit_cell(
            src, RUNNING, replace("x.var(axis=(0, 2, 3), ddof=1)", "x.var(axis=(0, 2, 3))")
        ),
        # Keras's convention: momentum is the weight of the old value.
        "running-keras-momentum": edit_cell(
            src,
            RUNNING,
            replace_all(
                (
                    "(1 - momentum) * np.asarray(running_mean, dtype=float) + momentum * "
                    "batch_mean",
                    "momentum * np.asarray(running_mean, dtype=float) + (1 - momentum) * "
                    "batch_mean",
                ),
                (
                    "(1 - momentum) * np.asarray(running_var, dtype=float) + momentum * batch_var",
                    "momentum * np.asarray(running_var, dtype=float) + (1 - momentum) * batch_var",
                ),
            ),
        ),
        # the right values, written into the caller's arrays (as a layer's buffers are).
        "running-in-place": edit_cell(
            src,
            RUNNING,
            replace_all(
                (
                    "    new_mean = (1 - momentum) * np.asarray(running_mean, dtype=float) + "
                    "momentum * batch_mean\n",
                    "    new_mean = running_mean\n"
                    "    new_mean *= 1 - momentum\n"
                    "    new_mean += momentum * batch_mean\n",
                ),
                (
                    "    new_var = (1 - momentum) * np.asarray(running_var, dtype=float) + "
                    "momentum * batch_var\n",
                    "    new_var = running_var\n"
                    "    new_var *= 1 - momentum\n"
                    "    new_var += momentum * batch_var\n",
                ),
            ),
        ),
        # evaluation mode that still normalizes with the batch's own statistics.
        "eval-uses-batch-stats": edit_cell(
            src,
            EVAL,
            replace(
                "    shape = (1, -1, 1, 1)\n",
                "    shape = (1, -1, 1, 1)\n"
                "    running_mean = x.mean(axis=(0, 2, 3))\n"
                "    running_var = x.var(axis=(0, 2, 3))\n",
            ),
        ),
        # the gradient of a layer whose mean and variance were constants.
        "backward-ignores-mean-and-variance": edit_cell(
            src,
            BACKWARD,
            replace(
                "    dx = (m * g_hat - g_hat.sum(axis=axes, keepdims=True)\n"
                "          - x_hat * (g_hat * x_hat).sum(axis=axes, keepdims=True)) / (m * s)\n",
                "    dx = g_hat / s\n",
            ),
        ),
        # m counts the images only: right for 1x1 maps, wrong for any image.
        "backward-m-is-batch-size": edit_cell(
            src, BACKWARD, replace("m = x.shape[0] * x.shape[2] * x.shape[3]", "m = x.shape[0]")
        ),
        # dgamma from the input instead of the normalized input.
        "backward-dgamma-from-x": edit_cell(
            src, BACKWARD, replace("(dy * x_hat).sum(axis=axes)", "(dy * x).sum(axis=axes)")
        ),
        # the largest difference over the largest sum: a 10% error on a small entry hides.
        "relative-error-of-maxima": edit_cell(
            src,
            GRADIENT_CHECK,
            replace(
                "np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), eps))",
                "np.max(np.abs(a - b)) / max(np.max(np.abs(a) + np.abs(b)), eps)",
            ),
        ),
        # (f(x + h) - f(x)) / h: an error of order h, not h**2.
        "one-sided-difference": edit_cell(
            src,
            GRADIENT_CHECK,
            replace_all(
                ("        x[idx] = old - h\n", "        x[idx] = old\n"),
                ("(f_plus - f_minus) / (2 * h)", "(f_plus - f_minus) / h"),
            ),
        ),
        # leaves the last nudge in x.
        "numerical-gradient-no-restore": edit_cell(
            src,
            GRADIENT_CHECK,
            replace(
                "        x[idx] = old\n        grad[idx]",
                "        grad[idx]",
            ),
        ),
        "forward-uses-sklearn": edit_cell(src, FORWARD, lambda s: SKLEARN_FORWARD),
        "backward-uses-torch": edit_cell(src, BACKWARD, lambda s: TORCH_BACKWARD),
    }


# student id -> (score, status); batchnorm is worth 21: forward 2+3, running statistics 1+2,
# evaluation 1+1, backward 2+4, relative error 1+1, numerical gradient 1+2.
EXPECTED = {
    "full": (21, "ok"),
    "released": (0, "ok"),
    "stats-over-all-axes": (19.05, "ok"),
    "stats-over-batch-axis-only": (19, "ok"),
    "unbiased-variance-in-forward": (18.3, "ok"),
    "eps-outside-sqrt": (18.75, "ok"),
    "running-biased-variance": (20.1, "ok"),
    "running-keras-momentum": (19.5, "ok"),
    "running-in-place": (19.8, "ok"),
    "eval-uses-batch-stats": (19, "ok"),
    "backward-ignores-mean-and-variance": (19, "ok"),
    "backward-m-is-batch-size": (19.49, "ok"),
    "backward-dgamma-from-x": (19, "ok"),
    "relative-error-of-maxima": (20.45, "ok"),
    "one-sided-difference": (19.13, "ok"),
    "numerical-gradient-no-restore": (18.73, "ok"),
    "forward-uses-sklearn": (16, "forbidden"),
    "backward-uses-torch": (15, "forbidden"),
}


@pytest.fixture(scope="session")  # once per worker, even if other modules' tests run in between
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("batchnorm-class")
    return grade_class(base, "batchnorm", batchnorm_class(), seed=7)


def message(graded, student: str, part: str) -> str:
    (found,) = [p for p in graded[student].parts if p.grade_id == part]
    return found.message


@pytest.mark.slow
@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_batchnorm_submission_gets_the_grade_it_deserves(graded, student):
    score, status = EXPECTED[student]
    result = graded[student]
    assert (result.score, result.status) == (score, status), (result.reason, result.parts)


@pytest.mark.slow
def test_public_messages_name_the_failing_configuration(graded):
    assert "statistics per channel over the batch and the positions" in message(
        graded, "stats-over-all-axes", "forward"
    )
    eps = message(graded, "eps-outside-sqrt", "forward")
    assert "returned the wrong values" in eps and "eps=1e-05" in eps and "(4, 3, 5, 6)" in eps
    assert "unbiased variance is 32/7" in message(graded, "running-biased-variance", "running")
    keras = message(graded, "running-keras-momentum", "running")
    assert "momentum=0.1)  # the chapter's example: the mean" in keras
    assert "running_mean after update_running_stats" in message(
        graded, "running-in-place", "running"
    )
    assert "running_var=[0.9 + 3.2/7]" in message(graded, "eval-uses-batch-stats", "eval")
    chapter = "the chapter's example"
    assert chapter in message(graded, "backward-ignores-mean-and-variance", "backward")
    m_is_n = message(graded, "backward-m-is-batch-size", "backward")
    assert "(dx)" in m_is_n and "x of shape (4, 3, 5, 6)" in m_is_n
    assert "(dgamma)" in message(graded, "backward-dgamma-from-x", "backward")
    assert "relative_error([1000, 0.01], [1000, 0.011])" in message(
        graded, "relative-error-of-maxima", "relative-error"
    )
    assert "sum(sin(x) * x**2)" in message(graded, "one-sided-difference", "numerical-gradient")
    assert "x after numerical_gradient" in message(
        graded, "numerical-gradient-no-restore", "numerical-gradient"
    )


@pytest.mark.slow
def test_forbidden_calls_are_named_with_their_line(graded):
    sklearn = graded["forward-uses-sklearn"]
    assert "sklearn" in message(graded, "forward-uses-sklearn", "forward")
    assert "forward" in sklearn.reason and "backward" not in sklearn.reason
    torch = message(graded, "backward-uses-torch", "backward")
    assert "torch" in torch and "line" in torch


@pytest.mark.slow
def test_a_submission_is_graded_in_a_few_seconds(graded):
    """Every test of the notebook is vectorized NumPy on small arrays; PyTorch computes the
    expected values once per grading run, never per submission. Wall time on a shared machine
    moves with its load: the bound is generous, the measured times are well under a second."""
    assert max(result.seconds for result in graded.values()) < 10, {
        student: result.seconds for student, result in graded.items()
    }


@pytest.mark.slow
def test_check_passes_the_source_and_says_not_written_yet_for_the_release():
    from autograder.check import check_notebook
    from autograder.grading.results import PartStatus

    source = check_notebook(source_path("batchnorm"))
    assert all(p.status == PartStatus.PASSED for p in source), [p.message for p in source]
    released = check_notebook(RELEASED)
    public = [p for p in released if p.status != PartStatus.HIDDEN]
    assert public and all("not written yet" in p.message for p in public), [
        p.message for p in public
    ]
