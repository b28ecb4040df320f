"""The grader's comparison of recorded answers: untrusted input never passes by accident."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from autograder import checks
from autograder.judge import judge_records, read_records


@pytest.fixture
def record(monkeypatch, tmp_path):
    """Run checks in a recording mode into tmp_path/<mode>/<cell>."""

    def run(mode: str, calls) -> list:
        monkeypatch.setenv(checks.MODE_VARIABLE, mode)
        monkeypatch.setenv(checks.RECORD_VARIABLE, str(tmp_path / mode))
        monkeypatch.setenv(checks.CELL_VARIABLE, "3")
        monkeypatch.setattr(checks, "_counters", {})
        calls()
        return read_records(tmp_path / mode / "3", trusted=mode == "expect")

    return run


def cell(actual_y, actual_n):
    checks.check_array(actual_y, np.array([7.0, 8.0]), call="f(x)", config={"stride": 2})
    checks.check_value(actual_n, (1, 2), call="g(13, 6, 5)")


def test_matching_answers_pass(record):
    expected = record("expect", lambda: cell(None, None))
    answers = record("answer", lambda: cell(np.array([7.0, 8.0]), (1, 2)))
    assert judge_records(expected, answers, "") is None


def test_wrong_values_fail_with_the_instructors_configuration(record):
    expected = record("expect", lambda: cell(None, None))
    answers = record("answer", lambda: cell(np.array([7.0, 9.0]), (1, 2)))
    message = judge_records(expected, answers, "")
    assert message.startswith("f(x) returned the wrong values")
    assert "configuration: stride=2" in message


@pytest.mark.parametrize(
    "actual, problem",
    [
        ([7.0, 8.0], "returned a list, expected a NumPy array"),
        (np.array(["7", "8"]), "expected numbers"),
        (np.array([7.0, 8.0, 9.0]), "shape (3,), expected shape (2,)"),
    ],
)
def test_types_and_shapes_are_judged_first(record, actual, problem):
    expected = record("expect", lambda: cell(None, None))
    answers = record("answer", lambda: cell(actual, (1, 2)))
    assert problem in judge_records(expected, answers, "")


def test_missing_answers_fail(record):
    expected = record("expect", lambda: cell(None, None))
    assert "was not checked" in judge_records(expected, [], "")


def test_a_pickle_in_place_of_an_array_is_never_loaded(record, tmp_path):
    expected = record("expect", lambda: cell(None, None))
    record("answer", lambda: cell(np.array([7.0, 8.0]), (1, 2)))
    payload = tmp_path / "answer" / "3" / "arrays.npy"
    np.save(payload, np.array([object()], dtype=object), allow_pickle=True)
    answers = read_records(tmp_path / "answer" / "3", trusted=False)
    assert answers[0].array is None
    assert "expected a NumPy array" in judge_records(expected, answers, "")
    payload.write_bytes(pickle.dumps([7.0, 8.0]))
    answers = read_records(tmp_path / "answer" / "3", trusted=False)
    assert judge_records(expected, answers, "") is not None


def test_forged_json_cannot_claim_a_pass(record, tmp_path):
    expected = record("expect", lambda: cell(None, None))
    record("answer", lambda: cell(np.array([7.0, 8.0]), (1, 2)))
    records = tmp_path / "answer" / "3" / "records.jsonl"
    first = records.read_text().splitlines()[0]
    forged = {"n": 1, "kind": "value", "value": {"type": "tuple", "value": [{"type": "bogus"}]}}
    records.write_text(first + "\n" + json.dumps(forged) + "\n")
    answers = read_records(tmp_path / "answer" / "3", trusted=False)
    message = judge_records(expected, answers, "")
    assert message is not None and "g(13, 6, 5)" in message


def test_loop_rule_is_judged_on_the_solution_source(record):
    def im2col_1d(x):
        return x

    expected = record("expect", lambda: checks.check_no_python_loops(im2col_1d))
    looped = "def im2col_1d(x, k):\n    return np.array([x[i:i + k] for i in range(3)])\n"
    clean = "def im2col_1d(x, k):\n    return x[np.arange(3)[:, None] + np.arange(k)]\n"
    assert "list comprehension" in judge_records(expected, [], looped)
    assert judge_records(expected, [], clean) is None
    assert "not defined" in judge_records(expected, [], "x = 1\n")


def test_records_after_a_gap_are_not_read(record, tmp_path):
    """A learner's code that deletes or rewrites its records (the first line gone) leaves the
    cell unchecked, as if the checks had not run."""
    expected = record("expect", lambda: cell(None, None))
    record("answer", lambda: cell(np.array([7.0, 8.0]), (1, 2)))
    records = tmp_path / "answer" / "3" / "records.jsonl"
    records.write_text("".join(records.read_text().splitlines(keepends=True)[1:]))
    answers = read_records(tmp_path / "answer" / "3", trusted=False)
    assert answers == []
    assert "was not checked" in judge_records(expected, answers, "")


def test_an_oversized_answer_is_not_loaded(record, tmp_path, monkeypatch):
    from autograder import judge

    record("answer", lambda: cell(np.zeros(1000), (1, 2)))
    monkeypatch.setattr(judge, "MAX_ANSWER_BYTES", 100)
    answers = read_records(tmp_path / "answer" / "3", trusted=False)
    assert answers[0].array is None and answers[1].kind == "value"
    assert read_records(tmp_path / "answer" / "3", trusted=True)[0].array.shape == (1000,)
