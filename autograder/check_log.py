"""A learner's record of their checks: one line per ``check`` run, next to the notebook.

Every run of ``check`` (the command line, :func:`autograder.check.this_notebook` or
:func:`autograder.check.part`) appends one JSON line to ``.NAME.checks.jsonl`` in the notebook's
folder: when it ran, how, and the outcome of each public part it ran::

    {"time": "2026-12-04T19:03:01+00:00", "notebook": "conv1d.ipynb", "how": "notebook",
     "parts": {"output-length": "passed", "conv1d-loop": "failed"}, "passed": 1, "public": 2}

A learner who submits the folder submits the log with it; :func:`read_check_log` summarises it
for the instructor (how many checks each student ran before submitting). It is the learner's
own file, written by their own machine: it is shown, never graded, and read as untrusted input
(a regular file only, never through a link, bounded in size and lines; anything malformed is
counted and skipped, never raised).
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

LOG_SUFFIX = ".checks.jsonl"
MAX_LOG_BYTES = 1 << 20  # about 5,000 runs; an honest term holds a few hundred at most
MAX_LINE_BYTES = 16 << 10
MAX_PARTS = 200


def log_path(notebook: Path) -> Path:
    """The check log of ``notebook``: ``.conv1d.checks.jsonl`` beside ``conv1d.ipynb``."""
    return notebook.parent / f".{notebook.stem}{LOG_SUFFIX}"


def log_entry(notebook_name: str, parts: dict[str, str], how: str, now: datetime) -> dict:
    """One line of the log (``parts``: public part -> ``passed``/``failed``/...)."""
    return {
        "time": now.astimezone(UTC).isoformat(timespec="seconds"),
        "notebook": notebook_name,
        "how": how,
        "parts": parts,
        "passed": sum(status == "passed" for status in parts.values()),
        "public": len(parts),
    }


def append_check_log(
    notebook: Path, parts: dict[str, str], how: str, now: datetime | None = None
) -> Path | None:
    """Append one run to the log beside ``notebook``; the log's path, or ``None`` when the
    folder cannot be written (a read-only folder never stops a check)."""
    path = log_path(notebook)
    line = json.dumps(log_entry(notebook.name, parts, how, now or datetime.now(UTC)))
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o644)
    except OSError:
        return None
    try:
        os.write(fd, (line + "\n").encode("utf-8"))  # one write: lines never interleave
    except OSError:
        return None
    finally:
        os.close(fd)
    return path


@dataclass
class CheckSummary:
    """What one notebook's log says: for the instructor, never for a grade."""

    notebook: str
    runs: int = 0  # checks recorded (before ``before``, when given)
    first: datetime | None = None
    last: datetime | None = None
    best_passed: int = 0  # most public parts passed in one run
    last_passed: int = 0  # public parts passed in the last run
    public: int = 0  # public parts in the last run
    ignored: int = 0  # lines that were malformed, or past the size limit
    ways: dict[str, int] = field(default_factory=dict)  # how -> runs

    def describe(self) -> str:
        """One line for a report: ``12 checks, 19 Nov 10:02 to 21 Nov 22:40, last 4/4 parts``."""
        if not self.runs:
            return "no checks recorded"
        span = f"{self.first:%d %b %H:%M} to {self.last:%d %b %H:%M}" if self.first else ""
        text = f"{self.runs} check{'s' if self.runs != 1 else ''}"
        text += f", {span}" if span else ""
        return f"{text}, last {self.last_passed}/{self.public} public parts"


def _read_bounded(path: Path) -> tuple[bytes, bool]:
    """At most MAX_LOG_BYTES of a regular file, never through a link; (data, truncated)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{path.name} is not a regular file")
        chunks, size = [], 0
        while size <= MAX_LOG_BYTES:
            chunk = os.read(fd, min(1 << 16, MAX_LOG_BYTES + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    return data[:MAX_LOG_BYTES], len(data) > MAX_LOG_BYTES


def _time(value: object) -> datetime | None:
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _summarise(name: str, lines: Iterable[bytes], before: datetime | None) -> CheckSummary:
    summary = CheckSummary(name)
    for raw in lines:
        if not raw.strip():
            continue
        try:
            if len(raw) > MAX_LINE_BYTES:
                raise ValueError("line too long")
            entry = json.loads(raw)
            moment = _time(entry["time"])
            parts = entry["parts"]
            if moment is None or not isinstance(parts, dict) or len(parts) > MAX_PARTS:
                raise ValueError("malformed entry")
            how = entry.get("how")
            how = how[:40] if isinstance(how, str) else "unknown"
        except (ValueError, KeyError, TypeError, RecursionError):
            summary.ignored += 1
            continue
        if before is not None and moment > before:
            continue
        passed = sum(status == "passed" for status in parts.values())
        summary.runs += 1
        summary.ways[how] = summary.ways.get(how, 0) + 1
        summary.first = moment if summary.first is None else min(summary.first, moment)
        if summary.last is None or moment >= summary.last:
            summary.last, summary.last_passed, summary.public = moment, passed, len(parts)
        summary.best_passed = max(summary.best_passed, passed)
    return summary


def read_check_log(folder: Path, before: datetime | None = None) -> dict[str, CheckSummary]:
    """The check logs in a submission's ``folder``, summarised per notebook (``conv1d.ipynb``:
    its :class:`CheckSummary`); runs after ``before`` (the submission's time) are left out.

    Never raises for what a learner put there: a missing folder gives ``{}``, a log that is a
    link, a folder or a named pipe counts as one ignored line, a log longer than
    ``MAX_LOG_BYTES`` is read up to that size and the rest is counted as ignored.
    """
    found: dict[str, CheckSummary] = {}
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return found
    for name in names:
        if not (name.startswith(".") and name.endswith(LOG_SUFFIX)) or len(name) > 255:
            continue
        notebook = name[1 : -len(LOG_SUFFIX)] + ".ipynb"
        try:
            data, truncated = _read_bounded(folder / name)
        except OSError:
            found[notebook] = CheckSummary(notebook, ignored=1)
            continue
        lines = data.split(b"\n")
        if truncated:
            lines = lines[:-1]  # the last line was cut at the limit
        summary = _summarise(notebook, lines, before)
        summary.ignored += int(truncated)
        found[notebook] = summary
    return found
