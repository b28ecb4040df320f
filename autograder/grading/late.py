"""Late work: due times, late policies, extensions and nbgrader's ``timestamp.txt``.

``grade --due 2026-12-01T17:00:00+01:00 --late-policy linear:10%/h,max:50%`` reads each
submission's ``SUBMISSIONS/<student>/<assignment>/timestamp.txt`` (nbgrader writes
``2026-12-01 17:04:05.123456 UTC``; ISO 8601 is read too), compares it with the learner's due
time (the class's, or their extension's) and takes the penalty off the points earned:

- ``none``: lateness is recorded, nothing is taken off (the default);
- ``zero``: a late submission earns 0;
- ``linear:P%/h[,max:M%]``: P percent of the points earned per hour late, pro rata (``/d``: per
  day), at most M percent (default 100).

Extensions come from a CSV file with a header: ``student_id,due`` (a personal due time, ISO 8601
with its zone) or ``student_id,hours`` (hours added to ``--due``). A missing or unreadable
timestamp never stops grading: the row says so in its note and no penalty is taken.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import stat
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .results import Lateness

TIMESTAMP_FILE = "timestamp.txt"
MAX_TIMESTAMP_BYTES = 1024
_POLICY = re.compile(
    r"linear:(?P<rate>\d+(?:\.\d+)?)%/(?P<unit>h|d)(?:,max:(?P<max>\d+(?:\.\d+)?)%)?"
)
POLICY_HELP = "none, zero or linear:P%/h[,max:M%] (e.g. linear:10%/h,max:50%; /d: per day)"


@dataclass(frozen=True)
class LatePolicy:
    """How much lateness costs, in percent of the points earned."""

    kind: str = "none"  # none | zero | linear
    percent_per_hour: float = 0.0
    max_percent: float = 100.0

    @classmethod
    def parse(cls, text: str) -> LatePolicy:
        """``none``, ``zero`` or ``linear:P%/h[,max:M%]``; ``ValueError`` says what is wrong."""
        spec = text.strip().lower().replace(" ", "")
        if spec in ("none", "zero"):
            return cls(spec)
        found = _POLICY.fullmatch(spec)
        if not found:
            raise ValueError(f"late policy {text!r} is not one of: {POLICY_HELP}")
        rate = float(found["rate"]) / (24 if found["unit"] == "d" else 1)
        most = float(found["max"]) if found["max"] is not None else 100.0
        if rate <= 0 or not 0 < most <= 100:
            raise ValueError(
                f"late policy {text!r}: the rate must be above 0% and the maximum between "
                "0% and 100%"
            )
        return cls("linear", rate, most)

    def penalty_percent(self, hours: float) -> float:
        if hours <= 0 or self.kind == "none":
            return 0.0
        if self.kind == "zero":
            return 100.0
        return round(min(self.percent_per_hour * hours, self.max_percent), 4)

    def describe(self) -> str:
        if self.kind == "linear":
            cap = f", at most {self.max_percent:g}%" if self.max_percent < 100 else ""
            return f"{self.percent_per_hour:g}% off per hour late{cap}"
        return {"none": "no penalty for lateness", "zero": "a late submission earns 0"}[self.kind]


def parse_datetime(text: str, what: str = "date-time") -> datetime:
    """An aware date-time from ISO 8601 (``2026-12-01T17:00:00+01:00``, ``...Z``) or nbgrader's
    ``2026-12-01 17:04:05.123456 UTC``. ``ValueError`` names what was expected; a date-time
    without a zone is refused (it would be read differently on another machine)."""
    value = text.strip()
    for suffix in (" UTC", " GMT", "Z"):
        if value.upper().endswith(suffix):
            value = value[: -len(suffix)].rstrip() + "+00:00"
            break
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"{what} {text.strip()[:60]!r} is not a date-time; expected ISO 8601 with a zone, "
            "e.g. 2026-12-01T17:00:00+01:00 or 2026-12-01 17:04:05 UTC"
        ) from None
    if parsed.tzinfo is None:
        raise ValueError(
            f"{what} {text.strip()[:60]!r} has no time zone; add one, e.g. "
            f"{parsed.isoformat()}+00:00"
        )
    return parsed


def read_timestamp(folder: Path) -> tuple[datetime | None, str]:
    """The submission time in ``folder/timestamp.txt`` (untrusted: a regular file, not a link,
    at most :data:`MAX_TIMESTAMP_BYTES`), or ``(None, why not)``."""
    path = folder / TIMESTAMP_FILE
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None, f"no {TIMESTAMP_FILE} in the submission"
    except OSError as error:
        return None, f"{TIMESTAMP_FILE} could not be read ({error.strerror})"
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None, f"{TIMESTAMP_FILE} is not a regular file"
        raw = os.read(fd, MAX_TIMESTAMP_BYTES + 1)
    except OSError as error:
        return None, f"{TIMESTAMP_FILE} could not be read ({error.strerror})"
    finally:
        os.close(fd)
    if len(raw) > MAX_TIMESTAMP_BYTES:
        return None, f"{TIMESTAMP_FILE} is longer than a timestamp"
    try:
        text = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        return None, f"{TIMESTAMP_FILE} is not text"
    if not text:
        return None, f"{TIMESTAMP_FILE} is empty"
    try:
        return parse_datetime(text.splitlines()[0], TIMESTAMP_FILE), ""
    except ValueError as error:
        return None, str(error)


@dataclass(frozen=True)
class LateRules:
    """The instructor's choices about late work (the command line's options)."""

    due: datetime | None = None
    policy: LatePolicy = field(default_factory=LatePolicy)
    extensions: dict[str, datetime] = field(default_factory=dict)  # student -> own due time

    def __post_init__(self) -> None:
        if self.policy.kind != "none" and self.due is None:
            raise ValueError(f"--late-policy {self.policy.kind} needs --due (the due time)")

    def due_for(self, student: str) -> datetime | None:
        return self.extensions.get(student, self.due)

    def lateness(self, student: str, assignment_folder: Path) -> Lateness | None:
        """The record for one learner's submission folder; None when no due time applies."""
        due = self.due_for(student)
        if due is None:
            return None
        extended = student in self.extensions
        own = f" (extended to {due.isoformat()})" if extended else ""
        submitted, problem = read_timestamp(assignment_folder)
        if submitted is None:
            return Lateness(
                due.isoformat(),
                note=f"{problem}: lateness unknown, no penalty taken{own}",
            )
        hours = max(0.0, (submitted - due).total_seconds() / 3600)
        hours = math.ceil(hours * 100) / 100  # a second late is late
        percent = self.policy.penalty_percent(hours)
        when = submitted.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        if hours == 0:
            note = f"submitted {when}, on time{own}"
        else:
            note = f"submitted {when}, {hours:g} h after the due time{own}"
            note += f": {percent:g}% off" if percent else ": no penalty"
        return Lateness(due.isoformat(), submitted.isoformat(), hours, percent, note)


