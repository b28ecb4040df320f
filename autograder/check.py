"""``check``: a learner runs the public tests of their notebook and reads one line per part.

The notebook runs as it is, top to bottom, in a fresh Python process whose working folder is the
notebook's own (as in Jupyter); the notebook file itself is only read. Each test cell is one
graded part::

    ✓ output-length          1/1
    ✗ conv1d-loop            0/2  AssertionError: conv1d_loop(x, w) returned the wrong values ...
    · conv1d-loop-hidden     0/3  hidden tests, run when your work is graded

The exit code is 0 only when every public part passes.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from .execute import run_cells
from .notebooks import (
    NotebookError,
    grade_id,
    is_solution_cell,
    is_test_cell,
    points,
    read_notebook,
)

HIDDEN_NOTE = "hidden tests, run when your work is graded"


@dataclass
class PartReport:
    grade_id: str
    points: float
    earned: float
    status: str  # passed, failed, hidden, or broken (a solution cell that raised)
    message: str


def _is_hidden_placeholder(source: str) -> bool:
    """A released hidden-test cell: nothing left but comments and blank lines."""
    code = [
        line for line in source.splitlines() if line.strip() and not line.strip().startswith("#")
    ]
    return not code


def check_notebook(path: Path, *, cell_timeout: float = 120.0) -> list[PartReport]:
    """Run ``path`` and report its public test cells."""
    nb = read_notebook(path)
    cells = [(i, c.source) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    result = run_cells(
        cells,
        path.resolve().parent,
        cell_timeout=cell_timeout,
        total_timeout=max(600.0, cell_timeout * 4),
        memory_mb=None,
    )
    reports = []
    for index, cell in enumerate(nb.cells):
        outcome = result.outcomes.get(index)
        if is_solution_cell(cell) and outcome is not None and outcome.status != "ok":
            message = outcome.message
            if outcome.ename == "NotImplementedError" and not outcome.evalue:
                continue  # reported by the tests that call it
            reports.append(
                PartReport(
                    grade_id(cell) or f"cell-{index}",
                    0.0,
                    0.0,
                    "broken",
                    f"this cell of yours failed: {message}",
                )
            )
        if not is_test_cell(cell):
            continue
        name, worth = grade_id(cell) or f"cell-{index}", points(cell)
        if _is_hidden_placeholder(cell.source):
            reports.append(PartReport(name, worth, 0.0, "hidden", HIDDEN_NOTE))
            continue
        outcome = result.outcomes[index]
        if outcome.status == "ok":
            reports.append(PartReport(name, worth, worth, "passed", ""))
        else:
            reports.append(PartReport(name, worth, 0.0, "failed", outcome.message))
    return reports


def _first_line(message: str) -> str:
    lines = [line for line in message.splitlines() if line.strip()]
    return lines[0] if lines else ""


def format_report(reports: list[PartReport], *, color: bool, verbose: bool = False) -> str:
    def paint(text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if color else text

    width = max((len(r.grade_id) for r in reports), default=10)
    lines = []
    for r in reports:
        score = f"{r.earned:g}/{r.points:g}"
        if r.status == "passed":
            lines.append(f"{paint('✓', '32')} {r.grade_id:<{width}}  {score:>5}")
        elif r.status == "broken":
            lines.append(
                f"{paint('!', '33')} {r.grade_id:<{width}}  {'':>5}  {_first_line(r.message)}"
            )
        elif r.status == "hidden":
            lines.append(
                f"{paint('·', '2')} {r.grade_id:<{width}}  {'?':>5}  {paint(r.message, '2')}"
            )
        else:
            detail = r.message if verbose else _first_line(r.message)
            lines.append(f"{paint('✗', '31')} {r.grade_id:<{width}}  {score:>5}  {detail}")
            if not verbose:
                rest = [line for line in r.message.splitlines()[1:] if line.strip()]
                lines.extend(f"{'':{width + 10}}{line.strip()}" for line in rest[:3])
    public = [r for r in reports if r.status in ("passed", "failed")]
    passed = [r for r in public if r.status == "passed"]
    failed = [r for r in public if r.status == "failed"]
    earned = sum(r.earned for r in public)
    total = sum(r.points for r in public)
    lines.append("")
    if not public:
        lines.append("this notebook has no public tests")
    elif failed:
        lines.append(
            f"{len(passed)} of {len(public)} public parts pass ({earned:g}/{total:g} points). "
            f"Next: fix {paint(failed[0].grade_id, '1')}."
        )
    else:
        hidden = sum(r.points for r in reports if r.status == "hidden")
        extra = f"; {hidden:g} more points come from hidden tests at grading" if hidden else ""
        lines.append(
            paint(
                f"all {len(public)} public parts pass ({earned:g}/{total:g} points){extra}.", "32"
            )
        )
    return "\n".join(lines)


def main(path: Path, *, verbose: bool = False) -> int:
    try:
        reports = check_notebook(path)
    except NotebookError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    print(format_report(reports, color=color, verbose=verbose))
    public = [r for r in reports if r.status in ("passed", "failed")]
    return 0 if public and all(r.status == "passed" for r in public) else 1
