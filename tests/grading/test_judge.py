"""The grader's comparison of recorded answers: untrusted input never passes by accident."""

from __future__ import annotations

import os

import numpy as np
import pytest

from autograder import checks
from autograder.grading import records as records_module
from autograder.grading.judge import judge_cell
from autograder.grading.records import RecordStore
from autograder.protocol import (
    ANSWER,
    CHANNEL_VARIABLE,
    EXPECT,
    MODE_VARIABLE,
    ChannelError,
    FrameReader,
    encode,
)

CELL = 3


def _store(tmp_path, name: str, data: bytes, trusted: bool) -> RecordStore:
    store = RecordStore(tmp_path / name, trusted=trusted)
    store.start(CELL)
    for frame in FrameReader().feed(data):
        store.add(frame.header, frame.payload)
    store.finish(CELL, keep=True)
    return store


@pytest.fixture
def record(monkeypatch, tmp_path):
    """Run checks in a recording mode; the frames they write become a RecordStore."""

    def run(mode: str, calls, name: str = "") -> RecordStore:
        read, write = os.pipe()
        monkeypatch.setenv(MODE_VARIABLE, mode)
        monkeypatch.setenv(CHANNEL_VARIABLE, str(write))
        try:
            calls()
        finally:
            os.close(write)
        data = b""
        while chunk := os.read(read, 1 << 16):
            data += chunk
        os.close(read)
        return _store(tmp_path, name or mode, data, trusted=mode == EXPECT)

    return run


def cell(actual_y, actual_n):
    checks.check_array(actual_y, lambda: np.array([7.0, 8.0]), call="f(x)", config={"stride": 2})
    checks.check_value(actual_n, (1, 2), call="g(13, 6, 5)")


def judged(expected, answers, sources=()):
    return judge_cell(expected, answers, CELL, list(sources))


def test_matching_answers_pass(record):
    expected = record(EXPECT, lambda: cell(None, None))
    answers = record(ANSWER, lambda: cell(np.array([7.0, 8.0]), (1, 2)))
    assert [c.passed for c in judged(expected, answers)] == [True, True]


def test_the_expected_function_runs_only_where_expectations_are_recorded(record):
    calls = []

    def expected():
        calls.append(1)
        return np.zeros(2)

    record(ANSWER, lambda: checks.check_array(np.zeros(2), expected))
    assert calls == []
    record(EXPECT, lambda: checks.check_array(None, expected))
    assert calls == [1]


def test_left_out_the_expected_value_is_the_solutions_result(record):
    expected = record(EXPECT, lambda: checks.check_array(np.array([1.0, 2.0]), call="h()"))
    right = record(ANSWER, lambda: checks.check_array(np.array([1.0, 2.0]), call="h()"), "right")
    wrong = record(ANSWER, lambda: checks.check_array(np.array([1.0, 3.0]), call="h()"), "wrong")
    assert judged(expected, right)[0].passed
    assert not judged(expected, wrong)[0].passed


def test_wrong_values_fail_with_the_instructors_configuration(record):
    expected = record(EXPECT, lambda: cell(None, None))
    answers = record(ANSWER, lambda: cell(np.array([7.0, 9.0]), (1, 2)))
    first = judged(expected, answers)[0]
    assert not first.passed
    assert first.message.startswith("f(x) returned the wrong values")
    assert "configuration: stride=2" in first.message


@pytest.mark.parametrize(
    "actual, problem",
    [
        ([7.0, 8.0], "returned a list, expected a NumPy array"),
        (np.array(["7", "8"]), "returned an array of dtype <U1, expected numbers"),
        (np.array([7, 8], dtype="timedelta64[s]"), "dtype timedelta64"),
        (np.array([7.0, 8.0, 9.0]), "shape (3,), expected shape (2,)"),
        (np.array([object(), object()]), "expected a NumPy array"),
    ],
)
def test_types_and_shapes_are_judged_first(record, actual, problem):
    expected = record(EXPECT, lambda: cell(None, None))
    answers = record(ANSWER, lambda: cell(actual, (1, 2)))
    result = judged(expected, answers)[0]
    assert not result.passed and problem in result.message, result.message


def test_missing_answers_fail(record, tmp_path):
    expected = record(EXPECT, lambda: cell(None, None))
    empty = _store(tmp_path, "empty", b"", trusted=False)
    results = judged(expected, empty)
    assert [c.passed for c in results] == [False, False]
    assert "was not checked" in results[0].message


