"""``im2col`` and ``col2im``: convolution as one matrix product (PyTorch's unfold and fold).

``im2col`` copies every ``KH x KW`` window of the padded input into a column:

    cols[n, (c*KH + i)*KW + j, oh*OW + ow] = xp[n, c, oh*SH + i*DH, ow*SW + j*DW]

so ``cols`` has shape ``(N, C*KH*KW, L)`` with ``L = OH*OW`` windows, and a convolution is
``w.reshape(F, -1) @ cols`` reshaped to ``(N, F, OH, OW)``. ``col2im`` is its adjoint: it adds
each column back where it came from (overlapping windows sum) and crops the padding, which is
exactly the gradient of ``im2col`` and PyTorch's ``fold``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._arguments import check_ndim, contiguous, float_array, positive_pair
from .conv import pad_2d
from .shapes import window_2d


@njit(parallel=True, cache=True)
def im2col_kernel(xp, cols, kh, kw, sh, sw, dh, dw, ow_size):  # pragma: no cover - numba
    """Fill ``cols`` from the padded input ``xp``; one (image, channel) pair per task."""
    n_images, channels = xp.shape[0], xp.shape[1]
    oh_size = cols.shape[2] // ow_size
    for task in prange(n_images * channels):
        n = task // channels
        c = task - n * channels
        for i in range(kh):
            for j in range(kw):
                dst = cols[n, (c * kh + i) * kw + j]
                for oh in range(oh_size):
                    src = xp[n, c, oh * sh + i * dh, j * dw :]
                    base = oh * ow_size
                    if sw == 1:
                        for ow in range(ow_size):
                            dst[base + ow] = src[ow]
                    else:
                        for ow in range(ow_size):
                            dst[base + ow] = src[ow * sw]


@njit(parallel=True, cache=True)
def col2im_kernel(cols, xp, kh, kw, sh, sw, dh, dw, ow_size):  # pragma: no cover - numba
    """Add every column of ``cols`` into ``xp`` (zeros on entry, the padded image shape)."""
    n_images, channels = xp.shape[0], xp.shape[1]
    oh_size = cols.shape[2] // ow_size
    for task in prange(n_images * channels):
        n = task // channels
        c = task - n * channels
        for i in range(kh):
            for j in range(kw):
                src = cols[n, (c * kh + i) * kw + j]
                for oh in range(oh_size):
                    dst = xp[n, c, oh * sh + i * dh, j * dw :]
                    base = oh * ow_size
                    if sw == 1:
                        for ow in range(ow_size):
                            dst[ow] += src[base + ow]
                    else:
                        for ow in range(ow_size):
                            dst[ow * sw] += src[base + ow]


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
    cols = np.empty((n_images, channels * kh * kw, oh * ow), dtype=x.dtype)
    xp = pad_2d(x, window.pads)
    im2col_kernel(xp, cols, kh, kw, *window.stride, *window.dilation, ow)
    return cols


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
    cols = contiguous(cols, cols.dtype)
    (top, bottom), (left, right) = window.pads
    height, width = size
    xp = np.zeros(
        (n_images, rows // (kh * kw), height + top + bottom, width + left + right),
        dtype=cols.dtype,
    )
    col2im_kernel(cols, xp, kh, kw, *window.stride, *window.dilation, ow)
    return np.ascontiguousarray(xp[:, :, top : top + height, left : left + width])
