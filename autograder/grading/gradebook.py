"""The graded folder, ``OUT``: what ``grade`` writes and ``review``, ``export`` and the
Gradescope runner read back.

- ``OUT/grades.csv``: one row per student (:data:`~.results.CSV_COLUMNS`);
- ``OUT/<student>/result.json``: the whole result (:meth:`StudentResult.to_json`);
- ``OUT/<student>/feedback.html``: what the learner reads;
- ``OUT/<student>/results.json``: the same result in Gradescope's format, for courses that
  upload results to Gradescope themselves.

Every file is written atomically; ``grades.csv`` is rewritten only whole.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from ..files import write_atomic
from .results import CSV_COLUMNS, StudentResult
from .submissions import RESERVED_IDS

GRADES = "grades.csv"


def write_student(out: Path, result: StudentResult) -> None:
    """Write one learner's ``result.json``, ``feedback.html`` and ``results.json``."""
    if result.student_id.lower() in RESERVED_IDS:
        return  # a refused folder named like the grader's own output: its row says why
    target = out / result.student_id
    write_atomic(target / "result.json", json.dumps(result.to_json(), indent=1, ensure_ascii=False))
    write_atomic(target / "feedback.html", result.to_feedback_html())
    write_atomic(
        target / "results.json",
        json.dumps(result.to_gradescope(), indent=1, ensure_ascii=False) + "\n",
    )


def read_result(out: Path, student: str) -> StudentResult:
    """``OUT/<student>/result.json``; ``ValueError`` when it is missing or damaged."""
    path = out / student / "result.json"
    try:
        return StudentResult.from_json(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise ValueError(f"{path} is missing: grade {student} first") from None
    except (ValueError, TypeError, KeyError) as error:
        raise ValueError(f"{path} is damaged ({error}); grade {student} again") from None


def write_grades(results: list[StudentResult], path: Path) -> None:
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(CSV_COLUMNS)
    for result in sorted(results, key=lambda r: r.student_id):
        writer.writerow(result.to_csv_row())
    write_atomic(path, text.getvalue())


def read_grades(out: Path) -> list[dict[str, str]]:
    """The rows of ``OUT/grades.csv``; ``ValueError`` when there is none or it is not ours."""
    path = out / GRADES
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ValueError(f"no {GRADES} in {out}: is it the --out folder of `grade`?") from None
    reader = csv.DictReader(io.StringIO(text))
    required = CSV_COLUMNS[:5]
    missing = [c for c in required if c not in (reader.fieldnames or [])]
    if missing:
        raise ValueError(f"{path} has no column {', '.join(missing)}: not written by `grade`")
    return list(reader)


def update_grades(out: Path, changed: list[StudentResult]) -> None:
    """Rewrite ``grades.csv`` with the rows of ``changed`` replaced, every other row kept as it
    was (its columns brought to the current set)."""
    by_id = {r.to_csv_row()[0]: r for r in changed}  # (an id as grades.csv writes it)
    rows = []
    for row in read_grades(out):
        result = by_id.pop(row["student_id"], None)
        if result is not None:
            rows.append(result.to_csv_row())
        else:
            rows.append([row.get(c) or "" for c in CSV_COLUMNS])
    rows.extend(r.to_csv_row() for r in by_id.values())
    rows.sort(key=lambda r: r[0])
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(CSV_COLUMNS)
    writer.writerows(rows)
    write_atomic(out / GRADES, text.getvalue())
