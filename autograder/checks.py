"""Comparisons used by the test cells of the exercise notebooks.

Every check fails with an ``AssertionError`` whose message a learner can act on, in the order a
debugger would look: first the *type* of what the function returned, then its *shape*, then its
*values*, always followed by the configuration (shapes, stride, padding, ...) that failed, e.g.::

    conv1d_loop(x, w, stride=2, padding='same') returned the wrong values
      configuration: x.shape=(7,), w.shape=(3,), stride=2, padding='same'
      first mismatch at index (2,): got 4.0, expected 5.0 (3 of 4 entries differ)

Hidden tests draw their random cases from :func:`grading_rng`, whose seed the grader chooses at
grading time, so knowing the test code does not give away the expected values.

**While grading**, the learner's process never decides a grade. The grader runs every test cell
twice: once with the instructor's solutions in a process where no learner code ever ran
(``AUTOGRADER_MODE=expect``: each check *records* its expected value), and once in the learner's
process (``AUTOGRADER_MODE=answer``: each check *records* the learner's result as plain data,
JSON and ``.npy`` without pickles, appended to one pair of files per cell). The checks do not
compare in either run; the grader compares the two recordings itself, with
:func:`array_problem`, :func:`value_problem` and :func:`loop_problem` below. So every
comparison in a test cell must go through these functions, and the sequence of checks a cell
makes must not depend on the learner's results.
"""

from __future__ import annotations

import ast
import inspect
import json
import os
import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

SEED_VARIABLE = "AUTOGRADER_SEED"
MODE_VARIABLE = "AUTOGRADER_MODE"  # "expect" or "answer" while grading; unset otherwise
RECORD_VARIABLE = "AUTOGRADER_RECORD_DIR"
CELL_VARIABLE = "AUTOGRADER_CELL"  # set by the runner before each cell
DEFAULT_SEED = 20261122
MAX_RECORDS_PER_CELL = 5000


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


def describe(config: Mapping[str, Any] | None) -> str:
    """Render a configuration as ``name=value`` pairs, arrays by their shape."""
    parts = []
    for name, value in (config or {}).items():
        if isinstance(value, np.ndarray):
            parts.append(f"{name}.shape={value.shape}")
        else:
            parts.append(f"{name}={value!r}")
    return ", ".join(parts)


def format_failure(call: str, problem: str, config_text: str, detail: str = "") -> str:
    """The message of a failed check: the call and problem, the configuration, a detail line."""
    lines = [f"{call} {problem}"]
    if config_text:
        lines.append(f"  configuration: {config_text}")
    if detail:
        lines.append(f"  {detail}")
    return "\n".join(lines)


# --- comparisons (pure: used in the learner's process by `check`, and by the grader) ---------


def array_problem(
    actual: Any, expected: np.ndarray, rtol: float = 1e-6, atol: float = 1e-8
) -> tuple[str, str] | None:
    """``(problem, detail)`` if ``actual`` is not an array equal to ``expected``, else None."""
    expected = np.asarray(expected)
    if not isinstance(actual, np.ndarray):
        return (
            f"returned a {type(actual).__name__}, expected a NumPy array",
            "hint: build the result with np.zeros(...) or np.array(...)",
        )
    if actual.shape != expected.shape:
        return (
            f"returned an array of shape {actual.shape}, expected shape {expected.shape}",
            "hint: the function's docstring states the shape it must return",
        )
    if not (np.issubdtype(actual.dtype, np.number) or actual.dtype == np.bool_):
        return (f"returned an array of dtype {actual.dtype}, expected numbers", "")
    close = np.isclose(actual, expected, rtol=rtol, atol=atol)
    if not close.all():
        bad = np.argwhere(~close)
        where = tuple(int(i) for i in bad[0])
        return (
            "returned the wrong values",
            f"first mismatch at index {where}: got {actual[where].item()!r}, expected "
            f"{expected[where].item()!r} ({len(bad)} of {expected.size} entries differ)",
        )
    return None


def value_problem(actual: Any, expected: Any) -> tuple[str, str] | None:
    """``(problem, detail)`` if a scalar or tuple result differs from ``expected``, else None.

    Integers are compared exactly; NumPy integer scalars count as ``int``.
    """
    if isinstance(expected, tuple):
        if not isinstance(actual, tuple | list) or len(actual) != len(expected):
            return (f"returned {actual!r}, expected a pair like {expected!r}", "")
        for got, want in zip(actual, expected, strict=True):
            if isinstance(want, int) and not isinstance(got, int | np.integer):
                return (f"returned {actual!r}; every entry should be an int", "")
            if got != want:
                shown = tuple(int(v) if isinstance(v, int | np.integer) else v for v in actual)
                return (f"returned {shown!r}, expected {expected!r}", "")
        return None
    if isinstance(expected, bool) != isinstance(actual, bool | np.bool_):
        return (f"returned {actual!r} ({type(actual).__name__}), expected {expected!r}", "")
    if isinstance(expected, int) and not isinstance(actual, int | np.integer):
        return (
            f"returned {actual!r} ({type(actual).__name__}), expected an int",
            "hint: use integer division // (or int(...)) so the result is a whole number",
        )
    if isinstance(expected, float) and isinstance(actual, int | float | np.number):
        if not np.isclose(float(actual), expected, rtol=1e-6, atol=1e-9):
            return (f"returned {actual!r}, expected {expected!r}", "")
        return None
    if actual != expected:
        return (f"returned {actual!r}, expected {expected!r}", "")
    return None


