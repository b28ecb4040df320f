"""What a learner's cells may not use, as ``grade`` and ``check`` both enforce it: the source
check (:func:`static_violations`) and the run-time guard's configuration (:func:`guard_config`).

One definition for both, in a module the learner's kit carries, so that ``check`` gives the
grader's verdict.
"""

from __future__ import annotations

from pathlib import Path

from ..notebooks import grade_id, is_test_cell
from ..rules.guard import cell_filename
from ..rules.static import Cell, Violation, find_violations
from .sources import SourceNotebook
from .splicing import Spliced


def static_violations(prepared: SourceNotebook, spliced: Spliced) -> dict[int, list[Violation]]:
    """What each learner cell reaches that its part forbids, read from the source code."""
    cells = []
    for index, cell in enumerate(prepared.source.cells):
        if cell.cell_type != "code":
            continue
        if index in prepared.rules:
            text = spliced.solutions.get(index, "")
            cells.append(Cell(index, text, prepared.rules[index].forbidden))
        else:
            cells.append(Cell(index, cell.source, None, test=is_test_cell(cell)))
    found: dict[int, list[Violation]] = {}
    for violation in find_violations(cells):
        found.setdefault(violation.cell, []).append(violation)
    return found


def guard_config(prepared: SourceNotebook, scratch: Path) -> dict:
    """The run-time guard's rules for the learner's process (see autograder.rules.guard)."""
    return {
        "cells": {
            cell_filename(index): {
                "index": index,
                "grade_id": grade_id(prepared.source.cells[index]) or "",
                "forbidden": rule.to_json(),
            }
            for index, rule in prepared.rules.items()
        },
        "learner_folder": str(scratch),
    }
