"""Grading the visualizing assignment: classic mistakes get exactly the marks they deserve.

Each wrong submission is the instructor's solution with one mistake a learner makes when first
computing saliency, occlusion or Grad-CAM maps. Its public test fails with a message that says
what is wrong (type, then shape, then values), its hidden test fails too, and no other part is
touched.
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

# one worker grades the class (the others would grade it again)
pytestmark = pytest.mark.xdist_group("assignment_visualizing")

RELEASED = ROOT / "chapters" / "15-visualizing" / "visualizing.ipynb"
GRAD_CAM = "grad-cam-solution"

# captum's implementation (the import is refused whether or not captum is installed).
CAPTUM_GRAD_CAM = '''from captum.attr import LayerGradCam


def grad_cam(model, split, x, target):
    """Grad-CAM by captum."""
    layer = model[split - 1]
    cam = LayerGradCam(model, layer).attribute(torch.tensor(x[None]), target=target)
    return torch.relu(cam)[0, 0].detach().numpy()
'''


def replace(old: str, new: str):
    def change(source: str) -> str:
        assert source.count(old) == 1, f"{old!r} is not in the cell exactly once"
        return source.replace(old, new)

    return change


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
        # the signed map: regions that speak against the class stay in.
        "grad-cam-without-relu": edit_cell(
            src,
            GRAD_CAM,
            replace("torch.relu((alpha * maps).sum(dim=1))[0]", "(alpha * maps).sum(dim=1)[0]"),
        ),
        # the sum of the gradients instead of their mean: the map Z times too large.
        "grad-cam-sum-not-mean": edit_cell(
            src,
            GRAD_CAM,
            replace(
                "alpha = grads.mean(dim=(2, 3), keepdim=True)",
                "alpha = grads.sum(dim=(2, 3), keepdim=True)",
            ),
        ),
        # gradient times activation, position by position (no average over the positions):
        # the same as Grad-CAM for a GAP network, not for others.
        "grad-cam-gradient-times-activation": edit_cell(
            src,
            GRAD_CAM,
            replace("alpha = grads.mean(dim=(2, 3), keepdim=True)", "alpha = grads"),
        ),
        # the gradient of the probability instead of the score.
        "grad-cam-of-probability": edit_cell(
            src,
            GRAD_CAM,
            replace(
                "score = model[split:](maps)[0, target]",
                "score = torch.softmax(model[split:](maps), dim=1)[0, target]",
            ),
        ),
        # right numbers, wrong type.
        "grad-cam-returns-tensor": edit_cell(
            src, GRAD_CAM, replace("[0].detach().numpy()", "[0].detach()")
        ),
        # captum's LayerGradCam does the work.
        "grad-cam-uses-captum": edit_cell(src, GRAD_CAM, lambda s: CAPTUM_GRAD_CAM),
    }


# student id -> (score, status); visualizing is worth 23: saliency 2+3, occlusion 2+4,
# integrated gradients 2+2, activation maximization 1+2, Grad-CAM 2+3.
EXPECTED = {
    "full": (23, "ok"),
    "released": (0, "ok"),
    "saliency-without-abs": (18, "ok"),
    "saliency-of-the-loss": (18, "ok"),
    "saliency-returns-tensor": (18, "ok"),
    "occlusion-off-by-one": (17, "ok"),
    "occlusion-score-drop": (17.67, "ok"),
    "ig-left-endpoints": (20.33, "ok"),
    "grad-cam-without-relu": (18.4, "ok"),
    "grad-cam-sum-not-mean": (18.3, "ok"),
    "grad-cam-gradient-times-activation": (19.4, "ok"),
    "grad-cam-of-probability": (18.3, "ok"),
    "grad-cam-returns-tensor": (18, "ok"),
    "grad-cam-uses-captum": (18, "forbidden"),
}


@pytest.fixture(scope="session")  # once per worker, even if other modules' tests run in between
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
    chapter = "grad_cam(gap, 1, A, 0)  # the chapter's example"
    assert chapter in message("grad-cam-without-relu", "grad-cam")
    assert chapter in message("grad-cam-sum-not-mean", "grad-cam")
    # exact for the GAP network, wrong for the first make_model case
    assert "grad_cam(model, 5, x_example[:, :6, :6], 2)" in message(
        "grad-cam-gradient-times-activation", "grad-cam"
    )
    assert "wrong values" in message("grad-cam-of-probability", "grad-cam")
    assert "returned a Tensor, expected a NumPy array" in message(
        "grad-cam-returns-tensor", "grad-cam"
    )


@pytest.mark.slow
def test_grad_cam_through_captum_is_forbidden_and_costs_that_part_only(graded):
    result = graded["grad-cam-uses-captum"]
    (part,) = [p for p in result.parts if p.grade_id == "grad-cam"]
    assert "captum" in part.message and "line" in part.message
    assert [p.grade_id for p in result.parts if p.earned < p.points and not p.manual] == [
        "grad-cam",
        "grad-cam-hidden",
    ]


@pytest.mark.slow
def test_a_submission_is_graded_in_a_few_seconds(graded):
    """Small untrained networks on images of at most 17 x 17 pixels; wall time on a shared
    machine moves with its load: the bound is generous, the measured times are under a second."""
    assert max(result.seconds for result in graded.values()) < 10, {
        student: result.seconds for student, result in graded.items()
    }


@pytest.mark.slow
def test_check_passes_the_source_and_says_not_written_yet_for_the_release():
    from autograder.check import check_notebook
    from autograder.grading.results import PartStatus

    source = check_notebook(source_path("visualizing"))
    assert all(p.status == PartStatus.PASSED for p in source), [p.message for p in source]
    released = check_notebook(RELEASED)
    public = [p for p in released if p.status != PartStatus.HIDDEN]
    assert len(public) == 5 and all("not written yet" in p.message for p in public), [
        p.message for p in public
    ]


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


def gap_net(weights: np.ndarray) -> nn.Sequential:
    """Maps (K, h, w) from a 3x3 convolution, then global average pooling and a linear layer."""
    torch.manual_seed(6)
    k = weights.shape[1]
    net = nn.Sequential(
        nn.Conv2d(2, k, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(k, weights.shape[0]),
    ).double()
    with torch.no_grad():
        net[4].weight.copy_(torch.tensor(weights))
    return net.eval()


def test_grad_cam_of_a_gap_network_is_its_class_activation_map_scaled():
    """Chapter 15: for global average pooling and a linear layer, alpha_k = w_tk / Z, so
    Grad-CAM = ReLU(sum_k w_tk A_k) / Z, with Z = h w (here 5 x 6)."""
    weights = np.random.default_rng(7).standard_normal((3, 4))
    net = gap_net(weights)
    x = np.random.default_rng(8).standard_normal((2, 5, 6))
    with torch.no_grad():
        maps = net[:2](torch.tensor(x[None]))[0].numpy()  # (4, 5, 6)
    for t in range(3):
        cam = np.einsum("k,kij->ij", weights[t], maps)
        expected = np.maximum(cam, 0) / 30
        np.testing.assert_allclose(reference.grad_cam(net, 2, x, t), expected, atol=1e-12)
        assert (cam < 0).any() and (cam > 0).any()  # the ReLU has something to remove


def test_grad_cam_keeps_the_shape_of_the_maps_and_leaves_no_gradients():
    model = small_net()
    x = np.random.default_rng(9).standard_normal((2, 7, 5))
    assert reference.grad_cam(model, 1, x, 0).shape == (7, 5)
    assert reference.grad_cam(model, 3, x, 2).shape == (2, 2)
    assert all(p.grad is None for p in model.parameters())
