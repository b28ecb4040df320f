"""The child process that runs notebook cells (started by :mod:`autograder.execute`, or forked
from a warm :mod:`autograder.zygote`, which calls :func:`run_job` itself).

It reads ``{"cells": [{"index": int, "source": str}], "timeout": float}`` as JSON on stdin, runs
each cell in one IPython shell (so magics such as ``%timeit`` work as in Jupyter), and reports
each outcome as one JSON line on the file descriptor given as its only argument::

    {"index": 7, "status": "error", "ename": "AssertionError", "evalue": "...", "seconds": 0.01}

What the cells print goes to this process's stdout and stderr, which the parent caps.
A cell that runs longer than ``timeout`` seconds gets :class:`CellTimeout` raised inside it;
code that never returns to the interpreter (a numba loop) is killed by the parent instead.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time


class CellTimeout(BaseException):  # noqa: N818 - reads as what happened, in a traceback
    """Raised inside a cell that ran past its time limit (a BaseException: `except Exception`
    in a learner's code does not swallow it)."""


def _on_alarm(signum, frame):  # noqa: ARG001
    raise CellTimeout("this cell ran past its time limit")


def main(report_fd: int) -> None:
    job = json.loads(sys.stdin.read())
    run_job(job, report_fd)


def run_job(job: dict, report_fd: int) -> None:
    """Run ``job["cells"]``, reporting each outcome on ``report_fd`` (also used by a process
    forked from :mod:`autograder.zygote`, which reads the job itself)."""
    sys.stdin = open(os.devnull)  # input() fails at once instead of waiting forever
    report = os.fdopen(report_fd, "w", buffering=1)

    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance(colors="nocolor")
    signal.signal(signal.SIGALRM, _on_alarm)
    timeout = float(job.get("timeout", 0) or 0)
    for cell in job["cells"]:
        os.environ["AUTOGRADER_CELL"] = str(cell["index"])  # where checks record while grading
        start = time.perf_counter()
        if timeout > 0:
            signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            result = shell.run_cell(cell["source"], store_history=False)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        error = result.error_before_exec or result.error_in_exec
        outcome = {"index": cell["index"], "status": "ok", "seconds": time.perf_counter() - start}
        if error is not None:
            outcome["status"] = "timeout" if isinstance(error, CellTimeout) else "error"
            outcome["ename"] = type(error).__name__
            outcome["evalue"] = str(error)[:4000]
        sys.stdout.flush()
        sys.stderr.flush()
        report.write(json.dumps(outcome) + "\n")
    report.close()


if __name__ == "__main__":
    main(int(sys.argv[1]))
