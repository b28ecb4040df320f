"""Grading one learner: their notebook(s) spliced into the sources, run isolated, judged, scored.

Nothing a learner did can make this raise: every problem becomes a status and a reason in the
result (the worker turns a bug of the grader itself into a ``grader-error`` row).
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ..execution import sandbox
from ..execution.cells import Isolation, WarmRunners, run_cells
from ..execution.users import SandboxUser
from ..notebooks import NotebookError
from ..protocol import ANSWER, MODE_VARIABLE, SEED_VARIABLE
from .expectations import load_expectations, wait_for
from .judge import judge_cell
from .manual import manual_parts
from .options import GradingOptions, RunContext
from .records import RecordStore
from .results import Problem, Status, StudentResult
from .scoring import score
from .sources import SourceNotebook, load_source
from .splicing import splice
from .submissions import StudentFolder, assignment_folder, find_submission, read_submission
from .violations import guard_config, static_violations


@dataclass
class Worker:
    """What one grading process keeps from one student to the next: its own sandbox user id
    (when it can isolate) and its warm runner."""

    user: SandboxUser | None
    runners: WarmRunners

    @classmethod
    def start(cls) -> Worker:
        return cls(SandboxUser() if sandbox.available() else None, WarmRunners())

    def prestart(self, warm: tuple[str, ...]) -> None:
        """Start the warm runner now (while the expectations run)."""
        if self.user is not None:
            from ..execution.environment import child_env

            self.runners.get(child_env(None), warm)

    def close(self) -> None:
        self.runners.close()
        if self.user is not None:
            self.user.release()


def grade_notebook(
    prepared: SourceNotebook,
    submitted,
    options: GradingOptions,
    context: RunContext,
    worker: Worker,
    result: StudentResult,
    diagnostics: bool = False,
) -> list[Problem]:
    """Run and score one notebook of one learner into ``result``; the problems it had."""
    spliced = splice(prepared, submitted)
    violations = static_violations(prepared, spliced)
    problems = [Problem(Status.TAMPERED, t.message) for t in spliced.tampering]
    isolation = None
    with (
        tempfile.TemporaryDirectory(prefix="autograder-answers-") as private,
        tempfile.TemporaryDirectory(prefix="autograder-") as scratch_name,
        sandbox.scratch_quota(Path(scratch_name), options.disk_mb) as no_quota,
    ):
        scratch = Path(scratch_name)
        if worker.user is not None:
            isolation = Isolation(
                hide=(*prepared.hidden, *context.hidden), user=worker.user, warm=prepared.warm
            )
        answers = RecordStore(Path(private), trusted=False)
        try:
            run = run_cells(
                spliced.cells,
                scratch,
                cell_timeout=options.cell_timeout,
                total_timeout=options.budget,
                memory_mb=options.memory_mb,
                env={
                    SEED_VARIABLE: str(options.seed),
                    MODE_VARIABLE: ANSWER,
                    "NUMBA_CACHE_DIR": str(scratch / ".numba-cache"),
                },
                isolation=isolation,
                runners=worker.runners,
                guard=guard_config(prepared, scratch),
                recorder=answers,
                skip_after=prepared.same_code_after,
                forget=spliced.secret_cells,
            )
            wait_for(context.ready_marker)
            expected = load_expectations(context.expectations_of(prepared.path))
            solutions = list(spliced.solutions.values())
            scored = score(
                prepared,
                run.outcomes,
                lambda index: judge_cell(
                    expected, answers, index, solutions, prepared.graded_names
                ),
                violations,
                disk_mb=options.disk_mb,
                budget_exhausted=run.budget_exhausted,
            )
        finally:
            answers.close()
    if diagnostics:
        result.diagnostics += run.output[-20_000:]
    result.parts.extend(scored.parts)
    result.parts.extend(manual_parts(prepared, spliced.answers))  # scored by a person later
    result.notes.extend(
        [*spliced.notes, *(t.message for t in spliced.tampering), *scored.notes, *run.notes]
    )
    if isolation is None:
        result.notes.append(
            "graded without isolation (the grader was not running as root on Linux)"
        )
    elif no_quota:
        result.notes.append(f"graded without a size limit on the scratch folder ({no_quota})")
    return problems + scored.problems


def grade_student(
    folder: StudentFolder,
    options: GradingOptions,
    context: RunContext,
    worker: Worker,
    diagnostics: bool = False,
) -> StudentResult:
    """Grade one learner's folder; never raises for anything the learner did. ``diagnostics``
    keeps the run's output in the result (never written out: for the instructor's self-check)."""
    start = time.monotonic()
    result = StudentResult(folder.student_id, context.assignment, seed=options.seed)
    prepared = [load_source(path) for path in context.sources]
    result.max_score = sum(p.max_score for p in prepared)
    problems: list[Problem] = []
    if folder.refused:
        problems.append(Problem(Status.INVALID, folder.refused))
    else:
        assignment, why, invalid = assignment_folder(folder.path, context.assignment)
        for source in prepared:
            if assignment is None:
                problems.append(Problem(Status.INVALID if invalid else Status.MISSING, why))
                break
            found, note = find_submission(assignment, source.path.name)
            if found is None:
                problems.append(Problem(Status.MISSING, note))
                continue
            if note:
                result.notes.append(note)
                problems.append(Problem(Status.OK, note))
            try:
                submitted = read_submission(found)
            except NotebookError as error:
                problems.append(Problem(Status.INVALID, str(error)))
                continue
            problems += grade_notebook(
                source, submitted, options, context, worker, result, diagnostics
            )
    result.conclude(problems)
    result.seconds = round(time.monotonic() - start, 2)
    return result
