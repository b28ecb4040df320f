"""The result model: one status from many problems, and its renderings."""

from __future__ import annotations

import pytest

from autograder.grading.results import (
    CSV_COLUMNS,
    PartResult,
    PartStatus,
    Problem,
    Status,
    StudentResult,
)


def result(*problems: Problem) -> StudentResult:
    r = StudentResult("ana", "conv1d", max_score=5)
    r.parts = [
        PartResult("a.ipynb", "p1", 2, 2, False, PartStatus.PASSED, ""),
        PartResult("a.ipynb", "p2", 3, 0, True, PartStatus.FORBIDDEN, "line 1 imports torch"),
    ]
    r.conclude(list(problems))
    return r


@pytest.mark.parametrize(
    "statuses, expected",
    [
        ([], Status.OK),
        ([Status.OK], Status.OK),  # a note (a misnamed notebook) is no problem
        ([Status.TAMPERED, Status.TIMEOUT], Status.TIMEOUT),
        ([Status.TIMEOUT, Status.MEMORY], Status.MEMORY),
        ([Status.CRASHED, Status.MEMORY], Status.CRASHED),
        ([Status.TAMPERED, Status.FORBIDDEN, Status.CRASHED], Status.FORBIDDEN),
        ([Status.FORBIDDEN, Status.MISSING], Status.MISSING),
        ([Status.MISSING, Status.INVALID], Status.INVALID),
    ],
)
def test_the_status_is_the_most_serious_problem(statuses, expected):
    r = result(*(Problem(s, f"because {s.value}") for s in statuses))
    assert r.status == expected
    assert r.score == 2
    for s in statuses:
        assert f"because {s.value}" in r.reason


def test_reasons_are_kept_once_and_cut_to_a_readable_length():
    r = result(*[Problem(Status.TAMPERED, "the same")] * 3, Problem(Status.TAMPERED, "x" * 900))
    assert r.reason.count("the same") == 1 and len(r.reason) <= 500


def test_json_round_trip_keeps_statuses_as_enums_and_never_the_run_output():
    r = result(Problem(Status.FORBIDDEN, "p2: line 1 imports torch"))
    r.diagnostics = "Traceback (most recent call last): a hidden test"
    data = r.to_json()
    assert data["status"] == "forbidden" and data["parts"][1]["status"] == "forbidden"
    assert "diagnostics" not in data
    again = StudentResult.from_json(data)
    assert again.status is Status.FORBIDDEN and again.parts[1].status is PartStatus.FORBIDDEN


def test_csv_row_neutralises_formulas():
    r = StudentResult("=cmd|' /C calc'!A0", "conv1d", reason="-1+1")
    row = dict(zip(CSV_COLUMNS, r.to_csv_row(), strict=True))
    assert row["student_id"].startswith("'=") and row["reason"] == "'-1+1"


def test_feedback_escapes_everything_and_does_not_repeat_the_notebooks_hint():
    r = result(Problem(Status.FORBIDDEN, "<script>"))
    r.parts[1].hint = "use <b>"
    page = r.to_feedback_html()
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "use &lt;b&gt;" not in page and "use <b>" not in page
