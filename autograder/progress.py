"""The grader's progress display: graded/total and problems as they happen.

On a terminal it redraws one line (``[#######.......] 14/40 graded, 2 problems``) and prints a
line for every submission with a problem; elsewhere (a log file, CI) it prints one line per
submission.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from .grading.results import StudentResult


class ProgressBar:
    def __init__(self, stream: TextIO | None = None, width: int = 30) -> None:
        # sys.stderr when called, not when imported: it may have been replaced since
        stream = sys.stderr if stream is None else stream
        self.stream, self.width, self.problems = stream, width, 0
        self.live = stream.isatty()

    def __call__(self, result: StudentResult, done: int, total: int) -> None:
        ok = result.status == "ok"
        self.problems += not ok
        line = f"{result.student_id}: {result.score:g}/{result.max_score:g}" + (
            "" if ok else f" {result.status.value} ({result.reason[:80]})"
        )
        if not self.live:
            print(f"[{done}/{total}] {line}", file=self.stream, flush=True)
            return
        if not ok:
            print(f"\r\033[K{line}", file=self.stream)
        filled = self.width * done // max(total, 1)
        bar = "#" * filled + "." * (self.width - filled)
        print(
            f"\r\033[K[{bar}] {done}/{total} graded, {self.problems} with problems",
            end="" if done < total else "\n",
            file=self.stream,
            flush=True,
        )
