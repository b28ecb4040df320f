"""`python -m autograder check`: what a learner sees."""

from __future__ import annotations

import subprocess
import sys

import pytest
from notebook_helpers import ROOT, edit_cell, load, released_path, save, source_path

from autograder.check import check_notebook, format_report

RELEASED = ROOT / "chapters" / "02-conv1d" / "conv1d.ipynb"


def run_check(path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "autograder", "check", str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )


def test_untouched_release_fails_with_one_line_per_part_and_names_the_next_step():
    done = run_check(RELEASED)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    for part in ("output-length", "same-padding", "conv1d-loop", "im2col"):
        line = next(line for line in lines if f" {part} " in line)
        assert line.startswith("✗") and "not written yet" in line
    hidden = [line for line in lines if line.startswith("·")]
    assert len(hidden) == 4 and all("hidden tests" in line for line in hidden)
    assert "Next: fix output-length" in done.stdout
    assert "\033[" not in done.stdout  # no colour codes when not on a terminal


def test_full_solution_passes_with_exit_code_zero(tmp_path):
    path = save(load(source_path("conv1d")), tmp_path / "conv1d.ipynb")
    done = run_check(path)
    assert done.returncode == 0, done.stdout
    assert "all 8 public parts pass" in done.stdout


def test_wrong_values_show_the_failing_configuration(tmp_path):
    nb = edit_cell(
        load(source_path("conv1d")),
        "conv1d-loop-solution",
        lambda s: s.replace("i * stride + j", "i + j"),
    )
    path = save(nb, tmp_path / "conv1d.ipynb")
    reports = {r.grade_id: r for r in check_notebook(path)}
    loop = reports["conv1d-loop"]
    assert loop.status == "failed"
    assert "stride=2" in loop.message and "wrong values" in loop.message
    assert "configuration: x.shape=(6,), w.shape=(3,)" in loop.message
    assert reports["im2col"].status == "passed"
    text = format_report(list(reports.values()), color=True)
    assert "\033[31m✗\033[0m" in text and "Next: fix" in text


def test_a_broken_solution_cell_is_named(tmp_path):
    nb = edit_cell(
        load(source_path("conv1d")),
        "same-padding-solution",
        lambda s: s.replace("out = -(-n // s)", "out = -(-n // s"),
    )
    reports = check_notebook(save(nb, tmp_path / "conv1d.ipynb"))
    broken = [r for r in reports if r.status == "broken"]
    assert [r.grade_id for r in broken] == ["same-padding-solution"]
    assert "SyntaxError" in broken[0].message


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"", "is empty"),
        (b"{not json", "not valid notebook JSON"),
        (b"[]", "not a notebook"),
    ],
)
def test_unreadable_notebooks_get_a_clear_error(tmp_path, content, reason):
    path = save(content, tmp_path / "conv1d.ipynb")
    done = run_check(path)
    assert done.returncode == 2 and reason in done.stderr


def test_missing_notebook(tmp_path):
    done = run_check(tmp_path / "nope.ipynb")
    assert done.returncode == 2 and "does not exist" in done.stderr


def test_an_exception_shows_only_the_values_the_learners_call_used(tmp_path):
    """The configuration of a call that raised lists the names on the test's line that hold
    values (x, w, b), never the check's keywords (call=...) or attributes (np.array)."""
    path = save(load(released_path("conv2d")), tmp_path / "conv2d.ipynb")
    loop = {r.grade_id: r for r in check_notebook(path)}["conv2d-loop"]
    assert "NotImplementedError: not written yet" in loop.message
    assert "raised in your conv2d_loop (line 16 of cell 'conv2d-loop-solution')" in loop.message
    config = next(line for line in loop.message.splitlines() if "configuration:" in line)
    assert config.strip() == (
        "configuration: x.shape=(1, 2, 3, 3), w.shape=(1, 2, 2, 2), b.shape=(1,)"
    ), config


def test_an_exception_inside_a_checks_lambda_fails_that_check_alone(tmp_path):
    """conv1d's checks call the learner's function in a lambda: the untouched release fails
    every check of a part, each with the call, its configuration and the learner's line."""
    path = save(load(released_path("conv1d")), tmp_path / "conv1d.ipynb")
    loop = {r.grade_id: r for r in check_notebook(path)}["conv1d-loop"]
    assert loop.earned == 0 and len(loop.checks) == 8
    assert all(c.not_written for c in loop.checks)
    assert not any(c.passed for c in loop.checks)
    first = loop.message.splitlines()
    assert first[0] == (
        "conv1d_loop(x, w) raised NotImplementedError: not written yet (replace "
        "`raise NotImplementedError()` with your code)"
    )
    assert "configuration: x.shape=(6,), w.shape=(3,), stride=1, padding=0" in loop.message
    assert "raised in conv1d_loop (line 15 of its cell): raise NotImplementedError()" in (
        loop.message
    )
