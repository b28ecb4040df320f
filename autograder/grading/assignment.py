"""``grade``: score every submission of an assignment and write ``grades.csv`` and feedback.

Layout read: ``SUBMISSIONS/<student>/<assignment>/<notebook>.ipynb`` (nbgrader's). Written to
``OUT``:

- ``OUT/<student>/result.json`` (written atomically as each student finishes, so an interrupted
  run keeps what it graded; a rerun skips students that have one unless ``force``);
- ``OUT/<student>/feedback.html``: public-test messages and hidden-test outcomes with hints,
  never hidden-test code or expected values;
- ``OUT/<student>/results.json``: the same result in Gradescope's format;
- ``OUT/grades.csv``: one row per student (:data:`~.results.CSV_COLUMNS`).

With a due time (:class:`~.late.LateRules`), each submission's ``timestamp.txt`` is compared
with it and the late penalty is taken off the points earned (:mod:`.late`). Lateness is worked
out again on every run, also for students graded before, so a changed due time or extension
needs no regrading.

Before anyone's work counts, the instructor's own source notebook is graded through exactly the
learner's path (the same sandbox, warm runner and limits): if it does not earn full marks the
environment is broken (a hidden path the learner's Python needs, a missing package), and the
run stops with what went wrong instead of giving every student the same crash.
"""

from __future__ import annotations

import concurrent.futures as futures
import json
import os
import random
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from ..notebooks import source_notebooks
from .cache import persistent_numba_cache
from .expectations import FAILED_MARKER, READY_MARKER, record_expectations, warm_cache_marker
from .gradebook import write_grades, write_student
from .late import LateRules
from .manual import carry_scores
from .options import (
    DEFAULT_CELL_TIMEOUT,
    DEFAULT_DISK_MB,
    DEFAULT_MEMORY_MB,
    GradingOptions,
    RunContext,
)
from .results import Lateness, Status, StudentResult
from .sources import load_source
from .student import Worker
from .submissions import StudentFolder, assignment_folder, student_folders
from .workers import grade_on_dask, grade_safely, start_pool

INSTRUCTOR_ID = "(the instructor's source)"


class SelfCheckError(RuntimeError):
    """The instructor's source did not earn full marks through the learner's path."""


def _saved(out: Path, student: str) -> StudentResult | None:
    """The result written for ``student`` before, if it can be read."""
    saved = out / student / "result.json"
    if not saved.is_file() or saved.is_symlink():
        return None
    try:
        return StudentResult.from_json(json.loads(saved.read_text(encoding="utf-8")))
    except (ValueError, TypeError, KeyError):
        return None


def _previous(out: Path, folder: StudentFolder, assignment: str) -> StudentResult | None:
    saved = out / folder.student_id / "result.json"
    if folder.refused or not saved.is_file():
        return None
    try:
        result = StudentResult.from_json(json.loads(saved.read_text(encoding="utf-8")))
    except (ValueError, TypeError, KeyError):
        return None  # a damaged result is graded again
    return result if result.assignment == assignment else None


def _lateness(folders: list[StudentFolder], assignment: str, rules: LateRules | None) -> dict:
    """Student id -> :class:`Lateness` (None: no due time, or nothing submitted)."""
    found: dict[str, Lateness | None] = {}
    for folder in folders:
        where = None if folder.refused else assignment_folder(folder.path, assignment)[0]
        found[folder.student_id] = (
            rules.lateness(folder.student_id, where) if rules and where else None
        )
    return found


def _apply_late(result: StudentResult, late: Lateness | None) -> bool:
    """Put ``late`` in ``result`` and score it again; whether anything changed."""
    if result.late == late:
        return False
    result.late = late
    result.rescore()
    return True


