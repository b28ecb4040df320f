"""Convolution backward pass: gradients of ``conv2d`` with respect to ``x``, ``w`` and ``b``.

With ``y[n, f, oh, ow] = b[f] + sum_{c,i,j} w[f,c,i,j] * xp[n, c, oh*SH + i*DH, ow*SW + j*DW]``
and an upstream gradient ``dy = dL/dy`` of the shape of ``y``:

    db[f]          = sum_{n, oh, ow} dy[n, f, oh, ow]
    dw[f, c, i, j] = sum_{n, oh, ow} dy[n, f, oh, ow] * xp[n, c, oh*SH + i*DH, ow*SW + j*DW]
    dxp[n, c, oh*SH + i*DH, ow*SW + j*DW] += w[f, c, i, j] * dy[n, f, oh, ow]   (all f, i, j)

and ``dx`` is ``dxp`` with the padding cut off (zeros that were added get no gradient).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._arguments import check_ndim, common_dtype, contiguous, float_array
from .conv import conv_arrays, pad_2d
from .shapes import window_2d


@njit(parallel=True, cache=True)
def conv2d_backward_input_kernel(dy, w, dxp, sh, sw, dh, dw):  # pragma: no cover - numba
    """Scatter ``w * dy`` into ``dxp`` (zeros on entry, the shape of the padded input).

    One (image, channel) pair per parallel task, so no two tasks write the same element.
    """
    n_images, channels = dxp.shape[0], dxp.shape[1]
    filters, kh, kw = w.shape[0], w.shape[2], w.shape[3]
    oh_size, ow_size = dy.shape[2], dy.shape[3]
    for task in prange(n_images * channels):
        n = task // channels
        c = task - n * channels
        for f in range(filters):
            for i in range(kh):
                for j in range(kw):
                    weight = w[f, c, i, j]
                    for oh in range(oh_size):
                        grad = dy[n, f, oh]
                        dst = dxp[n, c, oh * sh + i * dh, j * dw :]
                        if sw == 1:
                            for ow in range(ow_size):
                                dst[ow] += weight * grad[ow]
                        else:
                            for ow in range(ow_size):
                                dst[ow * sw] += weight * grad[ow]


@njit(parallel=True, cache=True)
def conv2d_backward_weight_kernel(dy, xp, dwt, rows, sh, sw, dh, dw):  # pragma: no cover
    """Write ``dw[f, c, i, j]``, the correlation of ``dy[:, f]`` with the padded input.

    One (filter, channel) pair per parallel task. Each task sums products position by position
    into its own float64 row ``rows[task]`` of length ``OW`` (a vectorisable loop, unlike one
    scalar running sum) and adds the row up at the end.
    """
    n_images, channels = xp.shape[0], xp.shape[1]
    filters, kh, kw = dwt.shape[0], dwt.shape[2], dwt.shape[3]
    oh_size, ow_size = dy.shape[2], dy.shape[3]
    for task in prange(filters * channels):
        f = task // channels
        c = task - f * channels
        row = rows[task]
        for i in range(kh):
            for j in range(kw):
                row[:] = 0.0
                for n in range(n_images):
                    for oh in range(oh_size):
                        grad = dy[n, f, oh]
                        src = xp[n, c, oh * sh + i * dh, j * dw :]
                        if sw == 1:
                            for ow in range(ow_size):
                                row[ow] += grad[ow] * src[ow]
                        else:
                            for ow in range(ow_size):
                                row[ow] += grad[ow] * src[ow * sw]
                dwt[f, c, i, j] = row.sum()


def conv2d_backward(dy, x, w, stride=1, padding=0, dilation=1):
    """Gradients of :func:`autograder.reference.conv2d` (the bias does not change them).

    Args:
        dy: upstream gradient ``dL/dy`` of shape ``(N, F, OH, OW)``, the shape ``conv2d``
            returns for these arguments.
        x: input of shape ``(N, C, H, W)``.
        w: weights of shape ``(F, C, KH, KW)``.
        stride, padding, dilation: as for ``conv2d``.

    Returns:
        ``(dx, dw, db)`` of shapes ``(N, C, H, W)``, ``(F, C, KH, KW)`` and ``(F,)``:
        ``db[f] = sum dy[:, f]``; ``dw[f, c]`` is ``x_pad[:, c]`` cross-correlated with
        ``dy[:, f]`` (stride and dilation swap roles); ``dx`` is the "full" convolution of
        ``dy`` with ``w``, i.e. what ``torch.nn.functional.conv_transpose2d`` computes,
        with the padding cropped off.

    Raises:
        ValueError: naming the argument, on wrong shapes or arguments.
    """
    x, w, _ = conv_arrays(x, w, None, spatial=("H", "W"), kernel=("KH", "KW"))
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

    xp = pad_2d(x, window.pads)
    dxp = np.zeros_like(xp)
    dw = np.empty_like(w)
    conv2d_backward_input_kernel(dy, w, dxp, *window.stride, *window.dilation)
    rows = np.empty((w.shape[0] * w.shape[1], window.out[1]))  # float64 scratch, one row a task
    conv2d_backward_weight_kernel(dy, xp, dw, rows, *window.stride, *window.dilation)
    db = dy.sum(axis=(0, 2, 3))

    (top, _), (left, _) = window.pads
    height, width = x.shape[2:]
    dx = np.ascontiguousarray(dxp[:, :, top : top + height, left : left + width])
    return dx, dw, db
