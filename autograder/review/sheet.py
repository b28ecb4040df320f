"""Merging a reviewer's ``scores.csv`` into the grades (see :mod:`autograder.review`).

Every row is checked before anything changes; one bad row stops the import with every problem
listed (line numbers as a spreadsheet shows them) and no file written.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path

from ..grading.gradebook import update_grades, write_student
from ..grading.results import PartStatus, StudentResult
from .common import SHEET_COLUMNS, graded_results, questions, written_part

MAX_COMMENT = 2000
MAX_LISTED = 25


@dataclass
class ImportReport:
    scored: int = 0  # answers given points
    students: list[str] = field(default_factory=list)  # results written again
    left_pending: int = 0  # answers still without points


def _read_sheet(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ValueError(f"--import {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"--import {path} cannot be read as UTF-8 text ({error})") from None
    reader = csv.DictReader(io.StringIO(text))
    columns = [c.strip() for c in reader.fieldnames or []]
    missing = [c for c in ("student_id", "question", "points") if c not in columns]
    if missing:
        raise ValueError(
            f"--import {path}: no column {', '.join(missing)}; expected the header "
            f"{','.join(SHEET_COLUMNS)} (the sheet `review` writes)"
        )
    rows = [{(k or "").strip(): (v or "") for k, v in row.items()} for row in reader]
    return columns, rows


def _points(text: str, most: float) -> float:
    """A number of points in [0, most] (a decimal comma is read as a point)."""
    if text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"points {text!r} is not a number") from None
    if math.isnan(value) or not 0 <= value <= most:
        raise ValueError(f"points {text} is not between 0 and {most:g}")
    return value


def import_scores(assignment: str, graded: Path, sheet: Path) -> ImportReport:
    """Score the written answers from ``sheet``; ``ValueError`` lists every bad row (nothing
    is changed then)."""
    known = {q.grade_id: q for q in questions(assignment)}
    results = graded_results(assignment, graded)
    _, rows = _read_sheet(sheet)
    errors: list[str] = []
    scores: dict[tuple[str, str], tuple[float, str]] = {}
    seen: dict[tuple[str, str], int] = {}
    for line, row in enumerate(rows, start=2):
        student = row.get("student_id", "").strip()
        question = row.get("question", "").strip()
        text = row.get("points", "").strip()
        comment = row.get("comment", "").strip()[:MAX_COMMENT]
        try:
            if student not in results and student.startswith("'"):
                student = student[1:]  # written with a quote to keep spreadsheets from formulas
            if not student or not question:
                raise ValueError("student_id and question are both needed")
            if question not in known:
                raise ValueError(
                    f"no written question {question!r} in {assignment} (its questions: "
                    f"{', '.join(known)})"
                )
            if student not in results:
                raise ValueError(f"no graded student {student!r} in {graded}")
            part = written_part(results[student], question)
            if part is None:
                raise ValueError(f"{student} has no answer to {question} (nothing submitted)")
            key = (student, question)
            if key in seen:
                raise ValueError(
                    f"{student}, {question} is scored again (first on line {seen[key]})"
                )
            seen[key] = line
            if text:
                scores[key] = (_points(text, part.points), comment)
            elif comment:
                raise ValueError(f"a comment without points for {student}, {question}")
        except ValueError as error:
            errors.append(f"line {line}: {error}")
    if errors:
        listed = errors[:MAX_LISTED]
        more = len(errors) - len(listed)
        raise ValueError(
            f"--import {sheet}: nothing was imported; fix these rows and import again:\n  "
            + "\n  ".join(listed)
            + (f"\n  ... and {more} more" if more else "")
        )
    changed: dict[str, StudentResult] = {}
    for (student, question), (value, comment) in scores.items():
        result = results[student]
        part = written_part(result, question)
        part.status = PartStatus.GRADED
        part.earned = value
        part.message = comment or "scored by hand"
        changed[student] = result
    for result in changed.values():
        result.rescore()
        write_student(graded, result)
    if changed:
        update_grades(graded, list(changed.values()))
    report = ImportReport(len(scores), sorted(changed))
    report.left_pending = sum(
        p.status == PartStatus.PENDING for r in results.values() for p in r.parts if p.manual
    )
    return report
