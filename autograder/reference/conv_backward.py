"""Convolution backward pass: gradients of ``conv2d`` with respect to ``x``, ``w`` and ``b``.

With ``y[n, f, oh, ow] = b[f] + sum_{c,i,j} w[f,c,i,j] * xp[n, c, oh*SH + i*DH, ow*SW + j*DW]``
and an upstream gradient ``dy = dL/dy`` of the shape of ``y``:

    db[f]          = sum_{n, oh, ow} dy[n, f, oh, ow]
    dw[f, c, i, j] = sum_{n, oh, ow} dy[n, f, oh, ow] * xp[n, c, oh*SH + i*DH, ow*SW + j*DW]
    dxp[n, c, oh*SH + i*DH, ow*SW + j*DW] += w[f, c, i, j] * dy[n, f, oh, ow]   (all f, i, j)

and ``dx`` is ``dxp`` with the padding cut off (zeros that were added get no gradient).

The layers are split as in the forward pass: depthwise ones go to :mod:`.depthwise`, other
grouped ones are one ungrouped backward pass per group, thin layers (few filters, small
images) use im2col + BLAS on the batch-interleaved layout of :mod:`.direct`, and the rest
im2col + BLAS on the images as they are (:func:`conv2d_backward_gemm`).
"""

from __future__ import annotations

import numpy as np

from ._arguments import check_ndim, common_dtype, contiguous, float_array
from ._threads import one_thread_blas, run_split
from .conv import (
    chunk_view,
    conv_arrays,
    image_major,
    images_per_chunk,
    images_per_thread,
    output_to_columns,
    per_image_gemm,
    use_interleaved,
)
from .depthwise import depthwise_conv2d_backward
from .direct_backward import interleaved_conv2d_backward
from .im2col import lift, lower
from .shapes import Window2D, window_2d


def conv2d_backward(dy, x, w, stride=1, padding=0, dilation=1, groups=1):
    """Gradients of :func:`autograder.reference.conv2d` (the bias does not change them).

    Args:
        dy: upstream gradient ``dL/dy`` of shape ``(N, F, OH, OW)``, the shape ``conv2d``
            returns for these arguments.
        x: input of shape ``(N, C, H, W)``.
        w: weights of shape ``(F, C // groups, KH, KW)``.
        stride, padding, dilation, groups: as for ``conv2d``.

    Returns:
        ``(dx, dw, db)`` of shapes ``(N, C, H, W)``, ``(F, C // groups, KH, KW)`` and
        ``(F,)``: ``db[f] = sum dy[:, f]``; ``dw[f, c]`` is ``x_pad[:, c]`` cross-correlated
        with ``dy[:, f]`` (stride and dilation swap roles); ``dx`` is the "full" convolution
        of ``dy`` with ``w``, i.e. what ``torch.nn.functional.conv_transpose2d`` computes,
        with the padding cropped off. With groups, each group of filters and its channels
        are one such convolution.

    Raises:
        ValueError: naming the argument, on wrong shapes or arguments.
    """
    x, w, _, groups = conv_arrays(x, w, None, groups, spatial=("H", "W"), kernel=("KH", "KW"))
    window = window_2d(x.shape[2:], w.shape[2:], stride, padding, dilation)
    dy = float_array(dy, "dy")
    expected = (x.shape[0], w.shape[0], *window.out)
    check_ndim(dy, 4, "dy", "(N, F, OH, OW)")
    if dy.shape != expected:
        raise ValueError(
            f"dy must have shape (N, F, OH, OW) == {expected}, the shape conv2d returns for "
            f"x {x.shape}, w {w.shape} and these stride/padding/dilation; got {dy.shape}"
        )
    dtype = common_dtype(dy, x, w)
    x, w, dy = contiguous(x, dtype), contiguous(w, dtype), contiguous(dy, dtype)
    return grouped_conv2d_backward(dy, x, w, window, groups)


def grouped_conv2d_backward(dy: np.ndarray, x: np.ndarray, w: np.ndarray, window, groups: int):
    """Validated arrays, any ``groups``: as :func:`.conv.grouped_conv2d` splits the forward
    pass (one convolution, the depthwise kernels, or one convolution per group)."""
    if groups == 1:
        return conv2d_backward_padded(dy, x, w, window)
    if w.shape[1] == 1:
        return depthwise_conv2d_backward(dy, x, w, window)
    channels, filters = x.shape[1], w.shape[0]
    per_group, filters_per_group = channels // groups, filters // groups
    dx = np.empty_like(x)
    dw = np.empty_like(w)
    db = np.empty(filters, dtype=x.dtype)
    for g in range(groups):
        cs = slice(g * per_group, (g + 1) * per_group)
        fs = slice(g * filters_per_group, (g + 1) * filters_per_group)
        dx[:, cs], dw[fs], db[fs] = conv2d_backward_padded(
            np.ascontiguousarray(dy[:, fs]), np.ascontiguousarray(x[:, cs]), w[fs], window
        )
    return dx, dw, db


