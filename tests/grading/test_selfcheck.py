"""Before anyone is graded, the instructor's own source goes through the learner's path."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from notebook_helpers import load, save, source_path

from autograder.execution import sandbox
from autograder.execution.cells import Isolation, run_cells
from autograder.execution.users import SandboxUser
from autograder.grading import SelfCheckError, grade_assignment, sources


@pytest.fixture
def numpy_hidden_from_learners(monkeypatch):
    """A grading environment broken the way a misplaced installation breaks it: a package the
    learner's process needs is hidden from it (here numpy, on purpose)."""
    import numpy

    hidden = (*sources.instructor_only(), Path(numpy.__file__).parent)
    monkeypatch.setattr(sources, "instructor_only", lambda: hidden)
    sources._load.cache_clear()
    yield
    sources._load.cache_clear()


def test_a_broken_environment_grades_no_one_and_says_what_is_hidden(
    tmp_path, numpy_hidden_from_learners
):
    assert sandbox.available(), "needs Linux and root, as CI has"
    for student in ("a", "b"):
        save(load(source_path("conv1d")), tmp_path / "subs" / student / "conv1d" / "conv1d.ipynb")
    with pytest.raises(SelfCheckError) as info:
        grade_assignment("conv1d", tmp_path / "subs", tmp_path / "out", workers=1, seed=4)
    message = str(info.value)
    assert "the instructor's own source notebook earned" in message and "/15" in message
    assert "ModuleNotFoundError" in message or "No module named 'numpy'" in message
    assert "site-packages/numpy" in message  # the hidden path it needed
    assert not (tmp_path / "out" / "grades.csv").exists()
    assert not list((tmp_path / "out").glob("*/result.json"))


def test_the_command_line_exits_non_zero(tmp_path, numpy_hidden_from_learners, capsys):
    from autograder.__main__ import main

    save(load(source_path("conv1d")), tmp_path / "subs" / "a" / "conv1d" / "conv1d.ipynb")
    code = main(
        [
            "grade",
            "conv1d",
            "--submissions",
            str(tmp_path / "subs"),
            "--out",
            str(tmp_path / "out"),
            "--workers",
            "1",
            "--seed",
            "4",
        ]
    )
    assert code == 3
    assert "no one was graded" in capsys.readouterr().err


def test_packages_reached_through_a_symbolic_link_into_tmp_stay_visible(tmp_path, monkeypatch):
    """The learner's Python may live behind a link into a folder the sandbox hides (a virtual
    environment linked into /tmp): the real paths of its package folders are mounted back."""
    real = Path("/tmp") / f"autograder-real-site-{os.getpid()}" / "site-packages"
    (real / "linkedpkg").mkdir(parents=True, exist_ok=True)
    (real / "linkedpkg" / "__init__.py").write_text("VALUE = 42\n")
    link = Path("/opt") / f"autograder-linked-site-{os.getpid()}"
    link.unlink(missing_ok=True)
    link.symlink_to(real)
    try:
        monkeypatch.setattr(sys, "path", [*sys.path, str(link)])
        monkeypatch.setenv("PYTHONPATH", str(link))
        scratch = tmp_path / "scratch"
        scratch.mkdir()
        result = run_cells(
            [(0, "import linkedpkg\nassert linkedpkg.VALUE == 42")],
            scratch,
            cell_timeout=30,
            isolation=Isolation(hide=(), user=SandboxUser(), use_zygote=False),
        )
        assert result.outcomes[0].status == "ok", result.output[-2000:]
    finally:
        link.unlink(missing_ok=True)
