"""The grader's side of every check: compare a learner's recorded answers with the expectations.

The expectations come from the instructor's source, run in a process where no learner code
ran; the answers from the learner's process (see :mod:`autograder.checks`). They are matched by
position within the cell: the n-th check of a test cell against the n-th answer. The call and
configuration shown in a message always come from the expectation (trusted); the answer only
ever supplies the learner's value, checked for type, dtype and shape before any comparison.
"""

from __future__ import annotations

from typing import Any

from ..checks import explain
from ..comparisons import array_problem, format_failure, value_problem
from ..protocol import Opaque, a_noun, array_from, from_plain
from ..rules.loops import loop_problem
from .records import Record, RecordStore
from .results import CheckResult


def _value(store: RecordStore, record: Record) -> Any:
    if record.kind == "array":
        if record.header.get("dtype") is None:
            return Opaque(a_noun(str(record.header.get("type", "nothing readable"))[:100]))
        return array_from(record.header, store.payload(record))
    return from_plain(record.header.get("value"))


def judge_cell(
    expected_store: RecordStore,
    answer_store: RecordStore,
    index: int,
    solution_sources: list[str],
    parts: frozenset[str] = frozenset(),
) -> list[CheckResult]:
    """One result per expected check of cell ``index``, in order (``parts``: the functions other
    parts grade, see :func:`autograder.rules.loops.loop_problem`)."""
    expected = expected_store.records(index)
    answers = answer_store.records(index)
    overflow = index in answer_store.overflow
    results = []
    for position, want in enumerate(expected):
        weight = _weight(want)
        call = str(want.header.get("call", "your function"))
        config = str(want.header.get("config", ""))
        kinds = want.header.get("kinds") if isinstance(want.header.get("kinds"), dict) else {}
        if want.kind == "no-loops":
            problem = loop_problem(solution_sources, str(want.header.get("function", "")), parts)
            results.append(
                CheckResult(problem is None, problem or "", weight, call, list(kinds), True)
            )
            continue
        not_written = False
        if position >= len(answers) or answers[position].kind != want.kind:
            why = (
                "was not checked: your code sent more answers than the test makes"
                if overflow
                else "was not checked: the test stopped before reaching it"
            )
            message = format_failure(call, why, config)
        else:
            problem = _compare(expected_store, want, answer_store, answers[position])
            not_written = (
                problem is not None and answers[position].header.get("not_written") is True
            )
            message = format_failure(call, problem[0], config, problem[1]) if problem else ""
        if message and kinds:
            message += "\n  " + explain(kinds)
        rule = bool(want.header.get("rule"))  # from the instructor's run, never the learner's
        results.append(
            CheckResult(not message, message, weight, call, list(kinds), rule, not_written)
        )
    return results


def _compare(expected_store, want: Record, answer_store, got: Record):
    raised = got.header.get("raised")
    if raised is not None:  # the learner's code raised inside the check's lambda
        return (f"raised {str(raised)[:300]}", str(got.header.get("where", ""))[:400])
    try:
        wanted = _value(expected_store, want)
        actual = _value(answer_store, got)
        if want.kind == "array":
            if isinstance(wanted, Opaque):
                return (f"could not be judged: the instructor's test gave {wanted!r}", "")
            if isinstance(actual, Opaque) and actual.description.startswith("an array of dtype"):
                return (f"returned {actual!r}, expected numbers", "")
            if isinstance(actual, Opaque):
                return (
                    f"returned {actual!r}, expected a NumPy array",
                    "hint: build the result with np.zeros(...) or np.array(...)",
                )
            return array_problem(
                actual,
                wanted,
                float(want.header.get("rtol", 1e-6)),
                float(want.header.get("atol", 1e-8)),
            )
        return value_problem(actual, wanted)
    except Exception as error:  # noqa: BLE001 - a learner's value must never stop the grader
        return (f"could not be compared ({type(error).__name__})", "")


def _weight(record: Record) -> float:
    weight = record.header.get("weight", 1)
    return float(weight) if isinstance(weight, int | float) and weight > 0 else 1.0
