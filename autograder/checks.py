"""The checks that the test cells of the exercise notebooks call.

In a plain Jupyter session a check compares at once and fails with an ``AssertionError`` whose
message a learner can act on (type, then shape, then values, then the configuration that
failed: see :mod:`autograder.comparisons`).

``expected`` comes in three forms:

* a value (``np.array([7.0, 8.0])``, ``(1, 2)``): what the public tests print in the notebook;
* a function of no arguments, ``lambda: ref.conv1d(x, w)``: computed only where expectations
  are computed, never in the learner's process while grading (the grader removes it from the
  cell the learner's process runs; see :mod:`autograder.rules.testcells`);
* left out: while grading, the instructor's solution's result on the same inputs is expected
  (hidden tests of parts that no library computes, such as a network block).

Hidden tests draw their random cases from :func:`grading_rng`, whose seed the grader chooses at
grading time.

**While grading** (``$AUTOGRADER_MODE``) the checks never compare in the learner's process: the
grader runs each test cell twice, once with the instructor's solutions in a process where no
learner code ever ran (``expect``: every check records the expected value) and once in the
learner's process (``answer``: every check records the learner's result), and compares the two
recordings itself (:mod:`autograder.grading.judge`). Records travel as frames on the report
channel the grader reads (:mod:`autograder.protocol`), never through files. So every comparison
of a test cell must go through these functions, and the sequence of checks a cell makes must
not depend on the learner's results. In ``check`` mode (the learner's own ``python -m
autograder check``), checks compare and report every result instead of stopping at the first.
"""

from __future__ import annotations

import errno
import inspect
import os
import textwrap
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from .comparisons import array_problem, describe, format_failure, value_problem
from .protocol import (
    ANSWER,
    CHANNEL_VARIABLE,
    CHECK,
    EXPECT,
    MODE_VARIABLE,
    SEED_VARIABLE,
    array_header,
    to_plain,
    write_frame,
)

DEFAULT_SEED = 20261122


class _Solution:
    def __repr__(self) -> str:
        return "SOLUTION"


SOLUTION: Any = _Solution()  # ``expected`` left out: the instructor's solution's result


def grading_seed() -> int:
    """The seed for randomized tests: ``$AUTOGRADER_SEED`` if set, else a fixed default."""
    value = os.environ.get(SEED_VARIABLE, "")
    try:
        return int(value) if value else DEFAULT_SEED
    except ValueError:
        return DEFAULT_SEED


def grading_rng(salt: int = 0) -> np.random.Generator:
    """A NumPy generator seeded with :func:`grading_seed` (plus ``salt`` to decorrelate tests)."""
    return np.random.default_rng([grading_seed(), salt])


def _mode() -> str:
    mode = os.environ.get(MODE_VARIABLE, "")
    return mode if mode in (EXPECT, ANSWER, CHECK) and os.environ.get(CHANNEL_VARIABLE) else ""


def _send(header: dict, payload: bytes = b"") -> None:
    try:
        write_frame(int(os.environ[CHANNEL_VARIABLE]), {"t": "record", **header}, payload)
    except (OSError, ValueError, KeyError):
        pass  # the channel is gone: the grader counts the missing records as failed checks


class _Raised:
    """What a check's ``lambda`` raised instead of returning a value (see :func:`check_array`)."""

    def __init__(self, error: Exception):
        from .execution.runner import _trace

        self.error = error
        self.not_written = isinstance(error, NotImplementedError) and not str(error)
        if self.not_written:  # the released stub
            self.text = (
                "NotImplementedError: not written yet (replace `raise NotImplementedError()` "
                "with your code)"
            )
        else:
            self.text = f"{type(error).__name__}: {error}"[:300]
        frames = _trace(error)["frames"]
        where = next((f for f in reversed(frames) if f["function"] != "<lambda>"), None)
        self.where = (
            f"raised in {where['function']} (line {where['line']} of its cell): {where['text']}"[
                :400
            ]
            if where and where["function"] != "<module>"
            else ""
        )

    def fields(self) -> dict:
        """The record's fields: what was raised, where, and whether it was the stub's."""
        fields = {"raised": self.text, "where": self.where}
        return {**fields, "not_written": True} if self.not_written else fields


