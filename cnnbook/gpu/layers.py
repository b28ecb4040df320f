"""A real layer on the GPU: channels and filters (pre-padded input, several filters per
thread, the weights in shared memory), and max pooling over non-overlapping windows."""

from __future__ import annotations

import functools
import math

import numpy as np
from numba import cuda, float32

from cnnbook.gpu.device import conv_output_shape, to_device

# --- 4. Channels and filters: a real layer --------------------------------------------------


@cuda.jit
def pad_images_kernel(x, x_padded, pad_h, pad_w):
    """Copy x (N, C, H, W) into the interior of x_padded (N, C, H + 2 pad_h, W + 2 pad_w).

    The border of x_padded is never written: allocate it filled with zeros once and reuse it.
    """
    col, row, plane = cuda.grid(3)
    n_images, channels, height, width = x.shape
    if plane < n_images * channels and row < height and col < width:
        n = plane // channels
        c = plane % channels
        x_padded[n, c, row + pad_h, col + pad_w] = x[n, c, row, col]


def pad_images(x, pad, out=None, block: tuple[int, int, int] = (32, 8, 1)):
    """Zero-pad images (N, C, H, W) by ``pad`` pixels (an int, or a pair (rows, columns)).

    Runs on the device. ``out`` (zeros, shape (N, C, H + 2 pad_h, W + 2 pad_w)) is reused when
    given: only its interior is written.
    """
    pad_h, pad_w = (pad, pad) if isinstance(pad, int) else pad
    x = to_device(x)
    n_images, channels, height, width = x.shape
    if out is None:
        shape = (n_images, channels, height + 2 * pad_h, width + 2 * pad_w)
        out = cuda.to_device(np.zeros(shape, dtype=np.float32))
    grid = (
        math.ceil(width / block[0]),
        math.ceil(height / block[1]),
        math.ceil(n_images * channels / block[2]),
    )
    pad_images_kernel[grid, block](x, out, pad_h, pad_w)
    return out


