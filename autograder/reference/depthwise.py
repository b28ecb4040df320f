"""Depthwise convolution (``groups == C``): every filter sees one input channel.

With ``M = F // C`` filters per channel (the *depth multiplier*, usually 1), filter ``f``
reads channel ``c = f // M``:

    y[n, f, oh, ow]  = b[f] + sum_{i, j} w[f, 0, i, j] * xp[n, c, oh*SH + i*DH, ow*SW + j*DW]
    dw[f, 0, i, j]   = sum_{n, oh, ow} dy[n, f, oh, ow] * xp[n, c, oh*SH + i*DH, ow*SW + j*DW]
    dxp[n, c, oh*SH + i*DH, ow*SW + j*DW] += w[f, 0, i, j] * dy[n, f, oh, ow]

Why a kernel of its own: a depthwise layer has ``KH*KW`` multiply-adds per output (9 for
3x3), so it is bound by memory, not arithmetic, and im2col + GEMM would be a ``(1 x 9) @ (9 x
L)`` product per channel: nine copies of the input for nine multiply-adds each. Here each
``(n, c)`` plane is handled on its own, start to finish, while it is in L1/L2:

* the plane is copied once into a zero-padded buffer split into ``SW`` *phases*
  (``xp[r, hp, q] = x_pad[hp, q*SW + r]``), so that every tap of every stride reads a
  contiguous run of a row: tap ``j`` reads phase ``(j*DW) % SW`` from column
  ``(j*DW) // SW`` on (:func:`pad_plane`);
* forward, each output row is one loop along the row; 3x3 kernels (the common case) sum all
  nine taps in one statement, so each output is written once (:func:`depthwise_forward_kernel`);
* backward, one loop per output row and tap computes both gradients: the tap's share of ``dw``
  (a dot product, vectorised with ``fastmath``) and its contribution to ``dx`` (added into a
  padded buffer of the same phase layout, then cropped into ``dx``)
  (:func:`depthwise_backward_kernel`).

Planes are split among threads (each thread sums its own ``dw``). Measured on the course's
2-core AMD EPYC: see ``bench/kernels.py`` ("depthwise 3x3") and ``bench/README.md``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._threads import run_split
from .im2col import U, inside_columns
from .shapes import Window2D

# Multiply-adds below which a thread is not worth waking (about 0.1 ms of work).
MIN_THREAD_MACS = 2_000_000


@njit(nogil=True, cache=True)
def pad_plane(x, n, c, xp, top, left):  # pragma: no cover - compiled by numba
    """``xp[r, hp, q] = x_pad[n, c, hp, q*SW + r]`` with ``SW = xp.shape[0]``, zeros outside."""
    height, width = x.shape[2], x.shape[3]
    phases, padded_height, q_size = xp.shape
    for hp in range(padded_height):
        h = hp - top
        for r in range(phases):
            if h < 0 or h >= height:
                for q in range(q_size):
                    xp[r, hp, U(q)] = 0.0
                continue
            lo, hi = inside_columns(r - left, phases, width, q_size)
            for q in range(lo):
                xp[r, hp, U(q)] = 0.0
            if phases == 1:
                for q in range(lo, hi):
                    xp[r, hp, U(q)] = x[n, c, h, U(q - left)]
            else:
                for q in range(lo, hi):
                    xp[r, hp, U(q)] = x[n, c, h, U(q * phases + r - left)]
            for q in range(hi, q_size):
                xp[r, hp, U(q)] = 0.0


@njit(nogil=True, fastmath=True, cache=True)
def depthwise_forward_kernel(
    x, w, b, y, xp, start, stop, sh, dh, dw, top, left
):  # pragma: no cover - compiled by numba
    """Planes ``start .. stop`` (``task = n*C + c``) of ``y``; ``xp`` is one plane's buffer."""
    channels = x.shape[1]
    filters, _, kh, kw = w.shape
    oh_size, ow_size = y.shape[2], y.shape[3]
    sw = xp.shape[0]
    per_channel = filters // channels
    for task in range(start, stop):
        n = task // channels
        c = task - n * channels
        pad_plane(x, n, c, xp, top, left)
        for f in range(c * per_channel, (c + 1) * per_channel):
            bias = b[f]
            if kh == 3 and kw == 3:
                w00, w01, w02 = w[f, 0, 0, 0], w[f, 0, 0, 1], w[f, 0, 0, 2]
                w10, w11, w12 = w[f, 0, 1, 0], w[f, 0, 1, 1], w[f, 0, 1, 2]
                w20, w21, w22 = w[f, 0, 2, 0], w[f, 0, 2, 1], w[f, 0, 2, 2]
                r1, q1 = dw % sw, dw // sw
                r2, q2 = (2 * dw) % sw, (2 * dw) // sw
                for oh in range(oh_size):
                    h0 = oh * sh
                    h1 = h0 + dh
                    h2 = h1 + dh
                    for ow in range(ow_size):
                        y[n, f, oh, U(ow)] = bias + (
                            (
                                w00 * xp[0, h0, U(ow)]
                                + w01 * xp[r1, h0, U(q1 + ow)]
                                + w02 * xp[r2, h0, U(q2 + ow)]
                            )
                            + (
                                w10 * xp[0, h1, U(ow)]
                                + w11 * xp[r1, h1, U(q1 + ow)]
                                + w12 * xp[r2, h1, U(q2 + ow)]
                            )
                            + (
                                w20 * xp[0, h2, U(ow)]
                                + w21 * xp[r1, h2, U(q1 + ow)]
                                + w22 * xp[r2, h2, U(q2 + ow)]
                            )
                        )
                continue
            for oh in range(oh_size):
                for ow in range(ow_size):
                    y[n, f, oh, U(ow)] = bias
                for i in range(kh):
                    hp = oh * sh + i * dh
                    for j in range(kw):
                        weight = w[f, 0, i, j]
                        r, q0 = (j * dw) % sw, (j * dw) // sw
                        for ow in range(ow_size):
                            y[n, f, oh, U(ow)] += weight * xp[r, hp, U(q0 + ow)]


