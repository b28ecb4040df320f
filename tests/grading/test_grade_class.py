"""End-to-end grading: honest, wrong, broken and hostile submissions in one class.

Every submission gets the grade it deserves and a row in grades.csv, and no submission changes
another one's grade.
"""

from __future__ import annotations

import csv
import json
import time

import pytest
from notebook_helpers import ASSIGNMENTS, ROOT, edit_cell, load, save, source_path

from autograder.grading import CSV_COLUMNS, grade_assignment

# one worker grades the class (the others would grade it again)
pytestmark = pytest.mark.xdist_group("grade_class")

RELEASED = ROOT / "chapters" / "02-conv1d" / "conv1d.ipynb"


def conv1d_class() -> dict[str, object]:
    """Submissions for conv1d: student id -> notebook (dict), raw text/bytes, or None (absent)."""
    src = load(source_path("conv1d"))
    loop = "conv1d-loop-solution"
    return {
        "full": src,
        "released": load(RELEASED),
        "empty-file": b"",
        "not-json": '{"cells": [',
        "json-not-notebook": "[1, 2, 3]",
        "wrong-stride": edit_cell(src, loop, lambda s: s.replace("i * stride + j", "i + j")),
        "exits-process": edit_cell(
            src,
            loop,
            lambda s: s.replace(
                "    n, k = len(x), len(w)",
                "    import os\n    os._exit(3)\n    n, k = len(x), len(w)",
            ),
        ),
        "sys-exit": edit_cell(
            src,
            loop,
            lambda s: s.replace(
                "    n, k = len(x), len(w)",
                "    import sys\n    sys.exit(0)\n    n, k = len(x), len(w)",
            ),
        ),
        "hangs-in-im2col": edit_cell(
            src,
            "im2col-solution",
            lambda s: s.replace(
                "    o = (len(x) - k) // stride + 1", "    while True:\n        pass"
            ),
        ),
        "syntax-error": edit_cell(
            src, "same-padding-solution", lambda s: s.replace("out = -(-n // s)", "out = -(-n // s")
        ),
        "asks-input": edit_cell(src, "output-length-solution", lambda s: "input('n? ')\n" + s),
        "floods-output": edit_cell(
            src, "output-length-solution", lambda s: "print('x' * 10_000_000)\n" + s
        ),
        "edits-test": edit_cell(
            edit_cell(src, loop, lambda s: s.replace("i * stride + j", "i + j")),
            "conv1d-loop",
            lambda s: "print('all good')\n",
        ),
        "fakes-checker": edit_cell(
            src,
            "im2col-solution",
            lambda s: s.replace(
                "    idx = np.arange(o)",
                "    import autograder.checks as c\n"
                "    c.check_no_python_loops = lambda f: None\n    idx = np.arange(o)",
            ).replace(
                "    return x[idx]",
                "    return np.array([x[i:i + k] for i in range(0, o * stride, stride)])",
            ),
        ),
        "silences-checks": edit_cell(
            edit_cell(src, loop, lambda s: s.replace("i * stride + j", "i + j")),
            "output-length-solution",
            lambda s: (
                "import autograder.checks as c\n"
                "c.check_array = c.check_value = lambda *args, **kwargs: None\n" + s
            ),
        ),
        "fakes-success-output": edit_cell(
            edit_cell(src, loop, lambda s: s.replace("i * stride + j", "i + j")),
            "output-length-solution",
            lambda s: (
                "import builtins\nbuiltins.AssertionError = type('Nope', (Exception,), {})\n" + s
            ),
        ),
        "no-folder": None,
    }


