"""Written answers end to end on a class of pooling: ``grade`` leaves them pending, ``review``
shows them (escaped) with a sheet to fill in, ``review --import`` checks the sheet and completes
the grades, and regrading keeps what a person scored. The class is graded once per module; each
test works on its own copy of the graded folder."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import shutil

import pytest
from notebook_helpers import edit_cell, load, released_path, save, source_path

from autograder.__main__ import main

# one worker grades the class (the others would grade it again)
pytestmark = pytest.mark.xdist_group("review")

QUESTION = "max-pool-not-conv-answer"
HOSTILE = (
    "<script>alert('x')</script><img src=x onerror=alert(2)> **max** is not linear\n"
    "</pre><iframe src='http://example.com'></iframe> & more"
)


def run(*argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="session")  # once per worker, even if other modules' tests run in between
def graded_class(tmp_path_factory):
    base = tmp_path_factory.mktemp("review")
    src = load(source_path("pooling"))
    notebooks = {
        "ana": src,
        "bo": edit_cell(src, QUESTION, lambda s: HOSTILE),
        "cy": load(released_path("pooling")),
    }
    for student, nb in notebooks.items():
        save(nb, base / "submissions" / student / "pooling" / "pooling.ipynb")
    code, _, err = run(
        "grade",
        "pooling",
        "--submissions",
        base / "submissions",
        "--out",
        base / "graded",
        "--workers",
        "2",
        "--seed",
        "3",
    )
    assert code == 0, err
    return base


@pytest.fixture
def graded(graded_class, tmp_path):
    shutil.copytree(graded_class / "graded", tmp_path / "graded")
    return tmp_path / "graded"


def rows(graded):
    with (graded / "grades.csv").open(newline="") as handle:
        return {r["student_id"]: r for r in csv.DictReader(handle)}


def sheet(graded):
    with (graded / "review" / "scores.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def write_sheet(path, lines):
    path.write_text("student_id,question,max_points,points,comment\n" + "".join(lines))
    return path


@pytest.mark.slow
def test_grade_leaves_written_answers_pending(graded):
    table = rows(graded)
    ana, cy = table["ana"], table["cy"]
    assert float(ana["max_score"]) == float(ana["score"]) + 2  # every autograded point
    assert (ana["status"], ana["pending_manual"]) == ("ok", "2")
    assert (cy["score"], cy["pending_manual"]) == ("0", "0")  # the stub: 0 at once
    result = json.loads((graded / "bo" / "result.json").read_text())
    part = next(p for p in result["parts"] if p["grade_id"] == QUESTION)
    assert (part["status"], part["answer"]) == ("pending", HOSTILE)
    gradescope = json.loads((graded / "ana" / "results.json").read_text())
    assert QUESTION not in json.dumps(gradescope["tests"])  # Gradescope scores it itself
    assert "2 points of written answers are graded by hand later" in gradescope["output"]


@pytest.mark.slow
def test_review_pages_show_every_answer_escaped(graded):
    code, out, _ = run("review", "pooling", "--graded", graded)
    assert code == 0 and "3 answer(s), 2 to score" in out
    page = (graded / "review" / f"{QUESTION}.html").read_text()
    for raw in ("<script", "<img", "<iframe", "</pre><iframe"):
        assert raw not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "Content-Security-Policy" in page and "default-src &#x27;none&#x27;" not in page
    assert "default-src 'none'" in page
    assert "max pooling is not linear" not in page  # (the learner's words are theirs)
    assert "Max pooling is not\nlinear" in page or "Max pooling is not linear" in page  # model
    assert "why no choice of kernel turns a convolution into max pooling" in page  # question
    assert page.count("<section") == 3
    index = (graded / "review" / "index.html").read_text()
    assert f"href='{QUESTION}.html'" in index and "3 answers, 2 to score" in index
    assert [
        (r["student_id"], r["question"], r["max_points"], r["points"]) for r in sheet(graded)
    ] == [
        ("ana", QUESTION, "2", ""),
        ("bo", QUESTION, "2", ""),
        ("cy", QUESTION, "2", "0"),
    ]


@pytest.mark.slow
def test_import_completes_the_grades_and_keeps_the_other_rows(graded):
    before = rows(graded)
    run("review", "pooling", "--graded", graded)
    scores = write_sheet(
        graded / "review" / "scores.csv",
        [
            f"ana,{QUESTION},2,2,clear and right\n",
            f'bo,{QUESTION},2,"1,5",<b>half</b>\n',
            f"cy,{QUESTION},2,0,not answered\n",
        ],
    )
    code, out, err = run("review", "pooling", "--graded", graded, "--import", scores)
    assert code == 0, err
    assert "scored 3 answer(s) of 3 student(s); 0 answer(s) still to score" in out
    after = rows(graded)
    assert float(after["ana"]["score"]) == float(before["ana"]["score"]) + 2
    assert float(after["bo"]["score"]) == float(before["bo"]["score"]) + 1.5
    assert after["ana"]["pending_manual"] == after["bo"]["pending_manual"] == "0"
    assert after["cy"] == before["cy"]
    assert list(after["ana"])[:5] == ["student_id", "assignment", "score", "max_score", "status"]
    feedback = (graded / "bo" / "feedback.html").read_text()
    assert "&lt;b&gt;half&lt;/b&gt;" in feedback and "<b>half" not in feedback
    assert "&lt;script&gt;" in feedback and "<script" not in feedback
    tests = json.loads((graded / "ana" / "results.json").read_text())["tests"]
    written = next(t for t in tests if t["name"].startswith(QUESTION))
    assert (written["score"], written["max_score"], written["output"]) == (2, 2, "clear and right")
    # the next review keeps what was scored (as the person typed it)
    run("review", "pooling", "--graded", graded)
    assert [(r["student_id"], r["points"]) for r in sheet(graded)] == [
        ("ana", "2"),
        ("bo", "1,5"),
        ("cy", "0"),
    ]


@pytest.mark.slow
def test_a_bad_sheet_changes_nothing_and_names_every_bad_row(graded):
    run("review", "pooling", "--graded", graded)
    before = {p: p.read_bytes() for p in graded.rglob("*") if p.is_file()}
    scores = write_sheet(
        graded / "review" / "filled.csv",
        [
            f"ana,{QUESTION},2,3,too many\n",
            f"zed,{QUESTION},2,1,\n",
            "bo,why-pooling,2,1,\n",
            f"bo,{QUESTION},2,lots,\n",
            f"cy,{QUESTION},2,-1,\n",
            f"bo,{QUESTION},2,1,\n",
            f"bo,{QUESTION},2,1,\n",
        ],
    )
    code, _, err = run("review", "pooling", "--graded", graded, "--import", scores)
    assert code == 2
    for words in (
        "nothing was imported",
        "line 2: points 3 is not between 0 and 2",
        "line 3: no graded student 'zed'",
        f"line 4: no written question 'why-pooling' in pooling (its questions: {QUESTION})",
        "line 5: points 'lots' is not a number",
        "line 6: points -1 is not between 0 and 2",
        "line 8: bo, max-pool-not-conv-answer is scored again (first on line 5)",
    ):
        assert words in err, err
    after = {p: p.read_bytes() for p in graded.rglob("*") if p.is_file() and p != scores}
    assert after == {p: b for p, b in before.items() if p != scores}
    bad_header = graded / "review" / "header.csv"
    bad_header.write_text("student,points\nana,1\n")
    code, _, err = run("review", "pooling", "--graded", graded, "--import", bad_header)
    assert code == 2 and "no column student_id, question; expected the header" in err


@pytest.mark.slow
def test_regrading_keeps_a_persons_scores_of_unchanged_answers(graded_class, graded):
    run("review", "pooling", "--graded", graded)
    scores = write_sheet(
        graded / "review" / "scores.csv",
        [f"ana,{QUESTION},2,1.5,good\n", f"bo,{QUESTION},2,0.5,\n"],
    )
    assert run("review", "pooling", "--graded", graded, "--import", scores)[0] == 0
    submissions = graded_class / "submissions"
    changed = edit_cell(load(source_path("pooling")), QUESTION, lambda s: "a new answer")
    save(changed, submissions.parent / "other" / "bo" / "pooling" / "pooling.ipynb")
    shutil.copytree(submissions / "ana", submissions.parent / "other" / "ana")
    code, _, err = run(
        "grade",
        "pooling",
        "--submissions",
        submissions.parent / "other",
        "--out",
        graded,
        "--workers",
        "1",
        "--force",
    )
    assert code == 0, err
    table = rows(graded)
    assert (table["ana"]["pending_manual"], table["bo"]["pending_manual"]) == ("0", "2")
    assert float(table["ana"]["score"]) == float(table["ana"]["max_score"]) - 0.5


def test_review_of_an_assignment_without_written_answers_says_so(tmp_path):
    (tmp_path / "grades.csv").write_text("student_id,assignment,score,max_score,status\n")
    code, _, err = run("review", "conv1d", "--graded", tmp_path)
    assert code == 2 and "conv1d has no written answers to review" in err
