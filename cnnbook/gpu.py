"""Convolution on a GPU, written by hand: the numba.cuda kernels of chapter 07.

Defined once, here: the chapter prints their source (``inspect.getsource``) and runs them in
numba's CUDA simulator, ``tests/cnnbook/test_gpu_kernels.py`` checks them against
``autograder.reference`` in the simulator, and ``bench/gpu_kernels.py`` times exactly these
kernels on a real GPU against cuDNN.

What is here, and what is deliberately not
------------------------------------------
The graded assignment ``conv-gpu`` asks learners for a *naive* and a *tiled* kernel of the
multi-channel, multi-filter NCHW convolution *with stride and padding*. Neither of those two
kernels is in this module or on the chapter's page, and none must be added (a learner can read
both). The kernels here teach the same ideas on problems specialised differently:

* the teaching sequence (one thread per output, 2D blocks, shared-memory tiles with a halo)
  works on **one single-channel image and one filter, stride 1, no padding**. Everything a GPU
  kernel needs is there (indexing, the bounds check, the halo load, the barrier); what the
  assignment adds is the channel sum, the batch and filter axes, the stride and the padding
  (whose bounds checks belong inside the halo load);
* the one kernel that takes channels and filters (:func:`make_blocked_conv2d_kernel`) is
  specialised the other way: stride 1 only, an input that the caller has **already padded**
  (:func:`pad_images`; no padding logic in the kernel), several filters per thread in
  registers, the weights staged in shared memory and the input read straight from global
  memory (no halo tile). It is neither of the assignment's kernels;
* pooling (:func:`max_pool2d`, non-overlapping windows) and the weight gradient of a stride-1
  convolution of a pre-padded input (:func:`conv2d_dw_atomic`, :func:`conv2d_dw_two_pass`) are
  not part of the assignment.

The simulator
-------------
Set ``NUMBA_ENABLE_CUDASIM=1`` before numba is imported and ``@cuda.jit`` kernels run on the
CPU, each GPU thread as a Python thread (numba 0.68.1 ships the simulator: no extra package).
It is slow (keep sizes tiny) and it is stricter than a GPU in one useful way: an out-of-bounds
index past the end of an array raises ``IndexError`` naming the thread (``tid``) and block
(``ctaid``) that made it, where a GPU would read or overwrite some other memory without a word
(a negative index wraps around, as in NumPy, unreported). The threads of a block start one
after another and each runs until a barrier (``cuda.syncthreads()``) stops it or Python
switches threads, so a missing barrier shows up as wrong numbers (in every run we tried);
blocks run one after another, so races between blocks never show. :func:`simulated` tells
which target numba is using.

All kernels are float32: inputs, weights and accumulators (a Python ``0.0`` would make the
accumulator float64, which runs at half speed or worse on most GPUs).
"""

from __future__ import annotations

import contextlib
import functools
import math
import sys

import numpy as np
from numba import cuda, float32

__all__ = [
    "simulated",
    "quick_barriers",
    "to_device",
    "conv_output_shape",
    "conv2d_naive_kernel",
    "conv2d_naive",
    "conv2d_blocks2d_kernel",
    "conv2d_blocks2d",
    "conv2d_uncoalesced_kernel",
    "conv2d_uncoalesced",
    "make_tiled_conv2d_kernel",
    "conv2d_tiled",
    "pad_images_kernel",
    "pad_images",
    "make_blocked_conv2d_kernel",
    "conv2d_blocked",
    "max_pool2d_kernel",
    "max_pool2d",
    "make_dw_block_sums_kernel",
    "sum_partials_kernel",
    "conv2d_dw_atomic",
    "conv2d_dw_two_pass",
]


def simulated() -> bool:
    """True when numba runs CUDA kernels in its simulator (``NUMBA_ENABLE_CUDASIM=1``)."""
    return cuda.jit.__module__.startswith("numba.cuda.simulator")