# student id -> (score, status); conv1d is worth 15: output length 1+1, same padding 1+2,
# loop 2+3, im2col 2+3. A part that calls a function of an earlier part is graded with a correct
# version of it (a mistake is charged once, in its own part).
EXPECTED = {
    "full": (15, "ok"),
    "released": (0, "ok"),
    "empty-file": (0, "invalid-notebook"),
    "not-json": (0, "invalid-notebook"),
    "json-not-notebook": (0, "invalid-notebook"),
    "wrong-stride": (12.1, "ok"),
    "exits-process": (10, "crashed"),  # the process dies in the loop tests; later parts survive
    "sys-exit": (10, "ok"),
    "hangs-in-im2col": (10, "timeout"),
    # same_padding undefined: its own part fails; later parts use a correct one (charged once)
    "syntax-error": (12, "ok"),
    "asks-input": (13, "ok"),  # output_length undefined: only its own part fails
    "floods-output": (15, "ok"),
    "edits-test": (12.1, "tampered"),  # the instructor's test runs and still fails the wrong loop
    # imports autograder.checks to patch check_no_python_loops (and loops in im2col): a forbidden
    # import, so the im2col parts earn 0 whatever the loops; the grader reads the source anyway
    "fakes-checker": (10, "forbidden"),
    # imports autograder.checks to silence every check: the import is refused (the checks keep
    # recording), the output-length parts break their rule (0); the other parts are graded as
    # usual: same padding and im2col right (8), the wrong loop keeps its stride-1 checks' share
    "silences-checks": (10.1, "forbidden"),
    # replaces builtins.AssertionError: `builtins` is off limits (output length: 0), and the
    # wrong loop keeps only its stride-1 checks' share: 8 + 2.1
    "fakes-success-output": (10.1, "forbidden"),
    "no-folder": (0, "missing"),
}


@pytest.fixture(scope="session")  # once per worker, even if other modules' tests run in between
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("class")
    submissions = base / "submissions"
    for student, nb in conv1d_class().items():
        folder = submissions / student
        if nb is None:
            (folder / "other-assignment").mkdir(parents=True)
            continue
        save(nb, folder / "conv1d" / "conv1d.ipynb")
    out = base / "out"
    results = grade_assignment("conv1d", submissions, out, workers=2, seed=12345, cell_timeout=10)
    return {r.student_id: r for r in results}, out, submissions


@pytest.mark.slow
@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_submission_gets_the_grade_it_deserves(graded, student):
    results, _, _ = graded
    score, status = EXPECTED[student]
    result = results[student]
    assert (result.score, result.status) == (score, status), (result.reason, result.parts)


@pytest.mark.slow
def test_a_part_that_timed_out_pays_the_limit_once(graded):
    """im2col hangs: its public test runs into the cell limit; its hidden tests, which call the
    same code, are not run again into the same wall; the other parts are graded as usual."""
    results, _, _ = graded
    parts = {p.grade_id: p for p in results["hangs-in-im2col"].parts}
    assert parts["im2col"].status == "timeout"
    hidden = parts["im2col-hidden"]
    assert hidden.status == "not-run" and hidden.earned == 0
    assert "the same code ran past the time limit in the tests just before" in hidden.message
    assert all(p.status == "passed" for g, p in parts.items() if not g.startswith("im2col"))
    assert results["hangs-in-im2col"].seconds < 2 * 10  # one cell limit of 10 s, not two


