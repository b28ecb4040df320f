"""Validation and normalisation of the arguments every reference function shares.

Every public function in :mod:`autograder.reference` checks its arguments here before any
numba kernel runs, so a wrong call fails with a :class:`ValueError` that names the argument
and says what was expected, never with an obscure error from inside a kernel.

This module knows the *syntax* of the arguments only. Turning ``padding='same'`` into numbers
needs the input and kernel sizes, which is :mod:`autograder.reference.shapes`' job.
"""

from __future__ import annotations

import numbers

import numpy as np

PADDING_1D_FORMS = "an int, a (before, after) pair, 'valid' or 'same'"
PADDING_2D_FORMS = (
    "an int, a (ph, pw) pair, ((top, bottom), (left, right)) pairs, 'valid' or 'same'"
)

Pads1D = tuple[int, int]
Pads2D = tuple[Pads1D, Pads1D]


def is_int(value) -> bool:
    """True for Python and NumPy integers, False for bools (``True`` is not a stride)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_)


def positive_int(value, name: str) -> int:
    """Return ``value`` as an ``int`` if it is a positive integer, else raise ``ValueError``."""
    if not is_int(value) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def positive_pair(value, name: str) -> tuple[int, int]:
    """Normalise an int or a pair of positive ints to a pair, one value per spatial dim.

    ``3 -> (3, 3)``; ``(2, 1) -> (2, 1)``. Used for ``kernel_size``, ``stride``, ``dilation``
    and ``output_size`` of the 2-D functions.
    """
    if is_int(value) and value >= 1:
        return int(value), int(value)
    if (
        isinstance(value, tuple | list)
        and len(value) == 2
        and all(is_int(v) and v >= 1 for v in value)
    ):
        return int(value[0]), int(value[1])
    raise ValueError(
        f"{name} must be a positive int or a pair of positive ints (one per spatial dim), "
        f"got {value!r}"
    )


def _non_negative_pair(value) -> Pads1D | None:
    """``(before, after)`` as ints when ``value`` is a pair of non-negative ints, else None."""
    if (
        isinstance(value, tuple | list)
        and len(value) == 2
        and all(is_int(v) and v >= 0 for v in value)
    ):
        return int(value[0]), int(value[1])
    return None


def parse_padding_1d(padding) -> Pads1D | str:
    """Read a 1-D ``padding`` argument.

    Returns ``'same'`` (resolved later, it depends on the sizes) or explicit
    ``(before, after)`` zero counts: ``2 -> (2, 2)``, ``(0, 1) -> (0, 1)``,
    ``'valid' -> (0, 0)``.
    """
    if isinstance(padding, str):
        if padding == "valid":
            return 0, 0
        if padding == "same":
            return "same"
    elif is_int(padding) and padding >= 0:
        return int(padding), int(padding)
    else:
        pair = _non_negative_pair(padding)
        if pair is not None:
            return pair
    raise ValueError(f"padding: expected {PADDING_1D_FORMS}; got {padding!r}")


def parse_padding_2d(padding) -> Pads2D | str:
    """Read a 2-D ``padding`` argument.

    Returns ``'same'`` or explicit ``((top, bottom), (left, right))`` zero counts:

    * ``1 -> ((1, 1), (1, 1))``
    * ``(1, 2) -> ((1, 1), (2, 2))`` (one symmetric value per dim, like PyTorch)
    * ``((0, 1), (2, 3))`` as given; each dim may also mix forms: ``(1, (0, 1))``
    * ``'valid' -> ((0, 0), (0, 0))``
    """
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0), (0, 0)
        if padding == "same":
            return "same"
    elif is_int(padding) and padding >= 0:
        p = int(padding)
        return (p, p), (p, p)
    elif isinstance(padding, tuple | list) and len(padding) == 2:
        dims = []
        for value in padding:
            if is_int(value) and value >= 0:
                dims.append((int(value), int(value)))
            elif (pair := _non_negative_pair(value)) is not None:
                dims.append(pair)
            else:
                break
        else:
            return dims[0], dims[1]
    raise ValueError(f"padding: expected {PADDING_2D_FORMS}; got {padding!r}")


def float_array(a, name: str) -> np.ndarray:
    """``a`` as a float32 or float64 NumPy array.

    float32 and float64 are kept. Integer and bool arrays become float64, float16 becomes
    float32, other real floating types (``longdouble``) become float64. Complex, object and
    string arrays are rejected with a ``ValueError``.
    """
    arr = np.asarray(a)
    kind = arr.dtype.kind
    if kind == "f":
        if arr.dtype == np.float16:
            return arr.astype(np.float32)
        if arr.dtype not in (np.float32, np.float64):
            return arr.astype(np.float64)
        return arr
    if kind in "biu":
        return arr.astype(np.float64)
    raise ValueError(
        f"{name} must be an array of real numbers (float32 or float64; integer arrays are "
        f"converted to float64); got dtype {arr.dtype}"
    )


def check_ndim(a: np.ndarray, ndim: int, name: str, layout: str) -> None:
    """Raise ``ValueError`` unless ``a`` has ``ndim`` axes; ``layout`` names them."""
    if a.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array of shape {layout}; got shape {a.shape}")
    if any(size < 1 for size in a.shape[1:]):
        raise ValueError(f"{name} of shape {layout} must have non-empty axes; got {a.shape}")


def common_dtype(*arrays: np.ndarray | None) -> np.dtype:
    """The dtype all arrays are computed in: NumPy's promotion (float32 with float64 is float64)."""
    return np.result_type(*(a for a in arrays if a is not None))


def contiguous(a: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``a`` in ``dtype`` and C order, copying only when needed (kernels see one layout)."""
    return np.ascontiguousarray(a, dtype=dtype)