@contextlib.contextmanager
def quick_barriers(seconds: float = 1e-4):
    """Let the simulator's barriers cost less: hand the interpreter between threads sooner.

    The simulator's main thread watches its GPU threads in a loop, and a thread released from
    a barrier waits until Python hands it the interpreter (every 5 ms by default), so a kernel
    with barriers spends most of its time waiting. A shorter switch interval (here 0.1 ms)
    made the chapter's kernels with barriers 5-8 times faster in the simulator. It changes
    nothing but speed.
    """
    before = sys.getswitchinterval()
    sys.setswitchinterval(seconds)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def to_device(a):
    """A float32 copy of a NumPy array in the GPU's global memory (device arrays pass through)."""
    if not isinstance(a, np.ndarray):
        return a
    return cuda.to_device(np.ascontiguousarray(a, dtype=np.float32))


def conv_output_shape(height: int, width: int, kh: int, kw: int) -> tuple[int, int]:
    """Valid convolution, stride 1: ``(H - KH + 1, W - KW + 1)``."""
    oh, ow = height - kh + 1, width - kw + 1
    if oh < 1 or ow < 1:
        raise ValueError(f"kernel {kh}x{kw} is larger than the image {height}x{width}")
    return oh, ow


# --- 1. One thread per output ------------------------------------------------------------


@cuda.jit
def conv2d_naive_kernel(x, k, y):
    """y[i, j] = sum_a sum_b k[a, b] * x[i + a, j + b]; one thread per output, 1D grid.

    x: (H, W), k: (KH, KW), y: (H - KH + 1, W - KW + 1), all float32.
    """
    t = cuda.grid(1)  # blockIdx.x * blockDim.x + threadIdx.x
    oh, ow = y.shape
    if t < oh * ow:  # the last block has threads with no output
        i = t // ow
        j = t % ow
        acc = float32(0.0)
        for a in range(k.shape[0]):
            for b in range(k.shape[1]):
                acc += k[a, b] * x[i + a, j + b]
        y[i, j] = acc


def conv2d_naive(x, k, threads_per_block: int = 128):
    """Launch :func:`conv2d_naive_kernel`; returns y as a device array (``.copy_to_host()``)."""
    x, k = to_device(x), to_device(k)
    oh, ow = conv_output_shape(*x.shape, *k.shape)
    y = cuda.device_array((oh, ow), dtype=np.float32)
    blocks = math.ceil(oh * ow / threads_per_block)
    conv2d_naive_kernel[blocks, threads_per_block](x, k, y)
    return y


# --- 2. 2D blocks over the output map ------------------------------------------------------


@cuda.jit
def conv2d_blocks2d_kernel(x, k, y):
    """The same sum, one thread per output on a 2D grid: x of the thread is the column.

    Consecutive threads of a warp (consecutive ``threadIdx.x``) read consecutive columns:
    their loads are *coalesced* into few memory transactions.
    """
    col, row = cuda.grid(2)  # (x, y) = (column, row)
    oh, ow = y.shape
    if row < oh and col < ow:
        acc = float32(0.0)
        for a in range(k.shape[0]):
            for b in range(k.shape[1]):
                acc += k[a, b] * x[row + a, col + b]
        y[row, col] = acc


def conv2d_blocks2d(x, k, block: tuple[int, int] = (16, 16)):
    """Launch :func:`conv2d_blocks2d_kernel` with ``block = (threads in x, threads in y)``."""
    x, k = to_device(x), to_device(k)
    oh, ow = conv_output_shape(*x.shape, *k.shape)
    y = cuda.device_array((oh, ow), dtype=np.float32)
    grid = (math.ceil(ow / block[0]), math.ceil(oh / block[1]))
    conv2d_blocks2d_kernel[grid, block](x, k, y)
    return y


