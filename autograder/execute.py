"""Run a list of notebook cells in a fresh Python process and collect one outcome per cell.

Used by both ``check`` (a learner's notebook as it is) and ``grade`` (the instructor's cells with
the learner's solutions spliced in). The child (:mod:`autograder.runner`) runs in its own process
group and working folder, with a memory limit, one thread per numeric library, and its output
capped. When a cell hangs or the process dies, the parent kills the whole group, records that
cell as ``timeout`` or ``crashed``, and starts a fresh process that replays the other cells, so
one broken part does not cost the parts after it.

Isolated runs (grading as root) are forked from a warm *zygote* (:mod:`autograder.zygote`), one
per grading process, instead of starting an interpreter and importing NumPy, IPython and numba
every time; where it cannot start, a fresh interpreter is started through the sandbox launcher.
"""

from __future__ import annotations

import atexit
import json
import os
import resource
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import sandbox, zygote

OUTPUT_CAP_BYTES = 200_000
KILL_GRACE_SECONDS = 5.0
MAX_REPORT_LINE = 1_000_000


@dataclass
class CellOutcome:
    """What happened to one cell. ``status``: ok, error, timeout, crashed or not-run."""

    index: int
    status: str = "not-run"
    ename: str = ""
    evalue: str = ""
    seconds: float = 0.0

    @property
    def message(self) -> str:
        """One readable sentence about a failed cell."""
        if self.status == "ok":
            return ""
        if self.status == "timeout":
            return "ran past its time limit and was stopped (an infinite loop, or far too slow?)"
        if self.status == "crashed":
            return f"stopped the Python process ({self.evalue})"
        if self.status == "not-run":
            return f"was not run ({self.evalue or 'the time budget for the notebook ran out'})"
        if self.ename == "NotImplementedError" and not self.evalue:
            return (
                "NotImplementedError: not written yet (replace `raise NotImplementedError()` "
                "with your code)"
            )
        return f"{self.ename}: {self.evalue}" if self.evalue else self.ename


@dataclass
class RunResult:
    outcomes: dict[int, CellOutcome]
    output: str = ""
    restarts: int = 0
    seconds: float = 0.0
    budget_exhausted: bool = False
    notes: list[str] = field(default_factory=list)


def _limits(memory_mb: int | None):
    def apply() -> None:
        if memory_mb:
            limit = memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


def _child_env(extra: dict[str, str] | None) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        in (
            "PATH",
            "HOME",
            "LANG",
            "LC_ALL",
            "TMPDIR",
            "NUMBA_CACHE_DIR",
            "PYTHONPATH",
            "VIRTUAL_ENV",
        )
    }
    # the children import this very grader (not whatever else the environment would resolve
    # `autograder` to, e.g. an editable install of another checkout)
    project = str(Path(__file__).resolve().parent.parent)
    others = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != project]
    env["PYTHONPATH"] = os.pathsep.join([project, *others])
    env.update(
        {
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "NUMBA_NUM_THREADS": "1",
            "MPLBACKEND": "Agg",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONHASHSEED": "0",
            "TQDM_DISABLE": "1",
        }
    )
    env.update(extra or {})
    return env


class _CappedReader(threading.Thread):
    """Drains a pipe, keeping at most ``cap`` bytes so a flood of prints cannot exhaust memory."""

    def __init__(self, stream, cap: int) -> None:
        super().__init__(daemon=True)
        self.stream, self.cap, self.chunks, self.size, self.dropped = stream, cap, [], 0, 0

    def run(self) -> None:
        while chunk := self.stream.read1(65536):
            if self.size < self.cap:
                keep = chunk[: self.cap - self.size]
                self.chunks.append(keep)
                self.size += len(keep)
                self.dropped += len(chunk) - len(keep)
            else:
                self.dropped += len(chunk)

    def text(self) -> str:
        text = b"".join(self.chunks).decode("utf-8", "replace")
        if self.dropped:
            text += f"\n[... {self.dropped} more bytes of output were dropped]\n"
        return text


