"""Test cells as the learner's process runs them: no expected value, lines where they were."""

from __future__ import annotations

import pytest

from autograder.rules import ALWAYS_ORACLES
from autograder.rules.testcells import learner_version, lint

CELL = """from autograder import reference as ref
from autograder.checks import check_array

x = np.ones(3)
check_array(f(x), lambda: ref.conv1d(x[None, None],
                                     x[None, None])[0, 0],
            call="f(x)")
check_array(g(x), np.ones(3), call="g(x)")
"""


def test_expected_values_and_oracle_imports_are_removed_line_for_line():
    names: set[str] = set()
    run = learner_version(CELL, names, ALWAYS_ORACLES)
    assert "ref" not in run.replace("reference", "") and "lambda" not in run
    assert run.count("\n") == CELL.count("\n")
    assert run.splitlines()[3] == "x = np.ones(3)"
    assert "np.ones(3), call" in run  # a literal expected value stays (public tests)
    compile(run, "<cell>", "exec")


def test_a_helper_that_uses_an_oracle_is_an_oracle_too():
    cell = (
        "import torch\n\ndef expect(x):\n    return torch.tensor(x).numpy()\n\n"
        "check_array(f(1), lambda: expect(1))"
    )
    names: set[str] = set()
    run = learner_version(cell, names, (*ALWAYS_ORACLES, "torch"))
    assert "torch" not in run and "expect = None" in run and "expect" in names
    assert lint([("t", cell, True)], (*ALWAYS_ORACLES, "torch")) == []


@pytest.mark.parametrize(
    "cell, hidden, words",
    [
        (
            "from autograder import reference as ref\ny = ref.conv1d(x)\ncheck_array(f(x), y)",
            False,
            "`ref` is used outside an expected value",
        ),
        (
            "from autograder import reference as ref\nn = ref.conv_output_size(5, 3)\nf(n)",
            False,
            "`ref` is used outside an expected value",
        ),
        ("check_array(f(x), x * 2)", True, "must be a `lambda: ...`"),
        ("from autograder import reference as ref, checks", False, "a statement of their own"),
    ],
)
def test_a_source_that_would_leak_is_refused(cell, hidden, words):
    problems = lint([("cell 'x'", cell, hidden)], ALWAYS_ORACLES)
    assert any(words in p for p in problems), problems


def test_oracle_names_carry_over_to_later_cells():
    cells = [("a", "from autograder import reference as ref", False), ("b", "y = ref.x", False)]
    assert any("`ref`" in p for p in lint(cells, ALWAYS_ORACLES))


def test_every_source_notebook_is_clean():
    """The grader refuses a source that breaks these rules; none of ours does."""
    from notebook_helpers import ASSIGNMENTS, source_path

    from autograder.grading.sources import load_source

    for assignment in ASSIGNMENTS:
        assert load_source(source_path(assignment)).learner_cells