def conv2d_backward_padded(dy: np.ndarray, x: np.ndarray, w: np.ndarray, window: Window2D):
    """The gradients of an ungrouped convolution: thin layers (the ones the forward pass
    gives to the batch-interleaved kernel, :func:`.conv.use_interleaved`) on the interleaved
    layout (:func:`.direct_backward.interleaved_conv2d_backward`), the others by
    :func:`conv2d_backward_gemm`."""
    filters, channels, kh, kw = w.shape
    rows, length = channels * kh * kw, window.out[0] * window.out[1]
    if use_interleaved(x.shape[0], filters, rows, length):
        return interleaved_conv2d_backward(dy, x, w, window)
    return conv2d_backward_gemm(dy, x, w, window)


def conv2d_backward_gemm(dy: np.ndarray, x: np.ndarray, w: np.ndarray, window: Window2D):
    """The three gradients as matrix products over chunks of images (validated arrays).

    Why this formulation: both big sums are matrix products that BLAS runs at SGEMM speed,
    while numba loop nests for them were 5-7x slower than PyTorch. With ``cols`` the im2col
    of a chunk of images (GEMM layout ``(C*KH*KW, NB, L)``, see :mod:`.im2col`):

        dw.reshape(F, C*KH*KW) += dy[n] @ cols[:, n].T     (BLAS)
        dcols[:, n]             = w.reshape(F, C*KH*KW).T @ dy[n]   (BLAS, into the cols buffer)
        dx[chunk]               = col2im(dcols)            (numba: each pixel sums the column
                                                            entries copied from it)
        db                      = dy summed over n and the positions

    Large images (:func:`.conv.per_image_gemm`) run these GEMMs per image straight on ``dy``;
    small ones (LeNet) first copy the chunk's ``dy`` into the ``(F, NB*L)`` layout so that
    each product is one wide GEMM. The chunking (``CHUNK_BYTES``) keeps the columns in cache
    between the products, and the buffers are allocated once per call, outside numba. Each of
    ``num_threads()`` threads runs a block of images (its own ``dw`` partial sum, added up at
    the end) with single-threaded BLAS, as in :func:`.conv.conv2d_padded`.
    """
    n_images, channels = x.shape[:2]
    filters = w.shape[0]
    (kh, kw), (oh, ow) = window.kernel, window.out
    rows, length = channels * kh * kw, oh * ow
    dx = np.empty_like(x)
    if n_images == 0:
        return dx, np.zeros_like(w), np.zeros(filters, dtype=x.dtype)
    dy3 = dy.reshape(n_images, filters, length)
    weights_t = w.reshape(filters, rows).T
    per_image = per_image_gemm(filters, rows, length)

    def images(start: int, stop: int) -> np.ndarray:
        """``dx`` of images ``start .. stop`` and their share of ``dw`` (on its own thread)."""
        block = images_per_chunk(stop - start, rows, length, x.itemsize)
        cols_buffer = np.empty(rows * block * length, dtype=x.dtype)
        dw = np.zeros((filters, rows), dtype=x.dtype)
        if per_image:
            dw_images = np.empty((block, filters, rows), dtype=x.dtype)
        else:
            grad_buffer = np.empty(filters * block * length, dtype=x.dtype)
            dw_chunk = np.empty((filters, rows), dtype=x.dtype)
        for n0 in range(start, stop, block):
            nb = min(block, stop - n0)
            cols = chunk_view(cols_buffer, (rows, nb, oh, ow))
            lower(x, cols, n0, window)
            if per_image:
                by_image = image_major(cols)  # (NB, rows, L)
                np.matmul(dy3[n0 : n0 + nb], by_image.transpose(0, 2, 1), out=dw_images[:nb])
                dw += dw_images[:nb].sum(axis=0)
                np.matmul(weights_t, dy3[n0 : n0 + nb], out=by_image)
            else:
                grad = chunk_view(grad_buffer, (filters, nb, length))
                output_to_columns(dy3, grad, n0)
                grad = grad.reshape(filters, nb * length)
                cols2 = cols.reshape(rows, nb * length)
                np.matmul(grad, cols2.T, out=dw_chunk)
                dw += dw_chunk
                np.matmul(weights_t, grad, out=cols2)
            lift(cols, dx, n0, window)
        return dw

    with one_thread_blas():
        parts = run_split(images, n_images, images_per_thread(filters, rows, length))
    dw = parts[0]
    for part in parts[1:]:
        dw += part
    db = dy3.sum(axis=2).sum(axis=0)
    return dx, dw.reshape(w.shape), db
