"""Stride-1 convolution with few input taps, computed on shifted views of the padded image.

Used by :func:`.conv.conv2d_padded` when ``C*KH*KW <= SHIFTED_MAX_ROWS`` (LeNet's first
layer: 1*5*5 = 25). There the GEMM of im2col is a thin ``(F, 25) @ (25, N*L)`` product that
BLAS runs at a quarter of its speed, after im2col has written 25 copies of the input. Here
each tap ``(i, j)`` reads the padded image shifted by ``i*DH*Wp + j*DW``: nothing is copied but
the padding.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._threads import items_per_thread, run_split
from .shapes import Window2D

# Unsigned indices: numba drops its negative-index wraparound check.
U = np.uintp


@njit(nogil=True, cache=True)
def pad_images(x, xp, top, left, n_start, n_stop):  # pragma: no cover - compiled by numba
    """``xp[n]`` = image ``x[n]`` with zeros around it (``xp`` may be taller than needed)."""
    channels, height, width = x.shape[1], x.shape[2], x.shape[3]
    padded_height, padded_width = xp.shape[2], xp.shape[3]
    for n in range(n_start, n_stop):
        for c in range(channels):
            for h in range(padded_height):
                source = h - top
                if source < 0 or source >= height:
                    for k in range(padded_width):
                        xp[n, c, U(h), U(k)] = 0.0
                    continue
                for k in range(left):
                    xp[n, c, U(h), U(k)] = 0.0
                for k in range(width):
                    xp[n, c, U(h), U(k + left)] = x[n, c, U(source), U(k)]
                for k in range(left + width, padded_width):
                    xp[n, c, U(h), U(k)] = 0.0


@njit(nogil=True, cache=True)
def shifted_conv_kernel(xf, w, b, out, acc, n_start, n_stop, dh, dw, wp):  # pragma: no cover
    """Stride-1 convolution of padded, flattened images ``xf`` ``(N, C, (Hp+1)*Wp)``.

    Output ``(oh, ow)`` is computed at flat position ``p = oh*Wp + ow`` of a plane as wide as
    the padded input, where every tap ``(i, j)`` is the same shifted copy of the input:
    ``acc[p] += w[f, c, i, j] * xf[n, c, p + i*DH*Wp + j*DW]``, one long contiguous loop per
    tap (the ``Wp - OW`` extra columns per row are computed and dropped). ``acc`` holds a
    block of whole rows (it stays in L1); a 5-wide kernel row is done in one pass.
    """
    filters, channels, kh, kw = w.shape
    oh_size, ow_size = out.shape[2], out.shape[3]
    block_rows = acc.shape[0] // wp
    for n in range(n_start, n_stop):
        for oh0 in range(0, oh_size, block_rows):
            n_rows = min(block_rows, oh_size - oh0)
            m = n_rows * wp
            p0 = oh0 * wp
            for f in range(filters):
                for p in range(m):
                    acc[U(p)] = 0.0
                for c in range(channels):
                    for i in range(kh):
                        base = p0 + i * dh * wp
                        if kw == 5:
                            w0, w1, w2 = w[f, c, i, 0], w[f, c, i, 1], w[f, c, i, 2]
                            w3, w4 = w[f, c, i, 3], w[f, c, i, 4]
                            for p in range(m):
                                q = base + p
                                acc[U(p)] += (
                                    (w0 * xf[n, c, U(q)] + w1 * xf[n, c, U(q + dw)])
                                    + (w2 * xf[n, c, U(q + 2 * dw)] + w3 * xf[n, c, U(q + 3 * dw)])
                                ) + w4 * xf[n, c, U(q + 4 * dw)]
                        else:
                            for j in range(kw):
                                weight = w[f, c, i, j]
                                shifted = base + j * dw
                                for p in range(m):
                                    acc[U(p)] += weight * xf[n, c, U(shifted + p)]
                bias = b[f]
                for r in range(n_rows):
                    for ow in range(ow_size):
                        out[n, f, U(oh0 + r), U(ow)] = acc[U(r * wp + ow)] + bias


def shifted_conv2d(x: np.ndarray, w: np.ndarray, b, window: Window2D) -> np.ndarray:
    """Stride-1 convolution with few input taps (``C*KH*KW <= SHIFTED_MAX_ROWS``), no BLAS.

    Why: with ``C*KH*KW`` tiny (LeNet's first layer: 1*5*5 = 25) the GEMM of im2col is a
    thin ``(F, 25) @ (25, N*L)`` product that BLAS runs at a quarter of its speed, after
    im2col has written 25 copies of the input. Here each tap is a shifted view of the padded
    image (see :func:`shifted_conv_kernel`), so nothing is copied but the padding: 0.35 ms
    instead of 0.94 ms for LeNet conv1 on one thread (PyTorch: 0.62 ms).
    """
    n_images, channels, height, width = x.shape
    filters = w.shape[0]
    (top, bottom), (left, right) = window.pads
    padded_width = width + left + right
    out = np.empty((n_images, filters, *window.out), dtype=x.dtype)
    if n_images == 0:
        return out
    # One spare row at the bottom: the dropped columns of the last row read past the image.
    xp = np.empty((n_images, channels, height + top + bottom + 1, padded_width), dtype=x.dtype)
    flat = xp.reshape(n_images, channels, -1)
    bias = np.zeros(filters, dtype=x.dtype) if b is None else b
    block_rows = max(1, 2048 // padded_width)

    def images(start: int, stop: int) -> None:
        acc = np.empty(block_rows * padded_width, dtype=x.dtype)
        pad_images(x, xp, top, left, start, stop)
        shifted_conv_kernel(flat, w, bias, out, acc, start, stop, *window.dilation, padded_width)

    macs = filters * channels * window.kernel[0] * window.kernel[1] * padded_width * window.out[0]
    run_split(images, n_images, items_per_thread(macs))
    return out
