"""The teaching sequence of chapter 07 on one single-channel image and one filter, stride 1,
no padding: one thread per output, 2D blocks over the output map (and the uncoalesced
version), shared-memory tiles with a halo."""

from __future__ import annotations

import functools
import math

import numpy as np
from numba import cuda, float32

from cnnbook.gpu.device import conv_output_shape, to_device

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
