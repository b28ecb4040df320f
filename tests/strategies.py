"""Hypothesis strategies shared by the test suite: shapes and window arguments in every form.

A *case* holds everything one call needs: the array shapes, the arguments in the form the
function under test receives them (an int, a pair, nested pairs, ``'valid'``, ``'same'``), and
the same arguments normalised to explicit numbers *by this module*, independently of
``autograder.reference``, so tests can hand them to PyTorch.

Sizes stay small (a few channels, images up to about 10 x 10) and include the edge cases:
1 x 1 kernels, kernels exactly as large as the padded input, batch 1, one channel.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# Deterministic (derandomize) and without deadlines: the first call of a numba kernel compiles.
reference_settings = settings(
    deadline=None,
    max_examples=100,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)

Pads = tuple[int, int]


def tf_same_pads(n: int, k: int, s: int = 1, d: int = 1) -> Pads:
    """TensorFlow's "same" rule, written out here so tests do not trust the code they test."""
    out = math.ceil(n / s)
    total = max((out - 1) * s + d * (k - 1) + 1 - n, 0)
    return total // 2, total - total // 2


def as_pair(value) -> tuple[int, int]:
    """``3 -> (3, 3)``, pairs unchanged."""
    return (value, value) if isinstance(value, int) else tuple(value)


