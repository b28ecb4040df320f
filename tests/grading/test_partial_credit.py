"""Partial credit: each check of a part earns its share of the part's points."""

from __future__ import annotations

import pytest

from autograder.grading.results import CheckResult, PartStatus
from autograder.grading.scoring import earned_points


def checks(*passed: bool, weights: tuple[float, ...] | None = None) -> list[CheckResult]:
    weights = weights or (1.0,) * len(passed)
    return [CheckResult(p, "" if p else "wrong", w) for p, w in zip(passed, weights, strict=True)]


def test_a_passed_part_earns_all_its_points():
    assert earned_points(3, PartStatus.PASSED, checks(True, True)) == 3


def test_each_passed_check_earns_an_equal_share_by_default():
    assert earned_points(2, PartStatus.FAILED, checks(True, True, True, False)) == 1.5
    assert earned_points(2, PartStatus.FAILED, checks(False, False)) == 0
    assert earned_points(2, PartStatus.FAILED, checks(True, False, False)) == 0.67  # hundredths


def test_weights_set_the_shares():
    assert earned_points(4, PartStatus.FAILED, checks(True, False, weights=(3, 1))) == 3
    assert earned_points(4, PartStatus.FAILED, checks(False, True, weights=(3, 1))) == 1


def test_a_failed_rule_check_earns_nothing():
    rule = CheckResult(False, "conv1x1_as_matmul uses a Python for loop", 1, required=True)
    assert earned_points(2, PartStatus.FAILED, [*checks(True, True, True), rule]) == 0
    kept = CheckResult(True, "", 1, required=True)
    assert earned_points(3, PartStatus.FAILED, [*checks(True, False, True), kept]) == 2


def test_a_passed_rule_check_alone_earns_nothing():
    """A released stub has no loops: its rule check passes while every answer fails."""
    rule = CheckResult(True, "", 1, required=True)
    assert earned_points(2, PartStatus.FAILED, [rule, *checks(False, False, False)]) == 0


@pytest.mark.parametrize(
    "status",
    [
        PartStatus.TIMEOUT,
        PartStatus.CRASHED,
        PartStatus.MEMORY,
        PartStatus.FORBIDDEN,
        PartStatus.NOT_RUN,
    ],
)
def test_a_stopped_or_forbidden_part_earns_nothing_whatever_its_checks(status):
    assert earned_points(2, status, checks(True, True, False)) == 0


def test_no_judged_check_earns_nothing():
    assert earned_points(2, PartStatus.FAILED, []) == 0


@pytest.mark.slow
def test_a_loop_that_raises_on_one_padding_keeps_the_share_of_the_other_checks(tmp_path):
    """conv1d_loop right for every padding but 'full', where it raises: each check is a
    ``lambda`` in the source's test cells, so the error fails the 'full' cases alone."""
    from notebook_helpers import edit_cell, load, save, source_path

    from autograder.grading import grade_assignment

    raises = edit_cell(
        load(source_path("conv1d")),
        "conv1d-loop-solution",
        lambda s: s.replace(
            "    before, after = padding_pair(n, k, stride, padding)\n",
            "    if padding == 'full':\n"
            "        raise ValueError('full padding is not supported')\n"
            "    before, after = padding_pair(n, k, stride, padding)\n",
        ),
    )
    save(raises, tmp_path / "in" / "ana" / "conv1d" / "conv1d.ipynb")
    [result] = grade_assignment("conv1d", tmp_path / "in", tmp_path / "out", workers=1, seed=7)
    parts = {p.grade_id: p for p in result.parts}
    public, hidden = parts["conv1d-loop"], parts["conv1d-loop-hidden"]
    assert public.status == hidden.status == PartStatus.FAILED
    assert len(public.checks) == 8  # seven cases of x, w and one of fractional values
    assert public.earned == round(2 * 7 / 8, 2)  # one of them pads 'full'
    assert hidden.earned == 2.5  # 10 of the 60 random cases pad 'full' (every 6th)
    assert "raised ValueError: full padding is not supported" in public.message
    assert "raised in conv1d_loop" in public.message
    assert "failed for" not in public.message
    assert [c.passed for c in public.checks].count(False) == 1
    others = [p for p in result.parts if p.grade_id not in ("conv1d-loop", "conv1d-loop-hidden")]
    assert all(p.earned == p.points for p in others), others
    assert result.score == result.max_score - 2 + public.earned - 3 + hidden.earned