def grade_assignment(
    assignment: str,
    submissions: Path,
    out: Path,
    *,
    workers: int | None = None,
    seed: int | None = None,
    cell_timeout: float = DEFAULT_CELL_TIMEOUT,
    memory_mb: int = DEFAULT_MEMORY_MB,
    disk_mb: int = DEFAULT_DISK_MB,
    force: bool = False,
    progress: Callable[[StudentResult, int, int], None] | None = None,
    scheduler: str | None = None,
    students: list[str] | None = None,
    late: LateRules | None = None,
) -> list[StudentResult]:
    """Grade every ``submissions/<student>/`` folder and write ``out/grades.csv``.

    ``students``: grade only these (again, even if graded before), keeping the others' rows.
    ``late``: the due time, late policy and extensions (default: lateness is not looked at).
    Raises ``ValueError`` for bad arguments and :class:`SelfCheckError` when the instructor's
    source does not earn full marks through the learner's path (nothing is written then).
    """
    sources = tuple(source_notebooks(assignment))
    prepared = [load_source(path) for path in sources]  # refuses a source that would leak
    if not submissions.is_dir():
        raise ValueError(
            f"--submissions {submissions} is not a folder; expected "
            f"SUBMISSIONS/<student>/{assignment}/<notebook>.ipynb"
        )
    submissions, out = submissions.resolve(), out.resolve()
    if out == submissions or submissions in out.parents:
        raise ValueError(f"--out {out} must not be inside --submissions {submissions}")
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    options = GradingOptions(
        seed=seed if seed is not None else random.SystemRandom().randrange(1, 2**31),
        cell_timeout=cell_timeout,
        memory_mb=memory_mb,
        disk_mb=disk_mb,
    )
    folders = student_folders(submissions)
    chosen = set(students or ())
    unknown = sorted(chosen - {f.student_id for f in folders})
    if unknown:
        raise ValueError(f"--student {', '.join(unknown)}: no such folder in {submissions}")
    lateness = _lateness(folders, assignment, late)
    results: dict[str, StudentResult] = {}
    todo = []
    for folder in folders:
        if chosen and folder.student_id not in chosen:
            previous = _previous(out, folder, assignment)  # not asked for: its row stays
        elif force or chosen:
            previous = None
        else:
            previous = _previous(out, folder, assignment)
        if previous is not None:
            results[folder.student_id] = previous
            if late is not None and _apply_late(previous, lateness[folder.student_id]):
                write_student(out, previous)  # a new due time or extension: scored again
        elif not chosen or folder.student_id in chosen:
            todo.append(folder)
    context = RunContext(
        assignment=assignment,
        sources=sources,
        expectations=out / ".expectations" / str(options.seed),
        hidden=(submissions, out),
        extra={"lateness": lateness},
    )
    order = [f.student_id for f in folders]
    if todo:
        _grade(todo, options, context, prepared, results, out, order, workers, scheduler, progress)
    ordered = [results[s] for s in order if s in results]
    write_grades(ordered, out / "grades.csv")
    return ordered


def _grade(todo, options, context, prepared, results, out, order, workers, scheduler, progress):
    warm = tuple(dict.fromkeys(m for p in prepared for m in p.warm))
    workers = max(1, workers or os.cpu_count() or 1)
    with tempfile.TemporaryDirectory(prefix="autograder-selfcheck-") as base:
        instructor = _instructor_folder(Path(base), context)
        pool = start_pool(workers, warm) if not scheduler and workers > 1 else None
        local = Worker.start() if pool is None and not scheduler else None
        try:
            _run(
                instructor,
                todo,
                options,
                context,
                results,
                out,
                order,
                pool,
                local,
                scheduler,
                progress,
            )
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)
            if local is not None:
                local.close()


def _instructor_folder(base: Path, context: RunContext) -> StudentFolder:
    folder = base / "instructor" / context.assignment
    folder.mkdir(parents=True)
    for source in context.sources:
        shutil.copyfile(source, folder / source.name)
    return StudentFolder(base / "instructor")


