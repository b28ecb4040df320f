"""Comparisons used by the test cells of the exercise notebooks.

Every check fails with an ``AssertionError`` whose message a learner can act on, in the order a
debugger would look: first the *type* of what the function returned, then its *shape*, then its
*values*, always followed by the configuration (shapes, stride, padding, ...) that failed, e.g.::

    conv1d_loop(x, w, stride=2, padding='same') returned the wrong values
      configuration: x.shape=(7,), w.shape=(3,), stride=2, padding='same'
      first mismatch at index (2,): got 4.0, expected 5.0 (3 of 4 entries differ)

Hidden tests draw their random cases from :func:`grading_rng`, whose seed the grader chooses at
grading time, so knowing the test code does not give away the expected values.
"""

from __future__ import annotations

import ast
import inspect
import os
import textwrap
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

SEED_VARIABLE = "AUTOGRADER_SEED"
DEFAULT_SEED = 20261122


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


def describe(config: Mapping[str, Any]) -> str:
    """Render a configuration as ``name=value`` pairs, arrays by their shape."""
    parts = []
    for name, value in config.items():
        if isinstance(value, np.ndarray):
            parts.append(f"{name}.shape={value.shape}")
        else:
            parts.append(f"{name}={value!r}")
    return ", ".join(parts)


def _fail(call: str, problem: str, config: Mapping[str, Any] | None, detail: str = "") -> None:
    lines = [f"{call} {problem}"]
    if config:
        lines.append(f"  configuration: {describe(config)}")
    if detail:
        lines.append(f"  {detail}")
    raise AssertionError("\n".join(lines))


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
    expected = np.asarray(expected)
    if not isinstance(actual, np.ndarray):
        _fail(
            call,
            f"returned a {type(actual).__name__}, expected a NumPy array",
            config,
            "hint: build the result with np.zeros(...) or np.array(...)",
        )
    if actual.shape != expected.shape:
        _fail(
            call,
            f"returned an array of shape {actual.shape}, expected shape {expected.shape}",
            config,
            "hint: check the output-length formula and the padding you add",
        )
    if not np.issubdtype(actual.dtype, np.number):
        _fail(call, f"returned an array of dtype {actual.dtype}, expected numbers", config)
    close = np.isclose(actual, expected, rtol=rtol, atol=atol)
    if not close.all():
        bad = np.argwhere(~close)
        where = tuple(int(i) for i in bad[0])
        _fail(
            call,
            "returned the wrong values",
            config,
            f"first mismatch at index {where}: got {actual[where]!r}, expected {expected[where]!r} "
            f"({len(bad)} of {expected.size} entries differ)",
        )


def check_value(
    actual: Any,
    expected: Any,
    *,
    call: str = "your function",
    config: Mapping[str, Any] | None = None,
) -> None:
    """Assert that a scalar or tuple result equals ``expected``, type first.

    Integers are compared exactly; NumPy integer scalars count as ``int``.
    """
    if isinstance(expected, tuple):
        if not isinstance(actual, tuple | list) or len(actual) != len(expected):
            _fail(call, f"returned {actual!r}, expected a pair like {expected!r}", config)
        for got, want in zip(actual, expected, strict=True):
            if not isinstance(got, int | np.integer):
                _fail(call, f"returned {actual!r}; every entry should be an int", config)
            if got != want:
                _fail(
                    call,
                    f"returned {tuple(int(v) for v in actual)!r}, expected {expected!r}",
                    config,
                )
        return
    if isinstance(expected, int) and not isinstance(actual, int | np.integer):
        _fail(
            call,
            f"returned {actual!r} ({type(actual).__name__}), expected an int",
            config,
            "hint: use integer division // (or int(...)) so the result is a whole number",
        )
    if actual != expected:
        _fail(call, f"returned {actual!r}, expected {expected!r}", config)


def check_no_python_loops(function: Callable[..., Any]) -> None:
    """Assert that ``function`` contains no ``for``/``while`` loop or comprehension.

    Used where an exercise asks for a vectorized implementation.
    """
    try:
        source = textwrap.dedent(inspect.getsource(function))
    except (OSError, TypeError) as error:
        raise AssertionError(
            f"could not read the source of {getattr(function, '__name__', function)!r} ({error}); "
            "define it with def in a notebook cell"
        ) from None
    loops = (ast.For, ast.While, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, loops):
            kind = (
                type(node).__name__.replace("Comp", " comprehension").replace("Exp", " expression")
            )
            raise AssertionError(
                f"{function.__name__} uses a Python {kind.lower()} (line {node.lineno} of the "
                "function); this part asks for a vectorized version: index with NumPy arrays "
                "(for example np.arange(o)[:, None] * stride + np.arange(k)) instead of looping"
            )
