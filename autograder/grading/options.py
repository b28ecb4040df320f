"""What the instructor asked for (:class:`GradingOptions`) and what one grading run derived from
it and the sources (:class:`RunContext`): the two travel together to every worker."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_CELL_TIMEOUT = 60.0
DEFAULT_MEMORY_MB = 4096
DEFAULT_DISK_MB = 256  # the scratch folder's size (a tmpfs, so memory too, when isolated)


@dataclass(frozen=True)
class GradingOptions:
    """The instructor's choices (the command line's options)."""

    seed: int
    cell_timeout: float = DEFAULT_CELL_TIMEOUT
    total_timeout: float | None = None  # default: 10 cell timeouts, at least 5 minutes
    memory_mb: int = DEFAULT_MEMORY_MB
    disk_mb: int = DEFAULT_DISK_MB

    @property
    def budget(self) -> float:
        """Seconds one submission may run in all."""
        return self.total_timeout or max(300.0, 10 * self.cell_timeout)


@dataclass(frozen=True)
class RunContext:
    """State of one grading run, the same for every student."""

    assignment: str
    sources: tuple[Path, ...]
    expectations: Path  # OUT/.expectations/<seed>: one folder of records per source
    hidden: tuple[Path, ...] = ()  # the submissions and the output folder (with each source's)
    ready_marker: str = ""  # a file to wait for before judging (expectations still running)
    extra: dict = field(default_factory=dict)

    def expectations_of(self, source: Path) -> Path:
        return self.expectations / source.stem
