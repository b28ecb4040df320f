"""Grading the visualizing assignment: classic mistakes get exactly the marks they deserve.

Each wrong submission is the instructor's solution with one mistake a learner makes when first
computing saliency or occlusion maps. Its public test fails with a message that says what is
wrong (type, then shape, then values), its hidden test fails too, and no other part is touched.
The quick tests at the end check the reference module itself against properties that can be
worked out by hand.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from notebook_helpers import ROOT, edit_cell, grade_class, load, source_path
from torch import nn

from autograder.oracles import saliency as reference

RELEASED = ROOT / "chapters" / "15-visualizing" / "visualizing.ipynb"


def visualizing_class() -> dict[str, dict]:
    """Submissions for visualizing: student id -> notebook."""
    src = load(source_path("visualizing"))
    return {
        "full": src,
        "released": load(RELEASED),
        # the signed gradient: negative evidence shows up as "not salient".
        "saliency-without-abs": edit_cell(
            src,
            "saliency-solution",
            lambda s: s.replace("grad[0].abs().amax(dim=0)", "grad[0].amax(dim=0)"),
        ),
        # the gradient of the training loss, which mixes in every other class's gradient.
        "saliency-of-the-loss": edit_cell(
            src,
            "saliency-solution",
            lambda s: s.replace(
                "score = model(batch)[0, target]",
                "score = nn.functional.cross_entropy(model(batch), torch.tensor([target]))",
            ),
        ),
        # right numbers, wrong type: a tensor is not a NumPy array.
        "saliency-returns-tensor": edit_cell(
            src,
            "saliency-solution",
            lambda s: s.replace("grad[0].abs().amax(dim=0).numpy()", "grad[0].abs().amax(dim=0)"),
        ),
        # range(0, last, stride) stops before the last patch: one row and column too few.
        "occlusion-off-by-one": edit_cell(
            src,
            "occlusion-solution",
            lambda s: s.replace("// stride * stride + 1, stride)", "// stride * stride, stride)"),
        ),
        # the drop of the score (logit) instead of the probability.
        "occlusion-score-drop": edit_cell(
            src,
            "occlusion-solution",
            lambda s: s.replace(
                "torch.softmax(model(torch.tensor(x[None])), dim=1)", "model(torch.tensor(x[None]))"
            ).replace(
                "torch.softmax(model(torch.tensor(np.stack(occluded))), dim=1)",
                "model(torch.tensor(np.stack(occluded)))",
            ),
        ),
        # left Riemann sum alpha_k = k / m instead of the midpoints (k + 1/2) / m.
        "ig-left-endpoints": edit_cell(
            src,
            "ig-solution",
            lambda s: s.replace("(np.arange(steps) + 0.5) / steps", "np.arange(steps) / steps"),
        ),
    }


# student id -> (score, status); visualizing is worth 18: saliency 2+3, occlusion 2+4,
# integrated gradients 2+2, activation maximization 1+2.
EXPECTED = {
    "full": (18, "ok"),
    "released": (0, "ok"),
    "saliency-without-abs": (13, "ok"),
    "saliency-of-the-loss": (13, "ok"),
    "saliency-returns-tensor": (13, "ok"),
    "occlusion-off-by-one": (12, "ok"),
    "occlusion-score-drop": (12, "ok"),
    "ig-left-endpoints": (14, "ok"),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("visualizing-class")
    return grade_class(base, "visualizing", visualizing_class(), seed=7)


@pytest.mark.slow
@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_visualizing_submission_gets_the_grade_it_deserves(graded, student):
    score, status = EXPECTED[student]
    result = graded[student]
    assert (result.score, result.status) == (score, status), (result.reason, result.parts)


@pytest.mark.slow
def test_public_messages_say_what_is_wrong(graded):
    def message(student: str, part: str) -> str:
        (found,) = [p for p in graded[student].parts if p.grade_id == part]
        return found.message

    assert "returned a Tensor, expected a NumPy array" in message(
        "saliency-returns-tensor", "saliency"
    )
    assert "expected max_c |W[t, c]|" in message("saliency-without-abs", "saliency")
    assert "expected shape" in message("occlusion-off-by-one", "occlusion")
    assert "wrong values" in message("occlusion-score-drop", "occlusion")
    assert "expected x * W[1]" not in message("ig-left-endpoints", "ig")  # linear case is exact
    assert "steps=" in message("ig-left-endpoints", "ig")


# --- the reference itself ----------------------------------------------------------------


def small_net(channels: int = 2, classes: int = 4) -> nn.Module:
    torch.manual_seed(3)
    return (
        nn.Sequential(
            nn.Conv2d(channels, 4, 3, padding=1),
            nn.Tanh(),
            nn.AdaptiveAvgPool2d(2),
            nn.Flatten(),
            nn.Linear(16, classes),
        )
        .double()
        .eval()
    )


def test_saliency_of_a_linear_model_is_the_largest_absolute_weight():
    w = np.random.default_rng(0).standard_normal((3, 2, 4, 5))
    model = nn.Sequential(nn.Flatten(), nn.Linear(40, 3, bias=False)).double()
    with torch.no_grad():
        model[1].weight.copy_(torch.tensor(w.reshape(3, -1)))
    x = np.random.default_rng(1).standard_normal((2, 4, 5))
    np.testing.assert_allclose(reference.saliency_map(model, x, 1), np.abs(w[1]).max(axis=0))


def test_integrated_gradients_add_up_to_the_score_difference():
    model = small_net()
    x = np.random.default_rng(2).standard_normal((2, 6, 7))
    ig = reference.integrated_gradients(model, x, 2, steps=256)
    with torch.no_grad():
        scores = model(torch.tensor(np.stack([x, np.zeros_like(x)])))[:, 2]
    assert ig.shape == x.shape
    assert abs(ig.sum() - float(scores[0] - scores[1])) < 1e-3 * abs(float(scores[0]))


def test_occlusion_covers_exactly_the_stated_patches():
    model = small_net()
    x = np.random.default_rng(4).standard_normal((2, 9, 10))
    d = reference.occlusion_sensitivity(model, x, 0, patch=4, stride=3, fill=0.5)
    assert d.shape == ((9 - 4) // 3 + 1, (10 - 4) // 3 + 1) == (2, 3)
    hidden = x.copy()
    hidden[:, 3:7, 6:10] = 0.5  # patch (1, 2)
    with torch.no_grad():
        p = torch.softmax(model(torch.tensor(np.stack([x, hidden]))), dim=1)[:, 0]
    np.testing.assert_allclose(d[1, 2], float(p[0] - p[1]))
    assert np.array_equal(x, np.random.default_rng(4).standard_normal((2, 9, 10)))


def test_reference_functions_leave_the_model_without_gradients():
    model = small_net()
    x = np.random.default_rng(5).standard_normal((2, 5, 5))
    reference.saliency_map(model, x, 1)
    reference.integrated_gradients(model, x, 1, steps=4)
    reference.activation_maximization(model, 1, (2, 5, 5), steps=3)
    assert all(p.grad is None for p in model.parameters())
