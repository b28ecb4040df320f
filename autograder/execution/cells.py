"""Run a list of notebook cells in a fresh Python process and collect one outcome per cell.

Used by ``check`` (a learner's notebook as it is), by the expectation run (the instructor's
source) and by ``grade`` (the instructor's cells with the learner's solutions spliced in). The
child (:mod:`.runner`) runs in its own process group and working folder, with a memory limit, one
thread per numeric library and its output capped; it receives one cell at a time and reports on
a channel that this side reads as untrusted input (:mod:`autograder.protocol`). When a cell hangs
or the process dies, this side kills the whole group, records the cell as ``timeout`` or
``crashed`` with its cause, and starts a fresh process that replays the other cells, so one
broken part does not cost the parts after it.

Records that the checks of a cell send go to a :class:`Recorder`, bracketed by ``start`` and
``finish`` so that a cell replayed after a crash is recorded once.

Isolated runs (grading as root) are forked from a warm zygote (:class:`WarmRunners`), one per
grading process, instead of starting an interpreter per submission; where it cannot start, a
fresh interpreter is started through the sandbox launcher.
"""

from __future__ import annotations

import os
import select
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..protocol import ChannelError, Frame, FrameReader, encode
from . import sandbox, zygote
from .environment import PER_RUN_VARIABLES, child_env
from .outcomes import Cause, CellOutcome, CellStatus, RunResult
from .processes import CappedReader, Child, start_forked, start_process
from .users import SandboxUser

OUTPUT_CAP_BYTES = 200_000
KILL_GRACE_SECONDS = 5.0


class Recorder(Protocol):
    def start(self, index: int) -> None: ...
    def add(self, header: dict, payload: bytes) -> None: ...
    def finish(self, index: int, keep: bool) -> None: ...


@dataclass(frozen=True)
class Isolation:
    """Run the cells isolated (see :mod:`.sandbox`): hide ``hide``, run as ``user``.

    ``warm``: modules the instructor's notebook imports, imported once by the pre-forked runner;
    never names from a learner's cells (the zygote imports them as root, outside the sandbox).
    """

    hide: tuple[Path, ...]
    user: SandboxUser
    max_processes: int = 64
    warm: tuple[str, ...] = ()
    use_zygote: bool = True


class WarmRunners:
    """This process's zygotes, one per (environment, warm modules), closed with it."""

    def __init__(self) -> None:
        self.current: zygote.Zygote | None = None
        self.key: tuple | None = None
        self.failed: set[tuple] = set()

    def get(self, env: dict[str, str], warm: tuple[str, ...]) -> zygote.Zygote | None:
        base = {k: v for k, v in env.items() if k not in PER_RUN_VARIABLES}
        key = (tuple(sorted(base.items())), warm)
        z = self.current
        if z is not None and (self.key != key or not z.alive() or z.pid is not None):
            self.close()  # another notebook's modules, a dead zygote, or a run cut short
        if self.current is None and key not in self.failed:
            try:
                self.current, self.key = zygote.Zygote(base, list(warm)), key
            except (zygote.ZygoteError, OSError, ValueError):
                self.failed.add(key)
        return self.current

    def close(self) -> None:
        if self.current is not None:
            self.current.close()
            self.current = None


def _crash_cause(code: int | None) -> tuple[Cause, str]:
    if code is None:
        return Cause.HUNG_UP, ""
    if code < 0:
        name = signal.Signals(-code).name
        if name in ("SIGKILL", "SIGABRT"):
            return Cause.KILLED, name
        if name in ("SIGSEGV", "SIGBUS"):
            return Cause.SEGFAULT, name
        return Cause.SIGNAL, name
    return Cause.EXITED, str(code)


def _outcome(header: dict, index: int) -> CellOutcome:
    status = {"ok": CellStatus.OK, "error": CellStatus.ERROR, "timeout": CellStatus.TIMEOUT}[
        str(header.get("status"))
    ]
    forbidden = header.get("forbidden") if isinstance(header.get("forbidden"), list) else []
    trace = header.get("trace") if isinstance(header.get("trace"), dict) else {}
    errno = header.get("errno")
    return CellOutcome(
        index,
        status,
        str(header.get("ename", ""))[:200],
        str(header.get("evalue", ""))[:4000],
        float(header.get("seconds", 0.0) or 0.0),
        cause=Cause.CELL_LIMIT if status == CellStatus.TIMEOUT else None,
        errno=errno if isinstance(errno, int) and not isinstance(errno, bool) else None,
        forbidden=[v for v in forbidden[:20] if isinstance(v, dict)],
        trace=_bounded_trace(trace),
    )


