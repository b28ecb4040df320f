"""Grading the CNN-from-scratch assignment: classic mistakes cost exactly the parts they touch.

Each wrong submission is the instructor's solution with one mistake. A layer bug fails that
layer's public and hidden tests, and the network test too when the layer sits inside it; a bug
that keeps every value right but makes training slow loses only the training part, whose time
budget the grader enforces.
"""

from __future__ import annotations

import pytest
from notebook_helpers import edit_cell, grade_class, load, source_path

# one worker grades the class (the others would grade it again)
pytestmark = pytest.mark.xdist_group("assignment_cnn_from_scratch")


def cnn_class() -> dict[str, dict]:
    """Submissions for cnn-from-scratch: student id -> notebook."""
    src = load(source_path("cnn-from-scratch"))
    # The untouched source (full marks) and release (zero) are graded for every assignment
    # by tests/test_grade.py; here only the mistakes, to keep this test short.
    return {
        # lets the gradient through where x < 0 (as if ReLU were the identity backward)
        "relu-leaks": edit_cell(
            src,
            "relu-solution",
            lambda s: s.replace("return dy * (x > 0)", "return dy * (x >= 0) + dy * (x < 0)"),
        ),
        # np.exp of scores near 1000 overflows: softmax gives nan, the loss inf
        "softmax-no-shift": edit_cell(
            src,
            "softmax-solution",
            lambda s: s.replace(
                "shifted = logits - logits.max(axis=1, keepdims=True)", "shifted = logits"
            ),
        ),
        # v = mu v + lr g: every step climbs the loss, and training diverges
        "momentum-wrong-sign": edit_cell(
            src,
            "sgd-solution",
            lambda s: s.replace(
                "momentum * velocity[name] - lr * grads[name]",
                "momentum * velocity[name] + lr * grads[name]",
            ),
        ),
        # every layer right and an accurate network, but train() takes 25 s more than the
        # solution: over the 20 s budget. A sleep stands for any slow code; unlike slow
        # arithmetic, it takes as long on a busy machine and stays under the 60 s cell limit.
        "slow-training": edit_cell(
            src,
            "train-solution",
            lambda s: s.replace(
                "    return params\n    ### END SOLUTION",
                "    import time\n\n    time.sleep(25)\n    return params\n    ### END SOLUTION",
            ),
        ),
    }


# student id -> (score, status); the assignment is worth 22: convolution forward 1+1 and
# backward 1+2, ReLU 1+1, max pooling 1+1, dense 1+1, softmax 1+1, cross-entropy 1+1,
# SGD with momentum 1+1, network 1+1, training (accuracy and time budget) 3.
EXPECTED = {
    # One mistake is charged once: the network and training parts run with correct versions of
    # the functions that earlier parts grade, and say so.
    "relu-leaks": (21.22, "ok"),  # ReLU, public and hidden
    "softmax-no-shift": (20.82, "ok"),  # softmax and cross-entropy, public and hidden
    "momentum-wrong-sign": (20, "ok"),  # SGD, public and hidden
    "slow-training": (20.5, "ok"),  # training only: over the time budget
}


@pytest.fixture(scope="session")  # once per worker, even if other modules' tests run in between
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("cnn-class")
    return grade_class(base, "cnn-from-scratch", cnn_class(), seed=7)


def message(graded, student: str, part: str) -> str:
    (found,) = [p for p in graded[student].parts if p.grade_id == part]
    return found.message


@pytest.mark.slow
@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_cnn_submission_gets_the_grade_it_deserves(graded, student):
    score, status = EXPECTED[student]
    result = graded[student]
    assert (result.score, result.status) == (score, status), (result.reason, result.parts)


@pytest.mark.slow
def test_public_messages_say_what_failed(graded):
    assert "blocked where x <= 0" in message(graded, "relu-leaks", "relu")
    assert "subtract the maximum" in message(graded, "softmax-no-shift", "softmax")
    assert "after step 1 of sgd_momentum_step" in message(graded, "momentum-wrong-sign", "sgd")
    assert "graded with a correct sgd_momentum_step" in message(
        graded, "momentum-wrong-sign", "training"
    )
    assert "graded with a correct relu_backward" in message(graded, "relu-leaks", "network")
    # training lists forward and backward; the correct backward calls relu_backward, so the
    # correct relu_backward comes with it (or the leaky one would be charged again)
    assert "graded with a correct relu_backward" in message(graded, "relu-leaks", "training")
    slow = message(graded, "slow-training", "training")
    assert "within the budget" in slow and "accuracy" not in slow
