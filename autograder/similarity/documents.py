"""What is compared: each learner's solution cells, read from their submission as untrusted
input, and the released notebook's code, which everyone was given and which never counts.

A learner's document is the solution cells of every notebook of the assignment (nbgrader
``solution: true`` cells, matched by ``grade_id`` as grading matches them), in the order of the
instructor's source. A folder that cannot be read (missing, not a notebook, a symbolic link) is
a problem written in the report for that learner, never an error: the others are compared.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..notebooks import NotebookError, grade_id, is_solution_cell, source_notebooks
from .tokens import Token, normalized_tokens

MAX_CELL_CHARS = 200_000  # an honest solution cell holds a few thousand characters


@dataclass(frozen=True)
class Cell:
    """One solution cell of a learner: where it comes from, its code and its tokens."""

    notebook: str  # file name, e.g. conv1d.ipynb
    grade_id: str
    source: str
    tokens: tuple[Token, ...]

    @property
    def label(self) -> str:
        return self.grade_id


@dataclass
class Document:
    """A learner's solution cells in the source's order, and what went wrong reading them."""

    student: str
    cells: list[Cell] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Assignment:
    """The solution cells to compare (notebook, grade id) and the code learners were given."""

    name: str
    solution_cells: tuple[tuple[str, str], ...]
    starter: tuple[tuple[str, ...], ...]  # token texts of every code cell of the release


def load_assignment(name: str) -> Assignment:
    """The assignment's solution cell ids and its released code (the student version that
    ``release`` writes: stubs in the solution cells, and every code cell given as is)."""
    from ..grading.cache import autograder_cache
    from ..release import cached_student_version

    cells: list[tuple[str, str]] = []
    starter: list[tuple[str, ...]] = []
    for path in source_notebooks(name):
        source, released = cached_student_version(path, autograder_cache("released"))
        for cell in source.cells:
            gid = grade_id(cell)
            if cell.cell_type == "code" and is_solution_cell(cell) and gid:
                cells.append((path.name, gid))
        for cell in released.cells:
            if cell.cell_type == "code":
                starter.append(tuple(t.text for t in normalized_tokens(cell.source)))
    if not cells:
        raise ValueError(f"assignment {name!r} has no solution cell (nbgrader solution: true)")
    return Assignment(name, tuple(cells), tuple(starter))


def load_documents(assignment: Assignment, submissions: Path) -> list[Document]:
    """One document per student folder of ``submissions`` (sorted by student id)."""
    from ..grading.submissions import student_folders

    return [_document(folder, assignment) for folder in student_folders(submissions)]


def _document(folder, assignment: Assignment) -> Document:
    from ..grading.submissions import assignment_folder, find_submission, read_submission

    doc = Document(folder.student_id)
    if folder.refused:
        doc.problems.append(folder.refused)
        return doc
    where, why, _ = assignment_folder(folder.path, assignment.name)
    if where is None:
        doc.problems.append(why)
        return doc
    wanted: dict[str, list[str]] = {}
    for notebook, gid in assignment.solution_cells:
        wanted.setdefault(notebook, []).append(gid)
    for notebook, ids in wanted.items():
        path, note = find_submission(where, notebook)
        if path is None:
            doc.problems.append(note)
            continue
        if note:
            doc.problems.append(note)
        try:
            nb = read_submission(path)
        except NotebookError as error:
            doc.problems.append(str(error))
            continue
        theirs: dict[str, str] = {}
        for cell in nb.cells:
            gid = grade_id(cell)
            text = cell.get("source", "")
            if gid in ids and gid not in theirs and cell.get("cell_type") == "code":
                theirs[gid] = text if isinstance(text, str) else ""
        missing = [gid for gid in ids if gid not in theirs]
        if missing:
            doc.problems.append(
                f"{notebook}: no solution cell {', '.join(missing)} (deleted or renamed)"
            )
        for gid in ids:
            if gid in theirs:
                text = theirs[gid]
                if len(text) > MAX_CELL_CHARS:
                    doc.problems.append(
                        f"{notebook}: cell {gid} holds {len(text):,} characters; its first "
                        f"{MAX_CELL_CHARS:,} were compared"
                    )
                    text = text[:MAX_CELL_CHARS]
                doc.cells.append(Cell(notebook, gid, text, tuple(normalized_tokens(text))))
    return doc
