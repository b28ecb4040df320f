"""Where students are graded: in this process, in a pool of local processes, or on Dask.

Each grading process keeps one :class:`~.student.Worker` (its sandbox user id and warm runner)
for as long as it lives: a pool's initializer makes it, and a Dask worker makes it on its first
student.
"""

from __future__ import annotations

import concurrent.futures as futures
import multiprocessing
import os
import sys
from collections.abc import Callable

from .options import GradingOptions, RunContext
from .results import Status, StudentResult
from .student import Worker, grade_student
from .submissions import StudentFolder

_WORKER: dict[int, Worker] = {}  # this process's worker, by process id (a fork makes its own)


# How long to wait for a Dask scheduler before saying it cannot be reached.
SCHEDULER_TIMEOUT_S = 30


def this_worker() -> Worker:
    pid = os.getpid()
    if pid not in _WORKER:
        _WORKER.clear()  # inherited from a parent: never shared with it
        _WORKER[pid] = Worker.start()
    return _WORKER[pid]


def grade_safely(
    folder: StudentFolder,
    options: GradingOptions,
    context: RunContext,
    worker: Worker | None,
    diagnostics: bool = False,
) -> StudentResult:
    """:func:`grade_student`, turning an unexpected grader error into a row instead of a stop."""
    try:
        return grade_student(folder, options, context, worker or this_worker(), diagnostics)
    except Exception as error:  # a bug in the grader must not cost the other students
        return StudentResult(
            folder.student_id,
            context.assignment,
            status=Status.GRADER_ERROR,
            reason=f"{type(error).__name__}: {error}"[:500],
            seed=options.seed,
        )


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


def start_pool(workers: int, warm: tuple[str, ...]) -> futures.ProcessPoolExecutor:
    """``workers`` grading processes, started now, each warming up its runner.

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
    try:
        this_worker().prestart(warm)
    except Exception:  # noqa: BLE001 - grading starts it again, or runs without it
        pass


def grade_on_dask(
    scheduler: str,
    todo: list[StudentFolder],
    options: GradingOptions,
    context: RunContext,
    finish: Callable[[StudentFolder, StudentResult], None],
    diagnostics: bool = False,
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
        client = Client(scheduler, timeout=SCHEDULER_TIMEOUT_S)
    except OSError as error:
        raise ValueError(
            f"--scheduler {scheduler}: could not reach the Dask scheduler ({error})"
        ) from None
    with client:
        jobs = {
            client.submit(
                grade_safely,
                folder,
                options,
                context,
                None,
                diagnostics,
                pure=False,
                key=f"grade-{options.seed}-{index}",
            ): folder
            for index, folder in enumerate(todo)
        }
        for job in as_completed(jobs):
            try:
                result = job.result()
            except Exception as error:  # a worker died twice on it, or the cluster failed
                result = StudentResult(
                    jobs[job].student_id,
                    context.assignment,
                    status=Status.GRADER_ERROR,
                    reason=f"{type(error).__name__}: {error}"[:500],
                    seed=options.seed,
                )
            finish(jobs[job], result)
