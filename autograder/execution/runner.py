"""The process that runs notebook cells: one IPython shell, one cell at a time.

Started by :mod:`.cells` as ``python -m autograder.execution.runner`` (possibly through the
sandbox launcher), or forked from a warm :mod:`.zygote`, which calls :func:`run_job` itself.
Two pipes, both speaking :mod:`autograder.protocol` frames:

* the *job* pipe (file descriptor :data:`JOB_FD`): ``{"t": "job", "timeout": S, "guard": ...}``
  first, then ``{"t": "cell", "index": I, "source": TEXT}`` one at a time (the next one is sent
  only after this process reported the previous one), then ``{"t": "end"}``;
* the *report* channel (:data:`REPORT_FD`): the checks' ``record`` frames, and after each cell
  ``{"t": "outcome", "index": I, "status": "ok"|"error"|"timeout", "ename", "evalue",
  "seconds", "forbidden": [...], "where": [[cell, line], ...]}``.

So a cell's code never holds a later cell's source. Cell ``I`` is compiled under the file name
``<cell-I>`` (what the rule guard and tracebacks use). What the cells print goes to this
process's stdout and stderr, which the parent caps. A cell that runs longer than the timeout gets
:class:`CellTimeout` raised inside it; code that never returns to the interpreter (a numba loop)
is killed by the parent instead.
"""

from __future__ import annotations

import linecache
import os
import signal
import sys
import time
import traceback

from ..protocol import CHANNEL_VARIABLE, ChannelError, FrameReader, write_frame
from ..rules.guard import CELL_PREFIX, Guard, cell_filename

JOB_FD = 4
REPORT_FD = 3


class CellTimeout(BaseException):  # noqa: N818 - reads as what happened, in a traceback
    """Raised inside a cell that ran past its time limit (a BaseException: `except Exception`
    in a learner's code does not swallow it)."""


def _on_alarm(signum, frame):  # noqa: ARG001
    raise CellTimeout("this cell ran past its time limit")


class _Jobs:
    """Frames read from the job pipe, one at a time."""

    def __init__(self, fd: int) -> None:
        self.fd, self.reader, self.ready = fd, FrameReader(), []

    def next(self) -> dict:
        while not self.ready:
            data = os.read(self.fd, 1 << 16)
            if not data:
                return {"t": "end"}
            self.ready.extend(self.reader.feed(data))
        return self.ready.pop(0).header


def _trace(error: BaseException) -> dict:
    """Where an error happened, for a message a learner can act on: every notebook frame of the
    traceback (cell, line, function, the line's text; outermost first), the library it was
    raised in (if below the notebook's code), and the values the outermost line used."""
    frames, library, outermost = [], "", None
    for frame, lineno in traceback.walk_tb(error.__traceback__):
        name = frame.f_code.co_filename
        if name.startswith(CELL_PREFIX):
            try:
                cell = int(name[len(CELL_PREFIX) : -1])
            except ValueError:
                continue
            text = linecache.getline(name, lineno).strip()[:300]
            frames.append(
                {"cell": cell, "line": lineno, "function": frame.f_code.co_name, "text": text}
            )
            outermost = outermost or (frame, text)
            library = ""
        else:
            library = str(frame.f_globals.get("__name__", ""))[:100]
    config = _values_used(*outermost) if outermost else ""
    return {"frames": frames[-20:], "library": library, "config": config}


def _values_used(frame, text: str) -> str:
    """``stride=2, x.shape=(2, 3)``: the simple values the names on ``text`` held."""
    import ast

    from ..comparisons import describe

    try:
        names = [
            n.id
            for n in ast.walk(ast.parse(text.rstrip(":,(") or "0", mode="exec"))
            if isinstance(n, ast.Name)
        ]
    except SyntaxError:  # the first line of a statement that goes on
        import re

        # names, but not attributes (np.array) or keywords (call=...)
        names = re.findall(r"(?<![.\w])([A-Za-z_]\w*)\b(?!\s*=(?!=))", text)
    values = {}
    for name in dict.fromkeys(names):
        if name not in frame.f_locals and name not in frame.f_globals:
            continue  # a keyword, a builtin, or a name the cell never defined
        value = frame.f_locals.get(name, frame.f_globals.get(name))
        if isinstance(value, int | float | str | bool | tuple | type(None)) or isinstance(
            getattr(value, "shape", None), tuple
        ):
            values[name] = value
    try:
        return describe(values)[:500]
    except Exception:  # noqa: BLE001 - a value whose repr fails
        return ""


def run_job(jobs: _Jobs | None = None, report_fd: int = REPORT_FD) -> None:
    """Run the cells the job pipe sends, reporting on ``report_fd`` (see the module docstring)."""
    jobs = jobs or _Jobs(JOB_FD)
    for fd in (jobs.fd, report_fd):
        os.set_inheritable(fd, False)  # not for the learner's subprocesses
    sys.stdin = open(os.devnull)  # input() fails at once instead of waiting forever
    sys.path[0:1] = [""]  # the notebook's own folder first, as in Jupyter (not the runner's)
    os.environ[CHANNEL_VARIABLE] = str(report_fd)
    job = jobs.next()
    if job.get("t") != "job":
        raise ChannelError("the first frame of a job must describe the job")
    timeout = float(job.get("timeout", 0) or 0)
    forget = {int(i) for i in job.get("forget") or ()}

    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance(colors="nocolor")
    current = [0]
    shell.compile.get_code_name = lambda raw, transformed, number: cell_filename(current[0])
    guard = None
    if job.get("guard"):
        guard = Guard(job["guard"]["cells"], job["guard"].get("learner_folder", ""))
        guard.install()
    signal.signal(signal.SIGALRM, _on_alarm)
    while True:
        cell = jobs.next()
        if cell.get("t") != "cell":
            break
        current[0] = int(cell["index"])
        start = time.perf_counter()
        if timeout > 0:
            signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            result = shell.run_cell(str(cell["source"]), store_history=False)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        error = result.error_before_exec or result.error_in_exec
        outcome = {
            "t": "outcome",
            "index": current[0],
            "status": "ok",
            "seconds": time.perf_counter() - start,
            "forbidden": guard.take_violations()[:20] if guard else [],
        }
        if error is not None:
            outcome["status"] = "timeout" if isinstance(error, CellTimeout) else "error"
            outcome["ename"] = type(error).__name__[:200]
            try:
                outcome["evalue"] = str(error)[:4000]
            except Exception:  # noqa: BLE001 - a learner's exception whose str() fails
                outcome["evalue"] = "(its message could not be shown)"
            outcome["trace"] = _trace(error)
            if isinstance(error, OSError) and isinstance(error.errno, int):
                outcome["errno"] = error.errno
        if current[0] in forget:  # its traceback text is taken: no later code reads it here
            linecache.cache.pop(cell_filename(current[0]), None)
        sys.stdout.flush()
        sys.stderr.flush()
        write_frame(report_fd, outcome)


def main(argv: list[str]) -> None:
    """``python -m autograder.execution.runner JOB_FD REPORT_FD``: the pipes are moved to the
    runner's own file descriptor numbers first."""
    import fcntl

    job, report = (fcntl.fcntl(int(fd), fcntl.F_DUPFD, 10) for fd in argv[:2])
    for fd in argv[:2]:
        os.close(int(fd))
    os.dup2(report, REPORT_FD)
    os.dup2(job, JOB_FD)
    os.close(report)
    os.close(job)
    run_job()


if __name__ == "__main__":
    main(sys.argv[1:])
