"""``grade``: score every submission of an assignment and write ``grades.csv`` and feedback.

Layout read: ``SUBMISSIONS/<student>/<assignment>/<notebook>.ipynb`` (nbgrader's). For each
student the grader builds the notebook it runs from the instructor's *source*: every cell comes
from the source (with its hidden tests) except the solution cells, which come from the learner's
notebook, matched by ``grade_id``. Tests and points therefore always come from the instructor;
a learner who edits or deletes a test cell changes nothing but gets the change flagged.

Written to ``OUT``:
- ``OUT/<student>/result.json``: score, status and one entry per graded part (written atomically
  as each student finishes, so an interrupted run keeps what it graded; a rerun skips students
  that have one unless ``force``);
- ``OUT/<student>/feedback.html``: public-test messages and hidden-test outcomes with hints,
  never hidden-test code or expected values;
- ``OUT/grades.csv``: ``student_id,assignment,score,max_score,status,reason,seed,seconds``.
"""

from __future__ import annotations

import concurrent.futures as futures
import csv
import dataclasses
import difflib
import functools
import json
import multiprocessing
import os
import random
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from nbformat import NotebookNode

from . import sandbox
from .checks import MODE_VARIABLE, RECORD_VARIABLE, SEED_VARIABLE
from .execute import Isolation, prestart_zygote, run_cells
from .feedback import write_feedback
from .judge import judge_records, read_records
from .notebooks import (
    REPO_ROOT,
    SOLUTIONS_DIR,
    NotebookError,
    grade_id,
    has_hidden_tests,
    hint_of,
    is_solution_cell,
    is_test_cell,
    nbgrader_meta,
    points,
    read_notebook,
    source_notebooks,
)
from .release import cached_student_version, student_version
from .zygote import modules_imported_by

CSV_COLUMNS = [
    "student_id",
    "assignment",
    "score",
    "max_score",
    "status",
    "reason",
    "seed",
    "seconds",
]
DEFAULT_CELL_TIMEOUT = 60.0
DEFAULT_MEMORY_MB = 4096
DEFAULT_DISK_MB = 256  # the scratch folder's size (a tmpfs, so memory too, when isolated)


@dataclass
class PartResult:
    notebook: str
    grade_id: str
    points: float
    earned: float
    hidden: bool
    status: str  # passed, failed, timeout, crashed, not-run
    message: str  # shown to the learner (never hidden-test details)
    hint: str = ""


