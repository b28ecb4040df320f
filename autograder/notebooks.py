"""Reading notebooks and their nbgrader markup.

nbgrader marks cells in ``cell.metadata.nbgrader``: ``grade_id`` names a cell, ``solution`` marks
where learners write, ``grade`` with ``points`` marks a test cell, ``locked`` marks what learners
must not edit. This module is the one place that reads that markup.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from .files import write_atomic
from .layout import PROJECT_ROOT, SOLUTIONS_DIR

MAX_CELLS = 5000  # an honest exercise notebook has well under a hundred
MAX_OBJECTS = 200_000  # JSON objects in one notebook, counted before it is parsed
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
    return parse_notebook(path.read_bytes(), path.name)


def parse_notebook(raw: bytes, name: str) -> NotebookNode:
    """A notebook from its bytes; :class:`NotebookError` says in plain words what is wrong.

    Bounded work for any input: the number of JSON objects is counted before parsing (a file of
    a million tiny cells is refused, not parsed), nesting too deep for the parser is a reason,
    not a crash, and outputs are dropped before the notebook is built.
    """
    if not raw.strip():
        raise NotebookError(f"{name} is empty (0 bytes of notebook JSON)")
    if raw.count(b"{") > MAX_OBJECTS:
        raise NotebookError(
            f"{name} holds more than {MAX_OBJECTS:,} JSON objects (cells and outputs); clear "
            "the outputs (Kernel > Restart & Clear Output), save and submit again"
        )
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise NotebookError(f"{name} is not UTF-8 text; is it really a notebook?") from None
    except json.JSONDecodeError as error:
        raise NotebookError(
            f"{name} is not valid notebook JSON (line {error.lineno}, column {error.colno}: "
            f"{error.msg}); re-download it or save it again from Jupyter"
        ) from None
    except RecursionError:
        raise NotebookError(f"{name} is JSON nested too deeply to be a notebook") from None
    if not isinstance(data, dict) or "cells" not in data:
        raise NotebookError(f"{name} is JSON but not a notebook (no 'cells' list)")
    if not isinstance(data["cells"], list):
        raise NotebookError(f"{name} is JSON but its 'cells' is not a list")
    if len(data["cells"]) > MAX_CELLS:
        raise NotebookError(f"{name} has {len(data['cells']):,} cells; at most {MAX_CELLS:,}")
    for cell in data["cells"]:
        if isinstance(cell, dict) and "outputs" in cell:
            cell["outputs"] = []  # never needed, and the bulk of a big notebook
    try:
        nb = nbformat.from_dict(data)
        if nb.get("nbformat", 0) < 4:
            nb = nbformat.convert(nb, 4)
        for cell in nb.cells:
            if isinstance(cell.get("source"), list):
                cell.source = "".join(str(s) for s in cell.source)
    except RecursionError:
        raise NotebookError(f"{name} is JSON nested too deeply to be a notebook") from None
    except Exception as error:  # nbformat raises several unrelated types
        raise NotebookError(f"{name} could not be read as a notebook: {error}") from None
    if not isinstance(nb.cells, list):
        raise NotebookError(f"{name} is JSON but its 'cells' is not a list")
    return nb


def write_notebook(nb: NotebookNode, path: Path) -> None:
    """Write ``nb`` deterministically (sorted keys, one-space indent, trailing newline)."""
    write_atomic(path, json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n")


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


def is_manual_cell(cell: NotebookNode) -> bool:
    """A written answer that a person scores (nbgrader's manually graded answer cell: a markdown
    cell with ``grade`` and ``solution`` set); its points are not the tests'."""
    meta = nbgrader_meta(cell)
    return (
        bool(meta.get("grade"))
        and bool(meta.get("solution"))
        and (cell.get("cell_type") == "markdown")
    )


def points(cell: NotebookNode) -> float:
    return float(nbgrader_meta(cell).get("points", 0) or 0)


def has_hidden_tests(cell: NotebookNode) -> bool:
    return HIDDEN_BEGIN in cell.get("source", "")


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
    return PROJECT_ROOT / chapter
