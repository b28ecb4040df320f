"""Reading notebooks and their nbgrader markup.

nbgrader marks cells in ``cell.metadata.nbgrader``: ``grade_id`` names a cell, ``solution`` marks
where learners write, ``grade`` with ``points`` marks a test cell, ``locked`` marks what learners
must not edit. This module is the one place that reads that markup.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

REPO_ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS_DIR = REPO_ROOT / "solutions"
HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_END = "### END HIDDEN TESTS"
SOLUTION_BEGIN = "### BEGIN SOLUTION"
SOLUTION_END = "### END SOLUTION"


class NotebookError(ValueError):
    """A file that is not a usable notebook; the message says why in plain words."""


def read_notebook(path: Path) -> NotebookNode:
    """Read an ``.ipynb`` file, raising :class:`NotebookError` with a readable reason."""
    if not path.exists():
        raise NotebookError(f"{path.name} does not exist")
    raw = path.read_bytes()
    if not raw.strip():
        raise NotebookError(f"{path.name} is empty (0 bytes of notebook JSON)")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise NotebookError(f"{path.name} is not UTF-8 text; is it really a notebook?") from None
    except json.JSONDecodeError as error:
        raise NotebookError(
            f"{path.name} is not valid notebook JSON (line {error.lineno}, column {error.colno}: "
            f"{error.msg}); re-download it or save it again from Jupyter"
        ) from None
    if not isinstance(data, dict) or "cells" not in data:
        raise NotebookError(f"{path.name} is JSON but not a notebook (no 'cells' list)")
    try:
        nb = nbformat.from_dict(data)
        if nb.get("nbformat", 0) < 4:
            nb = nbformat.convert(nb, 4)
        for cell in nb.cells:
            if isinstance(cell.get("source"), list):
                cell.source = "".join(cell.source)
    except Exception as error:  # nbformat raises several unrelated types
        raise NotebookError(f"{path.name} could not be read as a notebook: {error}") from None
    if not isinstance(nb.cells, list):
        raise NotebookError(f"{path.name} is JSON but its 'cells' is not a list")
    return nb


def write_notebook(nb: NotebookNode, path: Path) -> None:
    """Write ``nb`` deterministically (sorted keys, one-space indent, trailing newline)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def nbgrader_meta(cell: NotebookNode) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def grade_id(cell: NotebookNode) -> str | None:
    value = nbgrader_meta(cell).get("grade_id")
    return value if isinstance(value, str) else None


def is_solution_cell(cell: NotebookNode) -> bool:
    return bool(nbgrader_meta(cell).get("solution"))


def is_test_cell(cell: NotebookNode) -> bool:
    return bool(nbgrader_meta(cell).get("grade")) and cell.get("cell_type") == "code"


def points(cell: NotebookNode) -> float:
    return float(nbgrader_meta(cell).get("points", 0) or 0)


def has_hidden_tests(cell: NotebookNode) -> bool:
    return HIDDEN_BEGIN in cell.get("source", "")


@dataclass(frozen=True)
class GradedPart:
    """One test cell: what a learner earns or loses as a whole."""

    grade_id: str
    points: float
    hidden: bool
    hint: str


def hint_of(cell: NotebookNode) -> str:
    """The comment after ``# HINT:`` in a test cell (continued on following ``#`` lines), shown
    to learners when a hidden test fails."""
    hint: list[str] = []
    for line in cell.get("source", "").splitlines():
        stripped = line.strip()
        if not hint and stripped.upper().startswith("# HINT:"):
            hint.append(stripped[len("# HINT:") :].strip())
        elif hint and stripped.startswith("#") and not stripped.startswith("###"):
            hint.append(stripped.lstrip("#").strip())
        elif hint:
            break
    return " ".join(hint)


def graded_parts(nb: NotebookNode) -> list[GradedPart]:
    """The test cells of a (source) notebook in order."""
    return [
        GradedPart(
            grade_id(cell) or f"cell-{index}", points(cell), has_hidden_tests(cell), hint_of(cell)
        )
        for index, cell in enumerate(nb.cells)
        if is_test_cell(cell)
    ]


def source_notebooks(assignment: str, solutions_dir: Path = SOLUTIONS_DIR) -> list[Path]:
    """The instructor's source notebooks of ``assignment``, raising ``ValueError`` if none."""
    folder = solutions_dir / assignment
    if not folder.is_dir():
        known = (
            sorted(p.name for p in solutions_dir.iterdir() if p.is_dir())
            if (solutions_dir.is_dir())
            else []
        )
        raise ValueError(
            f"unknown assignment {assignment!r}: no folder {folder}; known assignments: "
            f"{', '.join(known) or 'none'}"
        )
    notebooks = sorted(folder.glob("*.ipynb"))
    if not notebooks:
        raise ValueError(f"assignment {assignment!r} has no source notebook in {folder}")
    return notebooks


def chapter_dir(source: NotebookNode, assignment: str) -> Path:
    """Where ``release`` puts the student version: ``metadata.autograder.chapter`` of the source."""
    chapter = source.metadata.get("autograder", {}).get("chapter")
    if not chapter:
        raise ValueError(
            f"the source notebook of {assignment!r} has no metadata.autograder.chapter "
            "(the chapter folder its student version belongs in); add it or pass --out"
        )
    return REPO_ROOT / chapter