def test_a_forged_header_claims_nothing(record, tmp_path):
    """A learner who writes frames by hand can only describe their own answer: a header that
    says passed, or tolerances of its own, or a value of another type changes nothing."""
    expected = record(EXPECT, lambda: cell(None, None))
    forged = encode(
        {
            "t": "record",
            "kind": "array",
            "passed": True,
            "rtol": 1e9,
            "atol": 1e9,
            "dtype": "<f8",
            "shape": [2],
        },
        np.zeros(2).tobytes(),
    ) + encode({"t": "record", "kind": "value", "value": {"type": "tuple", "value": 7}})
    results = judged(expected, _store(tmp_path, "forged", forged, trusted=False))
    assert [c.passed for c in results] == [False, False]


def test_an_array_whose_bytes_do_not_match_its_shape_is_not_an_array(record, tmp_path):
    expected = record(EXPECT, lambda: cell(None, None))
    short = encode({"t": "record", "kind": "array", "dtype": "<f8", "shape": [2]}, b"x" * 8)
    result = judged(expected, _store(tmp_path, "short", short, trusted=False))[0]
    assert not result.passed and "does not match its shape" in result.message


def test_garbage_on_the_channel_is_refused_not_parsed():
    with pytest.raises(ChannelError):
        FrameReader().feed(b"not a frame at all")
    with pytest.raises(ChannelError):
        FrameReader().feed(b"AGR1" + (2**31).to_bytes(4, "big"))
    huge = encode({"t": "record", "nbytes": 0}).replace(b'"nbytes":0', b'"nbytes":99')
    with pytest.raises(ChannelError):
        FrameReader(max_payload=10).feed(huge)


def test_answers_are_bounded_per_cell_and_per_run(record, tmp_path, monkeypatch):
    """Honest tests make hundreds of checks with small arrays; a flood is cut, and the checks
    after the cut fail (what was judged before it stands)."""
    expected = record(EXPECT, lambda: [cell(None, None) for _ in range(3)])
    monkeypatch.setattr(records_module, "MAX_RECORDS_PER_CELL", 4)
    flood = record(ANSWER, lambda: [cell(np.array([7.0, 8.0]), (1, 2)) for _ in range(3)])
    results = judged(expected, flood)
    assert [c.passed for c in results] == [True] * 4 + [False] * 2
    assert "more answers than the test makes" in results[-1].message
    monkeypatch.setattr(records_module, "MAX_RECORDS_PER_CELL", 5000)
    monkeypatch.setattr(records_module, "MAX_CELL_BYTES", 40)
    big = record(ANSWER, lambda: [cell(np.array([7.0, 8.0]), (1, 2)) for _ in range(3)], "big")
    assert big.overflow == {CELL}


def test_the_loop_rule_is_judged_on_the_solution_source(record):
    expected = record(EXPECT, lambda: checks.check_no_python_loops(judged))
    answers = record(ANSWER, lambda: checks.check_no_python_loops(judged))
    looped = "def judged(x):\n    return [v for v in x]"
    decoy = looped + "\n\ndef other():\n    def judged(x):\n        return x\n"
    assert judged(expected, answers, ["def judged(x):\n    return x[::-1]"])[0].passed
    assert not judged(expected, answers, [looped])[0].passed
    assert not judged(expected, answers, [decoy])[0].passed


def test_expectations_survive_a_save_and_load(record, tmp_path):
    expected = record(EXPECT, lambda: cell(None, None))
    expected.save()
    again = RecordStore.load(expected.folder)
    answers = record(ANSWER, lambda: cell(np.array([7.0, 8.0]), (1, 2)))
    assert [c.passed for c in judged(again, answers)] == [True, True]


def test_a_rule_is_marked_by_the_instructors_run_never_by_the_learners(record):
    """``check_value(..., rule=True)`` (conv2d: "uses no conv2d_loop") is a rule of the part:
    a stub passes it, so it earns no share. Only the expectation's header says so."""

    def instructor():
        checks.check_value(False, False, call="uses conv2d_loop", rule=True)
        checks.check_value(1, 1, call="f()")

    def learner(rule: bool):
        checks.check_value(False, False, call="uses conv2d_loop", rule=rule)
        checks.check_value(1, 1, call="f()")

    answers = record(ANSWER, lambda: learner(False), "a")
    assert [c.required for c in judged(record(EXPECT, instructor), answers)] == [True, False]
    plain = record(EXPECT, lambda: learner(False), "e2")
    forged = record(ANSWER, lambda: learner(True), "b")
    assert [c.required for c in judged(plain, forged)] == [False, False]
