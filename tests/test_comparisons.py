"""What a wrong answer's message says about it: the pattern behind wrong values or a wrong
shape, so that a learner knows where to look (issue: feedback that teaches)."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.comparisons import array_problem, value_problem

RNG = np.random.default_rng(0)
X = RNG.normal(size=(2, 3, 5, 5)).round(3) + 0.25


def detail(actual, expected=X) -> str:
    problem = array_problem(actual, expected)
    assert problem is not None, "a wrong answer was accepted"
    return problem[1]


@pytest.mark.parametrize(
    ("actual", "words"),
    [
        (2 * X, "2 times the expected one: a sum where a mean belongs"),
        (X / 9, "0.1111 times the expected one"),
        (-X, "the opposite sign"),
        (X + 0.5, "off by 0.5: a term (a bias?)"),
        (np.swapaxes(X, -1, -2), "transposed (its last two axes swapped)"),
        (np.roll(X, 1, axis=-1), "shifted by one position along axis 3"),
        (np.zeros_like(X), "all zeros"),
        (np.where(np.arange(5) < 3, X, 0.0), "the wrong entries are 0 in yours"),
        (X.astype(np.int64), "stored in an integer array"),
        (np.where(np.isnan(X), 0, X) * np.nan, "NaN or inf"),
    ],
    ids=[
        "factor",
        "mean",
        "sign",
        "offset",
        "transpose",
        "shift",
        "zeros",
        "unwritten",
        "int",
        "nan",
    ],
)
def test_wrong_values_name_their_pattern(actual, words):
    assert words in detail(actual)


def test_only_the_borders_wrong_points_at_padding():
    actual = X.copy()
    actual[..., 0, :] += 1.0
    assert "only entries on the borders are wrong" in detail(actual)


def test_an_unrelated_mistake_gets_no_guess():
    actual = X.copy()
    actual[0, 1, 2, 3] += 7.0
    text = detail(actual)
    assert text.startswith("first mismatch at index (0, 1, 2, 3)") and "\n" not in text


@pytest.mark.parametrize(
    ("shape", "words"),
    [
        ((2, 3, 5, 4), "axis 3 has 1 fewer entry than expected: an off-by-one"),
        ((2, 5, 5, 3), "the right sizes in the wrong order"),
        ((2, 3, 1, 5, 5), "once axes of length 1 are dropped"),
        ((2, 3, 5), "one axis too many or too few"),
    ],
)
def test_a_wrong_shape_names_its_pattern(shape, words):
    problem = array_problem(np.zeros(shape), X)
    assert problem is not None and f"shape {shape}" in problem[0] and words in problem[1]


def test_a_swapped_pair_is_named():
    assert value_problem((4, 3), (3, 4)) == (
        (f"returned {(4, 3)!r}, expected {(3, 4)!r}"),
        "the right values in the wrong order: swapped?",
    )
    assert "swapped" not in value_problem((4, 4), (3, 4))[1]
    assert value_problem((2, 3, 8), (3, 2, 8))[1] == "the right values in the wrong order: swapped?"
    assert value_problem((3, 4), (3, 4)) is None


def test_a_wrong_whole_number_says_how_it_is_wrong():
    assert value_problem(3, 4)[1].startswith("off by one: one less than expected")
    assert value_problem((5, 7), (4, 7))[1].startswith("off by one: one more")
    assert value_problem(1024, 2048)[1] == "half the expected count: a factor of 2 missing?"
    assert value_problem(4096, 2048)[1] == "twice the expected count: counted something twice?"
    assert value_problem(17, 4)[1] == ""


def test_a_float_that_is_a_whole_multiple_says_so():
    assert "6 times the expected value: a sum where a mean belongs" in value_problem(3.0, 0.5)[1]
    assert "0.25 times the expected value" in value_problem(0.5, 2.0)[1]
    assert value_problem(0.7, 0.5)[1] == ""


def test_values_in_the_wrong_places_are_named():
    expected = np.arange(12.0).reshape(3, 4)
    problem = array_problem(expected.reshape(4, 3).T.copy(), expected)
    assert problem is not None and "the right values in the wrong places" in problem[1]


def test_an_integer_array_is_named_when_the_expected_values_are_not_whole():
    expected = np.array([0.5, -2.25, 3.0])
    problem = array_problem(np.array([0, 7, 1]), expected)
    assert problem is not None and "stored in an integer array" in problem[1]


def test_one_nonzero_entry_is_no_evidence_of_a_factor():
    expected, actual = np.zeros((3, 3)), np.zeros((3, 3))
    expected[1, 1], actual[1, 1] = 10.0, 4.0
    problem = array_problem(actual, expected)
    assert problem is not None and "times the expected" not in problem[1]
