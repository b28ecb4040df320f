"""The no-loops rule, judged on the learner's source: decoys and helpers do not hide a loop."""

from __future__ import annotations

import pytest

from autograder.rules.loops import loop_problem


@pytest.mark.parametrize(
    "source, words",
    [
        ("def f(x):\n    y = 0\n    for i in x:\n        y += i\n    return y", "for loop (line 3"),
        ("def f(x):\n    while x:\n        x -= 1\n    return x", "while loop"),
        ("def f(x):\n    return [i for i in x]", "list comprehension"),
        ("def f(x):\n    return sum(i for i in x)", "generator expression"),
        # a loop-free decoy defined after the real one: every def of the name counts
        (
            "def f(x):\n    return [i for i in x]\n\nif False:\n    def f(x):\n        return x",
            "list comprehension",
        ),
        (
            "def f(x):\n    return [i for i in x]\n\ndef g():\n    def f(x):\n        return x",
            "list comprehension",
        ),
        # the loop moved into a helper of the learner's, even through a lambda or a chain
        (
            "def h(x):\n    while True:\n        break\n    return x\n\ndef f(x):\n    return h(x)",
            "f -> h",
        ),
        ("g = lambda x: [i for i in x]\n\ndef f(x):\n    return g(x)", "f -> g"),
        (
            "def a(x):\n    return b(x)\n\ndef b(x):\n    return [v for v in x]\n\n"
            "def f(x):\n    return a(x)",
            "f -> a -> b",
        ),
        ("def f(x):\n    return np.array(list(map(abs, x)))", "map(...)"),
        ("def f(x):\n    return np.vectorize(abs)(x)", "vectorize(...)"),
        ("def f(x):\n    return np.apply_along_axis(sum, 0, x)", "apply_along_axis(...)"),
        ("def f(x, n=3):\n    return x if n == 0 else f(x, n - 1)", "recursion"),
    ],
)
def test_loops_are_found_however_written(source, words):
    problem = loop_problem([source], "f")
    assert problem is not None and words in problem, problem


def test_vectorized_code_passes():
    source = "def f(x, k):\n    idx = np.arange(3)[:, None] + np.arange(k)\n    return x[idx]"
    assert loop_problem([source], "f") is None


def test_a_function_another_part_grades_is_charged_to_that_part():
    """conv2d_im2col calling a looped im2col: the loop costs the im2col part, not this one."""
    sources = ["def im2col(x):\n    return [v for v in x]", "def conv(x):\n    return im2col(x)"]
    assert loop_problem(sources, "conv", parts=frozenset({"im2col", "conv"})) is None
    assert loop_problem(sources, "conv") is not None  # a helper of its own is followed


def test_a_missing_function_is_named():
    assert "is not defined" in loop_problem(["def g(x):\n    return x"], "f")