# A write past the sandbox's disk limit: every later call would fill the disk again.
_DISK_LIMITS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def _attempt(actual: Any) -> Any:
    """``actual``, or, when it is a ``lambda`` of no arguments, what calling it returns; an
    exception it raises becomes a :class:`_Raised` that fails this check alone (a memory error,
    a full disk or a forbidden call is not caught: they are limits of the grader, not a wrong
    answer, and stop the cell as they would anyway)."""
    if not (
        callable(actual)
        and getattr(actual, "__name__", "") == "<lambda>"
        and getattr(getattr(actual, "__code__", None), "co_argcount", 1) == 0
    ):
        return actual
    from .rules.guard import ForbiddenError

    try:
        return actual()
    except (MemoryError, ForbiddenError):
        raise
    except OSError as error:
        if error.errno in _DISK_LIMITS:
            raise
        return _Raised(error)
    except Exception as error:  # noqa: BLE001 - the learner's error fails this check only
        return _Raised(error)


def _raised_problem(value: Any) -> tuple[str, str] | None:
    return (f"raised {value.text}", value.where) if isinstance(value, _Raised) else None


def _mark_not_written(header: dict, actual: Any) -> None:
    if isinstance(actual, _Raised) and actual.not_written:
        header["not_written"] = True  # `check` says "not written yet", not "fix X first"


def _resolve(expected: Any, actual: Any) -> Any:
    """The expected value where it is computed (expect mode, or a learner's own run)."""
    if expected is SOLUTION:
        return actual
    return expected() if callable(expected) else expected


def check_array(
    actual: Any,
    expected: Any = SOLUTION,
    *,
    call: str = "your function",
    config: Mapping[str, Any] | None = None,
    rtol: float = 1e-6,
    atol: float = 1e-8,
    weight: float = 1,
    kinds: Mapping[str, str] | Iterable[str] = (),
) -> None:
    """Check that ``actual`` is a NumPy array equal to ``expected`` (type, shape, values).

    Args:
        actual: what the learner's function returned, or a ``lambda`` of no arguments that
            calls it (``lambda: conv1d_loop(x, w)``): then an exception the learner's code
            raises fails this check alone, and the test cell goes on to its other checks (each
            of which earns its share of the part's points).
        expected: the expected array, a function of no arguments computing it, or left out
            (while grading: the instructor's solution's result).
        call: how to name the call in the message, e.g. ``"conv1d_loop(x, w, stride=2)"``.
        config: the inputs that produced the result, printed on failure.
        rtol, atol: tolerances of :func:`numpy.isclose`.
        weight: this check's share of the part's points, relative to the part's other checks.
        kinds: the kinds of input this case is (``"padding > 0"``, ``"overlapping windows"``),
            each with what it means for a failure (``"k=3 > stride=2: an input in two windows
            gets both shares"``). A failed public check shows them; hidden tests are reported
            by kind (``failed for padding > 0; passed for ties``), never by value.
    """
    mode = _mode()
    header = _header("array", call, config, weight, kinds)
    actual = _attempt(actual)
    if isinstance(actual, _Raised) and (not mode or mode == EXPECT):
        raise actual.error  # a plain run shows the whole traceback; the source must not raise
    if mode in (EXPECT, ANSWER):
        value = _resolve(expected, actual) if mode == EXPECT else actual
        header.update(rtol=rtol, atol=atol)
        if isinstance(value, _Raised):
            _send({**header, "type": "exception", **value.fields()})
        elif isinstance(value, np.ndarray) and not value.dtype.hasobject:
            value = np.ascontiguousarray(value)
            _send({**header, **array_header(value)}, value.tobytes())
        else:
            _send({**header, "type": type(value).__name__[:100]})
        return
    if expected is SOLUTION and not isinstance(actual, _Raised):
        return _compared_when_graded(mode, header)
    _mark_not_written(header, actual)
    problem = _raised_problem(actual) or array_problem(
        actual, np.asarray(_resolve(expected, actual)), rtol, atol
    )
    _conclude(mode, header, problem, call, config)


