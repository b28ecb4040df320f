"""The messages learners read: type, then shape, then values, then the configuration."""

import errno

import numpy as np
import pytest

from autograder.checks import (
    check_array,
    check_no_python_loops,
    check_value,
    grading_rng,
    grading_seed,
)


def test_type_is_checked_first():
    with pytest.raises(AssertionError, match="returned a list, expected a NumPy array"):
        check_array([1.0, 2.0], np.array([1.0, 2.0]), call="f(x)")


def test_shape_comes_before_values():
    with pytest.raises(AssertionError, match=r"shape \(3,\), expected shape \(2,\)"):
        check_array(np.zeros(3), np.ones(2), call="f(x)")


def test_values_name_the_first_mismatch_and_the_configuration():
    with pytest.raises(AssertionError) as info:
        check_array(
            np.array([1.0, 5.0, 3.0]),
            np.array([1.0, 2.0, 3.0]),
            call="f(x, stride=2)",
            config={"x": np.zeros((4, 2)), "stride": 2, "padding": "same"},
        )
    message = str(info.value)
    assert message.splitlines()[0] == "f(x, stride=2) returned the wrong values"
    assert "configuration: x.shape=(4, 2), stride=2, padding='same'" in message
    assert "index (1,): got" in message and "1 of 3 entries differ" in message


def test_equal_arrays_pass():
    check_array(np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-12]))


def test_check_value_wants_ints_and_pairs():
    check_value(np.int64(3), 3)
    with pytest.raises(AssertionError, match="expected an int"):
        check_value(3.0, 3, call="output_length(6, 3)")
    with pytest.raises(AssertionError, match=r"returned \(1, 1\), expected \(0, 2\)"):
        check_value((1, 1), (0, 2))
    with pytest.raises(AssertionError, match="expected a pair"):
        check_value(2, (1, 1))


def test_loop_detector():
    def vectorized(x):
        return x[np.arange(3)]

    def looped(x):
        return np.array([x[i] for i in range(3)])

    check_no_python_loops(vectorized)
    with pytest.raises(AssertionError, match="list comprehension"):
        check_no_python_loops(looped)


def test_grading_seed_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("AUTOGRADER_SEED", "5")
    assert grading_seed() == 5
    a, b = grading_rng(1).standard_normal(3), grading_rng(1).standard_normal(3)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, grading_rng(2).standard_normal(3))
    monkeypatch.setenv("AUTOGRADER_SEED", "6")
    assert not np.array_equal(a, grading_rng(1).standard_normal(3))


def _raise(error: BaseException):
    raise error


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT, errno.EFBIG])
def test_a_full_disk_inside_a_checks_lambda_stops_the_cell(code):
    """A disk limit is the grader's, not a wrong answer: caught per check, a learner who fills
    the disk on every call would fill it again for every check until the time limit."""
    with pytest.raises(OSError) as info:
        check_value(lambda: _raise(OSError(code, "No space left on device")), 1, call="f()")
    assert info.value.errno == code


def test_outside_grading_a_lambdas_exception_reaches_the_learner_as_it_was():
    """In the learner's own run the exception keeps its traceback (grading and ``check`` fail
    that check alone: tests/test_check.py)."""
    with pytest.raises(FileNotFoundError, match="no such file"):
        check_value(lambda: _raise(FileNotFoundError(errno.ENOENT, "no such file")), 1, call="f()")
