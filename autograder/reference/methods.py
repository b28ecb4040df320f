"""Which formulation each reference kernel uses for a given layer, in words.

``bench/kernels.py`` prints these beside its timings (and saves them for chapter 06), so the
words come from the same decisions the kernels make (:data:`.conv.SHIFTED_MAX_ROWS`,
:func:`.conv.use_interleaved`, :func:`.conv.per_image_gemm`, :func:`.pooling_2x2.is_2x2`), not
from a copy of them.
"""

from __future__ import annotations

import numpy as np

from . import conv
from .pooling_2x2 import is_2x2
from .shapes import window_2d

THREADS = "images split among threads, 1-thread BLAS"


def _layout(x_shape, w_shape, stride, padding) -> tuple[str, bool]:
    """``(kind, per_image)`` for a conv layer (``conv1d`` shapes count as rows of height 1);
    kind is ``'shifted'``, ``'interleaved'`` or ``'gemm'``."""
    if len(x_shape) == 3:
        x_shape, w_shape = (*x_shape[:2], 1, x_shape[2]), (*w_shape[:2], 1, w_shape[2])
        stride, padding = (1, stride), (0, padding)
    window = window_2d(x_shape[2:], w_shape[2:], stride, padding)
    rows = int(np.prod(w_shape[1:]))
    length = window.out[0] * window.out[1]
    if window.stride == (1, 1) and rows <= conv.SHIFTED_MAX_ROWS:
        kind = "shifted"
    elif conv.use_interleaved(x_shape[0], w_shape[0], rows, length):
        kind = "interleaved"
    else:
        kind = "gemm"
    return kind, conv.per_image_gemm(w_shape[0], rows, length)


def _grouped(w_shape, groups: int) -> str:
    """How a grouped layer is split, or '' for ``groups == 1``."""
    if groups == 1:
        return ""
    if w_shape[1] == 1:
        return "depthwise"
    return f"{groups} groups, each computed as below: "


def conv_forward_method(x_shape, w_shape, stride=1, padding=0, groups=1) -> str:
    grouped = _grouped(w_shape, groups)
    if grouped == "depthwise":
        return (
            "depthwise numba kernel: each (image, channel) plane padded once into L1, "
            "a 3x3 window summed in one statement along each output row; planes split among "
            "threads"
        )
    kind, per_image = _layout(x_shape, w_shape, stride, padding)
    if kind == "shifted":
        method = "direct numba loops, each tap a shifted view of the padded image (no im2col)"
    elif kind == "interleaved":
        method = (
            "direct numba kernel on blocks of up to 32 images interleaved along each row, "
            "4 filters x 5 taps per pass, vectorised by LLVM (fastmath); blocks split among threads"
        )
    elif per_image:
        method = f"im2col (numba) + one BLAS GEMM per image, bias folded in; {THREADS}"
    else:
        method = f"im2col (numba) + one BLAS GEMM per chunk of images + copy/bias; {THREADS}"
    return grouped + method


def conv_backward_method(x_shape, w_shape, stride=1, padding=0, groups=1) -> str:
    grouped = _grouped(w_shape, groups)
    if grouped == "depthwise":
        return (
            "depthwise numba kernel: one pass per plane and tap gives dw (a dot product) and "
            "dx (added into a padded plane); planes split among threads"
        )
    kind, per_image = _layout(x_shape, w_shape, stride, padding)
    if kind == "interleaved":
        return grouped + (
            "im2col + BLAS GEMMs for dw and dcols + col2im on blocks of up to 32 images "
            "interleaved along each row (runs of OW*32 values); blocks split among threads, "
            "1-thread BLAS"
        )
    gemms = "per image" if per_image else "per chunk of images"
    return (
        grouped
        + f"im2col + BLAS GEMMs for dw and dcols ({gemms}), col2im gather (numba); {THREADS}"
    )


def pool_method(kind: str, direction: str, kernel_size=2, stride=None, padding=0) -> str:
    window = window_2d((8, 8), kernel_size, kernel_size if stride is None else stride, padding)
    if is_2x2(window):
        loop = "2x2/stride-2 kernel, unrolled, vectorised along rows"
    else:
        loop = "general window loops"
    if (kind, direction) == ("max", "backward"):
        loop += "; argmax found again from x, branch-free"
    return f"direct numba loops ({loop}); planes split among threads"
