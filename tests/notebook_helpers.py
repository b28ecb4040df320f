"""Helpers for tests that build submissions: load a source notebook and edit cells by grade id."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
ASSIGNMENTS = sorted(p.name for p in SOLUTIONS.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def source_path(assignment: str) -> Path:
    return sorted((SOLUTIONS / assignment).glob("*.ipynb"))[0]


def cell_source(cell: dict) -> str:
    source = cell["source"]
    return "".join(source) if isinstance(source, list) else source


def edit_cell(nb: dict, grade_id: str, change: Callable[[str], str]) -> dict:
    """A copy of ``nb`` with the source of cell ``grade_id`` replaced by ``change(source)``."""
    nb = copy.deepcopy(nb)
    for cell in nb["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            before = cell_source(cell)
            cell["source"] = change(before)
            assert cell["source"] != before, f"edit of {grade_id} changed nothing"
            return nb
    raise KeyError(grade_id)


def save(nb: dict | str | bytes, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(nb, bytes):
        path.write_bytes(nb)
    elif isinstance(nb, str):
        path.write_text(nb, encoding="utf-8")
    else:
        path.write_text(json.dumps(nb), encoding="utf-8")
    return path


def grade_class(base: Path, assignment: str, notebooks: dict, **options) -> dict:
    """Save each student's notebook in nbgrader's layout under ``base`` and grade the class.

    ``notebooks`` maps student id -> notebook (dict, text or bytes); ``options`` go to
    :func:`autograder.grading.grade_assignment` (default: 2 workers). Returns id -> result.
    """
    from autograder.grading import grade_assignment

    submissions = base / "submissions"
    for student, nb in notebooks.items():
        save(nb, submissions / student / assignment / f"{assignment}.ipynb")
    options.setdefault("workers", 2)
    results = grade_assignment(assignment, submissions, base / "out", **options)
    return {r.student_id: r for r in results}


def released_path(assignment: str) -> Path:
    """The committed student version of an assignment (in its chapter folder)."""
    source = load(source_path(assignment))
    return ROOT / source["metadata"]["autograder"]["chapter"] / source_path(assignment).name


def solved_release(assignment: str) -> dict:
    """The student version as a learner who solved every part hands it in: the released
    notebook (setup cell first, check cell last) with the source's solutions in its solution
    cells (solution markers dropped) and no hidden test."""
    solutions = {}
    for cell in load(source_path(assignment))["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution"):
            lines = cell_source(cell).splitlines()
            solutions[meta["grade_id"]] = "\n".join(
                line
                for line in lines
                if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")
            )
    nb = load(released_path(assignment))
    for cell in nb["cells"]:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in solutions:
            cell["source"] = solutions[gid]
    return nb
