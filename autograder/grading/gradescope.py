"""A result rendered as Gradescope's ``results.json`` (its autograder specification:
https://gradescope-autograders.readthedocs.io/en/latest/specs/).

One test per part, in the source's order: ``name`` (the part's grade id and notebook), ``score``,
``max_score``, ``status`` (``passed``/``failed``), ``output`` (the feedback the learner reads in
``feedback.html``, as text), and ``visibility``: ``visible`` for public tests,
``after_published`` for hidden ones (the learner sees how a hidden part went once the grades
are published). The top-level ``score`` is the result's score (the late penalty taken off, if
any), so it can differ from the sum of the tests; ``output`` says why. A written answer that no
person has scored yet is not a test (Gradescope grades those as questions of its own); one that
a person scored with ``review --import`` is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .results import PartResult, StudentResult

VISIBLE = "visible"
AFTER_PUBLISHED = "after_published"


def _part_output(part: PartResult) -> str:
    """What the learner reads about a part (never a hidden test's code or values)."""
    if part.manual:
        return part.message or "graded by hand"
    if part.hidden or not part.checks:
        return part.message
    lines = []
    if part.message and part.status.value not in ("passed", "failed"):
        lines.append(part.message)
    for check in part.checks:
        lines.append(f"✓ {check.call or 'check'}" if check.passed else f"✗ {check.message}")
    return "\n".join(lines)


def summary(result: StudentResult) -> str:
    """The submission as a whole: status, lateness, written answers still to be scored."""
    lines = [f"{result.assignment}: {result.score:g} / {result.max_score:g}"]
    if result.status.value != "ok" or result.reason:
        lines.append(
            f"status: {result.status.value}" + (f": {result.reason}" if result.reason else "")
        )
    if result.late is not None:
        lines.append(result.late.note)
        if result.penalty:
            lines.append(
                f"{result.raw_score:g} points earned, {result.penalty:g} taken off for lateness"
            )
    if result.pending_manual:
        lines.append(
            f"{result.pending_manual:g} points of written answers are graded by hand later"
        )
    lines.extend(f"note: {note}" for note in result.notes)
    return "\n".join(lines)


def gradescope_results(result: StudentResult) -> dict:
    """``results.json`` for one learner, in Gradescope's format."""
    tests = []
    for number, part in enumerate(result.parts, start=1):
        if part.status.value == "pending":
            continue
        tests.append(
            {
                "name": f"{part.grade_id} ({part.notebook})",
                "number": str(number),
                "score": part.earned,
                "max_score": part.points,
                "status": "passed" if part.earned >= part.points else "failed",
                "output": _part_output(part),
                "visibility": AFTER_PUBLISHED if part.hidden else VISIBLE,
            }
        )
    return {
        "score": result.score,
        "execution_time": round(result.seconds, 2),
        "output": summary(result),
        "visibility": VISIBLE,
        "stdout_visibility": "hidden",
        "tests": tests,
    }