def read_extensions(path: Path, due: datetime | None) -> dict[str, datetime]:
    """``student_id,due`` or ``student_id,hours`` rows; ``ValueError`` lists every bad row."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"--extensions {path}: cannot be read ({error})") from None
    reader = csv.DictReader(io.StringIO(text))
    columns = [c.strip() for c in reader.fieldnames or []]
    if "student_id" not in columns or not {"due", "hours"} & set(columns):
        raise ValueError(
            f"--extensions {path}: expected a header student_id,due or student_id,hours; "
            f"found {','.join(columns) or 'nothing'}"
        )
    found: dict[str, datetime] = {}
    errors = []
    for line, row in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k}
        student = row.get("student_id", "")
        try:
            if not student:
                raise ValueError("no student_id")
            if student in found:
                raise ValueError(f"{student} has a second extension")
            if row.get("due"):
                found[student] = parse_datetime(row["due"], "due")
            elif row.get("hours"):
                if due is None:
                    raise ValueError("hours need --due (the time they are added to)")
                try:
                    hours = float(row["hours"])
                except ValueError:
                    raise ValueError(f"hours {row['hours']!r} is not a number") from None
                if not 0 <= hours < 24 * 366 or math.isnan(hours):
                    raise ValueError(f"hours {row['hours']!r} is not between 0 and a year")
                found[student] = due + timedelta(hours=hours)
            else:
                raise ValueError(f"{student} has neither a due time nor hours")
        except ValueError as error:
            errors.append(f"line {line}: {error}")
    if errors:
        raise ValueError(f"--extensions {path}:\n  " + "\n  ".join(errors))
    return found
