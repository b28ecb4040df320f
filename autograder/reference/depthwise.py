"""Depthwise convolution (``groups == C``): every filter sees one input channel.

With ``M = F // C`` filters per channel (the *depth multiplier*, usually 1), filter ``f``
reads channel ``c = f // M``:

    y[n, f, oh, ow]  = b[f] + sum_{i, j} w[f, 0, i, j] * xp[n, c, oh*SH + i*DH, ow*SW + j*DW]
    dw[f, 0, i, j]   = sum_{n, oh, ow} dy[n, f, oh, ow] * xp[n, c, oh*SH + i*DH, ow*SW + j*DW]
    dxp[n, c, oh*SH + i*DH, ow*SW + j*DW] += w[f, 0, i, j] * dy[n, f, oh, ow]

Why a kernel of its own: a depthwise layer has ``KH*KW`` multiply-adds per output (9 for
3x3), so it is bound by memory, not arithmetic, and im2col + GEMM would be a ``(1 x 9) @ (9 x
L)`` product per channel: nine copies of the input for nine multiply-adds each. Here each
``(n, c)`` plane is handled on its own, start to finish, while it is in L1/L2.

The plane is copied once into a zero-padded buffer split into ``SH x SW`` *phases*
(:func:`pad_plane`), each phase flattened to one row of ``(HQ + 1) * QP`` values:

    xq[rh*SW + rw, hq*QP + q] = x_pad[n, c, hq*SH + rh, q*SW + rw]

Every output is then computed at the flat position ``p = oh*QP + ow`` of a plane as wide as a
phase (``QP >= OW``; the extra ``QP - OW`` columns are computed and dropped), and every tap
``(i, j)`` of every stride reads one phase at a constant offset from ``p``:

    phase (i*DH % SH, j*DW % SW),   offset (i*DH // SH) * QP + j*DW // SW

so each tap is one long contiguous loop over the whole plane, which LLVM vectorises without
the scalar remainder a loop along one output row would leave (with rows of 56, those
remainders did most of the work: 9.4 ms instead of 2-3 for the benchmark layer's forward).

* Forward (:func:`depthwise_forward_kernel`): 3x3 kernels (the common case) sum all nine taps
  in one statement, so each output is written once; other sizes add one tap per pass.
* Backward (:func:`depthwise_backward_kernel`): ``dy`` of the plane is copied into the same
  flat layout with zeros in the dropped columns; one loop per tap computes both gradients,
  the tap's share of ``dw`` (a dot product, vectorised with ``fastmath``) and its part of
  ``dx`` (added into a padded buffer of the phase layout, cropped into ``dx`` at the end).

Planes are split among threads (each thread sums its own ``dw``). Measured on the course's
2-core AMD EPYC: see ``bench/kernels.py`` ("depthwise 3x3") and ``bench/README.md``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._threads import items_per_thread, run_split
from .im2col import U, inside_columns
from .shapes import Window2D


@njit(nogil=True, cache=True)
def pad_plane(x, n, c, xq, sh, sw, qp, top, left):  # pragma: no cover - compiled by numba
    """``xq[rh*SW + rw, hq*QP + q] = x_pad[n, c, hq*SH + rh, q*SW + rw]``, zeros outside."""
    height, width = x.shape[2], x.shape[3]
    rows = xq.shape[1] // qp
    for rh in range(sh):
        for rw in range(sw):
            phase = rh * sw + rw
            lo, hi = inside_columns(rw - left, sw, width, qp)
            for hq in range(rows):
                h = hq * sh + rh - top
                base = hq * qp
                if h < 0 or h >= height:
                    for q in range(qp):
                        xq[phase, U(base + q)] = 0.0
                    continue
                for q in range(lo):
                    xq[phase, U(base + q)] = 0.0
                if sw == 1:
                    for q in range(lo, hi):
                        xq[phase, U(base + q)] = x[n, c, h, U(q - left)]
                else:
                    for q in range(lo, hi):
                        xq[phase, U(base + q)] = x[n, c, h, U(q * sw + rw - left)]
                for q in range(hi, qp):
                    xq[phase, U(base + q)] = 0.0


@njit(inline="always")
def tap_place(i, j, sh, sw, dh, dw, qp):  # pragma: no cover - compiled by numba
    """``(phase, offset)`` of tap ``(i, j)`` in the flat phase layout."""
    return ((i * dh) % sh) * sw + (j * dw) % sw, ((i * dh) // sh) * qp + (j * dw) // sw


@njit(nogil=True, fastmath=True, cache=True)
def depthwise_forward_kernel(
    x, w, b, y, xq, acc, start, stop, sh, sw, dh, dw, top, left
):  # pragma: no cover - compiled by numba
    """Planes ``start .. stop`` (``task = n*C + c``) of ``y``; ``xq`` and ``acc`` are one
    plane's buffers (``acc`` holds ``OH * QP`` flat outputs)."""
    channels = x.shape[1]
    filters, _, kh, kw = w.shape
    oh_size, ow_size = y.shape[2], y.shape[3]
    per_channel = filters // channels
    qp = acc.shape[0] // oh_size
    m = oh_size * qp
    for task in range(start, stop):
        n = task // channels
        c = task - n * channels
        pad_plane(x, n, c, xq, sh, sw, qp, top, left)
        for f in range(c * per_channel, (c + 1) * per_channel):
            bias = b[f]
            if kh == 3 and kw == 3:
                t0, o0 = tap_place(0, 0, sh, sw, dh, dw, qp)
                t1, o1 = tap_place(0, 1, sh, sw, dh, dw, qp)
                t2, o2 = tap_place(0, 2, sh, sw, dh, dw, qp)
                t3, o3 = tap_place(1, 0, sh, sw, dh, dw, qp)
                t4, o4 = tap_place(1, 1, sh, sw, dh, dw, qp)
                t5, o5 = tap_place(1, 2, sh, sw, dh, dw, qp)
                t6, o6 = tap_place(2, 0, sh, sw, dh, dw, qp)
                t7, o7 = tap_place(2, 1, sh, sw, dh, dw, qp)
                t8, o8 = tap_place(2, 2, sh, sw, dh, dw, qp)
                w0, w1, w2 = w[f, 0, 0, 0], w[f, 0, 0, 1], w[f, 0, 0, 2]
                w3, w4, w5 = w[f, 0, 1, 0], w[f, 0, 1, 1], w[f, 0, 1, 2]
                w6, w7, w8 = w[f, 0, 2, 0], w[f, 0, 2, 1], w[f, 0, 2, 2]
                for p in range(m):
                    acc[U(p)] = bias + (
                        (w0 * xq[t0, U(p + o0)] + w1 * xq[t1, U(p + o1)] + w2 * xq[t2, U(p + o2)])
                        + (w3 * xq[t3, U(p + o3)] + w4 * xq[t4, U(p + o4)] + w5 * xq[t5, U(p + o5)])
                        + (w6 * xq[t6, U(p + o6)] + w7 * xq[t7, U(p + o7)] + w8 * xq[t8, U(p + o8)])
                    )
            else:
                for p in range(m):
                    acc[U(p)] = bias
                for i in range(kh):
                    for j in range(kw):
                        t, o = tap_place(i, j, sh, sw, dh, dw, qp)
                        weight = w[f, 0, i, j]
                        for p in range(m):
                            acc[U(p)] += weight * xq[t, U(p + o)]
            for oh in range(oh_size):
                for ow in range(ow_size):
                    y[n, f, oh, U(ow)] = acc[U(oh * qp + ow)]


