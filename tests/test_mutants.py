"""The mistake catalogue (``tests/mutants/``) holds: every mutant loses points, check names it.

For each assignment, every mutant of its catalogue is handed in as a learner would (the
released notebook with the mutant's solutions) and

* graded, the whole catalogue as one class with the correct solution as a control: each mutant
  loses points in exactly the parts it declares (``loses``) and keeps every other part's, so a
  mistake is charged once; the control earns full marks;
* checked (``python -m autograder check``, the parts it breaks: ``check.part``, whose lines are
  those of a whole check): each mutant that declares ``check_says`` fails a public part and the
  report names its kind of mistake with those words; the others pass (a public test that starts
  catching one should say so in the catalogue).
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from mutants import ASSIGNMENTS, apply_edits, catalogue, mutant_notebook
from notebook_helpers import grade_class, load, save, source_path

from autograder.check import check_notebook, format_report
from autograder.grading import PartStatus
from autograder.notebooks import grade_id, is_test_cell, read_notebook

CONTROL = "control"
MINIMUM, CHECKED_SHARE = 10, 0.8

CASES = [(a, m.name) for a in ASSIGNMENTS for m in catalogue(a)]


def _mutant(assignment: str, name: str):
    (found,) = [m for m in catalogue(assignment) if m.name == name]
    return found


@functools.cache
def _parts(assignment: str) -> frozenset[str]:
    nb = read_notebook(source_path(assignment))
    return frozenset(grade_id(c) for c in nb.cells if is_test_cell(c))


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_catalogue_is_complete_and_applies(assignment):
    mutants = catalogue(assignment)
    assert len(mutants) >= MINIMUM, f"{assignment}: {len(mutants)} mutants, want {MINIMUM}"
    names = [m.name for m in mutants]
    assert len(set(names)) == len(names), "mutant names must be unique"
    flagged = [m for m in mutants if m.check_says]
    assert len(flagged) >= CHECKED_SHARE * len(mutants), (
        f"{assignment}: check flags {len(flagged)} of {len(mutants)} mutants"
    )
    parts = _parts(assignment)
    source = load(source_path(assignment))
    texts = set()
    for mutant in mutants:
        assert mutant.loses, f"{mutant.name} must lose points somewhere"
        assert mutant.loses <= parts, f"{mutant.name}: unknown parts {mutant.loses - parts}"
        assert any(p.endswith("-hidden") or f"{p}-hidden" not in parts for p in mutant.loses), (
            f"{mutant.name}: the hidden tests must catch it too"
        )
        text = str(apply_edits(source, mutant)["cells"])
        assert text not in texts, f"{mutant.name} is the same submission as another mutant"
        texts.add(text)


def _graded(assignment: str, base: Path) -> dict:
    notebooks = {m.name: mutant_notebook(assignment, m) for m in catalogue(assignment)}
    notebooks[CONTROL] = mutant_notebook(assignment, None)
    return grade_class(base, assignment, notebooks, seed=20261205)


@pytest.fixture(scope="session")  # once per worker, even if other modules' tests run in between
def graded(tmp_path_factory):
    """Grades an assignment's catalogue once (per pytest process), on first use."""

    @functools.cache
    def grade(assignment: str) -> dict:
        return _graded(assignment, tmp_path_factory.mktemp(f"graded-{assignment}"))

    return grade


def _check_one(folder: Path, assignment: str, name: str) -> tuple[str, bool]:
    """What ``check`` prints for the public parts whose functions the mutant breaks (the lines a
    whole check prints for them: ``check.part``, which skips the other parts' test cells, such
    as a training run), and whether they pass."""
    mutant = _mutant(assignment, name)
    path = save(mutant_notebook(assignment, mutant), folder / name / "nb.ipynb")
    public = _parts(assignment)
    parts = sorted({p.removesuffix("-hidden") for p in mutant.loses} & public)
    reports = check_notebook(path, parts=parts)
    shown = [r for r in reports if r.status not in (PartStatus.HIDDEN, PartStatus.BROKEN)]
    assert shown, f"{name}: no public part to check"
    return format_report(reports, color=False), all(r.status == PartStatus.PASSED for r in shown)


def _checked(assignment: str, folder: Path) -> dict[str, tuple[str, bool]]:
    # one at a time: pytest-xdist already keeps each core busy, and Python 3.11's ``ast`` is not
    # thread-safe (parallel parses raise "AST constructor recursion depth mismatch")
    return {m.name: _check_one(folder, assignment, m.name) for m in catalogue(assignment)}


@pytest.fixture(scope="session")  # once per worker, even if other modules' tests run in between
def checked(tmp_path_factory):
    """Checks an assignment's mutants once (per pytest process), on first use."""

    @functools.cache
    def check(assignment: str) -> dict:
        return _checked(assignment, tmp_path_factory.mktemp(f"checked-{assignment}"))

    return check


def _group(assignment: str):
    return pytest.mark.xdist_group(f"mutants-{assignment}")


@pytest.mark.slow
@pytest.mark.parametrize("assignment", [pytest.param(a, marks=_group(a)) for a in ASSIGNMENTS])
def test_the_correct_solution_earns_full_marks(graded, assignment):
    control = graded(assignment)[CONTROL]
    assert (control.score, control.status) == (control.autograded_max(), "ok"), control.parts


@pytest.mark.slow
@pytest.mark.parametrize(
    ("assignment", "name"), [pytest.param(a, n, marks=_group(a)) for a, n in CASES]
)
def test_mutant_loses_points_in_exactly_its_parts(graded, assignment, name):
    mutant = _mutant(assignment, name)
    result = graded(assignment)[name]
    assert result.status == "ok", result.reason
    # written answers are scored by a person, never by grading: pending, not lost
    lost = {p.grade_id for p in result.parts if p.earned < p.points and not p.manual}
    assert lost == mutant.loses, (
        f"{name} ({mutant.mistake}) lost points in {sorted(lost)}, declared {sorted(mutant.loses)}"
        + "".join(f"\n  {p.grade_id}: {p.message}" for p in result.parts if p.grade_id in lost)
    )
    if mutant.hidden_passes:
        (hidden,) = [p.message for p in result.parts if p.hidden and p.grade_id in lost]
        passed = hidden.partition("; passed for ")[2]  # kinds joined by ", " (a kind may hold one)
        assert "failed for " in hidden and f", {mutant.hidden_passes}," in f", {passed},", hidden


@pytest.mark.slow
@pytest.mark.parametrize(
    ("assignment", "name"), [pytest.param(a, n, marks=_group(a)) for a, n in CASES]
)
def test_check_names_the_mistake(checked, assignment, name):
    mutant = _mutant(assignment, name)
    report, passed = checked(assignment)[name]
    if mutant.check_says is None:
        assert passed, f"check now flags {name}: declare what it says\n{report}"
    else:
        assert not passed, f"check does not flag {name} ({mutant.mistake})\n{report}"
        assert mutant.check_says in report, f"{name} ({mutant.mistake}):\n{report}"
