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
            shape_pattern(actual.shape, expected.shape)
            or "hint: the function's docstring states the shape it must return",
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
        detail = (
            f"first mismatch at index {where}: got {actual[where].item()!r}, expected "
            f"{expected[where].item()!r} ({len(bad)} of {expected.size} entries differ)"
        )
        pattern = value_pattern(actual, expected, close, rtol, atol)
        return ("returned the wrong values", f"{detail}\n  {pattern}" if pattern else detail)
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
                try:
                    swapped = sorted(shown) == sorted(expected)
                except TypeError:
                    swapped = shown == expected[::-1]
                return (
                    f"returned {shown!r}, expected {expected!r}",
                    "the right values in the wrong order: swapped?"
                    if swapped
                    else _int_pattern(got, want),
                )
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
                return (f"returned {actual!r}, expected {expected!r}", _ratio(actual, expected))
        except (TypeError, ValueError, OverflowError):
            return (f"returned {actual!r}, expected {expected!r}", "")
        return None
    if actual != expected:
        return (f"returned {actual!r}, expected {expected!r}", _int_pattern(actual, expected))
    return None


def _ratio(actual: Any, expected: float) -> str:
    """What a wrong number that is a whole multiple (or fraction) of the right one suggests."""
    if not expected or not actual or not np.isfinite(float(actual)):
        return ""
    ratio = float(actual) / expected
    for value in (ratio, 1 / ratio):
        if value > 1.5 and np.isclose(value, round(value), rtol=1e-6):
            return (
                f"{ratio:.4g} times the expected value: a sum where a mean belongs, or the reverse?"
            )
    return ""


def _int_pattern(actual: Any, expected: Any) -> str:
    """What a wrong whole number suggests: one too many or too few, or a factor of 2."""
    if not isinstance(expected, int) or isinstance(expected, bool):
        return ""
    if not isinstance(actual, int | np.integer) or isinstance(actual, bool):
        return ""
    if abs(actual - expected) == 1:
        more = "more" if actual > expected else "less"
        return f"off by one: one {more} than expected (a +1 or a -1 of a formula?)"
    if expected and actual == 2 * expected:
        return "twice the expected count: counted something twice?"
    if actual and expected == 2 * actual:
        return "half the expected count: a factor of 2 missing?"
    return ""


def shape_pattern(actual: tuple[int, ...], expected: tuple[int, ...]) -> str:
    """What a wrong shape suggests: axes in the wrong order, one entry short or long, an axis
    missing or left over."""
    if sorted(actual) == sorted(expected) and len(actual) > 1:
        return f"the right sizes in the wrong order (expected {expected}): axes transposed?"
    if len(actual) == len(expected):
        off = [(i, a - e) for i, (a, e) in enumerate(zip(actual, expected, strict=True)) if a != e]
        if all(abs(d) <= 2 for _, d in off):
            words = ", ".join(
                f"axis {i} has {abs(d)} {'more' if d > 0 else 'fewer'} "
                f"entr{'y' if abs(d) == 1 else 'ies'}"
                for i, d in off
            )
            return f"{words} than expected: an off-by-one in the output-size formula, or padding?"
    squeezed = tuple(n for n in actual if n != 1)
    if squeezed == tuple(n for n in expected if n != 1):
        return f"the same sizes once axes of length 1 are dropped: keep the {expected} layout"
    if len(actual) == len(expected) - 1 or len(actual) == len(expected) + 1:
        return "one axis too many or too few: a sum over the wrong axis, or a missing keepdims?"
    return ""


def value_pattern(
    actual: np.ndarray, expected: np.ndarray, close: np.ndarray, rtol: float, atol: float
) -> str:
    """A common mistake the wrong values show, in words (or ""): truncation to integers, a
    constant factor or offset, a transpose, a shift by one position, wrong values only near
    the borders, entries never written.

    Only ``actual`` and ``expected`` are looked at, so the words suggest, never assert.
    """
    if actual.dtype.kind == "c" or expected.dtype.kind == "c" or expected.size < 2:
        return ""
    a, e = actual.astype(float), expected.astype(float)
    if not np.isfinite(a).all() and np.isfinite(e).all():
        return "your result holds NaN or inf: a division by zero, or an uninitialized np.empty?"

    def same(x: np.ndarray, y: np.ndarray) -> bool:
        return x.shape == y.shape and bool(np.allclose(x, y, rtol=rtol, atol=atol))

    if actual.dtype.kind in "iub" and expected.dtype.kind == "f":
        if not same(e, np.round(e)):
            return (
                f"your array has dtype {actual.dtype} and the expected values are not whole: "
                "the result was stored in an integer array (np.zeros_like of an integer input?)"
            )
    if not a.any():
        return "your result is all zeros: were the computed values ever written into it?"
    scale = float((a * e).sum() / (e * e).sum()) if (e * e).sum() else 0.0
    several = np.count_nonzero(e) > 1  # one nonzero entry fits any factor
    if several and scale and not np.isclose(scale, 1.0) and same(a, scale * e):
        reason = (
            "the opposite sign"
            if np.isclose(scale, -1.0)
            else "a sum where a mean belongs, or the reverse?"
            if np.isclose(scale, round(scale)) or np.isclose(1 / scale, round(1 / scale))
            else "a factor missing or applied twice?"
        )
        return f"every entry is {scale:.4g} times the expected one: {reason}"
    offset = float((a - e).mean())
    if not np.isclose(offset, 0.0, atol=atol) and same(a, e + offset):
        return f"every entry is off by {offset:.4g}: a term (a bias?) added twice or forgotten?"
    if a.ndim >= 2 and a.shape[-1] == a.shape[-2] and same(np.swapaxes(a, -1, -2), e):
        return "your result is the expected one transposed (its last two axes swapped)"
    if a.size > 2 and same(np.sort(a, axis=None), np.sort(e, axis=None)):
        shifted = _shift_pattern(a, e, same)
        return shifted or (
            "the right values in the wrong places: an order mistake (a reshape without the "
            "transpose it needs, or axes in the wrong order)?"
        )
    return _shift_pattern(a, e, same) or _unwritten_or_border(a, close)


def _shift_pattern(a: np.ndarray, e: np.ndarray, same) -> str:
    for axis in range(a.ndim):
        if a.shape[axis] > 2:
            for step in (1, -1):
                head = np.take(a, range(max(step, 0), a.shape[axis] + min(step, 0)), axis=axis)
                tail = np.take(e, range(max(-step, 0), e.shape[axis] + min(-step, 0)), axis=axis)
                if same(head, tail):
                    return (
                        f"your values are the expected ones shifted by one position along axis "
                        f"{axis}: an off-by-one in where a window starts?"
                    )
    return ""


def _unwritten_or_border(a: np.ndarray, close: np.ndarray) -> str:
    wrong = ~close
    if wrong.any() and not a[wrong].any():
        return "the wrong entries are 0 in yours: were they ever written (a loop that stops early)?"
    if wrong.any() and all(n >= 3 for n in a.shape[-2:]):
        inner = tuple([slice(None)] * (a.ndim - min(a.ndim, 2)) + [slice(1, -1)] * min(a.ndim, 2))
        if not wrong[inner].any():
            return "only entries on the borders are wrong, the interior is right: the padding?"
    return ""


def _a(noun: str) -> str:
    return f"an {noun}" if noun[:1].lower() in "aeiou" else f"a {noun}"
