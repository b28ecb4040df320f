"""``export``: put an assignment's grades into the gradebook CSV an LMS imports.

``python -m autograder export ASSIGNMENT --graded DIR --roster FILE --format canvas|moodle|csv
[--out FILE] [--id-column NAME] [--column NAME] [--missing-zero]``

The roster is the LMS's own export, kept whole: every column and every row stay as they were,
one assignment column is filled (or added) with each student's ``score`` from
``DIR/grades.csv``. A student without a submission gets an empty cell (the LMS then shows
"not submitted"), or 0 with ``--missing-zero``. Students are matched on one roster column
(``--id-column``; the student folder names of ``grade`` must be those ids), ignoring case and
surrounding blanks.

- ``canvas``: Canvas's gradebook export (columns ``Student``, ``ID``, ``SIS User ID``,
  ``SIS Login ID``, ``Section``, then assignment columns named ``Name (id)``, and a
  ``Points Possible`` row under the header). Matched on ``SIS Login ID``; the column filled is
  ``ASSIGNMENT (id)`` when the roster has it, else a new column ``ASSIGNMENT`` (Canvas creates
  the assignment on import), and its ``Points Possible`` cell gets the maximum score (the row is
  added when the roster has none).
- ``moodle``: Moodle's grade import (Grades > Import > CSV file) maps one identifier column
  (email address, ID number or username) and one grade column; matched on ``Email address``;
  the column filled is the grade item ``Assignment: ASSIGNMENT (Real)`` of Moodle's own export
  when the roster has it, else a new column ``ASSIGNMENT``.
- ``csv``: any roster; matched on ``student_id``.

Nothing is dropped in silence: a graded student who is not on the roster, a roster id that
appears twice and a row without an id are reported. An ambiguous roster (a repeated id) or
grades of another assignment stop the export with nothing written.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from .files import write_atomic
from .grading.gradebook import read_grades

FORMATS = ("canvas", "moodle", "csv")
DEFAULT_ID_COLUMN = {"canvas": "SIS Login ID", "moodle": "Email address", "csv": "student_id"}
POINTS_POSSIBLE = "Points Possible"
# Rows of a Canvas export that are not students (under the header).
CANVAS_META_ROWS = ("points possible", "manual posting", "muted")
NOT_SUBMITTED = ("missing",)


@dataclass
class ExportReport:
    """What the export did, and what it could not place."""

    path: Path
    column: str
    filled: int = 0  # students given a score
    empty: int = 0  # students on the roster without a submission
    not_on_roster: list[str] = field(default_factory=list)
    rows_without_id: list[int] = field(default_factory=list)  # roster line numbers
    pending_manual: list[str] = field(default_factory=list)  # exported before `review --import`

    @property
    def complete(self) -> bool:
        return not self.not_on_roster

    def lines(self) -> list[str]:
        said = [
            f"wrote {self.path}: column {self.column!r}, {self.filled} score(s), "
            f"{self.empty} student(s) without a submission"
        ]
        if self.not_on_roster:
            said.append(
                f"error: {len(self.not_on_roster)} graded student(s) are not on the roster, so "
                f"their grades are not in the export: {', '.join(self.not_on_roster)}"
            )
        if self.rows_without_id:
            lines = ", ".join(str(n) for n in self.rows_without_id)
            said.append(f"note: roster line(s) {lines} have no id; left as they were")
        if self.pending_manual:
            said.append(
                f"note: {len(self.pending_manual)} student(s) have written answers not scored "
                "yet (their score counts the autograded points only; run `review` first): "
                + ", ".join(self.pending_manual)
            )
        return said


def _read_roster(path: Path) -> tuple[list[str], list[list[str]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ValueError(f"--roster {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"--roster {path} cannot be read as UTF-8 text ({error})") from None
    rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    if not rows:
        raise ValueError(f"--roster {path} is empty; expected a header row and one row a student")
    header = rows[0]
    if len(set(header)) != len(header):
        repeated = sorted({c for c in header if header.count(c) > 1})
        raise ValueError(f"--roster {path}: column(s) {', '.join(repeated)} appear twice")
    width = len(header)
    return header, [row + [""] * (width - len(row)) for row in rows[1:]]


def _key(text: str) -> str:
    return text.strip().casefold()


def _assignment_column(header: list[str], assignment: str, fmt: str, chosen: str | None) -> str:
    if chosen:
        return chosen
    if fmt == "canvas":
        pattern = re.compile(rf"{re.escape(assignment)}\s*\(\d+\)", re.IGNORECASE)
        for name in header:
            if pattern.fullmatch(name.strip()) or _key(name) == _key(assignment):
                return name
    if fmt == "moodle":  # Moodle's export names a grade item "Assignment: NAME (Real)"
        pattern = re.compile(rf"[^:]*:\s*{re.escape(assignment)}\s*\(.*\)", re.IGNORECASE)
        for name in header:
            if pattern.fullmatch(name.strip()):
                return name
    for name in header:
        if _key(name) == _key(assignment):
            return name
    return assignment


def _grades_by_student(graded: Path, assignment: str) -> dict[str, dict[str, str]]:
    rows = read_grades(graded)
    others = sorted({r["assignment"] for r in rows} - {assignment})
    if others:
        raise ValueError(
            f"{graded / 'grades.csv'} holds grades of {', '.join(others)}, not only of "
            f"{assignment}: is --graded the right folder?"
        )
    found: dict[str, dict[str, str]] = {}
    repeated = []
    for row in rows:
        key = _key(row["student_id"].removeprefix("'"))
        if key in found:
            repeated.append(row["student_id"])
        found[key] = row
    if repeated:
        raise ValueError(f"grades.csv lists student(s) more than once: {', '.join(repeated)}")
    return found


def export_grades(
    assignment: str,
    graded: Path,
    roster: Path,
    fmt: str,
    out: Path | None = None,
    *,
    id_column: str | None = None,
    column: str | None = None,
    missing_zero: bool = False,
) -> ExportReport:
    """Merge ``graded/grades.csv`` into ``roster`` and write it to ``out`` (default:
    ``graded/export/ASSIGNMENT-FORMAT.csv``). ``ValueError`` when the input is ambiguous or
    wrong; nothing is written then."""
    if fmt not in FORMATS:
        raise ValueError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    out = out or graded / "export" / f"{assignment}-{fmt}.csv"
    if out.resolve() == roster.resolve():
        raise ValueError(f"--out {out} is the roster itself; write the export to another file")
    grades = _grades_by_student(graded, assignment)
    header, rows = _read_roster(roster)
    id_column = id_column or DEFAULT_ID_COLUMN[fmt]
    if id_column not in header:
        raise ValueError(
            f"--roster {roster} has no column {id_column!r} to match students on (the "
            f"student folder names); its columns: {', '.join(header)}. Pick one with --id-column"
        )
    key_at = header.index(id_column)
    target = _assignment_column(header, assignment, fmt, column)
    if target not in header:
        header = [*header, target]
        rows = [row + [""] for row in rows]
    at = header.index(target)
    report = ExportReport(out, target)

    def is_meta(row: list[str]) -> bool:
        return not row[key_at].strip() and _key(row[0]) in CANVAS_META_ROWS

    max_score = next((r["max_score"] for r in grades.values()), "")
    if fmt == "canvas" and not any(_key(r[0]) == _key(POINTS_POSSIBLE) for r in rows):
        rows.insert(0, ["    " + POINTS_POSSIBLE] + [""] * (len(header) - 1))
    seen: dict[str, int] = {}
    repeated = []
    placed = set()
    for line, row in enumerate(rows, start=2):
        if is_meta(row):
            if _key(row[0]) == _key(POINTS_POSSIBLE) and max_score:
                row[at] = max_score
            continue
        key = _key(row[key_at])
        if not key:
            report.rows_without_id.append(line)
            continue
        if key in seen:
            repeated.append(f"{row[key_at].strip()} (lines {seen[key]} and {line})")
        seen[key] = line
        grade = grades.get(key)
        if grade is None or (grade["status"] in NOT_SUBMITTED and _float(grade["score"]) == 0):
            row[at] = "0" if missing_zero else ""
            report.empty += 1
        else:
            row[at] = grade["score"]
            report.filled += 1
            if _float(grade.get("pending_manual") or "0") > 0:
                report.pending_manual.append(row[key_at].strip())
        placed.add(key)
    if repeated:
        raise ValueError(
            f"--roster {roster}: id(s) in column {id_column!r} appear more than once, so a "
            f"grade could go to the wrong student: {', '.join(repeated)}"
        )
    report.not_on_roster = sorted(grades[k]["student_id"] for k in grades if k not in placed)
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows(rows)
    write_atomic(out, text.getvalue())
    return report


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0
