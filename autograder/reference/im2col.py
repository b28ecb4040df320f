"""``im2col`` and ``col2im``: convolution as one matrix product (PyTorch's unfold and fold).

``im2col`` copies every ``KH x KW`` window of the padded input into a column:

    cols[n, (c*KH + i)*KW + j, oh*OW + ow] = xp[n, c, oh*SH + i*DH, ow*SW + j*DW]

so ``cols`` has shape ``(N, C*KH*KW, L)`` with ``L = OH*OW`` windows, and a convolution is
``w.reshape(F, -1) @ cols`` reshaped to ``(N, F, OH, OW)``. ``col2im`` is its adjoint: it adds
each column back where it came from (overlapping windows sum) and crops the padding, which is
exactly the gradient of ``im2col`` and PyTorch's ``fold``.

The kernels below are also the engine of :mod:`.conv` and :mod:`.conv_backward`. They work on
the *GEMM layout* ``cols[row, n, l]`` of shape ``(C*KH*KW, N, L)``: the images of a batch side
by side, so that one matrix product ``(F, C*KH*KW) @ (C*KH*KW, N*L)`` handles a whole batch
(or a chunk of it) with one BLAS call. The public ``im2col`` returns PyTorch's ``(N, C*KH*KW,
L)`` order, a transposed copy of this layout.

Padding is never materialised: the kernels read the unpadded input and write zeros where a
window hangs over the border. For each kernel tap ``(i, j)`` they compute the range of output
columns ``ow_lo <= ow < ow_hi`` that land inside the image once, so the copy loop in between
is a plain contiguous copy (stride 1) that LLVM vectorises; a runtime stride inside the loop
would compile to gather instructions, so stride 1 has its own loop.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._arguments import check_ndim, contiguous, float_array, positive_pair
from .shapes import Window2D, window_2d

# Innermost indices are cast to unsigned: numba then drops its negative-index wraparound
# check, which otherwise turns every load of a copy loop into a gather (measured here: 64 ns
# instead of 2.5 ns to copy a row of 32 floats).
U = np.uintp


@njit(inline="always")
def inside_columns(offset, stride, width, ow_size):  # pragma: no cover - compiled by numba
    """``(ow_lo, ow_hi)``: the outputs ``ow`` with ``0 <= ow*stride + offset < width``."""
    ow_lo = 0 if offset >= 0 else (-offset + stride - 1) // stride
    ow_hi = (width - 1 - offset) // stride + 1 if width - 1 - offset >= 0 else 0
    ow_lo = min(ow_lo, ow_size)
    ow_hi = max(min(ow_hi, ow_size), ow_lo)
    return ow_lo, ow_hi


@njit(nogil=True, cache=True)
def im2col_kernel(x, cols, n0, kh, kw, sh, sw, dh, dw, top, left):  # pragma: no cover
    """Fill ``cols[row, nl, oh, ow]`` (GEMM layout) from images ``x[n0 + nl]``.

    ``cols`` has shape ``(C*KH*KW, NB, OH, OW)``; zeros where the window covers padding. One
    (channel, image) pair at a time: KH*KW rows of one image. Arrays are
    indexed in full (``cols[r, nl, oh, ow]``), never sliced into views: a view costs numba a
    reference-count update, more than copying a short row.
    """
    channels, height, width = x.shape[1], x.shape[2], x.shape[3]
    n_block, oh_size, ow_size = cols.shape[1], cols.shape[2], cols.shape[3]
    for task in range(channels * n_block):
        c = task // n_block
        nl = task - c * n_block
        n = n0 + nl
        for i in range(kh):
            for j in range(kw):
                r = (c * kh + i) * kw + j
                offset = j * dw - left
                ow_lo, ow_hi = inside_columns(offset, sw, width, ow_size)
                for oh in range(oh_size):
                    h = oh * sh + i * dh - top
                    if h < 0 or h >= height:
                        for ow in range(ow_size):
                            cols[r, nl, oh, U(ow)] = 0.0
                        continue
                    for ow in range(ow_lo):
                        cols[r, nl, oh, U(ow)] = 0.0
                    if sw == 1:
                        for ow in range(ow_lo, ow_hi):
                            cols[r, nl, oh, U(ow)] = x[n, c, h, U(ow + offset)]
                    else:
                        for ow in range(ow_lo, ow_hi):
                            cols[r, nl, oh, U(ow)] = x[n, c, h, U(ow * sw + offset)]
                    for ow in range(ow_hi, ow_size):
                        cols[r, nl, oh, U(ow)] = 0.0


@njit(nogil=True, cache=True)
def col2im_kernel(cols, x, n0, kh, kw, sh, sw, dh, dw, top, left):  # pragma: no cover
    """Write images ``x[n0 + nl]`` as the sum of every column entry copied from each pixel.

    ``cols`` in GEMM layout ``(C*KH*KW, NB, OH, OW)``. Each output row is zeroed, then the
    rows of ``cols`` that touch it are added in (a gather, not a scatter): no zero-initialised
    array is needed, the row being summed stays in L1, and threads working on different images
    never write the same pixel.
    """
    channels, height, width = x.shape[1], x.shape[2], x.shape[3]
    n_block, oh_size, ow_size = cols.shape[1], cols.shape[2], cols.shape[3]
    for task in range(channels * n_block):
        c = task // n_block
        nl = task - c * n_block
        n = n0 + nl
        for h in range(height):
            for k in range(width):
                x[n, c, h, U(k)] = 0.0
            for i in range(kh):
                t = h + top - i * dh
                if t < 0:
                    break
                oh = t // sh
                if oh * sh != t or oh >= oh_size:
                    continue
                for j in range(kw):
                    r = (c * kh + i) * kw + j
                    offset = j * dw - left
                    ow_lo, ow_hi = inside_columns(offset, sw, width, ow_size)
                    if sw == 1:
                        for ow in range(ow_lo, ow_hi):
                            x[n, c, h, U(ow + offset)] += cols[r, nl, oh, U(ow)]
                    else:
                        for ow in range(ow_lo, ow_hi):
                            x[n, c, h, U(ow * sw + offset)] += cols[r, nl, oh, U(ow)]


def lower(x: np.ndarray, cols: np.ndarray, n0: int, window: Window2D) -> None:
    """``cols`` (GEMM layout, ``(C*KH*KW, NB, OH, OW)``) from images ``n0 .. n0+NB`` of ``x``."""
    (top, _), (left, _) = window.pads
    im2col_kernel(x, cols, n0, *window.kernel, *window.stride, *window.dilation, top, left)


def lift(cols: np.ndarray, x: np.ndarray, n0: int, window: Window2D) -> None:
    """Images ``n0 .. n0+NB`` of ``x`` from ``cols`` in GEMM layout (the adjoint of ``lower``)."""
    (top, _), (left, _) = window.pads
    col2im_kernel(cols, x, n0, *window.kernel, *window.stride, *window.dilation, top, left)


def im2col(x, kernel_size, stride=1, padding=0, dilation=1) -> np.ndarray:
    """Windows of ``x`` as columns, equal to ``torch.nn.functional.unfold``.

    Args:
        x: input of shape ``(N, C, H, W)``.
        kernel_size: an int or ``(KH, KW)``.
        stride, padding, dilation: as for :func:`autograder.reference.conv2d` (zeros are added).

    Returns:
        ``cols`` of shape ``(N, C*KH*KW, L)``, ``L = OH*OW``; row ``(c*KH + i)*KW + j`` holds
        input channel ``c`` seen through kernel tap ``(i, j)``, column ``oh*OW + ow`` is one
        window.

    Example:
        >>> im2col(np.arange(9.0).reshape(1, 1, 3, 3), 2)[0]
        array([[0., 1., 3., 4.],
               [1., 2., 4., 5.],
               [3., 4., 6., 7.],
               [4., 5., 7., 8.]])
    """
    x = float_array(x, "x")
    check_ndim(x, 4, "x", "(N, C, H, W)")
    x = contiguous(x, x.dtype)
    window = window_2d(x.shape[2:], kernel_size, stride, padding, dilation)
    (kh, kw), (oh, ow) = window.kernel, window.out
    n_images, channels = x.shape[:2]
    rows = channels * kh * kw
    cols = np.empty((n_images, rows, oh, ow), dtype=x.dtype)
    for n in range(n_images):
        # Image n's block of the result is the GEMM layout for a batch of one: writing it in
        # place needs no second array and no transposing copy (the peak memory is the result).
        lower(x, cols[n].reshape(rows, 1, oh, ow), n, window)
    return cols.reshape(n_images, rows, oh * ow)


def col2im(cols, output_size, kernel_size, stride=1, padding=0, dilation=1) -> np.ndarray:
    """Sum columns back into images, equal to ``torch.nn.functional.fold``.

    Args:
        cols: ``(N, C*KH*KW, L)``, laid out as :func:`im2col` returns it.
        output_size: ``(H, W)`` (or an int) of the image to rebuild.
        kernel_size, stride, padding, dilation: as for :func:`im2col`; ``L`` must equal the
            number of windows ``OH*OW`` they give on an ``H x W`` image.

    Returns:
        ``(N, C, H, W)``: each position holds the sum of every column entry copied from it,
        so ``col2im(im2col(x))`` is ``x`` times the number of windows covering each pixel.
    """
    cols = float_array(cols, "cols")
    check_ndim(cols, 3, "cols", "(N, C*KH*KW, L)")
    size = positive_pair(output_size, "output_size")
    window = window_2d(size, kernel_size, stride, padding, dilation)
    (kh, kw), (oh, ow) = window.kernel, window.out
    n_images, rows, blocks = cols.shape
    if rows % (kh * kw) != 0:
        raise ValueError(
            f"cols must have shape (N, C*KH*KW, L) with cols.shape[1] divisible by "
            f"KH*KW = {kh * kw}; got {cols.shape}"
        )
    if blocks != oh * ow:
        raise ValueError(
            f"cols must have shape (N, C*KH*KW, L) with L == OH*OW = {oh}*{ow} = {oh * ow}, "
            f"the number of windows on a {size} output_size with these kernel_size/stride/"
            f"padding/dilation; got {cols.shape}"
        )
    gemm_layout = np.ascontiguousarray(cols.transpose(1, 0, 2)).reshape(rows, n_images, oh, ow)
    x = np.empty((n_images, rows // (kh * kw), *size), dtype=cols.dtype)
    if n_images:
        lift(gemm_layout, x, 0, window)
    return x
