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
    # A written answer (nbgrader's manually graded cell), scored by a person with `review`:
    PENDING = "pending"  # not scored yet: its points are in `pending_manual`
    GRADED = "graded-by-hand"  # scored by a person (`review --import`)


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
    "score",  # what counts: points earned (autograded and graded by hand) less the late penalty
    "max_score",  # every point of the assignment, written answers included
    "status",
    "reason",
    "seed",
    "seconds",
    "raw_score",  # points earned before the late penalty
    "late_hours",  # hours after the (personal) due time; empty when no due time was given
    "penalty",  # points taken off for lateness
    "pending_manual",  # points of written answers no person has scored yet (see `review`)
    "note",  # lateness: when it was submitted, the due time used, a timestamp problem
]


@dataclass
class Lateness:
    """When a submission came in against its due time, and what that costs
    (:mod:`autograder.grading.late` computes it; this is the record kept in a result)."""

    due: str  # ISO 8601 with its zone: the learner's own due time (an extension counted)
    submitted: str = ""  # ISO 8601, or "" when the timestamp was missing or unreadable
    hours: float = 0.0  # hours late (0 when on time or unknown)
    penalty_percent: float = 0.0  # of the points earned
    note: str = ""  # a sentence for the learner and the instructor


@dataclass
class CheckResult:
    """One check of a part: passed or not, with what to show the learner."""

    passed: bool
    message: str = ""
    weight: float = 1.0
    call: str = ""  # what was checked, e.g. "conv1d_loop(x, w, stride=2)"
    kinds: list[str] = field(default_factory=list)  # the kinds of input this case is
    required: bool = False  # a rule of the part (no Python loops): failing it earns no share
    not_written: bool = False  # it failed on the stub's `raise NotImplementedError()`


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
    answer: str = ""  # a written answer's text, for the person who scores it (never run)

    @property
    def manual(self) -> bool:
        """A written answer, scored by a person rather than by tests."""
        return self.status in (PartStatus.PENDING, PartStatus.GRADED)

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
    raw_score: float = 0.0  # points earned before any late penalty
    late: Lateness | None = None  # None: no due time was given

    def conclude(self, problems: list[Problem]) -> None:
        """Set score, status and reason from the parts and ``problems``."""
        self.rescore()
        statuses = {p.status for p in problems}
        self.status = next((s for s in PRECEDENCE if s in statuses), Status.OK)
        self.reason = "; ".join(dict.fromkeys(p.reason for p in problems if p.reason))[:500]

    def rescore(self) -> None:
        """Score from the parts' points and the late penalty (after grading, after a late
        policy is applied, after a person scored the written answers)."""
        self.raw_score = round(sum(p.earned for p in self.parts), 6)
        percent = self.late.penalty_percent if self.late else 0.0
        self.score = round(self.raw_score * (1 - percent / 100), 4)

    @property
    def penalty(self) -> float:
        """Points taken off for lateness."""
        return round(self.raw_score - self.score, 4)

    @property
    def pending_manual(self) -> float:
        """Points of written answers that no person has scored yet."""
        return sum(p.points for p in self.parts if p.status == PartStatus.PENDING)

    def autograded_max(self) -> float:
        """Points the tests can give (the written answers' points left out)."""
        return self.max_score - sum(p.points for p in self.parts if p.manual)

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
        late = data.pop("late", None)
        late = Lateness(**late) if isinstance(late, dict) else None
        return cls(**data, status=status, parts=parts, late=late)

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
            f"{self.raw_score:g}",
            f"{self.late.hours:g}" if self.late and self.late.submitted else "",
            f"{self.penalty:g}",
            f"{self.pending_manual:g}",
            _safe_csv_text(self.late.note if self.late else ""),
        ]

    def to_gradescope(self) -> dict:
        """Gradescope's ``results.json``: the score, and one test per part (see
        :mod:`autograder.gradescope`)."""
        from .gradescope import gradescope_results

        return gradescope_results(self)

    def to_feedback_html(self) -> str:
        from .feedback import render_feedback

        return render_feedback(self)


def _safe_csv_text(text: str) -> str:
    """Neutralise spreadsheet formulas in free text (a folder named '=cmd|...')."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