@njit(nogil=True, fastmath=True, cache=True)
def depthwise_backward_kernel(
    dy, x, w, dx, dw_sum, xq, dxq, dyq, start, stop, sh, sw, dh, dw, top, left
):  # pragma: no cover - compiled by numba
    """``dx`` of planes ``start .. stop`` and their share of ``dw``, added to ``dw_sum``.

    ``xq`` and ``dxq`` are one plane's buffers in the phase layout of :func:`pad_plane`,
    ``dyq`` one plane of ``dy`` in the flat ``OH * QP`` layout.
    """
    channels, height, width = x.shape[1], x.shape[2], x.shape[3]
    filters, _, kh, kw = w.shape
    oh_size, ow_size = dy.shape[2], dy.shape[3]
    per_channel = filters // channels
    qp = dyq.shape[0] // oh_size
    m = oh_size * qp
    for task in range(start, stop):
        n = task // channels
        c = task - n * channels
        pad_plane(x, n, c, xq, sh, sw, qp, top, left)
        for t in range(dxq.shape[0]):
            for p in range(dxq.shape[1]):
                dxq[t, U(p)] = 0.0
        for f in range(c * per_channel, (c + 1) * per_channel):
            for oh in range(oh_size):
                for ow in range(ow_size):
                    dyq[U(oh * qp + ow)] = dy[n, f, oh, U(ow)]
                for ow in range(ow_size, qp):
                    dyq[U(oh * qp + ow)] = 0.0
            for i in range(kh):
                for j in range(kw):
                    t, o = tap_place(i, j, sh, sw, dh, dw, qp)
                    weight = w[f, 0, i, j]
                    total = 0.0
                    for p in range(m):
                        g = dyq[U(p)]
                        total += g * xq[t, U(p + o)]
                        dxq[t, U(p + o)] += weight * g
                    dw_sum[f, 0, i, j] += total
        for h in range(height):
            hp = h + top
            rh, hq = hp % sh, hp // sh
            for k in range(width):
                col = k + left
                dx[n, c, h, U(k)] = dxq[rh * sw + col % sw, U(hq * qp + col // sw)]


def plane_buffers(x: np.ndarray, window: Window2D) -> tuple[np.ndarray, np.ndarray]:
    """``(xq, acc)``: one padded plane in the phase layout, ``(SH*SW, (HQ + 1) * QP)``, and one
    plane of flat outputs, ``(OH * QP,)`` (see the module docstring)."""
    (top, bottom), (left, right) = window.pads
    sh, sw = window.stride
    hq = -(-(x.shape[2] + top + bottom) // sh)
    qp = -(-(x.shape[3] + left + right) // sw)
    xq = np.empty((sh * sw, (hq + 1) * qp), dtype=x.dtype)
    return xq, np.empty(window.out[0] * qp, dtype=x.dtype)


def planes_per_thread(x: np.ndarray, w: np.ndarray, window: Window2D) -> int:
    """The fewest planes worth handing to another thread (:func:`._threads.items_per_thread`)."""
    per_plane = (w.shape[0] // x.shape[1]) * w.shape[2] * w.shape[3] * np.prod(window.out)
    return items_per_thread(per_plane)


def depthwise_conv2d(x: np.ndarray, w: np.ndarray, b, window: Window2D) -> np.ndarray:
    """Forward pass for validated arrays: ``w`` ``(F, 1, KH, KW)``, ``F`` a multiple of ``C``."""
    n_images, channels = x.shape[:2]
    filters = w.shape[0]
    (top, _), (left, _) = window.pads
    geometry = (*window.stride, *window.dilation, top, left)
    out = np.empty((n_images, filters, *window.out), dtype=x.dtype)
    bias = np.zeros(filters, dtype=x.dtype) if b is None else b

    def planes(start: int, stop: int) -> None:
        xq, acc = plane_buffers(x, window)
        depthwise_forward_kernel(x, w, bias, out, xq, acc, start, stop, *geometry)

    run_split(planes, n_images * channels, planes_per_thread(x, w, window))
    return out


def depthwise_conv2d_backward(dy: np.ndarray, x: np.ndarray, w: np.ndarray, window: Window2D):
    """``(dx, dw, db)`` for validated arrays of one dtype (see the module docstring)."""
    n_images, channels = x.shape[:2]
    (top, _), (left, _) = window.pads
    geometry = (*window.stride, *window.dilation, top, left)
    dx = np.empty_like(x)

    def planes(start: int, stop: int) -> np.ndarray:
        xq, dyq = plane_buffers(x, window)
        dxq = np.empty_like(xq)
        dw_sum = np.zeros_like(w)
        depthwise_backward_kernel(dy, x, w, dx, dw_sum, xq, dxq, dyq, start, stop, *geometry)
        return dw_sum

    parts = run_split(planes, n_images * channels, planes_per_thread(x, w, window))
    grad_w = np.zeros_like(w)
    for part in parts:
        grad_w += part
    return dx, grad_w, dy.sum(axis=(0, 2, 3))