@njit(nogil=True, fastmath=True, cache=True)
def depthwise_backward_kernel(
    dy, x, w, dx, dw_sum, xp, dxp, start, stop, sh, dh, dw, top, left
):  # pragma: no cover - compiled by numba
    """``dx`` of planes ``start .. stop`` and their share of ``dw``, added to ``dw_sum``.

    ``xp`` and ``dxp`` are one plane's buffers in the phase layout of :func:`pad_plane`.
    """
    channels, height, width = x.shape[1], x.shape[2], x.shape[3]
    filters, _, kh, kw = w.shape
    oh_size, ow_size = dy.shape[2], dy.shape[3]
    sw, padded_height, q_size = xp.shape
    per_channel = filters // channels
    for task in range(start, stop):
        n = task // channels
        c = task - n * channels
        pad_plane(x, n, c, xp, top, left)
        for r in range(sw):
            for hp in range(padded_height):
                for q in range(q_size):
                    dxp[r, hp, U(q)] = 0.0
        for f in range(c * per_channel, (c + 1) * per_channel):
            for i in range(kh):
                for j in range(kw):
                    weight = w[f, 0, i, j]
                    r, q0 = (j * dw) % sw, (j * dw) // sw
                    total = 0.0
                    for oh in range(oh_size):
                        hp = oh * sh + i * dh
                        for ow in range(ow_size):
                            g = dy[n, f, oh, U(ow)]
                            total += g * xp[r, hp, U(q0 + ow)]
                            dxp[r, hp, U(q0 + ow)] += weight * g
                    dw_sum[f, 0, i, j] += total
        for h in range(height):
            hp = h + top
            for k in range(width):
                col = k + left
                dx[n, c, h, U(k)] = dxp[col % sw, hp, U(col // sw)]


def phase_buffer(x: np.ndarray, window: Window2D) -> np.ndarray:
    """One padded plane of ``x`` in the phase layout: ``(SW, H + top + bottom, ceil(Wp/SW))``."""
    (top, bottom), (left, right) = window.pads
    sw = window.stride[1]
    padded_width = x.shape[3] + left + right
    return np.empty((sw, x.shape[2] + top + bottom, -(-padded_width // sw)), dtype=x.dtype)


def planes_per_thread(x: np.ndarray, w: np.ndarray, window: Window2D) -> int:
    """The fewest planes worth handing to another thread: about ``MIN_THREAD_MACS`` of work."""
    per_plane = (w.shape[0] // x.shape[1]) * w.shape[2] * w.shape[3] * np.prod(window.out)
    return max(1, MIN_THREAD_MACS // max(1, int(per_plane)))


def depthwise_conv2d(x: np.ndarray, w: np.ndarray, b, window: Window2D) -> np.ndarray:
    """Forward pass for validated arrays: ``w`` ``(F, 1, KH, KW)``, ``F`` a multiple of ``C``."""
    n_images, channels = x.shape[:2]
    filters = w.shape[0]
    (sh, _), (dh, dw) = window.stride, window.dilation
    (top, _), (left, _) = window.pads
    out = np.empty((n_images, filters, *window.out), dtype=x.dtype)
    bias = np.zeros(filters, dtype=x.dtype) if b is None else b

    def planes(start: int, stop: int) -> None:
        xp = phase_buffer(x, window)
        depthwise_forward_kernel(x, w, bias, out, xp, start, stop, sh, dh, dw, top, left)

    run_split(planes, n_images * channels, planes_per_thread(x, w, window))
    return out


def depthwise_conv2d_backward(dy: np.ndarray, x: np.ndarray, w: np.ndarray, window: Window2D):
    """``(dx, dw, db)`` for validated arrays of one dtype (see the module docstring)."""
    n_images, channels = x.shape[:2]
    (sh, _), (dh, dw) = window.stride, window.dilation
    (top, _), (left, _) = window.pads
    dx = np.empty_like(x)

    def planes(start: int, stop: int) -> np.ndarray:
        xp = phase_buffer(x, window)
        dxp = np.empty_like(xp)
        dw_sum = np.zeros_like(w)
        depthwise_backward_kernel(dy, x, w, dx, dw_sum, xp, dxp, start, stop, sh, dh, dw, top, left)
        return dw_sum

    parts = run_split(planes, n_images * channels, planes_per_thread(x, w, window))
    grad_w = np.zeros_like(w)
    for part in parts:
        grad_w += part
    return dx, grad_w, dy.sum(axis=(0, 2, 3))
