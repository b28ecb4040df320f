"""Which formulation each reference kernel uses for a given layer, in words.

``bench/kernels.py`` prints these beside its timings (and saves them for chapter 06), so the
words come from the same decisions the kernels make (:data:`.conv.SHIFTED_MAX_ROWS`,
:func:`.conv.per_image_gemm`, :func:`.pooling.is_2x2`), not from a copy of them.
"""

from __future__ import annotations

import numpy as np

from .conv import SHIFTED_MAX_ROWS, per_image_gemm
from .pooling import is_2x2
from .shapes import window_2d

THREADS = "images split among threads, 1-thread BLAS"


def _layout(x_shape, w_shape, stride, padding) -> tuple[bool, bool]:
    """``(shifted, per_image)`` for a conv layer (``conv1d`` shapes count as rows of height 1)."""
    if len(x_shape) == 3:
        x_shape, w_shape = (*x_shape[:2], 1, x_shape[2]), (*w_shape[:2], 1, w_shape[2])
        stride, padding = (1, stride), (0, padding)
    window = window_2d(x_shape[2:], w_shape[2:], stride, padding)
    rows = int(np.prod(w_shape[1:]))
    shifted = window.stride == (1, 1) and rows <= SHIFTED_MAX_ROWS
    return shifted, per_image_gemm(w_shape[0], rows, window.out[0] * window.out[1])


def conv_forward_method(x_shape, w_shape, stride=1, padding=0) -> str:
    shifted, per_image = _layout(x_shape, w_shape, stride, padding)
    if shifted:
        return "direct numba loops, each tap a shifted view of the padded image (no im2col)"
    if per_image:
        return f"im2col (numba) + one BLAS GEMM per image, bias folded in; {THREADS}"
    return f"im2col (numba) + one BLAS GEMM per chunk of images + copy/bias; {THREADS}"


def conv_backward_method(x_shape, w_shape, stride=1, padding=0) -> str:
    _, per_image = _layout(x_shape, w_shape, stride, padding)
    gemms = "per image" if per_image else "per chunk of images"
    return f"im2col + BLAS GEMMs for dw and dcols ({gemms}), col2im gather (numba); {THREADS}"


def pool_method(kind: str, direction: str, kernel_size=2, stride=None, padding=0) -> str:
    window = window_2d((8, 8), kernel_size, kernel_size if stride is None else stride, padding)
    if is_2x2(window):
        loop = "2x2/stride-2 kernel, unrolled, vectorised along rows"
    else:
        loop = "general window loops"
    if (kind, direction) == ("max", "backward"):
        loop += "; argmax found again from x, branch-free"
    return f"direct numba loops ({loop}); planes split among threads"
