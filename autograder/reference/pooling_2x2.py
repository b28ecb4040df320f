"""2x2 max and average pooling with stride 2 and no padding: kernels with the window unrolled.

Why a second set of kernels (beside :mod:`.pooling`'s general ones): the general loops handle
windows whose size is only known at run time and clip them at the borders, about 20 ns per
window here. With the window fixed at 2x2, stride 2 and no padding (LeNet's and most CNNs'
pooling) numba unrolls the window and vectorises along ``ow``: 25-40x faster (0.5 ms instead of
21 ms for max pooling of 64x64x32x32 on one thread), which is what makes pooling faster than
PyTorch's. Same semantics: first maximum wins on ties, a NaN beats everything (the last NaN
wins), averages summed in float64; a last odd row or column is never in a window.

Every kernel takes its arrays then ``start, stop``: the range of ``N*C`` planes it fills.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .shapes import Window2D

# Unsigned indices: numba drops its negative-index wraparound check (see :mod:`.pooling`).
U = np.uintp


@njit(nogil=True, cache=True)
def max_pool2x2_kernel(x, out, start, stop):  # pragma: no cover - compiled by numba
    """``out[n, c, oh, ow] = max(x[n, c, 2oh:2oh+2, 2ow:2ow+2])``."""
    channels = x.shape[1]
    oh_size, ow_size = out.shape[2], out.shape[3]
    for task in range(start, stop):
        n = task // channels
        c = task - n * channels
        for oh in range(oh_size):
            h = 2 * oh
            for ow in range(ow_size):
                w = 2 * ow
                best = -np.inf
                for i in range(2):
                    for j in range(2):
                        value = x[n, c, U(h + i), U(w + j)]
                        if value > best or np.isnan(value):
                            best = value
                out[n, c, U(oh), U(ow)] = best


@njit(nogil=True, cache=True)
def max_pool2x2_backward_kernel(dy, x, dx, start, stop):  # pragma: no cover - compiled by numba
    """``dx`` (garbage on entry): ``dy`` at each 2x2 window's argmax, zeros elsewhere."""
    n_images, channels, height, width = x.shape
    oh_size, ow_size = dy.shape[2], dy.shape[3]
    for task in range(start, stop):
        n = task // channels
        c = task - n * channels
        for oh in range(oh_size):
            h = 2 * oh
            for ow in range(ow_size):
                w = 2 * ow
                # The window's four values in row-major order. ``t_k``: value k takes over
                # as the maximum (larger, or NaN; so the first maximum and the last NaN win,
                # as in window_argmax). Written with selects and bitwise & | (Python's ``and``
                # / ``or`` compile to branches): on real data each comparison is a coin toss,
                # and the branchy version was 4-7x slower (11 ms instead of 2.8 ms here).
                v0 = x[n, c, U(h), U(w)]
                v1 = x[n, c, U(h), U(w + 1)]
                v2 = x[n, c, U(h + 1), U(w)]
                v3 = x[n, c, U(h + 1), U(w + 1)]
                t1 = (v1 > v0) | (v1 != v1)
                b1 = v1 if t1 else v0
                t2 = (v2 > b1) | (v2 != v2)
                b2 = v2 if t2 else b1
                t3 = (v3 > b2) | (v3 != v3)
                grad = dy[n, c, U(oh), U(ow)]
                dx[n, c, U(h + 1), U(w + 1)] = grad if t3 else 0.0
                dx[n, c, U(h + 1), U(w)] = grad if (t2 & (not t3)) else 0.0
                dx[n, c, U(h), U(w + 1)] = grad if (t1 & (not (t2 | t3))) else 0.0
                dx[n, c, U(h), U(w)] = 0.0 if (t1 | t2 | t3) else grad
        for h in range(2 * oh_size, height):  # an odd last row: in no window
            for w in range(width):
                dx[n, c, U(h), U(w)] = 0.0
        for h in range(2 * oh_size):  # an odd last column
            for w in range(2 * ow_size, width):
                dx[n, c, U(h), U(w)] = 0.0


@njit(nogil=True, cache=True)
def avg_pool2x2_kernel(x, out, start, stop):  # pragma: no cover - compiled by numba
    """``out[n, c, oh, ow]`` = mean of ``x[n, c, 2oh:2oh+2, 2ow:2ow+2]`` (summed in float64)."""
    channels = x.shape[1]
    oh_size, ow_size = out.shape[2], out.shape[3]
    for task in range(start, stop):
        n = task // channels
        c = task - n * channels
        for oh in range(oh_size):
            h = 2 * oh
            for ow in range(ow_size):
                w = 2 * ow
                total = 0.0
                for i in range(2):
                    for j in range(2):
                        total += x[n, c, U(h + i), U(w + j)]
                out[n, c, U(oh), U(ow)] = total / 4


@njit(nogil=True, cache=True)
def avg_pool2x2_backward_kernel(dy, dx, start, stop):  # pragma: no cover - compiled by numba
    """``dx`` (garbage on entry): ``dy / 4`` at the four inputs of each window, zeros elsewhere."""
    n_images, channels, height, width = dx.shape
    oh_size, ow_size = dy.shape[2], dy.shape[3]
    for task in range(start, stop):
        n = task // channels
        c = task - n * channels
        for oh in range(oh_size):
            h = 2 * oh
            for ow in range(ow_size):
                w = 2 * ow
                share = dy[n, c, U(oh), U(ow)] / 4
                for i in range(2):
                    for j in range(2):
                        dx[n, c, U(h + i), U(w + j)] = share
        for h in range(2 * oh_size, height):
            for w in range(width):
                dx[n, c, U(h), U(w)] = 0.0
        for h in range(2 * oh_size):
            for w in range(2 * ow_size, width):
                dx[n, c, U(h), U(w)] = 0.0


def is_2x2(window: Window2D) -> bool:
    """True for 2x2 windows with stride 2 and no padding: the specialised kernels apply."""
    return window.kernel == (2, 2) and window.stride == (2, 2) and window.pads == ((0, 0), (0, 0))