@dataclass
class StudentResult:
    student_id: str
    assignment: str
    score: float = 0.0
    max_score: float = 0.0
    status: str = "ok"
    reason: str = ""
    seed: int = 0
    seconds: float = 0.0
    parts: list[PartResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> StudentResult:
        parts = [PartResult(**p) for p in data.pop("parts", [])]
        return cls(**data, parts=parts)


@dataclass(frozen=True)
class GradingOptions:
    seed: int
    expectations: dict[str, str] = field(default_factory=dict)  # notebook name -> records
    numba_cache: str = ""  # kernels compiled by the expectation run, copied for each learner
    hide: tuple[str, ...] = ()  # folders a learner's process must not see (when isolated)
    cell_timeout: float = DEFAULT_CELL_TIMEOUT
    total_timeout: float | None = None  # default: 10 cell timeouts, at least 5 minutes
    memory_mb: int = DEFAULT_MEMORY_MB
    disk_mb: int = DEFAULT_DISK_MB
    warm: tuple[str, ...] = ()  # modules the sources import, for the pre-forked runner
    expectations_ready: str = ""  # a file to wait for before judging (expectations still running)

    @property
    def budget(self) -> float:
        return self.total_timeout or max(300.0, 10 * self.cell_timeout)


def _normalise(source: str) -> str:
    """Code lines without trailing blanks or comment-only lines (an edited hint is no tamper)."""
    lines = (line.rstrip() for line in source.strip().splitlines())
    return "\n".join(line for line in lines if line and not line.lstrip().startswith("#"))


def _find_submission(folder: Path, expected: str) -> tuple[Path | None, str]:
    """The learner's notebook for ``expected`` in ``folder``, tolerating a misnamed single file."""
    exact = folder / expected
    if exact.is_file() or exact.is_symlink():
        return exact, ""
    candidates = sorted(
        p
        for p in folder.glob("*.ipynb")
        if not p.name.startswith(".") and (p.is_file() or p.is_symlink())
    )
    if not candidates:
        found = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
        listing = f" (found: {', '.join(found[:5])})" if found else " (the folder is empty)"
        return None, f"no notebook {expected} in {folder.name}/{listing}"
    close = difflib.get_close_matches(expected, [p.name for p in candidates], n=2, cutoff=0.3)
    ratio = [difflib.SequenceMatcher(None, expected, name).ratio() for name in close]
    if len(candidates) == 1 or (close and (len(close) == 1 or ratio[0] > ratio[1])):
        chosen = folder / close[0] if close else candidates[0]
        return chosen, f"graded {chosen.name} as {expected} (rename it to {expected} next time)"
    names = ", ".join(p.name for p in candidates[:5])
    return None, f"no notebook {expected}; found {names} and could not tell which one to grade"


@functools.lru_cache(maxsize=16)
def _load_source(path: Path, mtime_ns: int) -> tuple[NotebookNode, NotebookNode]:
    """The source notebook and its student version, read and released once per worker (not
    once per student); ``mtime_ns`` makes an edited source load again. Callers must not
    modify them."""
    return cached_student_version(path, _autograder_cache("released"))


def load_source(path: Path) -> tuple[NotebookNode, NotebookNode]:
    return _load_source(path, path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=16)
def _warm_modules(path: Path, mtime_ns: int) -> tuple[str, ...]:
    """The modules the instructor's source imports: the pre-forked runner imports them once."""
    source, _ = _load_source(path, mtime_ns)
    return tuple(modules_imported_by([c.source for c in source.cells if c.cell_type == "code"]))


def _expected_records(folder: Path) -> list:
    """The expectations of one test cell, read once per worker rather than once per student
    (a folder written again, by a later run with the same seed, is read again)."""
    try:
        stamp = folder.stat().st_mtime_ns
    except OSError:
        stamp = 0
    return _read_expected(str(folder), stamp)


@functools.lru_cache(maxsize=1024)
def _read_expected(folder: str, stamp: int) -> list:  # noqa: ARG001 - part of the cache key
    return read_records(Path(folder), trusted=True)


READY_MARKER = ".ready"  # in the expectation folder: written when every expectation is
FAILED_MARKER = ".failed"  # ... or when the expectation run failed


def _warm_cache_marker(cache: str, sources: list[Path]) -> Path:
    """A file in the numba cache that exists once an expectation run of ``sources`` compiled
    into it with the reference, numba and Python as they are now."""
    import hashlib
    from importlib import metadata

    try:
        numba_version = metadata.version("numba")
    except metadata.PackageNotFoundError:
        numba_version = ""
    stamps = [sys.version, numba_version]
    for path in sorted([*(REPO_ROOT / "autograder" / "reference").glob("*.py"), *sources], key=str):
        info = path.stat()
        stamps.append(f"{path}:{info.st_mtime_ns}:{info.st_size}")
    key = hashlib.sha256("\n".join(stamps).encode()).hexdigest()[:24]
    return Path(cache) / f".autograder-warm-{key}"


def _wait_for_expectations(options: GradingOptions) -> None:
    """Block until the parent has recorded the expectations (see ``expectations_ready``)."""
    if not options.expectations_ready:
        return
    ready = Path(options.expectations_ready)
    failed = ready.with_name(FAILED_MARKER)
    parent = os.getppid()
    while not ready.exists():
        if failed.exists() or os.getppid() != parent:
            raise RuntimeError("the expectation run failed; nothing was judged")
        time.sleep(0.02)


def _autograder_cache(name: str, override: str = "") -> Path | None:
    """``override`` if given, else ``$XDG_CACHE_HOME/autograder/NAME`` (default
    ``~/.cache/autograder/NAME``), created; None if it cannot be written."""
    home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = Path(override) if override else home / "autograder" / name
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError:
        return None
    return folder


def persistent_numba_cache() -> str:
    """Where the expectation runs keep numba's compiled reference kernels between grading runs
    (``$AUTOGRADER_NUMBA_CACHE``, else ``~/.cache/autograder/numba``), or "" if not writable.

    Safe to share: only the instructor's expectation runs write there (each learner gets a copy),
    and numba's index is keyed on each kernel's source file (time stamp and size) and numba's
    version, so an edited reference is compiled again.
    """
    folder = _autograder_cache("numba", os.environ.get("AUTOGRADER_NUMBA_CACHE", ""))
    return str(folder) if folder else ""


def splice(
    source: NotebookNode, submitted: NotebookNode, released: NotebookNode | None = None
) -> tuple[list[tuple[int, str]], list[str]]:
    """The cells to run: the source's cells with the learner's solution cells put in.

    Returns the (index, source) pairs of the code cells and the list of tampering notes.
    """
    released_nb = released if released is not None else student_version(source)
    released = {grade_id(c): c for c in released_nb.cells if grade_id(c)}
    original = {grade_id(c): c for c in source.cells if grade_id(c)}
    theirs: dict[str, NotebookNode] = {}
    notes = []
    for cell in submitted.cells:
        gid = grade_id(cell)
        if gid is None:
            continue
        if not isinstance(cell.get("source", ""), str):
            notes.append(f"the source of cell {gid!r} is not text; it was graded as empty")
            cell = NotebookNode({**cell, "source": ""})
        if gid in theirs:
            notes.append(f"grade id {gid!r} appears more than once; the first cell was used")
            continue
        theirs[gid] = cell
    for gid, cell in released.items():
        mine = theirs.get(gid)
        meta = nbgrader_meta(cell)
        if mine is None:
            if is_solution_cell(cell) or meta.get("locked") or meta.get("grade"):
                notes.append(f"cell {gid!r} was deleted; the instructor's version was used")
            continue
        if mine.get("cell_type") != cell.cell_type:
            notes.append(
                f"cell {gid!r} changed type from {cell.cell_type} to {mine.get('cell_type')}"
            )
        theirs_text = _normalise(mine.get("source", ""))
        if meta.get("locked") and theirs_text not in (
            _normalise(cell.source),
            _normalise(original[gid].source),
        ):
            notes.append(f"locked cell {gid!r} was edited; the instructor's version was used")
        their_meta = nbgrader_meta(mine)
        if meta.get("grade") and their_meta.get("points") != meta.get("points"):
            notes.append(f"the points of {gid!r} were changed; the instructor's points were used")
    kernel = submitted.get("metadata", {}).get("kernelspec", {})
    kernel_name = kernel.get("name") if isinstance(kernel, dict) else None
    if kernel_name not in (None, "python3"):
        notes.append(
            f"the notebook was saved with the kernel {kernel_name!r}; it was graded "
            "with Python 3 (python3)"
        )
    extra = sum(1 for c in submitted.cells if c.get("cell_type") == "code" and grade_id(c) is None)
    if extra:
        notes.append(f"{extra} code cell(s) you added were not run: only solution cells are graded")
    cells = []
    for index, cell in enumerate(source.cells):
        if cell.cell_type != "code":
            continue
        text = cell.source
        gid = grade_id(cell)
        if is_solution_cell(cell) and gid is not None:
            mine = theirs.get(gid)
            if mine is not None and mine.get("cell_type") == "code":
                text = mine.get("source", "")
            else:
                text = released[gid].source
        cells.append((index, text))
    return cells, notes


def prepare_expectations(
    source_path: Path, seed: int, folder: Path, options: GradingOptions
) -> Path:
    """Record what every check of ``source_path`` expects, running only the instructor's code.

    Runs the source notebook (solutions and hidden tests) with ``AUTOGRADER_MODE=expect`` in a
    fresh process in which no learner code ever runs. Raises ``ValueError`` when a test cell
    fails or makes no check: the grader could not judge it.
    """
    source = read_notebook(source_path)
    records = folder / source_path.stem
    if records.exists():
        shutil.rmtree(records)
    records.mkdir(parents=True)
    cells = [(i, c.source) for i, c in enumerate(source.cells) if c.cell_type == "code"]
    with tempfile.TemporaryDirectory(prefix="autograder-expect-") as scratch:
        run = run_cells(
            cells,
            Path(scratch),
            cell_timeout=max(options.cell_timeout, 300),
            total_timeout=3600,
            memory_mb=None,
            env={
                SEED_VARIABLE: str(seed),
                MODE_VARIABLE: "expect",
                RECORD_VARIABLE: str(records),
                "NUMBA_CACHE_DIR": options.numba_cache or str(folder / "numba-cache"),
            },
        )
    for index, cell in enumerate(source.cells):
        if not is_test_cell(cell):
            continue
        outcome = run.outcomes[index]
        if outcome.status != "ok":
            raise ValueError(
                f"{source_path.name}: test cell {grade_id(cell)!r} fails with the "
                f"instructor's solution: {outcome.message}"
            )
        if not read_records(records / str(index), trusted=True, limit=1):
            raise ValueError(
                f"{source_path.name}: test cell {grade_id(cell)!r} makes no check; "
                "compare through autograder.checks so the grader can judge it"
            )
    return records


def _grade_notebook(
    source_path: Path, submitted: NotebookNode, scratch: Path, options: GradingOptions
) -> tuple[list[PartResult], list[str], str]:
    source, released = load_source(source_path)
    cells, notes = splice(source, submitted, released)
    answers = scratch / ".answers"
    expectations = Path(options.expectations[source_path.name])
    numba_cache = scratch / ".numba-cache"
    if options.numba_cache and Path(options.numba_cache).is_dir():
        shutil.copytree(options.numba_cache, numba_cache)
    isolation = None
    if sandbox.available():
        isolation = Isolation(
            hide=tuple(Path(p) for p in options.hide),
            uid=sandbox.claim_uid(),
            warm=options.warm,
        )
        for path in [scratch, *scratch.rglob("*")]:
            os.lchown(path, isolation.uid, isolation.uid)
    run = run_cells(
        cells,
        scratch,
        cell_timeout=options.cell_timeout,
        total_timeout=options.budget,
        memory_mb=options.memory_mb,
        env={
            SEED_VARIABLE: str(options.seed),
            MODE_VARIABLE: "answer",
            RECORD_VARIABLE: str(answers),
            "NUMBA_CACHE_DIR": str(numba_cache),
        },
        isolation=isolation,
    )
    if isolation is None:
        notes.append("graded without isolation (the grader was not running as root on Linux)")
    _wait_for_expectations(options)
    solution_text = "\n\n".join(
        text for index, text in cells if is_solution_cell(source.cells[index])
    )
    parts = []
    worst = ""
    for index, cell in enumerate(source.cells):
        if not is_test_cell(cell):
            continue
        gid, worth = grade_id(cell) or f"cell-{index}", points(cell)
        hidden = has_hidden_tests(cell)
        outcome = run.outcomes.get(index)
        status = (
            "passed"
            if outcome and outcome.status == "ok"
            else ("failed" if outcome is None or outcome.status == "error" else outcome.status)
        )
        judged = ""
        if status == "passed":
            expected = _expected_records(expectations / str(index))
            given = read_records(answers / str(index), trusted=False, limit=len(expected))
            judged = judge_records(expected, given, solution_text) or ""
            if judged:
                status = "failed"
        if hidden:
            message = (
                ""
                if status == "passed"
                else {
                    "failed": "the hidden tests failed",
                    "timeout": "the hidden tests ran past the time limit",
                    "crashed": "the Python process crashed during the hidden tests",
                }.get(status, "the hidden tests were not run")
            )
        else:
            message = judged or (outcome.message if outcome and status != "passed" else "")
            if "No space left on device" in message:
                message += (
                    f" (your notebook's folder holds at most {options.disk_mb} MB while it is "
                    "graded: the files your code writes there count, so write less or delete "
                    "them)"
                )
        parts.append(
            PartResult(
                source_path.name,
                gid,
                worth,
                worth if status == "passed" else 0.0,
                hidden,
                status,
                message,
                hint_of(cell) if hidden else "",
            )
        )
    for index, cell in enumerate(source.cells):
        outcome = run.outcomes.get(index)
        if is_solution_cell(cell) and outcome is not None and outcome.status != "ok":
            notes.append(f"your cell {grade_id(cell)!r} failed: {outcome.message.splitlines()[0]}")
    for outcome in run.outcomes.values():
        if outcome.ename == "MemoryError" or (
            outcome.status == "crashed" and "memory" in outcome.evalue
        ):
            worst = "memory"
        elif outcome.status in ("timeout", "crashed") and worst != "memory":
            worst = worst or outcome.status
    if run.budget_exhausted:
        worst = "timeout"
    return parts, notes + run.notes, worst


MAX_NOTEBOOK_BYTES = 200 * 1024 * 1024


def _unsafe_path(found: Path, student_dir: Path) -> str:
    """Why the grader (running as the instructor) must not read ``found``, or "".

    A submission is untrusted: a symbolic link could make the grader read the instructor's
    source notebook, another student's work or a device as if it were the learner's notebook.
    """
    try:
        inside = found.resolve().is_relative_to(student_dir.resolve())
        if found.is_symlink() or not inside:
            return f"{found.name} is a symbolic link (or inside one); submit the notebook itself"
        if not found.is_file():
            return f"{found.name} is not a regular file"
        if found.stat().st_size > MAX_NOTEBOOK_BYTES:
            return f"{found.name} is larger than {MAX_NOTEBOOK_BYTES // 2**20} MB"
    except OSError as error:
        return f"{found.name} could not be read ({error.strerror})"
    return ""


def grade_student(
    student_dir: Path, assignment: str, sources: list[Path], options: GradingOptions
) -> StudentResult:
    """Grade one learner's folder; never raises for anything the learner did."""
    start = time.monotonic()
    result = StudentResult(student_dir.name, assignment, seed=options.seed)
    for source_path in sources:
        source, _ = load_source(source_path)
        result.max_score += sum(points(c) for c in source.cells if is_test_cell(c))
    folder = student_dir / assignment
    statuses = []
    reasons = []
    for source_path in sources:
        found, note = _find_submission(folder, source_path.name)
        if found is None:
            statuses.append("missing")
            reasons.append(
                note if folder.is_dir() else f"no folder {assignment}/ in the submission"
            )
            continue
        if note:
            result.notes.append(note)
            reasons.append(note)
        problem = _unsafe_path(found, student_dir)
        if problem:
            statuses.append("invalid-notebook")
            reasons.append(problem)
            continue
        try:
            submitted = read_notebook(found)
        except NotebookError as error:
            statuses.append("invalid-notebook")
            reasons.append(str(error))
            continue
        with (
            tempfile.TemporaryDirectory(prefix="autograder-") as scratch,
            sandbox.scratch_quota(Path(scratch), options.disk_mb) as no_quota,
        ):
            parts, notes, worst = _grade_notebook(source_path, submitted, Path(scratch), options)
        if no_quota and sandbox.available():
            notes.append(f"graded without a size limit on the scratch folder ({no_quota})")
        result.parts.extend(parts)
        result.notes.extend(notes)
        if worst:
            statuses.append(worst)
            failed = [p for p in parts if p.status in ("timeout", "crashed", "not-run")] or [
                p for p in parts if "MemoryError" in p.message
            ]
            reasons.append(
                f"{worst} in {failed[0].grade_id}: {failed[0].message}" if failed else worst
            )
        elif any(
            "edited" in n or "deleted" in n or "changed" in n or "more than once" in n
            for n in notes
        ):
            statuses.append("tampered")
            reasons.append("; ".join(n for n in notes if "added" not in n))
    result.score = sum(p.earned for p in result.parts)
    for status in ("invalid-notebook", "missing", "crashed", "memory", "timeout", "tampered"):
        if status in statuses:
            result.status = status
            break
    result.reason = "; ".join(reasons)[:500]
    result.seconds = round(time.monotonic() - start, 2)
    return result


def _write_json_atomic(data: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)


def _safe_csv_text(text: str) -> str:
    """Neutralise spreadsheet formulas in free text (a folder named '=cmd|...')."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def write_grades_csv(results: list[StudentResult], path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for r in sorted(results, key=lambda r: r.student_id):
            writer.writerow(
                [
                    _safe_csv_text(r.student_id),
                    r.assignment,
                    f"{r.score:g}",
                    f"{r.max_score:g}",
                    r.status,
                    _safe_csv_text(r.reason),
                    r.seed,
                    f"{r.seconds:.2f}",
                ]
            )
    tmp.replace(path)


def _student_out(out: Path, student_id: str) -> Path:
    return out / student_id


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
    progress=None,
    scheduler: str | None = None,
) -> list[StudentResult]:
    """Grade every ``submissions/<student>/`` folder and write ``out/grades.csv``."""
    sources = source_notebooks(assignment)
    if not submissions.is_dir():
        raise ValueError(
            f"--submissions {submissions} is not a folder; expected "
            f"SUBMISSIONS/<student>/{assignment}/<notebook>.ipynb"
        )
    out.mkdir(parents=True, exist_ok=True)
    if out.resolve() == submissions.resolve() or submissions.resolve() in out.resolve().parents:
        raise ValueError(f"--out {out} must not be inside --submissions {submissions}")
    seed = seed if seed is not None else random.SystemRandom().randrange(1, 2**31)
    options = GradingOptions(
        seed=seed, cell_timeout=cell_timeout, memory_mb=memory_mb, disk_mb=disk_mb
    )
    students = sorted(p for p in submissions.iterdir() if p.is_dir() and not p.name.startswith("."))
    results: dict[str, StudentResult] = {}
    todo = []
    for student in students:
        saved = _student_out(out, student.name) / "result.json"
        if saved.exists() and not force:
            try:
                result = StudentResult.from_json(json.loads(saved.read_text(encoding="utf-8")))
                if result.assignment == assignment:
                    results[student.name] = result
                    continue
            except (ValueError, TypeError, KeyError):
                pass  # a damaged result is graded again
        todo.append(student)

    workers = max(1, workers or os.cpu_count() or 1)
    warm = tuple(
        dict.fromkeys(m for path in sources for m in _warm_modules(path, path.stat().st_mtime_ns))
    )
    pool = None
    if not scheduler and workers > 1 and len(todo) > 1:
        # started before the expectation run, so that the workers warm up their pre-forked
        # runners (see autograder.zygote) while it runs
        pool = _start_pool(workers, warm)
    try:
        return _grade_students(
            assignment,
            sources,
            out,
            students,
            todo,
            results,
            options=dataclasses.replace(options, warm=warm),
            submissions=submissions,
            pool=pool,
            scheduler=scheduler,
            progress=progress,
        )
    finally:
        if pool is not None:
            pool.shutdown()


def _grade_students(
    assignment: str,
    sources: list[Path],
    out: Path,
    students: list[Path],
    todo: list[Path],
    results: dict[str, StudentResult],
    *,
    options: GradingOptions,
    submissions: Path,
    pool: futures.ProcessPoolExecutor | None,
    scheduler: str | None,
    progress,
) -> list[StudentResult]:
    """Run the expectations, grade ``todo`` (in ``pool`` or on Dask when given), write the CSV."""
    seed = options.seed
    jobs = {}
    if todo:
        expectation_dir = out / ".expectations" / str(seed)
        persistent = persistent_numba_cache()
        options = dataclasses.replace(
            options,
            numba_cache=persistent or str(expectation_dir / "numba-cache"),
            hide=tuple(
                str(p.resolve())
                for p in (submissions, out, SOLUTIONS_DIR, REPO_ROOT / ".git", *sources)
            ),
        )
        warm_marker = _warm_cache_marker(persistent, sources) if persistent else None
        if pool is not None and warm_marker is not None and warm_marker.exists():
            # The learners' runs do not need the expectations until they are judged: start
            # them now, and let each worker wait for the expectations before judging. Only
            # with a numba cache that this source already warmed (else the first learners
            # would compile every kernel themselves).
            ready = expectation_dir / READY_MARKER
            failed = expectation_dir / FAILED_MARKER
            for marker in (ready, failed):
                marker.unlink(missing_ok=True)
            early = dataclasses.replace(
                options,
                expectations={path.name: str(expectation_dir / path.stem) for path in sources},
                expectations_ready=str(ready),
            )
            jobs = {pool.submit(_grade_safely, s, assignment, sources, early): s for s in todo}
        try:
            options = dataclasses.replace(
                options,
                expectations={
                    path.name: str(prepare_expectations(path, seed, expectation_dir, options))
                    for path in sources
                },
            )
        except BaseException:
            if jobs:
                expectation_dir.mkdir(parents=True, exist_ok=True)
                (expectation_dir / FAILED_MARKER).touch()
                for job in jobs:
                    job.cancel()
            raise
        if jobs:
            (expectation_dir / READY_MARKER).touch()
        if warm_marker is not None:
            warm_marker.touch()

    def finish(result: StudentResult) -> None:
        target = _student_out(out, result.student_id)
        _write_json_atomic(result.to_json(), target / "result.json")
        write_feedback(result, target / "feedback.html")
        results[result.student_id] = result
        if progress:
            progress(result, len(results), len(students))

    if scheduler:
        _grade_on_dask(scheduler, todo, assignment, sources, options, finish)
    elif pool is None:
        for student in todo:
            finish(_grade_safely(student, assignment, sources, options))
    else:
        jobs = jobs or {
            pool.submit(_grade_safely, s, assignment, sources, options): s for s in todo
        }
        for job in futures.as_completed(jobs):
            finish(job.result())
    ordered = [results[s.name] for s in students if s.name in results]
    write_grades_csv(ordered, out / "grades.csv")
    return ordered


def _fork_is_safe() -> bool:
    """True if this process may ``fork()`` grading workers: numba's threading layer has not
    started (an OpenMP or TBB pool does not survive a fork) and every thread besides the main
    one is an idle OpenBLAS worker (OpenBLAS shuts its pool down around a fork)."""
    numba_threads = sys.modules.get("numba.np.ufunc.parallel")
    if numba_threads is not None and getattr(numba_threads, "_is_initialized", True):
        return False
    try:
        threads = len(os.listdir("/proc/self/task"))
    except OSError:
        return False
    if threads == 1:
        return True
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return False
    blas = sum(
        max(int(pool.get("num_threads") or 1) - 1, 0)
        for pool in threadpool_info()
        if pool.get("internal_api") == "openblas"
    )
    return threads == 1 + blas


def _start_pool(workers: int, warm: tuple[str, ...]) -> futures.ProcessPoolExecutor:
    """``workers`` grading processes, started now, each warming up its pre-forked runner.

    ``fork`` where that is safe (the command line: the workers inherit its imports, about 2 s
    saved); ``forkserver`` otherwise (a test suite or a notebook that ran numba's parallel
    kernels has their threads, and forking after threads exist can deadlock).
    """
    method = "fork" if _fork_is_safe() else "forkserver"
    pool = futures.ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context(method),
        initializer=_prepare_worker,
        initargs=(warm,),
    )
    for _ in range(workers):  # launches the processes (all at once for fork)
        pool.submit(int)
    return pool


def _prepare_worker(warm: tuple[str, ...]) -> None:
    if sandbox.available():
        try:
            sandbox.claim_uid()
            prestart_zygote(warm)
        except Exception:  # noqa: BLE001 - grading starts it again, or runs without it
            pass


def _grade_on_dask(
    scheduler: str,
    todo: list[Path],
    assignment: str,
    sources: list[Path],
    options: GradingOptions,
    finish,
) -> None:
    """Grade ``todo`` on the Dask cluster at ``scheduler``; its workers must see the same files
    (the project, the submissions and the output folder) at the same paths."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ValueError(
            "--scheduler needs the 'distributed' package: pip install -e '.[grade]'"
        ) from None
    try:
        client = Client(scheduler, timeout=30)
    except OSError as error:
        raise ValueError(
            f"--scheduler {scheduler}: could not reach the Dask scheduler ({error})"
        ) from None
    with client:
        jobs = {
            client.submit(
                _grade_safely,
                student,
                assignment,
                sources,
                options,
                pure=False,
                key=f"grade-{options.seed}-{index}",
            ): student
            for index, student in enumerate(todo)
        }
        for job in as_completed(jobs):
            try:
                result = job.result()
            except Exception as error:  # a worker died twice on it, or the cluster failed
                result = StudentResult(
                    jobs[job].name,
                    assignment,
                    status="grader-error",
                    reason=f"{type(error).__name__}: {error}"[:500],
                    seed=options.seed,
                )
            finish(result)


def _grade_safely(
    student: Path, assignment: str, sources: list[Path], options: GradingOptions
) -> StudentResult:
    """:func:`grade_student`, turning an unexpected grader error into a row instead of a stop."""
    try:
        return grade_student(student, assignment, sources, options)
    except Exception as error:  # a bug in the grader must not cost the other students
        return StudentResult(
            student.name,
            assignment,
            status="grader-error",
            reason=f"{type(error).__name__}: {error}"[:500],
            seed=options.seed,
        )
