"""The notebook a learner's process runs while grading: the instructor's, with their answers in.

Every cell comes from the instructor's source except the solution cells, which come from the
learner's notebook, matched by ``grade_id``; test cells come without their expected values
(:mod:`autograder.rules.testcells`). Tests and points therefore always come from the instructor,
and a learner who edits or deletes a test cell changes nothing but gets the change flagged, as
data (:class:`Tamper`), like nbgrader's ``OverwriteCells`` reports it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from nbformat import NotebookNode

from ..notebooks import (
    grade_id,
    has_hidden_tests,
    is_manual_cell,
    is_solution_cell,
    nbgrader_meta,
)
from .sources import SourceNotebook


class TamperKind(StrEnum):
    DUPLICATE_ID = "duplicate-id"
    DELETED = "deleted"
    CHANGED_TYPE = "changed-type"
    EDITED_LOCKED = "edited-locked"
    CHANGED_POINTS = "changed-points"


@dataclass(frozen=True)
class Tamper:
    kind: TamperKind
    grade_id: str

    @property
    def message(self) -> str:
        return {
            TamperKind.DUPLICATE_ID: f"grade id {self.grade_id!r} appears more than once; the "
            "first cell was used",
            TamperKind.DELETED: f"cell {self.grade_id!r} was deleted; the instructor's version "
            "was used",
            TamperKind.CHANGED_TYPE: f"cell {self.grade_id!r} changed type; the instructor's "
            "version was used",
            TamperKind.EDITED_LOCKED: f"locked cell {self.grade_id!r} was edited; the "
            "instructor's version was used",
            TamperKind.CHANGED_POINTS: f"the points of {self.grade_id!r} were changed; the "
            "instructor's points were used",
        }[self.kind]


@dataclass
class Spliced:
    cells: list[tuple[int, str]]  # (index in the source, code) of every code cell, in order
    solutions: dict[int, str]  # the learner's solution cells by index
    tampering: list[Tamper] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # changes that are not tampering
    answers: dict[int, str] = field(default_factory=dict)  # written answers by index (not run)
    # cells whose text the learner must never read back: hidden tests, the instructor's code
    secret_cells: frozenset[int] = frozenset()


def _normalise(source: str) -> str:
    """Code lines without trailing blanks or comment-only lines (an edited hint is no tamper)."""
    lines = (line.rstrip() for line in source.strip().splitlines())
    return "\n".join(line for line in lines if line and not line.lstrip().startswith("#"))


def splice(prepared: SourceNotebook, submitted: NotebookNode) -> Spliced:
    """The cells to run for ``submitted``, and what the learner changed that they should not."""
    source, released_nb = prepared.source, prepared.released
    released = {grade_id(c): c for c in released_nb.cells if grade_id(c)}
    original = {grade_id(c): c for c in source.cells if grade_id(c)}
    theirs: dict[str, NotebookNode] = {}
    result = Spliced([], {})
    for cell in submitted.cells:
        gid = grade_id(cell)
        if gid is None:
            continue
        if not isinstance(cell.get("source", ""), str):
            result.notes.append(f"the source of cell {gid!r} is not text; it was graded as empty")
            cell = NotebookNode({**cell, "source": ""})
        if gid in theirs:
            result.tampering.append(Tamper(TamperKind.DUPLICATE_ID, gid))
            continue
        theirs[gid] = cell
    for gid, cell in released.items():
        mine = theirs.get(gid)
        meta = nbgrader_meta(cell)
        if mine is None:
            if is_solution_cell(cell) or meta.get("locked") or meta.get("grade"):
                result.tampering.append(Tamper(TamperKind.DELETED, gid))
            continue
        if mine.get("cell_type") != cell.cell_type:
            result.tampering.append(Tamper(TamperKind.CHANGED_TYPE, gid))
        theirs_text = _normalise(mine.get("source", ""))
        if meta.get("locked") and theirs_text not in (
            _normalise(cell.source),
            _normalise(original[gid].source),
        ):
            result.tampering.append(Tamper(TamperKind.EDITED_LOCKED, gid))
        if meta.get("grade") and nbgrader_meta(mine).get("points") != meta.get("points"):
            result.tampering.append(Tamper(TamperKind.CHANGED_POINTS, gid))
    kernel = submitted.get("metadata", {}).get("kernelspec", {})
    kernel_name = kernel.get("name") if isinstance(kernel, dict) else None
    if kernel_name not in (None, "python3"):
        result.notes.append(
            f"the notebook was saved with the kernel {kernel_name!r}; it was graded with "
            "Python 3 (python3)"
        )
    extra = sum(1 for c in submitted.cells if c.get("cell_type") == "code" and grade_id(c) is None)
    if extra:
        result.notes.append(
            f"{extra} code cell(s) you added were not run: only solution cells are graded"
        )
    for index, cell in enumerate(source.cells):
        if is_manual_cell(cell):  # a written answer: kept for the person who scores it
            mine = theirs.get(grade_id(cell) or "")
            result.answers[index] = str(mine.get("source", "")) if mine is not None else ""
        if cell.cell_type != "code":
            continue
        gid = grade_id(cell)
        if is_solution_cell(cell) and gid is not None:
            mine = theirs.get(gid)
            if mine is not None and mine.get("cell_type") == "code":
                text = str(mine.get("source", ""))
            else:
                text = released[gid].source
            result.solutions[index] = text
        else:
            text = prepared.learner_cells[index]
        if index in prepared.substitutes:
            result.cells.append(
                (substitute_index(index, before=True), prepared.substitutes[index][0])
            )
            result.secret_cells |= {substitute_index(index, before=True)}
        if has_hidden_tests(cell):
            result.secret_cells |= {index}
        result.cells.append((index, text))
        if index in prepared.substitutes:
            result.cells.append(
                (substitute_index(index, before=False), prepared.substitutes[index][1])
            )
    return result


def substitute_index(test: int, before: bool) -> int:
    """The (negative) cell index of the code that swaps functions around test cell ``test``:
    not a cell of the notebook, never a learner's."""
    return -(2 * test + (1 if before else 2))
