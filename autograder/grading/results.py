"""The result of grading: one model, rendered as a CSV row, as JSON and as feedback.

``StudentResult`` holds one learner's score, status and parts; ``PartResult`` one test cell of
the instructor's source (a *part*); ``CheckResult`` one check inside it. Statuses are enums;
what a person reads (``reason``, ``message``) is derived, never parsed back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum


class PartStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    TIMEOUT = "timeout"
    CRASHED = "crashed"
    MEMORY = "memory"
    NOT_RUN = "not-run"
    FORBIDDEN = "forbidden"
    # Only in a learner's own `check`:
    HIDDEN = "hidden"  # hidden tests, run when the work is graded
    BROKEN = "broken"  # a solution cell that raised (a line of its own, not a part)


class Status(StrEnum):
    """A learner's overall status, in ``grades.csv`` (see :data:`PRECEDENCE`)."""

    OK = "ok"
    INVALID = "invalid-notebook"
    MISSING = "missing"
    FORBIDDEN = "forbidden"
    CRASHED = "crashed"
    MEMORY = "memory"
    TIMEOUT = "timeout"
    TAMPERED = "tampered"
    GRADER_ERROR = "grader-error"


# When several problems occur, the status names the first of these.
PRECEDENCE = (
    Status.GRADER_ERROR,
    Status.INVALID,
    Status.MISSING,
    Status.FORBIDDEN,
    Status.CRASHED,
    Status.MEMORY,
    Status.TIMEOUT,
    Status.TAMPERED,
)

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


@dataclass
class CheckResult:
    """One check of a part: passed or not, with what to show the learner."""

    passed: bool
    message: str = ""
    weight: float = 1.0
    call: str = ""  # what was checked, e.g. "conv1d_loop(x, w, stride=2)"
    kinds: list[str] = field(default_factory=list)  # the kinds of input this case is
    required: bool = False  # a rule of the part (no Python loops): failing it earns no share


@dataclass
class PartResult:
    notebook: str
    grade_id: str
    points: float
    earned: float
    hidden: bool
    status: PartStatus
    message: str  # shown to the learner (never hidden-test details)
    hint: str = ""
    checks: list[CheckResult] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: dict) -> PartResult:
        checks = [CheckResult(**c) for c in data.pop("checks", [])]
        return cls(**{**data, "status": PartStatus(data["status"])}, checks=checks)


@dataclass
class Problem:
    """Something that sets a learner's status, with the sentence that explains it."""

    status: Status
    reason: str


@dataclass
class StudentResult:
    student_id: str
    assignment: str
    score: float = 0.0
    max_score: float = 0.0
    status: Status = Status.OK
    reason: str = ""
    seed: int = 0
    seconds: float = 0.0
    parts: list[PartResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    diagnostics: str = field(default="", repr=False)  # the run's output, for the self-check

    def conclude(self, problems: list[Problem]) -> None:
        """Set score, status and reason from the parts and ``problems``."""
        self.score = round(sum(p.earned for p in self.parts), 2)
        statuses = {p.status for p in problems}
        self.status = next((s for s in PRECEDENCE if s in statuses), Status.OK)
        self.reason = "; ".join(dict.fromkeys(p.reason for p in problems if p.reason))[:500]

    # --- renderings ---------------------------------------------------------------------------

    def to_json(self) -> dict:
        data = asdict(self)
        del data["diagnostics"]  # never written: it could hold what a hidden test printed
        data["status"] = self.status.value
        for part in data["parts"]:
            part["status"] = PartStatus(part["status"]).value
        return data

    @classmethod
    def from_json(cls, data: dict) -> StudentResult:
        data = dict(data)
        parts = [PartResult.from_json(dict(p)) for p in data.pop("parts", [])]
        status = Status(data.pop("status", "ok"))
        return cls(**data, status=status, parts=parts)

    def to_csv_row(self) -> list[str]:
        return [
            _safe_csv_text(self.student_id),
            self.assignment,
            f"{self.score:g}",
            f"{self.max_score:g}",
            self.status.value,
            _safe_csv_text(self.reason),
            str(self.seed),
            f"{self.seconds:.2f}",
        ]

    def to_feedback_html(self) -> str:
        from .feedback import render_feedback

        return render_feedback(self)


def _safe_csv_text(text: str) -> str:
    """Neutralise spreadsheet formulas in free text (a folder named '=cmd|...')."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