def _run(instructor, todo, options, context, results, out, order, pool, local, scheduler, progress):
    persistent = persistent_numba_cache()
    marker = warm_cache_marker(persistent, list(context.sources)) if persistent else None
    early = pool is not None and marker is not None and marker.exists()
    folder = context.expectations
    jobs: dict = {}
    if early:
        # The learners' runs do not need the expectations until they are judged: start them
        # now; each worker waits for the expectations before judging. Only with a numba cache
        # this source already warmed (else the first learners would compile every kernel).
        folder.mkdir(parents=True, exist_ok=True)
        for name in (READY_MARKER, FAILED_MARKER):
            (folder / name).unlink(missing_ok=True)
        early_context = _with(context, ready_marker=str(folder / READY_MARKER))
        jobs = _submit(pool, [instructor, *todo], options, early_context, instructor)
    try:
        for source in context.sources:
            record_expectations(source, context.expectations_of(source), options)
    except BaseException:
        if jobs:
            (folder / FAILED_MARKER).touch()
            for job in jobs:
                job.cancel()
        raise
    if jobs:
        (folder / READY_MARKER).touch()
    if marker is not None:
        marker.touch()
    held: list[StudentResult] = []
    verified = False

    def finish(folder_: StudentFolder, result: StudentResult) -> None:
        nonlocal verified
        if folder_ is instructor:
            _verify(result, context)
            verified = True
            for waiting in held:
                _keep(waiting, results, out, order, progress, context.extra["lateness"])
            held.clear()
        elif verified:
            _keep(result, results, out, order, progress, context.extra["lateness"])
        else:
            held.append(result)  # written only once the self-check passed

    if scheduler:
        grade_on_dask(scheduler, [instructor], options, context, finish, diagnostics=True)
        grade_on_dask(scheduler, todo, options, context, finish)
    elif pool is None:
        for folder_ in [instructor, *todo]:
            finish(folder_, grade_safely(folder_, options, context, local, folder_ is instructor))
    else:
        jobs = jobs or _submit(pool, [instructor, *todo], options, context, instructor)
        try:
            for job in futures.as_completed(jobs):
                finish(jobs[job], job.result())
        except SelfCheckError:
            for job in jobs:
                job.cancel()
            raise


def _keep(
    result: StudentResult, results: dict, out: Path, order: list[str], progress, lateness: dict
) -> None:
    """Write one learner's result and feedback (the late penalty applied, a person's scores of
    unchanged written answers kept), and count it."""
    earlier = _saved(out, result.student_id)
    if earlier is not None and carry_scores(earlier, result):
        result.rescore()
    _apply_late(result, lateness.get(result.student_id))
    write_student(out, result)
    results[result.student_id] = result
    if progress:
        progress(result, sum(s in results for s in order), len(order))


def _submit(pool, folders, options, context, instructor) -> dict:
    return {
        pool.submit(grade_safely, f, options, context, None, f is instructor): f for f in folders
    }


def _with(context: RunContext, **changes) -> RunContext:
    from dataclasses import replace

    return replace(context, **changes)


def _verify(result: StudentResult, context: RunContext) -> None:
    """Raise :class:`SelfCheckError` unless the instructor's source earned full marks (of the
    tests: its written answers are model answers, scored by no one)."""
    if result.status == Status.OK and result.score == result.autograded_max():
        return
    lost = [
        f"  {p.grade_id}: {p.status.value}" + (f": {p.message}" if p.message else "")
        for p in result.parts
        if p.earned < p.points
    ]
    from .sources import load_source

    hidden = sorted(
        {str(p) for p in context.hidden}
        | {str(p) for s in context.sources for p in load_source(s).hidden}
    )
    raise SelfCheckError(
        f"the instructor's own source notebook earned {result.score:g}/"
        f"{result.autograded_max():g} "
        f"({result.status.value}) when graded as a learner's submission, so no one was graded. "
        "The grading environment is broken, not the students' work.\n"
        + (f"  reason: {result.reason}\n" if result.reason else "")
        + "\n".join(lost[:10])
        + ("\n  notes: " + "; ".join(result.notes[:5]) if result.notes else "")
        + (
            f"\n  the learner's process ran with these folders hidden: {', '.join(hidden)}"
            " (and the instructor-only files); a package or file it needs must not be in one"
        )
        + (f"\n  output of the run:\n{result.diagnostics[-3000:]}" if result.diagnostics else "")
    )
