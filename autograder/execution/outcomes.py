"""What happened to the cells of one run: statuses and causes as data, messages for people."""

from __future__ import annotations

import errno as errno_codes
from dataclasses import dataclass, field
from enum import StrEnum


class CellStatus(StrEnum):
    OK = "ok"
    ERROR = "error"  # the cell raised
    TIMEOUT = "timeout"
    CRASHED = "crashed"  # the process died
    NOT_RUN = "not-run"


class Cause(StrEnum):
    """Why a cell timed out or crashed (decided from exit codes and deadlines, never text)."""

    CELL_LIMIT = "cell-limit"  # ran past the time limit of one cell
    BUDGET = "budget"  # the notebook's time budget ran out
    KILLED = "killed"  # SIGKILL or SIGABRT: almost always the memory limit
    SEGFAULT = "segfault"
    SIGNAL = "signal"  # another signal
    EXITED = "exited"  # the process exited (os._exit)
    CHANNEL = "channel"  # the report channel held bytes that are not frames
    HUNG_UP = "hung-up"  # closed its report channel and did not exit
    SKIPPED = "skipped"  # not run because a part it depends on timed out


@dataclass
class CellOutcome:
    """What happened to one cell."""

    index: int
    status: CellStatus = CellStatus.NOT_RUN
    ename: str = ""
    evalue: str = ""
    seconds: float = 0.0
    cause: Cause | None = None
    detail: str = ""  # e.g. the signal's name or the exit code
    errno: int | None = None  # of an OSError the cell raised
    forbidden: list[dict] = field(default_factory=list)  # rule violations the guard refused
    trace: dict = field(default_factory=dict)  # where an error happened (runner._trace)

    @property
    def out_of_memory(self) -> bool:
        return self.ename == "MemoryError" or self.cause == Cause.KILLED

    @property
    def not_written(self) -> bool:
        """The released stub's ``raise NotImplementedError()``: a part not attempted yet."""
        return self.ename == "NotImplementedError" and not self.evalue

    @property
    def disk_full(self) -> bool:
        return self.errno == errno_codes.ENOSPC

    @property
    def message(self) -> str:
        """One readable sentence about a failed cell."""
        if self.status == CellStatus.OK:
            return ""
        if self.status == CellStatus.TIMEOUT:
            if self.cause == Cause.BUDGET:
                return "was stopped: the time budget for the whole notebook ran out"
            return "ran past its time limit and was stopped (an infinite loop, or far too slow?)"
        if self.status == CellStatus.CRASHED:
            return f"stopped the Python process ({_crash_words(self.cause, self.detail)})"
        if self.status == CellStatus.NOT_RUN:
            if self.cause == Cause.SKIPPED:
                return f"was not run ({self.detail})"
            return "was not run (the time budget for the notebook ran out)"
        if self.not_written:
            return (
                "NotImplementedError: not written yet (replace `raise NotImplementedError()` "
                "with your code)"
            )
        return f"{self.ename}: {self.evalue}" if self.evalue else self.ename


def _crash_words(cause: Cause | None, detail: str) -> str:
    return {
        Cause.KILLED: f"killed by {detail}, probably for using too much memory",
        Cause.SEGFAULT: f"killed by {detail}: a segmentation fault, an index out of bounds in "
        "compiled code such as numba, or an allocation that failed",
        Cause.SIGNAL: f"killed by {detail}",
        Cause.EXITED: f"the process exited with code {detail}",
        Cause.CHANNEL: "the cell's code wrote to the grader's report channel",
        Cause.HUNG_UP: "the process closed its report channel and did not exit",
    }.get(cause, detail or "it stopped")


@dataclass
class RunResult:
    outcomes: dict[int, CellOutcome]
    output: str = ""
    restarts: int = 0
    seconds: float = 0.0
    budget_exhausted: bool = False
    notes: list[str] = field(default_factory=list)
