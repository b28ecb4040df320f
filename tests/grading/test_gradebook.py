"""The graded folder and the result's renderings added for the instructor's term (fast):
Gradescope's results.json, grades.csv's extra columns, rewriting grades.csv row by row."""

from __future__ import annotations

import csv
import json

from autograder.grading.gradebook import read_grades, update_grades, write_grades, write_student
from autograder.grading.results import (
    CSV_COLUMNS,
    Lateness,
    PartResult,
    PartStatus,
    StudentResult,
)


def result(student="ana", late=None) -> StudentResult:
    r = StudentResult(student, "pooling", max_score=9, seed=4, seconds=1.5)
    r.parts = [
        PartResult("p.ipynb", "shape", 2, 2, False, PartStatus.PASSED, "", checks=[]),
        PartResult("p.ipynb", "shape-hidden", 3, 0, True, PartStatus.FAILED, "1 of 4 checks"),
        PartResult("p.ipynb", "why", 2, 0, False, PartStatus.PENDING, "", answer="<b>hi</b>"),
        PartResult("p.ipynb", "how", 2, 1.5, False, PartStatus.GRADED, "fair", answer="so"),
    ]
    r.late = late
    r.conclude([])
    return r


def test_gradescope_results_have_one_test_per_scored_part_and_the_penalised_score():
    late = Lateness("2026-12-01T17:00:00+00:00", "x", 3, 50, "3 h late: 50% off")
    data = result(late=late).to_gradescope()
    assert data["score"] == 1.75  # (2 + 1.5) * 50%
    assert [(t["name"], t["score"], t["max_score"], t["visibility"]) for t in data["tests"]] == [
        ("shape (p.ipynb)", 2, 2, "visible"),
        ("shape-hidden (p.ipynb)", 0, 3, "after_published"),
        ("how (p.ipynb)", 1.5, 2, "visible"),  # scored by hand; "why" waits: not a test
    ]
    assert [t["status"] for t in data["tests"]] == ["passed", "failed", "failed"]
    assert data["tests"][2]["output"] == "fair"
    assert "3 h late: 50% off" in data["output"] and "1.75 taken off" in data["output"]
    assert "2 points of written answers are graded by hand later" in data["output"]
    assert json.loads(json.dumps(data)) == data


def test_grades_csv_keeps_the_required_columns_first_and_adds_the_new_ones():
    assert CSV_COLUMNS[:5] == ["student_id", "assignment", "score", "max_score", "status"]
    late = Lateness("2026-12-01T17:00:00+00:00", "x", 1.5, 10, "=1.5 h late")
    row = dict(zip(CSV_COLUMNS, result(late=late).to_csv_row(), strict=True))
    assert (row["score"], row["raw_score"], row["penalty"]) == ("3.15", "3.5", "0.35")
    assert (row["late_hours"], row["pending_manual"]) == ("1.5", "2")
    assert row["note"] == "'=1.5 h late"  # no formula in a spreadsheet
    unknown = Lateness("2026-12-01T17:00:00+00:00", "", 0, 0, "no timestamp.txt")
    row = dict(zip(CSV_COLUMNS, result(late=unknown).to_csv_row(), strict=True))
    assert row["late_hours"] == "" and row["penalty"] == "0"


def test_update_grades_replaces_only_the_rows_given(tmp_path):
    write_grades([result("ana"), result("bo")], tmp_path / "grades.csv")
    lines = (tmp_path / "grades.csv").read_text().splitlines()
    # an older grades.csv without the new columns, and a row graded elsewhere
    with (tmp_path / "grades.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS[:8])
        writer.writerow(["ana", "pooling", "1", "9", "ok", "", "4", "1.50"])
        writer.writerow(["bo", "pooling", "2", "9", "crashed", "it died", "4", "2.00"])
    changed = result("ana")
    update_grades(tmp_path, [changed])
    rows = {r["student_id"]: r for r in read_grades(tmp_path)}
    assert rows["ana"]["score"] == "3.5" and rows["ana"]["pending_manual"] == "2"
    assert (rows["bo"]["score"], rows["bo"]["reason"], rows["bo"]["note"]) == ("2", "it died", "")
    assert len(lines) == 3


def test_each_student_folder_gets_its_three_files_but_a_reserved_name_none(tmp_path):
    write_student(tmp_path, result("ana"))
    assert sorted(p.name for p in (tmp_path / "ana").iterdir()) == [
        "feedback.html",
        "result.json",
        "results.json",
    ]
    page = (tmp_path / "ana" / "feedback.html").read_text()
    assert "&lt;b&gt;hi&lt;/b&gt;" in page and "<b>hi" not in page
    again = StudentResult.from_json(json.loads((tmp_path / "ana" / "result.json").read_text()))
    assert again.parts[2].answer == "<b>hi</b>" and again.pending_manual == 2
    write_student(tmp_path, result("grades.csv"))
    assert not (tmp_path / "grades.csv").exists()