@dataclass(frozen=True)
class Case2D:
    """One 2-D call: shapes, arguments as passed, the same arguments normalised."""

    x_shape: tuple[int, int, int, int]  # (N, C, H, W)
    kernel_size: object  # as passed: int or pair
    kernel: tuple[int, int]  # (KH, KW)
    filters: int  # F (convolution only)
    stride: object  # as passed: int, pair or None (pooling)
    padding: object  # as passed: any accepted form
    dilation: object  # as passed: int or pair
    strides: tuple[int, int]
    dilations: tuple[int, int]
    pads: tuple[Pads, Pads]  # ((top, bottom), (left, right))
    seed: int
    groups: int = 1  # convolution only: C and F are multiples of it

    @property
    def w_shape(self) -> tuple[int, int, int, int]:
        return (self.filters, self.x_shape[1] // self.groups, *self.kernel)

    @property
    def out_shape(self) -> tuple[int, int]:
        """(OH, OW), from the formula."""
        return tuple(
            (self.x_shape[2 + i] + sum(self.pads[i]) - self.dilations[i] * (self.kernel[i] - 1) - 1)
            // self.strides[i]
            + 1
            for i in range(2)
        )

    @property
    def symmetric(self) -> bool:
        """True when PyTorch's own ``padding=(ph, pw)`` can express the padding."""
        return all(before == after for before, after in self.pads)

    def rng(self) -> np.random.Generator:
        return np.random.default_rng(self.seed)


@dataclass(frozen=True)
class Case1D:
    """One 1-D convolution call."""

    x_shape: tuple[int, int, int]  # (N, C, L)
    kernel: int  # K
    filters: int
    stride: int
    padding: object
    dilation: int
    pads: Pads  # (before, after)
    seed: int

    @property
    def w_shape(self) -> tuple[int, int, int]:
        return (self.filters, self.x_shape[1], self.kernel)

    def rng(self) -> np.random.Generator:
        return np.random.default_rng(self.seed)


seeds = st.integers(0, 2**32 - 1)


def int_or_pair(elements: st.SearchStrategy[int]) -> st.SearchStrategy:
    """An int, or a pair of ints as a tuple (one per spatial dim)."""
    return st.one_of(elements, st.tuples(elements, elements))


def kernel_forms(kernel: tuple[int, int]) -> st.SearchStrategy:
    """``kernel`` as a tuple, a list, or an int when it is square."""
    forms = [kernel, list(kernel)] + ([kernel[0]] if kernel[0] == kernel[1] else [])
    return st.sampled_from(forms)


@st.composite
def padding_2d(draw, max_pad: tuple[int, int]):
    """A 2-D padding in any accepted form, each side at most ``max_pad`` (per dim).

    Returns ``(padding as passed, explicit ((top, bottom), (left, right)) or 'same')``.
    """
    ph, pw = (st.integers(0, m) for m in max_pad)
    form = draw(st.sampled_from(["int", "pair", "explicit", "mixed", "valid", "same"]))
    if form == "int":
        p = draw(st.integers(0, min(max_pad)))
        return p, ((p, p), (p, p))
    if form == "pair":
        p, q = draw(ph), draw(pw)
        return (p, q), ((p, p), (q, q))
    if form == "explicit":
        pads = ((draw(ph), draw(ph)), (draw(pw), draw(pw)))
        return pads, pads
    if form == "mixed":  # one dim symmetric, the other explicit, lists allowed
        p, before, after = draw(ph), draw(pw), draw(pw)
        return [p, [before, after]], ((p, p), (before, after))
    if form == "valid":
        return "valid", ((0, 0), (0, 0))
    return "same", "same"


def _size_for(draw, span: int, pads: Pads | str, max_extra: int) -> int:
    """An input size the window fits in, often the smallest (kernel as large as the input)."""
    smallest = 1 if pads == "same" else max(1, span - sum(pads))
    return draw(st.integers(smallest, smallest + max_extra))


@st.composite
def conv2d_cases(
    draw,
    max_batch: int = 3,
    max_channels: int = 3,
    max_filters: int = 3,
    max_kernel: int = 4,
    max_stride: int = 3,
    max_dilation: int = 2,
    max_pad: int = 2,
    max_extra: int = 6,
) -> Case2D:
    """A ``conv2d`` / ``im2col`` call: kernel sizes, stride, dilation and padding in any form."""
    kernel = draw(st.tuples(st.integers(1, max_kernel), st.integers(1, max_kernel)))
    stride = draw(int_or_pair(st.integers(1, max_stride)))
    dilation = draw(int_or_pair(st.integers(1, max_dilation)))
    strides, dilations = as_pair(stride), as_pair(dilation)
    padding, pads = draw(padding_2d((max_pad, max_pad)))
    size = tuple(
        _size_for(
            draw, dilations[i] * (kernel[i] - 1) + 1, pads if pads == "same" else pads[i], max_extra
        )
        for i in range(2)
    )
    if pads == "same":
        pads = tuple(tf_same_pads(size[i], kernel[i], strides[i], dilations[i]) for i in range(2))
    return Case2D(
        x_shape=(draw(st.integers(1, max_batch)), draw(st.integers(1, max_channels)), *size),
        kernel_size=draw(kernel_forms(kernel)),
        kernel=kernel,
        filters=draw(st.integers(1, max_filters)),
        stride=stride,
        padding=padding,
        dilation=dilation,
        strides=strides,
        dilations=dilations,
        pads=pads,
        seed=draw(seeds),
    )


@st.composite
def grouped_conv2d_cases(draw, max_groups: int = 4, **window) -> Case2D:
    """A ``conv2d`` call with ``groups``: the window as in :func:`conv2d_cases`, then
    ``groups`` groups of 1-3 channels and 1-3 filters each. Half of the cases are depthwise
    (one channel per group, ``groups == C``), some with several filters per channel."""
    case = draw(conv2d_cases(**window))
    groups = draw(st.integers(1, max_groups))
    per_group = draw(st.sampled_from([1, 1, 1, 2, 3]))
    filters_per_group = draw(st.sampled_from([1, 1, 2, 3]))
    n, _, height, width = case.x_shape
    return dataclasses.replace(
        case,
        x_shape=(n, groups * per_group, height, width),
        filters=groups * filters_per_group,
        groups=groups,
    )


@st.composite
def pool2d_cases(
    draw,
    max_batch: int = 3,
    max_channels: int = 3,
    max_kernel: int = 4,
    max_stride: int = 3,
    max_extra: int = 6,
) -> Case2D:
    """A pooling call: stride ``None`` (the kernel size) or given, padding at most half the
    kernel on each side (PyTorch's rule), in any accepted form."""
    kernel = draw(st.tuples(st.integers(1, max_kernel), st.integers(1, max_kernel)))
    kernel_size = draw(kernel_forms(kernel))
    stride = draw(st.one_of(st.none(), int_or_pair(st.integers(1, max_stride))))
    strides = kernel if stride is None else as_pair(stride)
    padding, pads = draw(padding_2d((kernel[0] // 2, kernel[1] // 2)))
    size = tuple(
        _size_for(draw, kernel[i], pads if pads == "same" else pads[i], max_extra) for i in range(2)
    )
    if pads == "same":
        pads = tuple(tf_same_pads(size[i], kernel[i], strides[i]) for i in range(2))
    return Case2D(
        x_shape=(draw(st.integers(1, max_batch)), draw(st.integers(1, max_channels)), *size),
        kernel_size=kernel_size,
        kernel=kernel,
        filters=0,
        stride=stride,
        padding=padding,
        dilation=1,
        strides=strides,
        dilations=(1, 1),
        pads=pads,
        seed=draw(seeds),
    )


@st.composite
def conv1d_cases(
    draw,
    max_batch: int = 3,
    max_channels: int = 3,
    max_filters: int = 3,
    max_kernel: int = 5,
    max_stride: int = 3,
    max_dilation: int = 3,
    max_pad: int = 3,
    max_extra: int = 10,
) -> Case1D:
    """A ``conv1d`` call; padding an int, a ``(before, after)`` pair, ``'valid'`` or ``'same'``."""
    kernel = draw(st.integers(1, max_kernel))
    stride = draw(st.integers(1, max_stride))
    dilation = draw(st.integers(1, max_dilation))
    p = st.integers(0, max_pad)
    form = draw(st.sampled_from(["int", "pair", "valid", "same"]))
    if form == "int":
        padding = draw(p)
        pads = (padding, padding)
    elif form == "pair":
        pads = padding = (draw(p), draw(p))
    else:
        padding = form
        pads = (0, 0) if form == "valid" else "same"
    length = _size_for(draw, dilation * (kernel - 1) + 1, pads, max_extra)
    if pads == "same":
        pads = tf_same_pads(length, kernel, stride, dilation)
    return Case1D(
        x_shape=(draw(st.integers(1, max_batch)), draw(st.integers(1, max_channels)), length),
        kernel=kernel,
        filters=draw(st.integers(1, max_filters)),
        stride=stride,
        padding=padding,
        dilation=dilation,
        pads=pads,
        seed=draw(seeds),
    )