def check_value(
    actual: Any,
    expected: Any = SOLUTION,
    *,
    call: str = "your function",
    config: Mapping[str, Any] | None = None,
    weight: float = 1,
    kinds: Mapping[str, str] | Iterable[str] = (),
    rule: bool = False,
) -> None:
    """Check that a scalar or tuple result equals ``expected``, type first (see
    :func:`check_array` for the forms of ``expected`` and ``kinds``). With ``rule=True`` the
    check is a rule of the part, as :func:`check_no_python_loops` is (``"conv2d_loop" in
    f.__code__.co_names`` must be False): failing it costs the whole part and passing it earns
    no share (a stub passes it)."""
    mode = _mode()
    header = _header("value", call, config, weight, kinds)
    if rule:
        header["rule"] = True
    actual = _attempt(actual)
    if isinstance(actual, _Raised) and (not mode or mode == EXPECT):
        raise actual.error
    if mode in (EXPECT, ANSWER):
        value = _resolve(expected, actual) if mode == EXPECT else actual
        if isinstance(value, _Raised):
            _send({**header, **value.fields()})
        else:
            _send({**header, "value": to_plain(value)})
        return
    if expected is SOLUTION and not isinstance(actual, _Raised):
        return _compared_when_graded(mode, header)
    _mark_not_written(header, actual)
    problem = _raised_problem(actual) or value_problem(actual, _resolve(expected, actual))
    _conclude(mode, header, problem, call, config)


def check_no_python_loops(function: Callable[..., Any], *, weight: float = 1) -> None:
    """Check that ``function`` (and the functions of yours it calls) has no ``for`` or
    ``while`` loop, comprehension, recursion or ``map``-like call.

    Used where an exercise asks for a vectorized implementation. While grading (and in
    ``check``), the solution cells' source is read outside the notebook's process, helpers
    followed (:mod:`autograder.rules.loops`); in a plain Jupyter session, only this function's.
    """
    name = str(getattr(function, "__name__", "function"))[:200]
    mode = _mode()
    header = {"kind": "no-loops", "function": name, "call": name, "weight": weight}
    if mode:  # judged on the solution cells' source by the grader (or by `check` itself)
        _send(header)
        return
    from .rules.loops import loop_problem

    try:
        source = textwrap.dedent(inspect.getsource(function))
        problem = loop_problem([source], name)
    except (OSError, TypeError) as error:
        problem = f"could not read the source of {name!r} ({error}); define it with def in a cell"
    _conclude(mode, header, (problem, "") if problem else None, name, None, plain=True)


def _header(kind: str, call: str, config, weight: float, kinds) -> dict:
    header = {"kind": kind, "call": str(call), "config": describe(config), "weight": weight}
    if kinds:
        named = dict(kinds) if isinstance(kinds, Mapping) else dict.fromkeys(kinds, "")
        header["kinds"] = {str(k)[:100]: str(v)[:300] for k, v in named.items()}
    return header


def explain(kinds: Mapping[str, str] | None) -> str:
    """The line a failed public check adds about the kinds of input it is."""
    if not kinds:
        return ""
    return "this case: " + "; ".join(f"{k} ({v})" if v else k for k, v in kinds.items())


def _compared_when_graded(mode: str, header: dict) -> None:
    if mode == CHECK:
        message = "compared with the instructor's solution when your work is graded"
        _send({**header, "kind": "result", "passed": None, "message": message})


def _conclude(
    mode: str,
    header: dict,
    problem: tuple[str, str] | None,
    call: str,
    config: Mapping[str, Any] | None,
    plain: bool = False,
) -> None:
    """Report a comparison: to ``check`` (every check, no stop) or as an AssertionError."""
    message = ""
    if problem:
        message = (
            problem[0] if plain else format_failure(call, problem[0], describe(config), problem[1])
        )
        if header.get("kinds"):  # the kind of input, and what a failure there usually means
            message += "\n  " + explain(header["kinds"])
    if mode == CHECK:
        _send({**header, "kind": "result", "passed": not problem, "message": message})
        return
    if problem:
        raise AssertionError(message)