@cuda.jit
def conv2d_uncoalesced_kernel(x, k, y):
    """:func:`conv2d_blocks2d_kernel` with x and y of the thread swapped: x is the *row*.

    Correct, but the 32 threads of a warp now read 32 different rows, ``4 * W`` bytes apart:
    one memory transaction each instead of a few for the whole warp.
    """
    row, col = cuda.grid(2)
    oh, ow = y.shape
    if row < oh and col < ow:
        acc = float32(0.0)
        for a in range(k.shape[0]):
            for b in range(k.shape[1]):
                acc += k[a, b] * x[row + a, col + b]
        y[row, col] = acc


def conv2d_uncoalesced(x, k, block: tuple[int, int] = (16, 16)):
    """Launch :func:`conv2d_uncoalesced_kernel` (grid x over rows, grid y over columns)."""
    x, k = to_device(x), to_device(k)
    oh, ow = conv_output_shape(*x.shape, *k.shape)
    y = cuda.device_array((oh, ow), dtype=np.float32)
    grid = (math.ceil(oh / block[0]), math.ceil(ow / block[1]))
    conv2d_uncoalesced_kernel[grid, block](x, k, y)
    return y


# --- 3. Shared-memory tiles with a halo ------------------------------------------------------


@functools.cache
def make_tiled_conv2d_kernel(kh: int, kw: int, tile: int = 16, barrier: bool = True):
    """A kernel for ``kh x kw`` filters whose blocks of ``tile x tile`` threads share a tile.

    A block computes a ``tile x tile`` patch of the output. It needs a
    ``(tile + kh - 1) x (tile + kw - 1)`` patch of the input: its own ``tile x tile`` pixels
    and a *halo* of ``kh - 1`` rows and ``kw - 1`` columns. Its threads load that patch into
    shared memory together (each pixel from global memory once), wait at the barrier, then
    each computes its output from shared memory. Shared arrays need sizes known when the kernel
    compiles, hence a kernel per ``(kh, kw, tile)``. ``barrier=False`` leaves the barrier out:
    a broken kernel, for the chapter and the tests to show what goes wrong.
    """
    tile_h, tile_w = tile + kh - 1, tile + kw - 1

    @cuda.jit
    def conv2d_tiled_kernel(x, k, y):
        patch = cuda.shared.array((tile_h, tile_w), float32)
        tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
        row0, col0 = cuda.blockIdx.y * tile, cuda.blockIdx.x * tile  # patch origin in x
        height, width = x.shape
        # Load: the patch has more pixels than the block has threads, so each thread loads
        # the pixels (r, c) = (ty, tx), (ty, tx + tile), (ty + tile, tx), ... of the patch.
        for r in range(ty, tile_h, tile):
            for c in range(tx, tile_w, tile):
                if row0 + r < height and col0 + c < width:
                    patch[r, c] = x[row0 + r, col0 + c]
                else:
                    patch[r, c] = 0.0  # past the image's edge: never used by a real output
        if barrier:
            cuda.syncthreads()  # every load of the block is done before anyone reads
        row, col = row0 + ty, col0 + tx
        if row < y.shape[0] and col < y.shape[1]:
            acc = float32(0.0)
            for a in range(kh):
                for b in range(kw):
                    acc += k[a, b] * patch[ty + a, tx + b]
            y[row, col] = acc

    return conv2d_tiled_kernel


def conv2d_tiled(x, k, tile: int = 16, barrier: bool = True):
    """Launch the tiled kernel for k's size: blocks of ``tile x tile`` threads."""
    x, k = to_device(x), to_device(k)
    kh, kw = k.shape
    oh, ow = conv_output_shape(*x.shape, kh, kw)
    y = cuda.device_array((oh, ow), dtype=np.float32)
    grid = (math.ceil(ow / tile), math.ceil(oh / tile))
    make_tiled_conv2d_kernel(kh, kw, tile, barrier)[grid, (tile, tile)](x, k, y)
    return y


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
