"""The source check: every way of writing a forbidden call is followed to the name it reaches."""

from __future__ import annotations

import pytest

from autograder.rules.catalogue import DEFAULT_FORBID, expand
from autograder.rules.static import Cell, find_violations

RULE = expand([*DEFAULT_FORBID, "@library-convolutions", "numpy.lib.stride_tricks"])
LOCKED = Cell(
    0,
    "import numpy as np\nfrom autograder import reference as ref\n"
    "from autograder.checks import check_array",
    None,
)
TEST = Cell(
    2,
    "def torch_dense(x):\n    return x\n\nclass Helper:\n    pass\ncheck_array(1, 1)",
    None,
    test=True,
)


def violations(code: str) -> list[str]:
    return [v.describe() for v in find_violations([LOCKED, Cell(1, code, RULE), TEST])]


@pytest.mark.parametrize(
    "code, words",
    [
        ("def f(x, w):\n    return np.convolve(x, w)", "calls numpy.convolve"),
        ("conv = np.correlate\n", "uses numpy.correlate"),
        ("import torch.nn.functional as F\n", "imports torch.nn.functional"),
        ("from torch.nn.functional import conv1d as c\n", "imports torch.nn.functional"),
        ("def f(x):\n    return ref.conv1d(x)", "calls autograder.reference.conv1d"),
        ("g = getattr(np, 'convolve')\n", "uses numpy.convolve"),
        ("getattr(np, 'convolve')(1, 2)", "calls numpy.convolve"),
        ("g = getattr(np, 'con' + 'volve')\n", "built at run time"),
        ("m = __import__('torch')\n", "imports torch"),
        ("m = __import__('to' + 'rch')\n", "built at run time"),
        ("import importlib\nm = importlib.import_module('scipy.signal')", "imports scipy.signal"),
        ("exec('import torch')", "imports torch"),
        ("exec('exec(\"import torch\")')", "imports torch"),
        ("s = 'x'\nexec(s)", "runs code built at run time"),
        ("f = check_array.__globals__", "uses .__globals__"),
        ("b = __builtins__", "uses __builtins__"),
        ("get_ipython().input_transformers_post.append(print)", "uses get_ipython"),
        ("import sys\nt = sys.modules['torch']", "uses torch"),
        ("import sys\nm = sys.modules", "uses sys.modules"),
        ("from numpy import *", "imports everything from numpy"),
        ("from numpy.lib.stride_tricks import sliding_window_view", "numpy.lib.stride_tricks"),
        ("v = np.lib.stride_tricks.sliding_window_view", "numpy.lib.stride_tricks"),
        ("def f():\n    return check_array", "uses autograder.checks.check_array"),
        ("g = globals()['np']", "uses globals()"),
        ("np.allclose = lambda *a, **k: True", "changes numpy.allclose"),
        ("setattr(np, 'isclose', print)", "changes setattr(numpy, ...)"),
        ("y = torch_dense(1)", "torch_dense (a function of the tests)"),
        ("y = Helper()", "Helper (a function of the tests)"),
        ("import cnnbook.fast_conv", "imports cnnbook.fast_conv"),
    ],
)
def test_forbidden_code_is_named(code, words):
    found = violations(code)
    assert any(words in v for v in found), found


@pytest.mark.parametrize(
    "code",
    [
        "def f(x, w):\n    y = np.zeros(3)\n    for i in range(3):\n"
        "        y[i] = (x[i:i + 3] * w).sum()"
        "\n    return np.pad(y, 1)",
        "def f(ref, np):\n    return ref.conv1d(np)",  # parameters shadow the notebook's names
        "ref = 3\ny = ref.conv1d",  # a name rebound to something else
        "g = lambda ref: ref.conv1d",
        "y = [ref.x for ref in range(3)]",
        "def torch_dense(x):\n    return 2 * x\ny = torch_dense(1)",  # the learner's own
        "idx = np.add.outer(np.arange(3), np.arange(2))\nz = np.einsum('ij,j->i', idx, idx[0])",
        "exec('x = 1')",  # a constant string that reaches nothing forbidden
        "class A:\n    pass\na = A()\na.x = 1",  # an attribute of the learner's own object
    ],
)
def test_honest_code_passes(code):
    assert violations(code) == []


def test_each_violation_names_its_cell_and_line():
    (violation,) = find_violations([LOCKED, Cell(7, "x = 1\n\ny = np.convolve(x, x)", RULE)])
    assert (violation.cell, violation.line, violation.name) == (7, 3, "numpy.convolve")
    assert violation.describe() == "line 3 calls numpy.convolve, which this part may not use"


def test_a_rule_applies_to_its_own_cell_only():
    allowed = expand(["@course-code"])
    found = find_violations(
        [LOCKED, Cell(1, "a = np.convolve", allowed), Cell(2, "b = np.convolve", RULE)]
    )
    assert [v.cell for v in found] == [2]


def test_a_cell_that_does_not_parse_is_left_to_run_time():
    assert violations("def f(:\n    np.convolve") == []
