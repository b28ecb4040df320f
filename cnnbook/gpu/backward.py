"""The weight gradient of a stride-1 convolution of a pre-padded input, as a reduction: block
sums in shared memory (a tree), then either atomic adds or a second pass over the partials."""

from __future__ import annotations

import functools
import math

import numpy as np
from numba import cuda, float32

from cnnbook.gpu.device import to_device

# --- Backward: the weight gradient as a reduction ---------------------------------------------


@functools.cache
def make_dw_block_sums_kernel(kh: int, kw: int, threads: int = 256, atomic: bool = False):
    """Block sums of dW[f, c, a, b] = sum over n, i, j of dy[n, f, i, j] * x[n, c, i + a, j + b].

    x is already padded (N, C, Hp, Wp), dy (N, F, OH, OW), stride 1. The sum runs over
    R = N * OH * OW terms for each of the kh * kw weights of a pair (f, c). Grid
    ``(chunks, F * C)``: block (k, f * C + c) sums terms ``k * chunk`` to ``(k + 1) * chunk - 1``
    of that pair. Each thread adds up every ``threads``-th term in registers, then the block
    halves its ``threads`` partial sums in shared memory until one is left (a tree: log2 steps,
    a barrier after each). ``threads`` must be a power of two.

    ``atomic=False``: the block writes its sums to ``out[k, f, c, a, b]`` (pass 1 of 2; pass 2
    is :func:`sum_partials_kernel`). ``atomic=True``: it adds them straight into
    ``out[f, c, a, b]`` with ``cuda.atomic.add`` (``out`` zeroed first; one pass).
    """
    if threads & (threads - 1):
        raise ValueError(f"threads must be a power of two, got {threads}")
    kk = kh * kw

    @cuda.jit
    def dw_block_sums_kernel(dy, x, out, chunk):
        sums = cuda.shared.array((kk, threads), float32)
        acc = cuda.local.array(kk, float32)
        oh, ow = dy.shape[2], dy.shape[3]
        channels = x.shape[1]
        f = cuda.blockIdx.y // channels
        c = cuda.blockIdx.y % channels
        tid = cuda.threadIdx.x
        for t in range(kk):
            acc[t] = 0.0
        total = dy.shape[0] * oh * ow
        start = cuda.blockIdx.x * chunk
        stop = start + chunk
        if stop > total:
            stop = total
        for r in range(start + tid, stop, threads):  # consecutive threads: consecutive j
            n = r // (oh * ow)
            i = (r // ow) % oh
            j = r % ow
            g = dy[n, f, i, j]
            for a in range(kh):
                for b in range(kw):
                    acc[a * kw + b] += g * x[n, c, i + a, j + b]
        for t in range(kk):
            sums[t, tid] = acc[t]
        cuda.syncthreads()
        half = threads // 2
        while half > 0:  # tree: thread tid adds the partial sum of thread tid + half
            if tid < half:
                for t in range(kk):
                    sums[t, tid] += sums[t, tid + half]
            cuda.syncthreads()
            half //= 2
        for t in range(tid, kk, threads):  # thread t writes the sum of weight t
            a = t // kw
            b = t % kw
            if atomic:
                cuda.atomic.add(out, (f, c, a, b), sums[t, 0])
            else:
                out[cuda.blockIdx.x, f, c, a, b] = sums[t, 0]

    return dw_block_sums_kernel


@cuda.jit
def sum_partials_kernel(partials, dw):
    """Pass 2: dw[f, c, a, b] = sum over k of partials[k, f, c, a, b], in a fixed order."""
    t = cuda.grid(1)
    n_filters, channels, kh, kw = dw.shape
    if t < dw.size:
        f = t // (channels * kh * kw)
        c = (t // (kh * kw)) % channels
        a = (t // kw) % kh
        b = t % kw
        acc = float32(0.0)
        for k in range(partials.shape[0]):
            acc += partials[k, f, c, a, b]
        dw[f, c, a, b] = acc


def _dw_geometry(dy, x_padded, kh, kw, threads, chunk):
    dy, x_padded = to_device(dy), to_device(x_padded)
    n_images, n_filters, oh, ow = dy.shape
    channels = x_padded.shape[1]
    if (x_padded.shape[2] - kh + 1, x_padded.shape[3] - kw + 1) != (oh, ow):
        raise ValueError(f"dy {dy.shape} does not fit x {x_padded.shape} and a {kh}x{kw} kernel")
    if chunk is None:
        chunk = 8 * threads
    chunks = math.ceil(n_images * oh * ow / chunk)
    return dy, x_padded, (n_filters, channels, kh, kw), chunks, chunk


def conv2d_dw_atomic(dy, x_padded, kh: int, kw: int, threads: int = 256, chunk=None):
    """dW (F, C, kh, kw) in one pass: block sums added with atomics (order not fixed)."""
    dy, x_padded, dw_shape, chunks, chunk = _dw_geometry(dy, x_padded, kh, kw, threads, chunk)
    dw = cuda.to_device(np.zeros(dw_shape, dtype=np.float32))
    kernel = make_dw_block_sums_kernel(kh, kw, threads, atomic=True)
    kernel[(chunks, dw_shape[0] * dw_shape[1]), threads](dy, x_padded, dw, chunk)
    return dw


def conv2d_dw_two_pass(dy, x_padded, kh: int, kw: int, threads: int = 256, chunk=None):
    """dW (F, C, kh, kw) in two passes: block sums to a buffer, then a fixed-order sum."""
    dy, x_padded, dw_shape, chunks, chunk = _dw_geometry(dy, x_padded, kh, kw, threads, chunk)
    partials = cuda.device_array((chunks, *dw_shape), dtype=np.float32)
    kernel = make_dw_block_sums_kernel(kh, kw, threads, atomic=False)
    kernel[(chunks, dw_shape[0] * dw_shape[1]), threads](dy, x_padded, partials, chunk)
    dw = cuda.device_array(dw_shape, dtype=np.float32)
    size = int(np.prod(dw_shape))
    sum_partials_kernel[math.ceil(size / 128), 128](partials, dw)
    return dw
