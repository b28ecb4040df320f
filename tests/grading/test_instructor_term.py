"""An instructor's term, end to end on one small class of conv1d: ``grade`` with a due time, a
late policy and extensions, each student's Gradescope ``results.json``, ``export`` to Canvas
from the real grades, and the Gradescope bundle run the way Gradescope runs it.

The class is graded once for the module (through the command line, as an instructor would).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

import pytest
from notebook_helpers import ROOT, edit_cell, load, save, source_path

from autograder.__main__ import main
from autograder.gradescope.run import lay_out, uploaded_notebooks

# one worker grades the class (the others would grade it again)
pytestmark = pytest.mark.xdist_group("instructor_term")

DUE = "2026-12-01T17:00:00+00:00"
POLICY = "linear:10%/h,max:50%"
# student -> (notebook edit, timestamp.txt or None)
WRONG_STRIDE = ("conv1d-loop-solution", lambda s: s.replace("i * stride + j", "i + j"))
CLASS = {
    "ana": (None, "2026-12-01 16:59:59.999999 UTC"),
    "bo": (WRONG_STRIDE, "2026-12-01 19:00:00.000000 UTC"),  # 2 h late: 20% off 11.8 points
    "cy": (None, "the day before yesterday"),
    "dee": (None, "2026-12-01T22:00:00+00:00"),  # 5 h late, with a 6 h extension
    "eve": (None, None),
}
# student -> (score, raw_score, late_hours, penalty, words in the note)
EXPECTED = {
    "ana": ("15", "15", "0", "0", "on time"),
    "bo": (
        "9.44",
        "11.8",
        "2",
        "2.36",
        "2 h after the due time: 20% off",
    ),  # seed 1: partial credit
    "cy": ("15", "15", "", "0", "is not a date-time"),
    "dee": ("15", "15", "0", "0", "on time (extended to 2026-12-01T23:00:00+00:00)"),
    "eve": ("15", "15", "", "0", "no timestamp.txt in the submission"),
}
GRADESCOPE_KEYS = {
    "score",
    "execution_time",
    "output",
    "visibility",
    "stdout_visibility",
    "extra_data",
    "tests",
    "leaderboard",
}
TEST_KEYS = {
    "score",
    "max_score",
    "status",
    "name",
    "name_format",
    "number",
    "output",
    "output_format",
    "tags",
    "visibility",
    "extra_data",
}
VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}


def notebook(edit):
    src = load(source_path("conv1d"))
    return src if edit is None else edit_cell(src, *edit)


def grade(submissions, out, *options) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(
            ["grade", "conv1d", "--submissions", str(submissions), "--out", str(out)]
            + ["--workers", "2", "--timeout", "10", *options]
        )
    return code, err.getvalue()


@pytest.fixture(scope="session")  # once per worker, even if other modules' tests run in between
def term(tmp_path_factory):
    base = tmp_path_factory.mktemp("term")
    submissions = base / "submissions"
    for student, (edit, stamp) in CLASS.items():
        folder = submissions / student / "conv1d"
        save(notebook(edit), folder / "conv1d.ipynb")
        if stamp is not None:
            (folder / "timestamp.txt").write_text(stamp + "\n")
    extensions = base / "extensions.csv"
    extensions.write_text("student_id,hours\ndee,6\nzed,3\n")
    out = base / "graded"
    code, err = grade(
        submissions,
        out,
        "--seed",
        "7",
        "--due",
        DUE,
        "--late-policy",
        POLICY,
        "--extensions",
        str(extensions),
    )
    assert code == 0, err
    return base, submissions, out, err


def rows(out):
    with (out / "grades.csv").open(newline="") as handle:
        return {r["student_id"]: r for r in csv.DictReader(handle)}


@pytest.mark.slow
@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_lateness_and_its_penalty_are_in_grades_csv(term, student):
    _, _, out, _ = term
    row = rows(out)[student]
    score, raw, hours, penalty, words = EXPECTED[student]
    assert list(row)[:5] == ["student_id", "assignment", "score", "max_score", "status"]
    assert (row["score"], row["raw_score"], row["late_hours"], row["penalty"]) == (
        score,
        raw,
        hours,
        penalty,
    )
    assert words in row["note"] and row["status"] == "ok" and row["pending_manual"] == "0"
    if student in ("cy", "eve"):
        assert "lateness unknown, no penalty taken" in row["note"]


@pytest.mark.slow
def test_feedback_says_how_late_and_what_it_cost(term):
    _, _, out, _ = term
    page = (out / "bo" / "feedback.html").read_text()
    assert "2 h after the due time: 20% off" in page
    assert "11.8 points earned, 2.36 taken off" in page


@pytest.mark.slow
def test_an_extension_for_someone_without_a_submission_is_reported(term):
    *_, err = term
    assert "--extensions names 1 student(s) with no submission folder (a typo?): zed" in err


@pytest.mark.slow
@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_student_has_a_gradescope_results_json(term, student):
    _, _, out, _ = term
    data = json.loads((out / student / "results.json").read_text())
    assert set(data) <= GRADESCOPE_KEYS
    assert data["score"] == float(EXPECTED[student][0])
    tests = data["tests"]
    assert tests and all(set(t) <= TEST_KEYS for t in tests)
    assert all(t["visibility"] in VISIBILITIES for t in tests)
    assert sum(t["max_score"] for t in tests) == 15
    assert round(sum(t["score"] for t in tests), 2) == float(EXPECTED[student][1])
    for test in tests:
        hidden = test["name"].split(" ")[0].endswith("-hidden")
        assert test["visibility"] == ("after_published" if hidden else "visible")
        assert isinstance(test["output"], str) and isinstance(test["score"], float)
    if student == "bo":
        assert "20% off" in data["output"]
        loop = next(t for t in tests if t["name"].startswith("conv1d-loop "))
        assert loop["status"] == "failed" and "returned the wrong values" in loop["output"]


@pytest.mark.slow
def test_a_new_due_time_or_policy_rescores_without_grading_again(term, tmp_path):
    _, submissions, out, _ = term
    again = tmp_path / "graded"
    shutil.copytree(out, again)
    before = json.loads((again / "bo" / "result.json").read_text())
    code, _ = grade(submissions, again, "--due", "2026-12-01T18:00:00Z", "--late-policy", "zero")
    assert code == 0
    table = rows(again)
    assert (table["bo"]["score"], table["bo"]["late_hours"]) == ("0", "1")
    assert table["ana"]["score"] == "15"
    after = json.loads((again / "bo" / "result.json").read_text())
    assert (after["seed"], after["seconds"]) == (before["seed"], before["seconds"])  # not regraded
    assert json.loads((again / "bo" / "results.json").read_text())["score"] == 0


def test_a_late_policy_without_a_due_time_is_refused(tmp_path, capsys):
    (tmp_path / "s").mkdir()
    argv = ["grade", "conv1d", "--submissions", str(tmp_path / "s"), "--out", str(tmp_path / "o")]
    assert main([*argv, "--late-policy", "zero"]) == 2
    assert "--late-policy zero needs --due" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*argv, "--due", "2026-12-01 17:00"])  # no zone
    assert "has no time zone" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_export_to_canvas_from_the_real_grades(term, tmp_path):
    _, _, out, _ = term
    roster = tmp_path / "canvas.csv"
    roster.write_text(
        "Student,ID,SIS User ID,SIS Login ID,Section,conv1d (4242)\n"
        "    Points Possible,,,,,\n"
        + "".join(f"{s.title()},{i},S{i},{s},A,\n" for i, s in enumerate(CLASS))
        + "Fay,9,S9,fay,A,\n"
    )
    assert (
        main(
            ["export", "conv1d", "--graded", str(out), "--roster", str(roster)]
            + ["--format", "canvas", "--out", str(tmp_path / "up.csv")]
        )
        == 0
    )
    with (tmp_path / "up.csv").open(newline="") as handle:
        table = list(csv.reader(handle))
    assert [r[5] for r in table[1:]] == ["15", "15", "9.44", "15", "15", "15", ""]


@pytest.mark.slow
def test_the_gradescope_bundle_grades_a_submission_as_gradescope_would(tmp_path, request):
    """Build the bundle, lay out a root as Gradescope does (source/ unzipped, run_autograder
    beside it, the upload in submission/) and run run_autograder with AUTOGRADER_ROOT."""
    bundle = tmp_path / "autograder.zip"
    assert main(["gradescope", "conv1d", "--out", str(bundle)]) == 0
    # Not under pytest's folder: the sandbox cannot show the learner's process a project that
    # lies under a folder only root may enter in /tmp (pytest's is 0700); /autograder is not.
    root = Path(tempfile.mkdtemp(prefix="gradescope-root-"))
    root.chmod(0o755)
    request.addfinalizer(lambda: shutil.rmtree(root, ignore_errors=True))
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        assert {"setup.sh", "run_autograder", "requirements.txt"} <= names
        assert "solutions/conv1d/conv1d.ipynb" in names
        assert not any(n.startswith(("solutions/pooling", "chapters/", ".git")) for n in names)
        assert archive.getinfo("run_autograder").external_attr >> 16 == 0o755
        archive.extractall(root / "source")
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    save(notebook(WRONG_STRIDE), root / "submission" / "work" / "conv1d.ipynb")
    (root / "submission" / "notes.txt").write_text("not a notebook")
    env = {
        **os.environ,
        "AUTOGRADER_ROOT": str(root),
        "AUTOGRADER_PYTHON": str(ROOT / ".venv" / "bin" / "python"),
    }
    done = subprocess.run(
        ["bash", str(root / "run_autograder")], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads((root / "results" / "results.json").read_text())
    assert set(data) <= GRADESCOPE_KEYS
    by_name = {t["name"]: t for t in data["tests"]}
    public, hidden = (
        by_name["conv1d-loop (conv1d.ipynb)"],
        by_name["conv1d-loop-hidden (conv1d.ipynb)"],
    )
    assert public["status"] == hidden["status"] == "failed"
    # the stride is ignored: 3 of the 8 public checks have stride > 1; the hidden cases are
    # drawn from a seed chosen for this run, so only their bounds are known
    assert public["score"] == 1.25 and 0 < hidden["score"] < 3
    assert data["score"] == round(15 - 2 - 3 + public["score"] + hidden["score"], 2)
    assert data["score"] == round(sum(t["score"] for t in data["tests"]), 2)
    assert by_name["conv1d-loop-hidden (conv1d.ipynb)"]["visibility"] == "after_published"
    assert by_name["im2col (conv1d.ipynb)"]["score"] == 2.0
    # a second build is byte-identical (a deterministic archive)
    assert main(["gradescope", "conv1d", "--out", str(tmp_path / "again.zip")]) == 0
    assert (tmp_path / "again.zip").read_bytes() == bundle.read_bytes()


def test_an_upload_is_read_without_following_links(tmp_path):
    upload = tmp_path / "submission"
    save(load(source_path("conv1d")), upload / "deep" / "conv1d.ipynb")
    save(load(source_path("conv1d")), upload / "conv1d.ipynb")
    (upload / ".hidden.ipynb").write_text("{}")
    os.symlink(ROOT / "solutions" / "conv1d" / "conv1d.ipynb", upload / "link.ipynb")
    assert [p.relative_to(upload).as_posix() for p in uploaded_notebooks(upload)] == [
        "conv1d.ipynb",
        "deep/conv1d.ipynb",
    ]
    notes = lay_out("conv1d", upload, tmp_path / "laid")
    assert sorted(p.name for p in (tmp_path / "laid" / "submission" / "conv1d").iterdir()) == [
        "conv1d.ipynb"
    ]
    assert notes == ["deep/conv1d.ipynb was not graded: another conv1d.ipynb was"]


def test_a_bundle_needs_a_zip_name_and_a_known_assignment(tmp_path, capsys):
    assert main(["gradescope", "conv1d", "--out", str(tmp_path / "a.tar")]) == 2
    assert "Gradescope takes a .zip file" in capsys.readouterr().err
    assert main(["gradescope", "nope", "--out", str(tmp_path / "a.zip")]) == 2
    assert "unknown assignment 'nope'" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
