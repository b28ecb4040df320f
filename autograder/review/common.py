"""What ``review``'s pages and sheet share: the questions of an assignment and the learners'
answers in a graded folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..grading.gradebook import read_grades, read_result
from ..grading.manual import model_answer, question_text
from ..grading.results import PartResult, StudentResult
from ..grading.sources import load_source
from ..notebooks import grade_id, points, source_notebooks

REVIEW_DIR = "review"
SHEET = "scores.csv"
SHEET_COLUMNS = ["student_id", "question", "max_points", "points", "comment"]


@dataclass(frozen=True)
class Question:
    notebook: str
    grade_id: str
    points: float
    text: str  # the markdown cell before the answer cell (as learners read it)
    model: str  # the source's model answer


def questions(assignment: str) -> list[Question]:
    """The written questions of ``assignment``, in the sources' order; ``ValueError`` if none."""
    found = []
    for path in source_notebooks(assignment):
        prepared = load_source(path)
        for index in prepared.manual:
            gid = grade_id(prepared.source.cells[index]) or f"cell-{index}"
            found.append(
                Question(
                    path.name,
                    gid,
                    points(prepared.source.cells[index]),
                    question_text(prepared, gid),
                    model_answer(prepared, gid),
                )
            )
    if not found:
        raise ValueError(
            f"{assignment} has no written answers to review (no manually graded cell: a markdown "
            "cell with nbgrader's grade and solution set)"
        )
    return found


def graded_results(assignment: str, graded: Path) -> dict[str, StudentResult]:
    """Every student of ``graded/grades.csv`` that has a result of ``assignment``."""
    results = {}
    for row in read_grades(graded):
        if row["assignment"] != assignment:
            raise ValueError(
                f"{graded / 'grades.csv'} holds grades of {row['assignment']}, not {assignment}"
            )
        student = row["student_id"]
        if student.startswith("'") and not (graded / student).is_dir():
            student = student[1:]  # grades.csv quotes an id that looks like a formula
        if not (graded / student / "result.json").is_file():
            continue  # a refused folder (a link, a reserved name): nothing was graded
        results[student] = read_result(graded, student)
    return results


def written_part(result: StudentResult, question: str) -> PartResult | None:
    return next((p for p in result.parts if p.manual and p.grade_id == question), None)