@dataclass(frozen=True)
class Isolation:
    """Run the cells isolated (see :mod:`autograder.sandbox`): hide ``hide``, run as ``uid``.

    ``warm``: modules the instructor's notebook imports, imported once by the pre-forked runner
    (:mod:`autograder.zygote`) that forks the isolated processes; never names from a learner's
    cells (the zygote imports them as root, outside the sandbox).
    """

    hide: tuple[Path, ...]
    uid: int
    max_processes: int = 64
    warm: tuple[str, ...] = ()
    use_zygote: bool = True


# Per-run variables: everything else in the environment is fixed when a zygote starts.
_PER_RUN_VARIABLES = (
    "HOME",
    "MPLCONFIGDIR",
    "IPYTHONDIR",
    "TMPDIR",
    "NUMBA_CACHE_DIR",
    "AUTOGRADER_SEED",
    "AUTOGRADER_MODE",
    "AUTOGRADER_RECORD_DIR",
)
_zygote: zygote.Zygote | None = None
_zygote_key: tuple | None = None
_zygote_failed: set[tuple] = set()


def _get_zygote(env: dict[str, str], warm: tuple[str, ...]) -> zygote.Zygote | None:
    """This process's zygote for ``env`` and ``warm`` (started on first use), or None where one
    cannot run (the caller then starts a fresh interpreter per run)."""
    global _zygote, _zygote_key
    base = {k: v for k, v in env.items() if k not in _PER_RUN_VARIABLES}
    key = (tuple(sorted(base.items())), warm)
    stale = _zygote is not None and _zygote.pid is not None  # a run interrupted mid-way
    if _zygote is not None and (_zygote_key != key or not _zygote.alive() or stale):
        _zygote.close()
        _zygote = None
    if _zygote is None and key not in _zygote_failed:
        try:
            _zygote, _zygote_key = zygote.Zygote(base, list(warm)), key
        except (zygote.ZygoteError, OSError, ValueError):
            _zygote_failed.add(key)
            return None
        atexit.register(_close_zygote)
        try:  # multiprocessing workers skip atexit; their finalizers do run
            from multiprocessing import util

            util.Finalize(_zygote, _close_zygote, exitpriority=10)
        except ImportError:
            pass
    return _zygote


def prestart_zygote(warm: tuple[str, ...]) -> None:
    """Start this process's zygote now (a grading worker does, while the expectations run)."""
    _get_zygote(_child_env(None), tuple(warm))


def _forget_zygote_in_child() -> None:
    """A forked grading worker must not share its parent's zygote (nor close it)."""
    global _zygote, _zygote_key
    _zygote = _zygote_key = None


os.register_at_fork(after_in_child=_forget_zygote_in_child)


def _close_zygote() -> None:
    global _zygote
    if _zygote is not None:
        _zygote.close()
        _zygote = None


class _Child:
    """The process running one attempt: a subprocess, or a child forked by the zygote."""

    def __init__(self, process: subprocess.Popen | None, pid: int, forked=None) -> None:
        self.process, self.pid, self.forked = process, pid, forked

    def exit_code(self, timeout: float) -> int | None:
        """The exit code (negative: killed by that signal) if it ends within ``timeout``."""
        if self.forked is None:
            try:
                return self.process.wait(timeout=max(timeout, 0.0))
            except subprocess.TimeoutExpired:
                return None
        status = self.forked.exit_status(timeout)
        return None if status is None else os.waitstatus_to_exitcode(status)

    def kill(self) -> None:
        """SIGKILL its whole process group; reap it."""
        for kill in (os.killpg, os.kill):  # the group exists once the child ran setsid()
            try:
                kill(self.pid, signal.SIGKILL)
                break
            except (ProcessLookupError, PermissionError):
                continue
        if self.forked is None:
            self.process.wait()
            return
        try:
            self.forked.finish()
        except (zygote.ZygoteError, OSError):
            _close_zygote()  # the next run starts a new one