def _bounded_trace(trace: dict) -> dict:
    """The runner's trace, kept to the shape and sizes it has (it comes from the learner's
    process)."""
    frames = []
    for frame in trace.get("frames", [])[:20] if isinstance(trace.get("frames"), list) else []:
        if (
            isinstance(frame, dict)
            and isinstance(frame.get("cell"), int)
            and isinstance(frame.get("line"), int)
        ):
            frames.append(
                {
                    "cell": frame["cell"],
                    "line": frame["line"],
                    "function": str(frame.get("function", ""))[:100],
                    "text": str(frame.get("text", ""))[:300],
                }
            )
    return {
        "frames": frames,
        "library": str(trace.get("library", ""))[:100],
        "config": str(trace.get("config", ""))[:500],
    }


def _skipped(index: int) -> CellOutcome:
    return CellOutcome(
        index,
        CellStatus.NOT_RUN,
        cause=Cause.SKIPPED,
        detail="the same code ran past the time limit in the tests just before",
    )


class _Attempt:
    """One child process running ``cells`` in order, one cell at a time."""

    def __init__(
        self,
        cells,
        job: dict,
        recorder: Recorder | None,
        done: set[int],
        skip_after: Callable[[int], set[int]] | None = None,
    ) -> None:
        self.cells, self.job, self.recorder, self.done_before = list(cells), job, recorder, done
        self.skip_after, self.skipped = skip_after, set()
        self.position = 0  # the cell being run
        self.reported: dict[int, CellOutcome] = {}
        self.to_send = bytearray()
        self.reader = FrameReader()

    @property
    def current(self) -> int:
        return self.cells[self.position][0]

    def begin(self, spawn: dict | None) -> None:
        if spawn is not None:
            self.to_send += encode({"t": "spawn", **spawn})
        self.to_send += encode({"t": "job", **self.job})
        self._send_cell()

    def _send_cell(self) -> None:
        while self.position < len(self.cells) and self.current in self.skipped:
            self.reported[self.current] = _skipped(self.current)
            self.position += 1
        if self.position < len(self.cells):
            index, source = self.cells[self.position]
            if self.recorder is not None:
                self.recorder.start(index)
            self.to_send += encode({"t": "cell", "index": index, "source": source})
        else:
            self.to_send += encode({"t": "end"})

    def receive(self, data: bytes) -> None:
        """Take bytes of the report channel; raises ChannelError for a corrupt stream."""
        for frame in self.reader.feed(data):
            self._take(frame)

    def _take(self, frame: Frame) -> None:
        if self.position >= len(self.cells):
            raise ChannelError("a frame after the last cell")
        if frame.type == "record":
            if self.recorder is not None:
                self.recorder.add(frame.header, frame.payload)
            return
        if frame.type != "outcome" or frame.header.get("index") != self.current:
            raise ChannelError("a frame that is neither a record nor this cell's outcome")
        try:
            outcome = _outcome(frame.header, self.current)
        except (KeyError, TypeError, ValueError):
            raise ChannelError("an outcome that cannot be read") from None
        self.finish_current(outcome, keep=True)

    def finish_current(self, outcome: CellOutcome, keep: bool) -> None:
        self.reported[self.current] = outcome
        if outcome.status == CellStatus.TIMEOUT and self.skip_after is not None:
            self.skipped |= self.skip_after(self.current)  # a timeout is paid once
        if self.recorder is not None:
            self.recorder.finish(self.current, keep and self.current not in self.done_before)
        self.position += 1
        self._send_cell()

    @property
    def done(self) -> bool:
        return self.position >= len(self.cells)


