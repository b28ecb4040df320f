"""``export``: grades merged into the gradebook CSV that Canvas and Moodle import (fast: a
grades.csv written here; the end-to-end run is in tests/grading/test_instructor_term.py)."""

from __future__ import annotations

import csv
import re

import pytest

from autograder.__main__ import main
from autograder.export import export_grades
from autograder.grading.results import CSV_COLUMNS

CANVAS = """\
Student,ID,SIS User ID,SIS Login ID,Section,pooling (77),conv1d (1234),Current Score
    Points Possible,,,,,10,,
"Ana, A",11,S1,ana,Sec 1,9,,
"Bo, B",12,S2,BO ,Sec 1,7,3,
"Dee, D",14,S4,dee,Sec 2,,,
Test Student,99,,,,,,
"""


def graded(tmp_path, rows):
    out = tmp_path / "graded"
    out.mkdir()
    with (out / "grades.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for sid, score, status, pending in rows:
            row = dict.fromkeys(CSV_COLUMNS, "")
            row.update(
                student_id=sid,
                assignment="conv1d",
                score=score,
                max_score="15",
                status=status,
                pending_manual=pending,
            )
            writer.writerow(row.values())
    return out


def read(path):
    with path.open(newline="") as handle:
        return list(csv.reader(handle))


@pytest.fixture
def canvas_class(tmp_path):
    out = graded(
        tmp_path,
        [("ana", "15", "ok", "0"), ("bo", "8.5", "ok", "2"), ("dee", "0", "missing", "0")],
    )
    roster = tmp_path / "canvas.csv"
    roster.write_text(CANVAS)
    return out, roster


def test_canvas_fills_the_assignments_column_and_keeps_everything_else(canvas_class):
    out, roster = canvas_class
    report = export_grades("conv1d", out, roster, "canvas")
    rows = read(out / "export" / "conv1d-canvas.csv")
    original = read(roster)
    assert rows[0] == original[0]  # the same columns, in the same order
    column = rows[0].index("conv1d (1234)")
    assert [r[column] for r in rows[1:]] == ["15", "15", "8.5", "", ""]
    # every other cell as it was
    for mine, theirs in zip(rows, original, strict=True):
        assert mine[:column] + mine[column + 1 :] == theirs[:column] + theirs[column + 1 :]
    assert (report.filled, report.empty, report.not_on_roster) == (2, 1, [])
    assert report.rows_without_id == [6] and report.pending_manual == ["BO"]


def test_missing_zero_and_a_new_column_with_its_points_possible(canvas_class, tmp_path):
    out, roster = canvas_class
    roster.write_text("Student,ID,SIS User ID,SIS Login ID,Section\nA,1,S1,ana,x\nD,4,S4,dee,x\n")
    export_grades("conv1d", out, roster, "canvas", tmp_path / "x.csv", missing_zero=True)
    rows = read(tmp_path / "x.csv")
    assert rows[0][-1] == "conv1d"
    assert rows[1][0].strip() == "Points Possible" and rows[1][-1] == "15"
    assert [r[-1] for r in rows[2:]] == ["15", "0"]


def test_moodle_matches_on_the_email_address(tmp_path):
    out = graded(tmp_path, [("ana@uni.edu", "12", "ok", "0")])
    roster = tmp_path / "moodle.csv"
    roster.write_text(
        "First name,Last name,ID number,Email address\nAna,A,1,Ana@Uni.edu\nBo,B,2,bo@uni.edu\n"
    )
    export_grades("conv1d", out, roster, "moodle")
    rows = read(out / "export" / "conv1d-moodle.csv")
    assert rows == [
        ["First name", "Last name", "ID number", "Email address", "conv1d"],
        ["Ana", "A", "1", "Ana@Uni.edu", "12"],
        ["Bo", "B", "2", "bo@uni.edu", ""],
    ]


def test_unknown_students_are_reported_and_the_command_fails(canvas_class, tmp_path, capsys):
    out, roster = canvas_class
    roster.write_text("student_id,name\nana,Ana\n")
    code = main(
        ["export", "conv1d", "--graded", str(out), "--roster", str(roster)]
        + ["--format", "csv", "--out", str(tmp_path / "e.csv")]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "2 graded student(s) are not on the roster" in err and "bo, dee" in err
    assert read(tmp_path / "e.csv") == [["student_id", "name", "conv1d"], ["ana", "Ana", "15"]]


@pytest.mark.parametrize(
    "roster_text, options, message",
    [
        ("student_id\nana\nANA\n", [], "appear more than once.*ANA \\(lines 2 and 3\\)"),
        ("login,name\nana,A\n", [], "has no column 'student_id'.*login, name.*--id-column"),
        ("", [], "is empty"),
        ("student_id,x,x\nana,1,2\n", [], "column\\(s\\) x appear twice"),
        ("student_id\nana\n", ["--format", "blackboard"], None),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(
    canvas_class, tmp_path, capsys, roster_text, options, message
):
    out, roster = canvas_class
    roster.write_text(roster_text)
    target = tmp_path / "e.csv"
    argv = ["export", "conv1d", "--graded", str(out), "--roster", str(roster)]
    argv += ["--out", str(target)] + (options or ["--format", "csv"])
    if message is None:
        with pytest.raises(SystemExit):
            main(argv)
    else:
        assert main(argv) == 2
        assert re.search(message, capsys.readouterr().err)
    assert not target.exists()


def test_grades_of_another_assignment_or_no_grades_are_refused(tmp_path):
    roster = tmp_path / "r.csv"
    roster.write_text("student_id\nana\n")
    with pytest.raises(ValueError, match="no grades.csv"):
        export_grades("conv1d", tmp_path, roster, "csv")
    out = graded(tmp_path, [("ana", "1", "ok", "0")])
    with pytest.raises(ValueError, match="holds grades of conv1d, not only of pooling"):
        export_grades("pooling", out, roster, "csv")
    with pytest.raises(ValueError, match="is the roster itself"):
        export_grades("conv1d", out, roster, "csv", roster)


def test_moodle_fills_the_grade_item_of_its_own_export(tmp_path):
    out = graded(tmp_path, [("bo@uni.edu", "7", "ok", "0")])
    roster = tmp_path / "moodle.csv"
    roster.write_text(
        "First name,Last name,Email address,Assignment: conv1d (Real),Course total (Real)\n"
        "Bo,B,bo@uni.edu,-,-\n"
    )
    export_grades("conv1d", out, roster, "moodle", tmp_path / "m.csv")
    assert read(tmp_path / "m.csv")[1] == ["Bo", "B", "bo@uni.edu", "7", "-"]