def _start_forked(forked, job: dict, env: dict[str, str], spec: dict):
    """A child of the zygote running ``job`` isolated as ``spec`` says; (child, output, report)."""
    job_r, job_w = os.pipe()
    out_r, out_w = os.pipe()
    report_r, report_w = os.pipe()
    try:
        pid = forked.fork(job_r, out_w, report_w)
    except BaseException:
        for fd in (job_w, out_r, report_r):
            os.close(fd)
        raise
    finally:
        for fd in (job_r, out_w, report_w):
            os.close(fd)
    try:
        with os.fdopen(job_w, "wb") as pipe:  # the child reads it all before anything else
            pipe.write(json.dumps({**job, "env": env, "spec": spec}).encode())
    except BrokenPipeError:
        pass
    return _Child(None, pid, forked), os.fdopen(out_r, "rb"), report_r


def _run_once(cells, workdir, cell_timeout, deadline, memory_mb, env, isolation=None):
    """Run ``cells`` in one child; return (reported outcomes, index that hung/crashed, output)."""
    job = {"cells": [{"index": i, "source": s} for i, s in cells], "timeout": cell_timeout}
    forked = None
    if isolation is not None and isolation.use_zygote:
        forked = _get_zygote(env, isolation.warm)
    if forked is not None:
        cache = Path(env.get("NUMBA_CACHE_DIR") or workdir / ".numba-cache")
        if not cache.is_relative_to(workdir):  # only a folder of the scratch is writable
            cache = Path(workdir) / ".numba-cache"
        if not cache.is_dir():
            cache.mkdir(parents=True)
            os.chown(cache, isolation.uid, isolation.uid)
        spec = sandbox.make_spec(
            scratch=Path(workdir),
            hide=list(isolation.hide),
            uid=isolation.uid,
            memory_mb=memory_mb,
            max_processes=isolation.max_processes,
            binds=[(cache, Path(forked.numba_cache))],
        )
        env = {**env, "NUMBA_CACHE_DIR": forked.numba_cache}
        try:
            child, stdout, read_fd = _start_forked(forked, job, env, spec)
        except zygote.ZygoteError:
            _close_zygote()
            forked = None
    if forked is None:
        child, stdout, read_fd = _start_process(job, workdir, memory_mb, env, isolation)
    reader = _CappedReader(stdout, OUTPUT_CAP_BYTES)
    reader.start()
    reported: dict[int, CellOutcome] = {}
    pending = [i for i, _ in cells]
    buffer = b""
    failed_at: tuple[int, str, str] | None = None  # (index, status, why)
    cell_started = time.monotonic()
    with os.fdopen(read_fd, "rb", buffering=0) as report:
        while pending:
            now = time.monotonic()
            hard_cell_deadline = cell_started + cell_timeout + KILL_GRACE_SECONDS
            wait = min(hard_cell_deadline, deadline) - now
            if wait <= 0:
                why = (
                    "time limit for one cell" if now < deadline else "time budget for the notebook"
                )
                failed_at = (pending[0], "timeout", why)
                break
            ready, _, _ = select.select([report], [], [], wait)
            if not ready:
                continue
            chunk = report.read(65536)
            if not chunk:  # the child died (or closed the pipe: then it gets the cell's time)
                code = child.exit_code(min(hard_cell_deadline, deadline) - time.monotonic())
                if code is not None and code < 0:
                    sig = signal.Signals(-code).name
                    why = f"killed by {sig}" + {
                        "SIGKILL": ", probably for using too much memory",
                        "SIGABRT": ", probably for using too much memory",
                        "SIGSEGV": " (a segmentation fault: an index out of bounds in compiled "
                        "code such as numba, or an allocation that failed)",
                    }.get(sig, "")
                elif code is None:
                    why = "the process closed its report pipe and did not exit"
                else:
                    why = f"the process exited with code {code}"
                failed_at = (pending[0], "crashed", why)
                break
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                outcome = _parse_report(line, pending)
                if outcome is None:  # the learner's code wrote to the pipe: not a report
                    continue
                reported[outcome.index] = outcome
                if outcome.index in pending:
                    pending.remove(outcome.index)
                cell_started = time.monotonic()
            if len(buffer) > MAX_REPORT_LINE:  # no honest report is this long
                buffer = b""
    child.kill()
    if isolation is not None:
        _kill_user(isolation.uid)
    reader.join(timeout=2)
    if not reader.is_alive():
        stdout.close()
    return reported, failed_at, reader.text()


