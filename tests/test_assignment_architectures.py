"""Grading the architectures assignment: classic mistakes get exactly the marks they deserve.

Each wrong submission is the instructor's solution with one mistake learners make when they
write these blocks. The parts that the mistake touches are lost, the others are kept.
"""

from __future__ import annotations

import pytest
from notebook_helpers import ROOT, edit_cell, grade_class, load, source_path

# one worker grades the class (the others would grade it again)
pytestmark = pytest.mark.xdist_group("assignment_architectures")

RELEASED = ROOT / "chapters" / "13-classic-architectures" / "architectures.ipynb"


def architectures_class() -> dict[str, dict]:
    """Submissions for architectures: student id -> notebook."""
    src = load(source_path("architectures"))
    return {
        "full": src,
        "released": load(RELEASED),
        # projection only when the stride changes: a channel change alone breaks the addition.
        "projection-only-on-stride": edit_cell(
            src,
            "basic-block-solution",
            lambda s: s.replace(
                "if stride != 1 or in_channels != out_channels:", "if stride != 1:"
            ),
        ),
        # ReLU on the branch, then the addition: y = relu(F(x)) + x, no ReLU after the sum.
        "relu-before-add": edit_cell(
            src,
            "basic-block-solution",
            lambda s: s.replace(
                "return torch.relu(out + self.shortcut(x))",
                "return torch.relu(out) + self.shortcut(x)",
            ),
        ),
        # the stride on the first 1x1 convolution (the original Caffe ResNet-50, "v1").
        "bottleneck-stride-on-1x1": edit_cell(
            src,
            "bottleneck-solution",
            lambda s: s.replace(
                "nn.Conv2d(in_channels, mid_channels, 1, bias=False)",
                "nn.Conv2d(in_channels, mid_channels, 1, stride, bias=False)",
            ).replace(
                "nn.Conv2d(mid_channels, mid_channels, 3, stride, padding=1,",
                "nn.Conv2d(mid_channels, mid_channels, 3, 1, padding=1,",
            ),
        ),
        # the pooling branch first: right shape and parameters, channels in the wrong order.
        "inception-pool-first": edit_cell(
            src,
            "inception-solution",
            lambda s: s.replace(
                "branches = [self.branch1, self.branch2, self.branch3, self.branch4]",
                "branches = [self.branch4, self.branch1, self.branch2, self.branch3]",
            ),
        ),
        # multiply-accumulates instead of FLOPs.
        "flops-are-macs": edit_cell(
            src,
            "layer-table-solution",
            lambda s: s.replace(
                "flops = 2 * values * (module.in_channels", "flops = values * (module.in_channels"
            ).replace(
                "flops = 2 * values * module.in_features", "flops = values * module.in_features"
            ),
        ),
        # the kernel size without the groups: a grouped conv counted as a full one.
        "flops-ignore-groups": edit_cell(
            src,
            "layer-table-solution",
            lambda s: s.replace("(module.in_channels // module.groups)", "module.in_channels"),
        ),
        # hooks on every module, containers included: extra rows for Sequentials and blocks.
        "hooks-on-containers": edit_cell(
            src,
            "layer-table-solution",
            lambda s: s.replace(
                "leaves = [m for m in model.modules() if len(list(m.children())) == 0]",
                "leaves = list(model.modules())",
            ),
        ),
    }


# student id -> (score, status); architectures is worth 21: VGG block 1+2, basic block 2+2,
# bottleneck 1+2, gradient 1+2, Inception 1+2, layer table 2+3.
EXPECTED = {
    "full": (21, "ok"),
    "released": (0, "ok"),
    # the gradient part is graded with a correct BasicBlock (a mistake is charged once)
    "projection-only-on-stride": (20.1, "ok"),
    "relu-before-add": (19.93, "ok"),
    "bottleneck-stride-on-1x1": (20.53, "ok"),
    "inception-pool-first": (20, "ok"),
    "flops-are-macs": (20.17, "ok"),
    "flops-ignore-groups": (20.71, "ok"),
    "hooks-on-containers": (16, "ok"),
}


@pytest.fixture(scope="session")  # once per worker, even if other modules' tests run in between
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("architectures-class")
    return grade_class(base, "architectures", architectures_class(), seed=7)


@pytest.mark.slow
@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_architectures_submission_gets_the_grade_it_deserves(graded, student):
    score, status = EXPECTED[student]
    result = graded[student]
    assert (result.score, result.status) == (score, status), (result.reason, result.parts)


@pytest.mark.slow
def test_public_messages_name_the_failing_configuration(graded):
    def message(student: str, part: str) -> str:
        (found,) = [p for p in graded[student].parts if p.grade_id == part]
        return found.message

    assert "state_shapes(BasicBlock(2, 3))" in message("projection-only-on-stride", "basic-block")
    assert "graded with a correct BasicBlock" in message("relu-before-add", "gradient")
    assert "stride=2" in message("bottleneck-stride-on-1x1", "bottleneck")
    assert "'flops' column" in message("flops-are-macs", "layer-table")
    assert "len(layer_table" in message("hooks-on-containers", "layer-table")
