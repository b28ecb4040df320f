"""Direct convolution on a batch-interleaved layout: the kernel for small, thin layers.

Why: on LeNet's second layer (``64x6x14x14``, 16 filters of ``6x5x5``) im2col + BLAS was 5x
slower than PyTorch. im2col writes 150 x 6,400 values as 96,000 rows of 10 (the cost is per
row) and the ``(16 x 150) @ (150 x 6,400)`` product is too thin for BLAS; a direct loop nest
over one image is no better, because its rows (10 outputs) are shorter than a vector register
and numba (LLVM) vectorises only innermost loops along contiguous memory.

The trick is the layout. A block of ``L`` images is packed so that the images are the
*innermost* axis of every row (:func:`pack_block`):

    xb[c, h, r, q*L + l] = x[n0 + l, c, h, q*SW + r]        (r = 0 .. SW-1: one row per phase)

Moving one pixel to the right is then a shift by ``L`` along a contiguous row, for every image
at once, so each kernel tap ``(i, j)`` of a whole output row of the block is one contiguous
loop of ``OW*L`` multiply-adds (160-320 for LeNet conv2, not 10), and no column of work is
wasted on padding (the padded-width trick of :func:`.shifted.shifted_conv_kernel` computes
``W/OW`` = 1.4 times the outputs here). A horizontal stride ``SW`` is absorbed by the packing:
the input columns are split into ``SW`` phases, and tap ``j`` reads phase
``(j*DW - left) mod SW`` at offset ``(j*DW - left) // SW``, contiguous again. Padding is never
stored: a tap only runs over the outputs whose input column is inside the image.

The multiply-adds are blocked in registers as far as numba allows: four filters at a time
share every load of the input, and up to five taps of a kernel row are fused into one
statement (``acc[f, p] += w0*x0[p] + ... + w4*x4[p]`` for four ``f``), so each pass over the
accumulators does 20 multiply-adds per 9 loads and 4 stores. With ``fastmath`` LLVM compiles
it to AVX-512 ``vfmadd231ps`` on ``zmm`` registers (checked in the assembly); without it, it
keeps the order of the sums and is about 10% slower. The accumulators are a tile of at most
``TILE`` outputs x lanes per filter, so they stay in L1; when a tile is done it is written to
``y`` with the images put back in their place (a small transpose from L1).

Measured on the course's 2-core AMD EPYC (Zen 4), one thread, LeNet conv2 forward: packing
0.04 ms, the multiply-adds 0.37 ms, writing out 0.06 ms, against 0.85 ms for im2col + BLAS
and 0.32 ms for PyTorch (oneDNN).

The backward pass (:mod:`.direct_backward`) keeps the two matrix products of im2col + BLAS,
but lowers the columns from packed blocks and lifts ``dx`` back into them, so every copy is a
run of ``OW*L`` values: LeNet conv2 on one thread, 1.6 ms instead of 2.9. Which layers take
these paths is decided in :mod:`.conv` (:func:`.conv.use_interleaved`); ``bench/README.md``
lists what was tried and lost.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._threads import num_threads, run_split
from .im2col import U, inside_columns
from .shapes import Window2D

# Images per block: the lanes interleaved in each row. 32 beat 16 (LeNet conv2 on one thread:
# 0.30 against 0.34 ms for the multiply-adds): longer rows pay the per-row costs less often.
MAX_LANES = 32

# Outputs x lanes per accumulator row (one per filter of a block of 4): 4 x 512 floats, 8 kB.
TILE = 512

# Filters computed together: each input load feeds this many accumulators. The statements of
# interleaved_conv_block are written out for 4 (8 spilled registers and was slower).
FILTER_BLOCK = 4

# Bytes of the backward pass's columns (:func:`lower_block`) per chunk of output rows: they
# are written, multiplied twice and read back while they are still in the L2/L3 cache.
COLUMN_CHUNK_BYTES = 4 << 20

# One row per fused group of taps of a kernel row: (taps, j, p_lo, p_hi, then a
# (phase, start) pair per tap). p_lo .. p_hi are positions in the tile's accumulators.
PLAN_FIELDS = 4 + 2 * 5


@njit(nogil=True, cache=True)
def tile_plan(plan, ow0, ow1, lanes, kw, width, ow_size, sw, dw, left):  # pragma: no cover
    """The work of one kernel row on the output tile ``ow0 .. ow1``; returns its row count.

    Taps are taken in groups of 5, 3 or 1 (``kw = 7`` is 5 + 1 + 1). A group is fused over
    the outputs where all its taps read inside the image; each tap then covers the rest of its
    own range (next to the borders, where padding would be) on its own. Everything here
    depends on the tile and the tap only, not on the channel, kernel row or output row, so it
    is computed once per tile.
    """
    rows = 0
    j = 0
    while j < kw:
        taps = 5 if kw - j >= 5 else (3 if kw - j >= 3 else 1)
        lo, hi = ow0, ow1
        for t in range(taps):
            a, z = inside_columns((j + t) * dw - left, sw, width, ow_size)
            lo = max(lo, a)
            hi = min(hi, z)
        if taps == 1 or lo >= hi:
            lo = hi = ow0  # no fused part: every tap on its own
        else:
            plan[rows, 0] = taps
            plan[rows, 1] = j
            plan[rows, 2] = (lo - ow0) * lanes
            plan[rows, 3] = (hi - ow0) * lanes
            for t in range(taps):
                offset = (j + t) * dw - left
                phase = offset % sw
                plan[rows, 4 + 2 * t] = phase
                plan[rows, 5 + 2 * t] = (ow0 + (offset - phase) // sw) * lanes
            rows += 1
        for t in range(taps):
            offset = (j + t) * dw - left
            phase = offset % sw
            a, z = inside_columns(offset, sw, width, ow_size)
            a, z = max(a, ow0), min(z, ow1)
            # [a, z) without the fused part [lo, hi) (empty at ow0 if none): left and right
            for start, stop in ((a, min(z, lo)), (max(a, hi), z)):
                if start < stop:
                    plan[rows, 0] = 1
                    plan[rows, 1] = j + t
                    plan[rows, 2] = (start - ow0) * lanes
                    plan[rows, 3] = (stop - ow0) * lanes
                    plan[rows, 4] = phase
                    plan[rows, 5] = (ow0 + (offset - phase) // sw) * lanes
                    rows += 1
        j += taps
    return rows


@njit(nogil=True, cache=True)
def pack_block(x, xb, n0, n_valid):  # pragma: no cover - compiled by numba
    """``xb[c, h, r, q*L + l] = x[n0 + l, c, h, q*SW + r]`` for the ``n_valid`` images.

    Lanes past ``n_valid`` (the last, short block) are zeros: the forward pass never mixes
    lanes, but the backward pass sums over them (``dw``). The tail of a phase row (past the
    image) is left as it is: no tap reads it.
    """
    channels, height, width = x.shape[1], x.shape[2], x.shape[3]
    phases, row = xb.shape[2], xb.shape[3]
    lanes = row // ((width + phases - 1) // phases)
    for c in range(channels):
        for h in range(height):
            for r in range(phases):
                columns = (width - r + phases - 1) // phases
                for lane in range(n_valid):
                    for q in range(columns):
                        xb[c, h, r, U(q * lanes + lane)] = x[n0 + lane, c, h, U(q * phases + r)]
                for lane in range(n_valid, lanes):
                    for q in range(columns):
                        xb[c, h, r, U(q * lanes + lane)] = 0.0


@njit(nogil=True, fastmath=True, cache=True)
def interleaved_conv_block(
    xb, w, b, y, n0, n_valid, width, sh, sw, dh, dw, top, left, acc, plan
):  # pragma: no cover - compiled by numba
    """``y[n0 : n0 + n_valid]`` from the packed block ``xb`` (see the module docstring).

    ``w`` and ``b`` are padded with zero filters to a multiple of ``FILTER_BLOCK``; ``acc`` is
    ``(FILTER_BLOCK, TILE)`` scratch, ``plan`` ``(3*KW, PLAN_FIELDS)`` scratch.
    """
    channels, height, row = xb.shape[0], xb.shape[1], xb.shape[3]
    padded_filters, _, kh, kw = w.shape
    filters, oh_size, ow_size = y.shape[1], y.shape[2], y.shape[3]
    lanes = row // ((width + sw - 1) // sw)
    tile_ow = max(1, acc.shape[1] // lanes)
    for ow0 in range(0, ow_size, tile_ow):
        ow1 = min(ow0 + tile_ow, ow_size)
        m = (ow1 - ow0) * lanes
        n_ops = tile_plan(plan, ow0, ow1, lanes, kw, width, ow_size, sw, dw, left)
        for oh in range(oh_size):
            for f0 in range(0, padded_filters, 4):
                for k in range(4):
                    bias = b[f0 + k]
                    for p in range(m):
                        acc[k, U(p)] = bias
                for c in range(channels):
                    for i in range(kh):
                        h = oh * sh + i * dh - top
                        if h < 0 or h >= height:
                            continue
                        for op in range(n_ops):
                            taps, j = plan[op, 0], plan[op, 1]
                            p_lo, p_hi = plan[op, 2], plan[op, 3]
                            r0, s0 = plan[op, 4], plan[op, 5]
                            a0, b0 = w[f0, c, i, j], w[f0 + 1, c, i, j]
                            c0, d0 = w[f0 + 2, c, i, j], w[f0 + 3, c, i, j]
                            if taps == 1:
                                for p in range(p_lo, p_hi):
                                    v = xb[c, h, r0, U(s0 + p)]
                                    acc[0, U(p)] += a0 * v
                                    acc[1, U(p)] += b0 * v
                                    acc[2, U(p)] += c0 * v
                                    acc[3, U(p)] += d0 * v
                                continue
                            r1, s1 = plan[op, 6], plan[op, 7]
                            r2, s2 = plan[op, 8], plan[op, 9]
                            a1, a2 = w[f0, c, i, j + 1], w[f0, c, i, j + 2]
                            b1, b2 = w[f0 + 1, c, i, j + 1], w[f0 + 1, c, i, j + 2]
                            c1, c2 = w[f0 + 2, c, i, j + 1], w[f0 + 2, c, i, j + 2]
                            d1, d2 = w[f0 + 3, c, i, j + 1], w[f0 + 3, c, i, j + 2]
                            if taps == 3:
                                for p in range(p_lo, p_hi):
                                    x0 = xb[c, h, r0, U(s0 + p)]
                                    x1 = xb[c, h, r1, U(s1 + p)]
                                    x2 = xb[c, h, r2, U(s2 + p)]
                                    acc[0, U(p)] += a0 * x0 + a1 * x1 + a2 * x2
                                    acc[1, U(p)] += b0 * x0 + b1 * x1 + b2 * x2
                                    acc[2, U(p)] += c0 * x0 + c1 * x1 + c2 * x2
                                    acc[3, U(p)] += d0 * x0 + d1 * x1 + d2 * x2
                                continue
                            r3, s3 = plan[op, 10], plan[op, 11]
                            r4, s4 = plan[op, 12], plan[op, 13]
                            a3, a4 = w[f0, c, i, j + 3], w[f0, c, i, j + 4]
                            b3, b4 = w[f0 + 1, c, i, j + 3], w[f0 + 1, c, i, j + 4]
                            c3, c4 = w[f0 + 2, c, i, j + 3], w[f0 + 2, c, i, j + 4]
                            d3, d4 = w[f0 + 3, c, i, j + 3], w[f0 + 3, c, i, j + 4]
                            for p in range(p_lo, p_hi):
                                x0 = xb[c, h, r0, U(s0 + p)]
                                x1 = xb[c, h, r1, U(s1 + p)]
                                x2 = xb[c, h, r2, U(s2 + p)]
                                x3 = xb[c, h, r3, U(s3 + p)]
                                x4 = xb[c, h, r4, U(s4 + p)]
                                acc[0, U(p)] += a0 * x0 + a1 * x1 + a2 * x2 + a3 * x3 + a4 * x4
                                acc[1, U(p)] += b0 * x0 + b1 * x1 + b2 * x2 + b3 * x3 + b4 * x4
                                acc[2, U(p)] += c0 * x0 + c1 * x1 + c2 * x2 + c3 * x3 + c4 * x4
                                acc[3, U(p)] += d0 * x0 + d1 * x1 + d2 * x2 + d3 * x3 + d4 * x4
                for k in range(min(4, filters - f0)):
                    for lane in range(n_valid):
                        for ow in range(ow0, ow1):
                            y[n0 + lane, f0 + k, oh, U(ow)] = acc[k, U((ow - ow0) * lanes + lane)]


def block_sizes(n_images: int, threads: int) -> tuple[int, int]:
    """``(blocks, lanes)``: the batch cut into equal blocks of at most ``MAX_LANES`` images,
    a multiple of ``threads`` blocks where the batch allows, so that threads get equal work."""
    blocks = -(-n_images // MAX_LANES)
    blocks = min(n_images, -(-blocks // threads) * threads)
    return blocks, -(-n_images // blocks)


def interleaved_conv2d(x: np.ndarray, w: np.ndarray, b, window: Window2D) -> np.ndarray:
    """Convolution of validated, contiguous arrays by :func:`interleaved_conv_block`.

    The batch is cut into blocks of ``lanes`` images (:func:`block_sizes`); each of
    ``num_threads()`` threads packs, convolves and writes out its blocks, start to finish.
    """
    n_images, channels, height, width = x.shape
    filters, _, kh, kw = w.shape
    (sh, sw), (dh, dw) = window.stride, window.dilation
    (top, _), (left, _) = window.pads
    out = np.empty((n_images, filters, *window.out), dtype=x.dtype)
    if n_images == 0:
        return out
    padded = -(-filters // FILTER_BLOCK) * FILTER_BLOCK
    weights = np.zeros((padded, channels, kh, kw), dtype=x.dtype)
    weights[:filters] = w
    bias = np.zeros(padded, dtype=x.dtype)
    if b is not None:
        bias[:filters] = b
    blocks, lanes = block_sizes(n_images, num_threads())
    row = -(-width // sw) * lanes

    def work(start: int, stop: int) -> None:
        # zeros, not empty: the tails of phase rows are never written (nor read)
        xb = np.zeros((channels, height, sw, row), dtype=x.dtype)
        acc = np.empty((FILTER_BLOCK, max(TILE, lanes)), dtype=x.dtype)
        plan = np.empty((3 * kw, PLAN_FIELDS), dtype=np.int64)
        for block in range(start, stop):
            n0 = block * lanes
            n_valid = min(lanes, n_images - n0)
            if n_valid <= 0:
                break
            pack_block(x, xb, n0, n_valid)
            interleaved_conv_block(
                xb, weights, bias, out, n0, n_valid, width, sh, sw, dh, dw, top, left, acc, plan
            )

    run_split(work, blocks)
    return out