def _start_process(job, workdir, memory_mb, env, isolation):
    """A fresh interpreter running ``job`` (isolated by the launcher when ``isolation``)."""
    read_fd, write_fd = os.pipe()
    command = [sys.executable, "-m", "autograder.runner", str(write_fd)]
    preexec = _limits(memory_mb)
    if isolation is not None:
        command = sandbox.wrap(
            command,
            scratch=Path(workdir),
            hide=list(isolation.hide),
            uid=isolation.uid,
            memory_mb=memory_mb,
            max_processes=isolation.max_processes,
        )
        preexec = None  # the launcher sets every limit itself
    process = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=workdir,
        env=env,
        pass_fds=(write_fd,),
        start_new_session=True,
        preexec_fn=preexec,
    )
    os.close(write_fd)
    try:
        process.stdin.write(json.dumps(job).encode())
        process.stdin.close()
    except BrokenPipeError:
        pass
    return _Child(process, process.pid), process.stdout, read_fd


def _parse_report(line: bytes, pending: list[int]) -> CellOutcome | None:
    """The outcome in one line of the report pipe, or None for a line that is not a report of
    a cell still pending (the learner's code can write to the pipe: its fd is in ``sys.argv``)."""
    try:
        data = json.loads(line)
        if not isinstance(data, dict) or data.get("index") not in pending:
            return None
        status = data.get("status")
        if status not in ("ok", "error", "timeout"):
            return None
        return CellOutcome(
            int(data["index"]),
            str(status),
            str(data.get("ename", ""))[:200],
            str(data.get("evalue", ""))[:4000],
            float(data.get("seconds", 0.0)),
        )
    except (ValueError, TypeError, RecursionError):
        return None


def _kill_user(uid: int) -> None:
    """SIGKILL every process of the sandbox user ``uid`` (one per worker): what left the process
    group (``setsid``, a double fork) must not outlive the submission."""
    if uid == 0:
        return
    pid = os.fork()
    if pid == 0:  # only system calls here: the parent may have threads
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            os.kill(-1, signal.SIGKILL)  # every process this uid may signal, except this one
        except BaseException:
            pass
        os._exit(0)
    os.waitpid(pid, 0)


def run_cells(
    cells: list[tuple[int, str]],
    workdir: Path,
    *,
    cell_timeout: float = 60.0,
    total_timeout: float = 600.0,
    memory_mb: int | None = 4096,
    env: dict[str, str] | None = None,
    isolation: Isolation | None = None,
) -> RunResult:
    """Run ``cells`` (pairs of notebook index and source) in order in a fresh Python process.

    A cell that hangs past ``cell_timeout`` or kills the process is recorded as ``timeout`` or
    ``crashed``; the remaining cells are then replayed, without it, in a new process. Cells not
    reached before ``total_timeout`` are ``not-run``.
    """
    start = time.monotonic()
    deadline = start + total_timeout
    child_env = _child_env(env)
    if isolation is not None:
        os.chown(workdir, isolation.uid, isolation.uid)
        home = str(workdir)
        child_env.update(
            {
                "HOME": home,
                "MPLCONFIGDIR": f"{home}/.matplotlib",
                "IPYTHONDIR": f"{home}/.ipython",
                "TMPDIR": home,
            }
        )
    outcomes = {i: CellOutcome(i) for i, _ in cells}
    skipped: set[int] = set()
    outputs: list[str] = []
    result = RunResult(outcomes)
    while True:
        todo = [(i, s) for i, s in cells if i not in skipped]
        reported, failed_at, output = _run_once(
            todo, workdir, cell_timeout, deadline, memory_mb, child_env, isolation
        )
        outputs.append(output)
        for index, outcome in reported.items():
            if outcomes[index].status == "not-run":
                outcomes[index] = outcome
        if failed_at is None:
            break
        index, status, why = failed_at
        if why == "time budget for the notebook":
            result.budget_exhausted = True
            outcomes[index] = CellOutcome(index, "timeout", evalue=why)
            break
        outcomes[index] = CellOutcome(index, status, evalue=why)
        skipped.add(index)
        result.restarts += 1
        result.notes.append(
            f"cell {index} {status} ({why}); the other cells were run again in a fresh process"
        )
    result.output = "".join(outputs)
    result.seconds = time.monotonic() - start
    return result