def run_cells(
    cells: list[tuple[int, str]],
    workdir: Path,
    *,
    cell_timeout: float = 60.0,
    total_timeout: float = 600.0,
    memory_mb: int | None = 4096,
    env: dict[str, str] | None = None,
    isolation: Isolation | None = None,
    runners: WarmRunners | None = None,
    guard: dict | None = None,
    recorder: Recorder | None = None,
    skip_after: Callable[[int], set[int]] | None = None,
    forget: frozenset[int] = frozenset(),
) -> RunResult:
    """Run ``cells`` (pairs of notebook index and source) in order in a fresh Python process.

    A cell that hangs past ``cell_timeout`` or kills the process is recorded as ``timeout`` or
    ``crashed``; the remaining cells are then replayed, without it (and without the cells
    ``skip_after(index)`` names), in a new process. Cells not reached before ``total_timeout``
    are ``not-run``. ``guard``: the rule guard's configuration (:mod:`autograder.rules.guard`).
    ``forget``: cells whose source the process drops from its line cache once they ran (hidden
    tests, the instructor's code), so that later code cannot read it back from there.
    """
    start = time.monotonic()
    deadline = start + total_timeout
    child_environment = child_env(env)
    if isolation is not None:
        os.chown(workdir, isolation.user.uid, isolation.user.uid)
        home = str(workdir)
        child_environment.update(
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
    job = {"timeout": cell_timeout, "guard": guard, "forget": sorted(forget)}
    while True:
        todo = [(i, s) for i, s in cells if i not in skipped]
        if not todo:
            break
        finished = {i for i, o in outcomes.items() if o.status != CellStatus.NOT_RUN}
        attempt = _Attempt(todo, job, recorder, finished, skip_after)
        failure, output = _run_attempt(
            attempt,
            workdir,
            cell_timeout,
            deadline,
            memory_mb,
            child_environment,
            isolation,
            runners,
        )
        outputs.append(output)
        for index, outcome in attempt.reported.items():
            if outcomes[index].status == CellStatus.NOT_RUN and outcomes[index].cause is None:
                outcomes[index] = outcome
        if failure is None:
            break
        index = failure.index
        if outcomes[index].status == CellStatus.NOT_RUN:
            outcomes[index] = failure
        if failure.cause == Cause.BUDGET:
            result.budget_exhausted = True
            break
        skipped.add(index)
        hung = skip_after is not None and failure.status == CellStatus.TIMEOUT
        for other in sorted((skip_after(index) if hung else set()) - skipped):
            if other in outcomes and outcomes[other].status == CellStatus.NOT_RUN:
                skipped.add(other)
                outcomes[other] = _skipped(other)
        result.restarts += 1
        result.notes.append(
            f"cell {index} {failure.status.value} ({failure.message}); the other cells were run "
            "again in a fresh process"
        )
    result.output = "".join(outputs)
    result.seconds = time.monotonic() - start
    return result


def _run_attempt(attempt, workdir, cell_timeout, deadline, memory_mb, env, isolation, runners):
    """Run one attempt; return (the outcome of the cell that hung or crashed, or None; output)."""
    forked = None
    if isolation is not None and isolation.use_zygote and runners is not None:
        forked = runners.get(env, isolation.warm)
    child = None
    if forked is not None:
        spec = sandbox.make_spec(
            scratch=Path(workdir),
            hide=list(isolation.hide),
            uid=isolation.user.uid,
            memory_mb=memory_mb,
            max_processes=isolation.max_processes,
        )
        try:
            child, stdout, report, job = start_forked(forked)
            attempt.begin({"env": env, "spec": spec})
        except zygote.ZygoteError:
            if runners is not None:
                runners.close()
            child = None
    if child is None:
        child, stdout, report, job = start_process(workdir, memory_mb, env, isolation)
        attempt.begin(None)
    reader = CappedReader(stdout, OUTPUT_CAP_BYTES)
    reader.start()
    failure = _supervise(attempt, child, report, job, cell_timeout, deadline)
    child.kill(runners)
    if isolation is not None:
        isolation.user.kill_all()
    for fd in (report, job):
        try:
            os.close(fd)
        except OSError:
            pass
    reader.join(timeout=2)
    if not reader.is_alive():
        stdout.close()
    return failure, reader.text()


def _supervise(attempt: _Attempt, child: Child, report: int, job: int, cell_timeout, deadline):
    """Feed the attempt's cells and read its reports until done, a hang, or a crash."""
    cell_started = time.monotonic()
    while not attempt.done:
        now = time.monotonic()
        hard_cell_deadline = cell_started + cell_timeout + KILL_GRACE_SECONDS
        wait = min(hard_cell_deadline, deadline) - now
        if wait <= 0:
            cause = Cause.CELL_LIMIT if now < deadline else Cause.BUDGET
            return CellOutcome(attempt.current, CellStatus.TIMEOUT, cause=cause)
        writers = [job] if attempt.to_send else []
        readable, writable, _ = select.select([report], writers, [], wait)
        if writable:
            try:
                sent = os.write(job, attempt.to_send)
                del attempt.to_send[:sent]
            except BlockingIOError:
                pass
            except (BrokenPipeError, OSError):
                attempt.to_send.clear()
        if not readable:
            continue
        try:
            data = os.read(report, 1 << 16)
        except OSError:
            data = b""
        if not data:  # the child died (or closed the channel: then it gets the cell's time)
            code = child.exit_code(min(hard_cell_deadline, deadline) - time.monotonic())
            cause, detail = _crash_cause(code)
            return CellOutcome(attempt.current, CellStatus.CRASHED, cause=cause, detail=detail)
        before = attempt.position
        try:
            attempt.receive(data)
        except ChannelError as error:
            return CellOutcome(
                attempt.current, CellStatus.CRASHED, cause=Cause.CHANNEL, detail=str(error)
            )
        if attempt.position != before:
            cell_started = time.monotonic()
    return None
