"""Splicing: the instructor's cells with the learner's solutions in, and tampering as data."""

from __future__ import annotations

import ast
import copy

import nbformat
import pytest
from notebook_helpers import edit_cell, load, source_path

from autograder.grading.sources import load_source
from autograder.grading.splicing import TamperKind, splice

PREPARED = load_source(source_path("conv1d"))


def spliced(nb: dict):
    return splice(PREPARED, nbformat.from_dict(copy.deepcopy(nb)))


def source() -> dict:
    nb = load(source_path("conv1d"))
    for cell in nb["cells"]:
        cell["source"] = (
            "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        )
    return nb


def kinds(result) -> list[tuple[TamperKind, str]]:
    return [(t.kind, t.grade_id) for t in result.tampering]


def check_calls(text: str) -> list[ast.Call]:
    """The ``check_*(...)`` calls in a test cell's text."""
    tree = ast.parse(text)
    return [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Name)
        and n.func.id.startswith("check_")
    ]


def expected_argument(call: ast.Call) -> ast.expr | None:
    if len(call.args) > 1:
        return call.args[1]
    return next((k.value for k in call.keywords if k.arg == "expected"), None)


def test_the_source_spliced_into_itself_is_untouched_and_runs_no_expected_value():
    result = spliced(source())
    assert result.tampering == [] and result.notes == []
    tests = [text for index, text in result.cells if index not in result.solutions]
    assert not any("reference" in t or "ref." in t for t in tests)
    # the learner's call stays a lambda (so a failure is one check's); the expected value is gone
    expected = [expected_argument(call) for t in tests for call in check_calls(t)]
    assert expected and not any(isinstance(e, ast.Lambda) for e in expected)
    assert any(isinstance(e, ast.Constant) and e.value is None for e in expected)
    assert result.solutions and all("BEGIN SOLUTION" in t for t in result.solutions.values())


def test_the_learners_solution_cells_are_used_and_nothing_else():
    nb = edit_cell(source(), "conv1d-loop-solution", lambda s: s + "\nMARK = 1")
    nb = edit_cell(nb, "conv1d-loop", lambda s: "print('all good')")
    result = spliced(nb)
    assert any("MARK = 1" in t for t in result.solutions.values())
    assert not any("all good" in t for _, t in result.cells)
    assert kinds(result) == [(TamperKind.EDITED_LOCKED, "conv1d-loop")]


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda nb: nb["cells"].pop(4), [(TamperKind.DELETED, "output-length")]),
        (
            lambda nb: nb["cells"].insert(4, copy.deepcopy(nb["cells"][3])),
            [(TamperKind.DUPLICATE_ID, "output-length-solution")],
        ),
        (
            lambda nb: nb["cells"][4]["metadata"]["nbgrader"].update(points=100),
            [(TamperKind.CHANGED_POINTS, "output-length")],
        ),
        (
            lambda nb: nb["cells"][4].update(cell_type="markdown"),
            [(TamperKind.CHANGED_TYPE, "output-length")],
        ),
    ],
)
def test_tampering_is_recorded_as_data(change, expected):
    nb = source()
    change(nb)
    assert kinds(spliced(nb)) == expected


def test_a_changed_hint_is_not_tampering_and_notes_are_not_tampering():
    nb = edit_cell(source(), "output-length", lambda s: "# my own comment\n" + s)
    nb["metadata"]["kernelspec"] = {"name": "conda-env"}
    nb["cells"].append({"cell_type": "code", "metadata": {}, "source": "x = 1", "outputs": []})
    result = spliced(nb)
    assert result.tampering == []
    assert any("conda-env" in n for n in result.notes)
    assert any("you added were not run" in n for n in result.notes)
