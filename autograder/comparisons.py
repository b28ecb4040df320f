"""How a result is compared with what was expected, and how a failure is worded.

Pure functions, used in a learner's own process by ``check`` (and in a plain Jupyter session)
and by the grader on recorded answers. A problem is a pair ``(problem, detail)``, worded in the
order a debugger would look: the *type* of what the function returned, then its *shape*, then
its *values*::

    conv1d_loop(x, w, stride=2, padding='same') returned the wrong values
      configuration: x.shape=(7,), w.shape=(3,), stride=2, padding='same'
      first mismatch at index (2,): got 4.0, expected 5.0 (3 of 4 entries differ)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

NUMERIC_KINDS = frozenset("biufc")


def describe(config: Mapping[str, Any] | None) -> str:
    """Render a configuration as ``name=value`` pairs, arrays by their shape."""
    parts = []
    for name, value in (config or {}).items():
        if isinstance(value, np.ndarray):
            parts.append(f"{name}.shape={value.shape}")
        else:
            text = repr(value)
            parts.append(f"{name}={text if len(text) <= 80 else text[:77] + '...'}")
    return ", ".join(parts)


def format_failure(call: str, problem: str, config_text: str, detail: str = "") -> str:
    """The message of a failed check: the call and problem, the configuration, a detail line."""
    lines = [f"{call} {problem}"]
    if config_text:
        lines.append(f"  configuration: {config_text}")
    if detail:
        lines.append(f"  {detail}")
    return "\n".join(lines)


def array_problem(
    actual: Any, expected: np.ndarray, rtol: float = 1e-6, atol: float = 1e-8
) -> tuple[str, str] | None:
    """``(problem, detail)`` if ``actual`` is not an array equal to ``expected``, else None."""
    expected = np.asarray(expected)
    if not isinstance(actual, np.ndarray):
        return (
            f"returned {_a(type(actual).__name__)}, expected a NumPy array",
            "hint: build the result with np.zeros(...) or np.array(...)",
        )
    if actual.shape != expected.shape:
        return (
            f"returned an array of shape {actual.shape}, expected shape {expected.shape}",
            "hint: the function's docstring states the shape it must return",
        )
    if actual.dtype.kind not in NUMERIC_KINDS or actual.dtype.hasobject:
        return (f"returned an array of dtype {actual.dtype}, expected numbers", "")
    try:
        close = np.isclose(actual, expected, rtol=rtol, atol=atol)
    except (TypeError, ValueError) as error:
        return (f"returned an array that cannot be compared with numbers ({error})", "")
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
        try:
            if not np.isclose(float(actual), expected, rtol=1e-6, atol=1e-9):
                return (f"returned {actual!r}, expected {expected!r}", "")
        except (TypeError, ValueError, OverflowError):
            return (f"returned {actual!r}, expected {expected!r}", "")
        return None
    if actual != expected:
        return (f"returned {actual!r}, expected {expected!r}", "")
    return None


def _a(noun: str) -> str:
    return f"an {noun}" if noun[:1].lower() in "aeiou" else f"a {noun}"