@functools.cache
def make_blocked_conv2d_kernel(
    kh: int,
    kw: int,
    filters_per_thread: int = 8,
    rows_per_thread: int = 1,
    channels_per_step: int = 8,
    block: tuple[int, int] = (16, 16),
):
    """A kernel for a layer: x (N, C, Hp, Wp) already padded, w (F, C, kh, kw), stride 1.

    y (N, F, Hp - kh + 1, Wp - kw + 1). Each thread computes ``filters_per_thread`` filters
    for ``rows_per_thread`` pixels of one column (rows ``block[1]`` apart) and keeps all those
    sums in registers: every input value it loads is used ``filters_per_thread`` times and
    every weight ``rows_per_thread`` times (*register blocking*). A block of
    ``block[0] x block[1]`` threads covers ``block[0]`` columns and
    ``block[1] * rows_per_thread`` rows of one image. Its weights, ``channels_per_step``
    channels at a time, are staged in shared memory, where all threads of a warp read the
    same weight at once (a broadcast). Grid: ``(ceil(OW / block[0]),
    ceil(OH / (block[1] * rows_per_thread)), N * ceil(F / filters_per_thread))``.
    """
    fb, rb, cb = filters_per_thread, rows_per_thread, channels_per_step
    bx, by = block
    n_threads = bx * by
    w_size = fb * cb * kh * kw

    @cuda.jit
    def conv2d_blocked_kernel(x, w, y):
        w_tile = cuda.shared.array((fb, cb, kh, kw), float32)
        acc = cuda.local.array((fb, rb), float32)  # registers: the loops are unrolled
        x_col = cuda.local.array(rb, float32)
        channels = x.shape[1]
        n_filters, oh, ow = y.shape[1], y.shape[2], y.shape[3]
        groups = (n_filters + fb - 1) // fb
        n = cuda.blockIdx.z // groups
        f0 = (cuda.blockIdx.z % groups) * fb
        col = cuda.blockIdx.x * bx + cuda.threadIdx.x
        row0 = cuda.blockIdx.y * by * rb + cuda.threadIdx.y  # rows row0, row0 + by, ...
        thread = cuda.threadIdx.y * bx + cuda.threadIdx.x
        for f in range(fb):
            for r in range(rb):
                acc[f, r] = 0.0
        for c0 in range(0, channels, cb):
            for t in range(thread, w_size, n_threads):  # the block loads the weights together
                f = t // (cb * kh * kw)
                c = (t // (kh * kw)) % cb
                a = (t // kw) % kh
                b = t % kw
                if f0 + f < n_filters and c0 + c < channels:
                    w_tile[f, c, a, b] = w[f0 + f, c0 + c, a, b]
                else:
                    w_tile[f, c, a, b] = 0.0
            cuda.syncthreads()  # weights loaded
            if col < ow:  # threads past the edge still load and wait at the barriers
                for c in range(cb):
                    if c0 + c < channels:
                        for a in range(kh):
                            for b in range(kw):
                                for r in range(rb):
                                    if row0 + r * by < oh:
                                        x_col[r] = x[n, c0 + c, row0 + r * by + a, col + b]
                                    else:
                                        x_col[r] = 0.0
                                for f in range(fb):
                                    w_fcab = w_tile[f, c, a, b]
                                    for r in range(rb):
                                        acc[f, r] += w_fcab * x_col[r]
            cuda.syncthreads()  # everyone is done with these weights before the next load
        if col < ow:
            for f in range(fb):
                for r in range(rb):
                    if f0 + f < n_filters and row0 + r * by < oh:
                        y[n, f0 + f, row0 + r * by, col] = acc[f, r]

    return conv2d_blocked_kernel


def conv2d_blocked(
    x_padded,
    w,
    filters_per_thread: int = 8,
    rows_per_thread: int = 1,
    channels_per_step: int = 8,
    block: tuple[int, int] = (16, 16),
    out=None,
):
    """Launch the blocked kernel on an already padded x (N, C, Hp, Wp) and w (F, C, KH, KW)."""
    x_padded, w = to_device(x_padded), to_device(w)
    n_images, channels, hp, wp = x_padded.shape
    n_filters, w_channels, kh, kw = w.shape
    if w_channels != channels:
        raise ValueError(f"w has {w_channels} channels, x has {channels}")
    oh, ow = conv_output_shape(hp, wp, kh, kw)
    if out is None:
        out = cuda.device_array((n_images, n_filters, oh, ow), dtype=np.float32)
    groups = math.ceil(n_filters / filters_per_thread)
    grid = (
        math.ceil(ow / block[0]),
        math.ceil(oh / (block[1] * rows_per_thread)),
        n_images * groups,
    )
    kernel = make_blocked_conv2d_kernel(
        kh, kw, filters_per_thread, rows_per_thread, channels_per_step, block
    )
    kernel[grid, block](x_padded, w, out)
    return out


# --- Pooling ---------------------------------------------------------------------------------


@cuda.jit
def max_pool2d_kernel(x, y, size):
    """Max pooling over non-overlapping ``size x size`` windows (stride = size), no padding.

    x (N, C, H, W), y (N, C, H // size, W // size); one thread per output, grid z over the
    N * C planes.
    """
    col, row, plane = cuda.grid(3)
    n_images, channels, oh, ow = y.shape
    if plane < n_images * channels and row < oh and col < ow:
        n = plane // channels
        c = plane % channels
        best = x[n, c, row * size, col * size]
        for a in range(size):
            for b in range(size):
                v = x[n, c, row * size + a, col * size + b]
                if v > best:
                    best = v
        y[n, c, row, col] = best


def max_pool2d(x, size: int = 2, block: tuple[int, int, int] = (16, 16, 1)):
    """Launch :func:`max_pool2d_kernel`; returns y as a device array."""
    x = to_device(x)
    n_images, channels, height, width = x.shape
    oh, ow = height // size, width // size
    y = cuda.device_array((n_images, channels, oh, ow), dtype=np.float32)
    grid = (
        math.ceil(ow / block[0]),
        math.ceil(oh / block[1]),
        math.ceil(n_images * channels / block[2]),
    )
    max_pool2d_kernel[grid, block](x, y, size)
    return y