def loop_problem(source: str, name: str) -> str | None:
    """A message if the function ``name`` defined in ``source`` uses a Python loop, else None."""
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        return f"could not read the source of {name}: {error}"
    functions = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name
    ]
    if not functions:
        return f"{name} is not defined with def in your solution cells"
    loops = (ast.For, ast.While, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
    for node in ast.walk(functions[-1]):
        if isinstance(node, loops):
            kind = type(node).__name__.replace("Comp", " comprehension")
            kind = kind.replace("GeneratorExp", "generator expression").lower()
            line = node.lineno - functions[-1].lineno + 1
            return (
                f"{name} uses a Python {kind} (line {line} of the function); this part asks for "
                "a vectorized version: use NumPy indexing, broadcasting, reshapes and matrix "
                "products instead of looping"
            )
    return None


# --- recording while grading -----------------------------------------------------------------

_counters: dict[str, int] = {}


def _recording_mode() -> str | None:
    mode = os.environ.get(MODE_VARIABLE, "")
    return mode if mode in ("expect", "answer") and os.environ.get(RECORD_VARIABLE) else None


def _plain(value: Any) -> Any:
    """A JSON-safe copy of a scalar or tuple result, or a marker of what it was."""
    if isinstance(value, bool | np.bool_):
        return {"type": "bool", "value": bool(value)}
    if isinstance(value, int | np.integer):
        return {"type": "int", "value": int(value)}
    if isinstance(value, float | np.floating):
        return {"type": "float", "value": float(value)}
    if isinstance(value, str):
        return {"type": "str", "value": value[:1000]}
    if isinstance(value, tuple | list):
        return {
            "type": "tuple" if isinstance(value, tuple) else "list",
            "value": [_plain(v) for v in value[:100]],
        }
    return {"type": type(value).__name__, "value": None}


RECORDS_FILE = "records.jsonl"  # one JSON object per check, numbered from 0 in "n"
ARRAYS_FILE = "arrays.npy"  # the recorded arrays, one .npy record after another


def _record(
    kind: str, value: Any, call: str, config: Mapping[str, Any] | None, **extra: Any
) -> None:
    """Append one record to the cell's folder: a line of ``records.jsonl`` (and the array, at
    ``offset`` in ``arrays.npy``). Two appends per check, not two new files: a test cell
    makes hundreds of checks."""
    cell = os.environ.get(CELL_VARIABLE, "0")
    count = _counters.get(cell, 0)
    if count >= MAX_RECORDS_PER_CELL:
        return
    _counters[cell] = count + 1
    folder = Path(os.environ[RECORD_VARIABLE]) / cell
    folder.mkdir(parents=True, exist_ok=True)
    meta: dict[str, Any] = {
        "n": count,
        "kind": kind,
        "call": call,
        "config": describe(config),
        **extra,
    }
    if kind == "array":
        if isinstance(value, np.ndarray) and value.dtype != object:
            with open(folder / ARRAYS_FILE, "ab") as arrays:
                meta["offset"] = arrays.tell()
                np.save(arrays, np.ascontiguousarray(value), allow_pickle=False)
            meta["type"] = "ndarray"
        else:
            meta["type"] = type(value).__name__
    elif kind == "value":
        meta["value"] = _plain(value)
    elif kind == "no-loops":
        meta["function"] = str(getattr(value, "__name__", ""))
    with open(folder / RECORDS_FILE, "a", encoding="utf-8") as records:
        records.write(json.dumps(meta) + "\n")


# --- the checks test cells call --------------------------------------------------------------


def check_array(
    actual: Any,
    expected: np.ndarray,
    *,
    call: str = "your function",
    config: Mapping[str, Any] | None = None,
    rtol: float = 1e-6,
    atol: float = 1e-8,
) -> None:
    """Assert that ``actual`` is a NumPy array equal to ``expected`` (type → shape → values).

    Args:
        actual: what the learner's function returned.
        expected: the reference result.
        call: how to name the call in the message, e.g. ``"conv1d_loop(x, w, stride=2)"``.
        config: the inputs that produced the result, printed on failure.
        rtol, atol: tolerances of :func:`numpy.allclose`.
    """
    mode = _recording_mode()
    if mode:
        _record(
            "array",
            np.asarray(expected) if mode == "expect" else actual,
            call,
            config,
            rtol=rtol,
            atol=atol,
        )
        return
    problem = array_problem(actual, expected, rtol, atol)
    if problem:
        raise AssertionError(format_failure(call, problem[0], describe(config), problem[1]))


def check_value(
    actual: Any,
    expected: Any,
    *,
    call: str = "your function",
    config: Mapping[str, Any] | None = None,
) -> None:
    """Assert that a scalar or tuple result equals ``expected``, type first."""
    mode = _recording_mode()
    if mode:
        _record("value", expected if mode == "expect" else actual, call, config)
        return
    problem = value_problem(actual, expected)
    if problem:
        raise AssertionError(format_failure(call, problem[0], describe(config), problem[1]))


def check_no_python_loops(function: Callable[..., Any]) -> None:
    """Assert that ``function`` contains no ``for``/``while`` loop or comprehension.

    Used where an exercise asks for a vectorized implementation. While grading, the grader
    reads the function from the learner's solution cells itself.
    """
    mode = _recording_mode()
    if mode:
        _record("no-loops", function, f"{getattr(function, '__name__', 'function')}", None)
        return
    name = getattr(function, "__name__", repr(function))
    try:
        source = textwrap.dedent(inspect.getsource(function))
    except (OSError, TypeError) as error:
        raise AssertionError(
            f"could not read the source of {name!r} ({error}); define it with def in a cell"
        ) from None
    problem = loop_problem(source, name)
    if problem:
        raise AssertionError(problem)
