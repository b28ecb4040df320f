"""Written answers: nbgrader's manually graded cells, scored by a person.

A source marks a written answer as a markdown cell with ``grade``, ``solution`` and ``points``
in its nbgrader metadata; its model answer sits between ``### BEGIN SOLUTION`` and
``### END SOLUTION`` (the release shows ``YOUR ANSWER HERE`` instead). ``grade`` never runs or
scores the learner's text: it keeps it in the result as a part with status ``pending`` (its
points are the ``pending_manual`` column of ``grades.csv``) for ``review`` to show to a person,
whose scores ``review --import`` merges (status ``graded-by-hand``). An answer left as the
release's stub (or deleted) is scored 0 at once, with that reason; a person can still change it.
"""

from __future__ import annotations

from ..notebooks import grade_id, nbgrader_meta, points
from .results import PartResult, PartStatus, StudentResult
from .sources import SourceNotebook

STUB = "YOUR ANSWER HERE"
MAX_ANSWER_CHARS = 20_000  # kept for the reviewer; the rest is cut, and the cut is said
PENDING_MESSAGE = "a written answer, scored by hand"
UNANSWERED = "not answered (the cell still says YOUR ANSWER HERE)"


def manual_parts(prepared: SourceNotebook, answers: dict[int, str]) -> list[PartResult]:
    """One part per written answer of ``prepared``, from the learner's text in ``answers``."""
    parts = []
    released = {grade_id(c): c.source for c in prepared.released.cells if grade_id(c)}
    for index in prepared.manual:
        cell = prepared.source.cells[index]
        gid = grade_id(cell) or f"cell-{index}"
        text = answers.get(index, "")
        if len(text) > MAX_ANSWER_CHARS:
            text = (
                text[:MAX_ANSWER_CHARS]
                + f"\n[cut: the answer is over {MAX_ANSWER_CHARS:,} characters]"
            )
        blank = not text.strip() or text.strip() in (STUB, released.get(gid, STUB).strip())
        parts.append(
            PartResult(
                prepared.path.name,
                gid,
                points(cell),
                0.0,
                False,
                PartStatus.GRADED if blank else PartStatus.PENDING,
                UNANSWERED if blank else PENDING_MESSAGE,
                answer="" if blank else text,
            )
        )
    return parts


def model_answer(prepared: SourceNotebook, question: str) -> str:
    """The source's model answer to ``question`` (a grade id), for the person who scores."""
    for index in prepared.manual:
        cell = prepared.source.cells[index]
        if grade_id(cell) == question:
            return cell.source
    raise KeyError(question)


def question_text(prepared: SourceNotebook, question: str) -> str:
    """The markdown cell just before the answer cell: the question as learners read it."""
    for index in prepared.manual:
        cell = prepared.source.cells[index]
        if grade_id(cell) == question and index > 0:
            before = prepared.source.cells[index - 1]
            if before.cell_type == "markdown" and not nbgrader_meta(before).get("solution"):
                return before.source
    return ""


def carry_scores(old: StudentResult, new: StudentResult) -> bool:
    """Keep a person's scores of written answers when a learner is graded again and the answer
    is the same text (``grade --force`` must not undo ``review --import``); whether any was."""
    if old.assignment != new.assignment:
        return False
    given = {
        p.grade_id: p
        for p in old.parts
        if p.status == PartStatus.GRADED and p.message != UNANSWERED
    }
    carried = False
    for part in new.parts:
        before = given.get(part.grade_id)
        if part.manual and before is not None and before.answer == part.answer:
            part.status, part.earned, part.message = before.status, before.earned, before.message
            carried = True
    return carried
