"""``check``: a learner runs the public tests of their notebook and reads one line per part.

The notebook runs as it is, top to bottom, in a fresh Python process whose working folder is the
notebook's own (as in Jupyter); the notebook file itself is only read. Each test cell is one
graded part, scored exactly as the grader scores it (:mod:`autograder.grading.scoring`),
forbidden calls included::

    ✓ output-length          1/1
    ✗ conv1d-loop            0/2  conv1d_loop(x, w) returned the wrong values ...
    ✗ im2col                 0/2  forbidden: line 4 calls numpy.lib.stride_tricks...
    · conv1d-loop-hidden     0/3  hidden tests, run when your work is graded

The exit code is 0 only when every public part passes.

The same report from inside a running notebook, with no terminal (Jupyter, JupyterLab, VS Code,
Colab)::

    from autograder import check
    check.this_notebook()          # every part
    check.part("conv1d-loop")      # one part (or several): only those test cells run

Each run is appended to the learner's check log beside the notebook (:mod:`.check_log`).

This module is part of the learner's kit (``make dist``), which carries only the modules of
:mod:`autograder.grading` that scoring needs (records, results, scoring, sources, splicing), so
nothing here may import the rest of the grader.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from .check_log import append_check_log
from .execution.cells import run_cells
from .execution.outcomes import CellStatus
from .grading.records import RecordStore
from .grading.results import CheckResult, PartResult, PartStatus
from .grading.scoring import score
from .grading.sources import SourceNotebook, dependencies, graded_names, uses_correct
from .grading.splicing import Spliced
from .grading.violations import guard_config, static_violations
from .notebook_finder import NotebookNotFound, colab_notebook, find_this_notebook
from .notebooks import NotebookError, grade_id, is_solution_cell, is_test_cell, read_notebook
from .protocol import CHECK, MODE_VARIABLE
from .rules import part_rules
from .rules.loops import loop_problem

HIDDEN_NOTE = "hidden tests, run when your work is graded"


def _is_hidden_placeholder(source: str) -> bool:
    """A released hidden-test cell: nothing left but comments and blank lines."""
    return not [
        line for line in source.splitlines() if line.strip() and not line.strip().startswith("#")
    ]


def _checks_of(
    store: RecordStore, index: int, solutions: list[str], parts: frozenset[str]
) -> list[CheckResult]:
    results = []
    for record in store.records(index):
        passed = record.header.get("passed")
        if record.kind == "no-loops":
            problem = loop_problem(solutions, str(record.header.get("function", "")), parts)
            weight = float(record.header.get("weight", 1))
            results.append(CheckResult(problem is None, problem or "", weight, required=True))
        elif record.kind == "result" and isinstance(passed, bool):
            message = str(record.header.get("message", ""))
            kinds = record.header.get("kinds")
            results.append(
                CheckResult(
                    passed,
                    message,
                    float(record.header.get("weight", 1)),
                    str(record.header.get("call", "")),
                    list(kinds) if isinstance(kinds, dict) else [],
                    record.header.get("rule") is True,
                    record.header.get("not_written") is True,
                )
            )
    return results


def part_ids(nb) -> list[str]:
    """The graded parts of a notebook (its test cells' grade ids), in order."""
    return [grade_id(c) or f"cell-{i}" for i, c in enumerate(nb.cells) if is_test_cell(c)]


def prepare(path: Path, nb, selected: set[int] | None = None) -> tuple[SourceNotebook, Spliced]:
    """The learner's notebook prepared as the grader prepares a source, and the cells to run
    (all code cells; with ``selected``, test cells only among those)."""
    code = {
        i: c.source
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and (selected is None or not is_test_cell(c) or i in selected)
    }
    prepared = SourceNotebook(
        path=path,
        source=nb,
        released=nb,
        rules=part_rules(nb),
        learner_cells={i: s for i, s in code.items() if not is_solution_cell(nb.cells[i])},
        depends=dependencies(nb),
        warm=(),
        hidden=(),
        hidden_lines=frozenset(),
        graded_names=graded_names(nb),
        uses_correct=uses_correct(nb),
    )
    spliced = Spliced(list(code.items()), {i: code[i] for i in prepared.rules})
    return prepared, spliced


def check_notebook(
    path: Path, *, cell_timeout: float = 120.0, parts: list[str] | None = None
) -> list[PartResult]:
    """Run ``path`` and report its test cells (and its solution cells that failed).

    With ``parts`` (grade ids of test cells), only those test cells run, after every other
    code cell of the notebook, and only they (and the solution cells they exercise that
    failed) are reported; each line is the one a whole check would print for that part.
    """
    nb = read_notebook(path)
    selected = None
    if parts is not None:
        known = part_ids(nb)
        unknown = [p for p in parts if p not in known]
        if unknown or not parts:
            raise ValueError(
                f"{path.name} has no part {', '.join(map(repr, unknown)) or '(none given)'}; "
                f"its parts are: {', '.join(known)}"
            )
        selected = {i for i, c in enumerate(nb.cells) if is_test_cell(c) and grade_id(c) in parts}
    prepared, spliced = prepare(path, nb, selected)
    code = dict(spliced.cells)
    folder = path.resolve().parent
    with tempfile.TemporaryDirectory(prefix="autograder-check-") as private:
        store = RecordStore(Path(private), trusted=True)
        try:
            run = run_cells(
                list(code.items()),
                folder,
                cell_timeout=cell_timeout,
                total_timeout=max(600.0, cell_timeout * 4),
                memory_mb=None,
                env={MODE_VARIABLE: CHECK},
                guard=guard_config(prepared, folder),
                recorder=store,
                skip_after=prepared.same_code_after,
            )
            scored = score(
                prepared,
                run.outcomes,
                lambda index: _checks_of(
                    store, index, list(spliced.solutions.values()), prepared.graded_names
                ),
                static_violations(prepared, spliced),
            )
        finally:
            store.close()
    reports = []
    by_index = dict(zip(prepared.tests, scored.parts, strict=True))
    exercised = (
        None if selected is None else {s for t in selected for s in prepared.depends.get(t, ())}
    )
    for index, cell in enumerate(nb.cells):
        outcome = run.outcomes.get(index)
        if exercised is not None and index not in exercised and index not in selected:
            continue
        if is_solution_cell(cell) and outcome is not None and outcome.status != CellStatus.OK:
            if outcome.not_written:
                continue  # reported by the tests that call it
            reports.append(
                PartResult(
                    path.name,
                    grade_id(cell) or f"cell-{index}",
                    0.0,
                    0.0,
                    False,
                    PartStatus.BROKEN,
                    f"this cell of yours failed: {outcome.message}",
                )
            )
        if not is_test_cell(cell):
            continue
        part = by_index[index]
        if _is_hidden_placeholder(cell.source):
            part.status, part.earned, part.message, part.hidden = (
                PartStatus.HIDDEN,
                0.0,
                HIDDEN_NOTE,
                True,
            )
        reports.append(part)
    return reports


def _first_line(message: str) -> str:
    lines = [line for line in message.splitlines() if line.strip()]
    return lines[0] if lines else ""


def format_report(reports: list[PartResult], *, color: bool, verbose: bool = False) -> str:
    def paint(text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if color else text

    width = max((len(r.grade_id) for r in reports), default=10)
    lines = []
    for r in reports:
        score_text = f"{r.earned:g}/{r.points:g}"
        if r.status == PartStatus.PASSED:
            lines.append(f"{paint('✓', '32')} {r.grade_id:<{width}}  {score_text:>5}")
        elif r.status == PartStatus.BROKEN:
            lines.append(
                f"{paint('!', '33')} {r.grade_id:<{width}}  {'':>5}  {_first_line(r.message)}"
            )
        elif r.status == PartStatus.HIDDEN:
            lines.append(
                f"{paint('·', '2')} {r.grade_id:<{width}}  {'?':>5}  {paint(r.message, '2')}"
            )
        else:
            message = f"forbidden: {r.message}" if r.status == PartStatus.FORBIDDEN else r.message
            failed = [c for c in r.checks if not c.passed and c.message]
            count = f" ({len(failed)} of {len(r.checks)} checks fail)" if len(failed) > 1 else ""
            detail = message if verbose else _first_line(message)
            lines.append(
                f"{paint('✗', '31')} {r.grade_id:<{width}}  {score_text:>5}  {detail}{count}"
            )
            rest = [line for line in message.splitlines()[1:] if line.strip()]
            lines.extend(
                f"{'':{width + 10}}{line.strip()}" for line in rest[: None if verbose else 4]
            )
            others = failed[1:] if verbose else failed[1:4]
            for check in others:  # every other failing check, first line each
                lines.append(f"{'':{width + 10}}also: {_first_line(check.message)}")
    public = [r for r in reports if r.status not in (PartStatus.HIDDEN, PartStatus.BROKEN)]
    passed = [r for r in public if r.status == PartStatus.PASSED]
    failed = [r for r in public if r.status != PartStatus.PASSED]
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
        hidden = sum(r.points for r in reports if r.status == PartStatus.HIDDEN)
        extra = f"; {hidden:g} more points come from hidden tests at grading" if hidden else ""
        lines.append(
            paint(
                f"all {len(public)} public parts pass ({earned:g}/{total:g} points){extra}.", "32"
            )
        )
    return "\n".join(lines)


def _public(reports: list[PartResult]) -> list[PartResult]:
    return [r for r in reports if r.status not in (PartStatus.HIDDEN, PartStatus.BROKEN)]


def log_run(path: Path, reports: list[PartResult], how: str) -> Path | None:
    """Append this run's public parts to the learner's check log beside ``path``."""
    return append_check_log(path, {r.grade_id: str(r.status) for r in _public(reports)}, how)


def main(path: Path, *, verbose: bool = False, parts: list[str] | None = None) -> int:
    try:
        reports = check_notebook(path, parts=parts)
    except (NotebookError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    log_run(path, reports, "command line")
    color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    print(format_report(reports, color=color, verbose=verbose))
    public = _public(reports)
    return 0 if public and all(r.status == PartStatus.PASSED for r in public) else 1


# --- from inside a running notebook ---------------------------------------------------------


@dataclass
class Report:
    """What :func:`this_notebook` and :func:`part` found. Displayed by Jupyter as the report
    the command line prints (one line per part); ``passed`` is what the exit code says."""

    notebook: str
    parts: list[PartResult] = field(default_factory=list)
    header: str = ""

    @property
    def passed(self) -> bool:
        public = _public(self.parts)
        return bool(public) and all(r.status == PartStatus.PASSED for r in public)

    def text(self, color: bool = False) -> str:
        lines = [self.header] if self.header else []
        if self.parts:
            lines.append(format_report(self.parts, color=color))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.text()

    def _ipython_display_(self) -> None:  # Jupyter, JupyterLab, VS Code and Colab render colour
        print(self.text(color=not os.environ.get("NO_COLOR")))


def _run_here(path: Path | str | None, parts: list[str] | None) -> Report:
    if os.environ.get(MODE_VARIABLE):  # inside a check or a grading run of this very notebook
        return Report("", header="")
    if path is not None:
        found, how = Path(path).expanduser().resolve(), "as named"
        if not found.is_file():
            raise NotebookNotFound(f"{path} does not exist (working folder: {Path.cwd()})")
    else:
        found, how = find_this_notebook()
    if found is not None:
        saved = datetime.fromtimestamp(found.stat().st_mtime).strftime("%H:%M:%S")
        header = f"checked {found.name} as saved at {saved} (save first to check your latest edits)"
        reports = check_notebook(found, parts=parts)
        log_run(found, reports, "notebook")
        return Report(found.name, reports, header)
    data = colab_notebook()  # Colab: the open notebook, written beside the working folder
    meta = data.get("metadata", {})
    name = (meta.get("colab") or {}).get(
        "name"
    ) or f"{(meta.get('autograder') or {}).get('assignment', 'notebook')}.ipynb"
    folder = Path.cwd()
    handle = tempfile.NamedTemporaryFile(
        "w",
        suffix=".ipynb",
        prefix=f".{Path(name).stem}.",
        dir=folder,
        delete=False,
        encoding="utf-8",
    )
    try:
        with handle:
            json.dump(data, handle)
        reports = check_notebook(Path(handle.name), parts=parts)
    finally:
        Path(handle.name).unlink(missing_ok=True)
    log_run(folder / name, reports, "notebook")
    return Report(name, reports, f"checked the open notebook {name} (found through {how})")


def this_notebook(path: Path | str | None = None) -> Report:
    """Check the notebook this kernel runs (or ``path``): every public test, one line per part,
    exactly what ``python -m autograder check`` prints. In a notebook, call it last in a cell
    to see the report. Inside a check or a grading run it does nothing (no check of a check)."""
    return _run_here(path, None)


def part(*grade_ids: str, path: Path | str | None = None) -> Report:
    """Check only the named parts (test cells' grade ids, e.g. ``part("conv1d-loop")``): the
    notebook's other code cells run, the other test cells do not."""
    return _run_here(path, list(grade_ids))