@pytest.mark.slow
def test_grades_csv_has_one_row_per_student(graded):
    _, out, _ = graded
    with (out / "grades.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == CSV_COLUMNS
    assert sorted(r["student_id"] for r in rows) == sorted(EXPECTED)
    assert {r["max_score"] for r in rows} == {"15"}
    assert all(r["status"] == "ok" or r["reason"] for r in rows), "every problem has a reason"


@pytest.mark.slow
def test_feedback_never_shows_hidden_tests(graded):
    _, out, _ = graded
    source = load(source_path("conv1d"))
    hidden = [c for c in source["cells"] if "BEGIN HIDDEN TESTS" in "".join(c["source"])]
    secret_lines = {
        line.strip()
        for c in hidden
        for line in "".join(c["source"]).splitlines()
        if len(line.strip()) > 20 and not line.strip().startswith(("#", "from ", "import "))
    }
    for student in EXPECTED:
        html = (out / student / "feedback.html").read_text()
        assert not [line for line in secret_lines if line in html], student
        assert "grading_rng" not in html
    wrong = (out / "wrong-stride" / "feedback.html").read_text()
    # a hidden part says how many checks failed, not the hint the notebook already shows
    assert "the hidden tests failed" in wrong and "Hint:" not in wrong
    assert "returned the wrong values" in wrong  # public-test detail is shown


@pytest.mark.slow
def test_rerun_skips_graded_students_and_force_regrades(graded, tmp_path):
    results, out, submissions = graded
    before = (out / "full" / "result.json").stat().st_mtime_ns
    again = grade_assignment("conv1d", submissions, out, workers=1, seed=1, cell_timeout=3)
    assert {r.student_id: (r.score, r.status, r.seed) for r in again} == {
        s: (r.score, r.status, r.seed) for s, r in results.items()
    }
    assert (out / "full" / "result.json").stat().st_mtime_ns == before
    one = tmp_path / "one"
    save(load(source_path("conv1d")), one / "full" / "conv1d" / "conv1d.ipynb")
    first = grade_assignment("conv1d", one, tmp_path / "o", workers=1, seed=99)
    forced = grade_assignment("conv1d", one, tmp_path / "o", workers=1, seed=99, force=True)
    assert [(r.score, r.seed, [p.status for p in r.parts]) for r in first] == [
        (r.score, r.seed, [p.status for p in r.parts]) for r in forced
    ]


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_source_earns_full_marks_and_release_earns_zero(assignment, tmp_path):
    src = source_path(assignment)
    chapter = ROOT / load(src)["metadata"]["autograder"]["chapter"]
    save(load(src), tmp_path / "subs" / "instructor" / assignment / src.name)
    save(load(chapter / src.name), tmp_path / "subs" / "untouched" / assignment / src.name)
    results = {
        r.student_id: r
        for r in grade_assignment(assignment, tmp_path / "subs", tmp_path / "out", workers=2)
    }
    full = results["instructor"]
    assert full.max_score > 0
    # every autograded point; the model answers of written questions wait for a person
    assert (full.score, full.status) == (full.max_score - full.pending_manual, "ok"), full.parts
    assert full.pending_manual == sum(p.points for p in full.parts if p.manual)
    untouched = results["untouched"]
    assert (untouched.score, untouched.status, untouched.pending_manual) == (0, "ok", 0)


def test_grade_rejects_a_missing_submissions_folder(tmp_path):
    with pytest.raises(ValueError, match="is not a folder"):
        grade_assignment("conv1d", tmp_path / "nope", tmp_path / "out")


def test_result_json_round_trips(graded):
    _, out, _ = graded
    data = json.loads((out / "exits-process" / "result.json").read_text())
    assert data["status"] == "crashed" and "exited with code 3" in data["reason"]
    assert [p["grade_id"] for p in data["parts"] if p["status"] == "crashed"] == [
        "conv1d-loop",
        "conv1d-loop-hidden",
    ]


def test_a_failing_expectation_run_stops_the_learners_started_early(tmp_path, monkeypatch):
    """Once a grading run has warmed the numba cache for a source, the next one starts the
    learners' runs while the expectations are recorded. If that fails, grading stops with the
    instructor's error and no learner gets a result."""
    from autograder.grading import assignment, expectations

    src = load(source_path("conv1d"))
    submissions = tmp_path / "submissions"
    for name in ("a", "b", "c"):
        save(src, submissions / name / "conv1d" / "conv1d.ipynb")
    grade_assignment("conv1d", submissions, tmp_path / "first", workers=2, seed=5)

    def failing(*args, **kwargs):
        time.sleep(1)  # the learners run meanwhile
        raise ValueError("conv1d.ipynb: test cell 'x' fails with the instructor's solution")

    monkeypatch.setattr(assignment, "record_expectations", failing)
    with pytest.raises(ValueError, match="fails with the instructor"):
        grade_assignment("conv1d", submissions, tmp_path / "out", workers=2, seed=6)
    assert (tmp_path / "out" / ".expectations" / "6" / expectations.FAILED_MARKER).exists()
    assert not list((tmp_path / "out").glob("*/result.json"))
