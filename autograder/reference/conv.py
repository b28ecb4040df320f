"""Convolution forward pass: ``conv1d`` and ``conv2d`` (cross-correlation, like PyTorch).

For an input ``x`` of shape ``(N, C, H, W)`` padded to ``xp``, weights ``w`` of shape
``(F, C, KH, KW)`` and bias ``b`` of shape ``(F,)``:

    y[n, f, oh, ow] = b[f] + sum_{c, i, j} w[f, c, i, j] * xp[n, c, oh*SH + i*DH, ow*SW + j*DW]

The kernel is *not* flipped (that would be a mathematical convolution); this is what every
deep-learning library calls convolution. ``conv1d`` is ``conv2d`` with ``H = KH = 1``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._arguments import (
    check_ndim,
    common_dtype,
    contiguous,
    float_array,
    positive_int,
)
from .shapes import Window2D, output_size, resolve_padding_1d, window_2d


@njit(parallel=True, cache=True)
def conv2d_kernel(xp, w, out, sh, sw, dh, dw):  # pragma: no cover - compiled by numba
    """Add the cross-correlation of ``xp`` (already padded) with ``w`` to ``out``.

    ``out`` holds the bias on entry. One (image, filter) pair per parallel task; the inner
    loop runs along a row of the output, contiguous in memory when ``sw == 1``.
    """
    n_images, channels = xp.shape[0], xp.shape[1]
    filters, kh, kw = w.shape[0], w.shape[2], w.shape[3]
    oh_size, ow_size = out.shape[2], out.shape[3]
    for task in prange(n_images * filters):
        n = task // filters
        f = task - n * filters
        for c in range(channels):
            for i in range(kh):
                for j in range(kw):
                    weight = w[f, c, i, j]
                    for oh in range(oh_size):
                        src = xp[n, c, oh * sh + i * dh, j * dw :]
                        dst = out[n, f, oh]
                        if sw == 1:
                            for ow in range(ow_size):
                                dst[ow] += weight * src[ow]
                        else:
                            for ow in range(ow_size):
                                dst[ow] += weight * src[ow * sw]


def pad_2d(x: np.ndarray, pads, value: float = 0.0) -> np.ndarray:
    """``x`` of shape ``(N, C, H, W)`` with ``pads = ((top, bottom), (left, right))`` added.

    Returns ``x`` itself when there is nothing to add.
    """
    (top, bottom), (left, right) = pads
    if top == bottom == left == right == 0:
        return x
    return np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), constant_values=value)


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1) -> np.ndarray:
    """2-D cross-correlation with the semantics of ``torch.nn.functional.conv2d``.

    Args:
        x: input of shape ``(N, C, H, W)``.
        w: weights of shape ``(F, C, KH, KW)``.
        b: bias of shape ``(F,)`` or ``None``.
        stride: an int or ``(SH, SW)``.
        padding: an int, ``(PH, PW)`` (symmetric per dim), ``((top, bottom), (left, right))``,
            ``'valid'`` or ``'same'`` (TensorFlow's rule for any stride, see
            :func:`autograder.reference.same_padding`); zeros are added.
        dilation: an int or ``(DH, DW)``, the spacing between kernel taps.

    Returns:
        ``y`` of shape ``(N, F, OH, OW)`` with
        ``OH = (H + top + bottom - DH*(KH-1) - 1) // SH + 1`` and likewise ``OW``;
        ``y[n, f] = b[f] + sum_c x_pad[n, c] ⋆ w[f, c]``. float32 in, float32 out (arrays are
        computed in NumPy's common dtype of ``x``, ``w``, ``b``; integer arrays count as
        float64).

    Raises:
        ValueError: naming the argument, on wrong shapes, dtypes or window arguments, and when
            the kernel is larger than the padded input.

    Example:
        >>> x = np.arange(9.0).reshape(1, 1, 3, 3)
        >>> w = np.arange(4.0).reshape(1, 1, 2, 2)
        >>> conv2d(x, w)[0, 0]
        array([[19., 25.],
               [37., 43.]])
    """
    x, w, b = conv_arrays(x, w, b, spatial=("H", "W"), kernel=("KH", "KW"))
    window = window_2d(x.shape[2:], w.shape[2:], stride, padding, dilation)
    return conv2d_padded(x, w, b, window)


def conv1d(x, w, b=None, stride=1, padding=0, dilation=1) -> np.ndarray:
    """1-D cross-correlation with the semantics of ``torch.nn.functional.conv1d``.

    Args:
        x: input of shape ``(N, C, L)``.
        w: weights of shape ``(F, C, K)``.
        b: bias of shape ``(F,)`` or ``None``.
        stride: a positive int ``s``.
        padding: an int (zeros on each side), a ``(before, after)`` pair, ``'valid'`` or
            ``'same'`` (TensorFlow's rule, any stride; the extra zero goes after).
        dilation: a positive int ``d``.

    Returns:
        ``y`` of shape ``(N, F, L_out)``, ``L_out = (L + before + after - d*(K-1) - 1) // s + 1``,
        ``y[n, f, t] = b[f] + sum_{c, k} w[f, c, k] * x_pad[n, c, t*s + k*d]``.

    Example:
        >>> x = np.array([[[1.0, 0, 2, 2, 3, 1]]])
        >>> w = np.array([[[3.0, 2, 2]]])
        >>> conv1d(x, w)[0, 0], conv1d(x, w, padding="same")[0, 0]
        (array([ 7.,  8., 16., 14.]), array([ 2.,  7.,  8., 16., 14., 11.]))
    """
    x, w, b = conv_arrays(x, w, b, spatial=("L",), kernel=("K",))
    s = positive_int(stride, "stride")
    d = positive_int(dilation, "dilation")
    length, k = x.shape[2], w.shape[2]
    pads = resolve_padding_1d(padding, length, k, s, d)
    output_size(length, k, s, *pads, d)  # says "kernel larger than padded input" in 1-D words
    # A row of height 1: H = KH = 1, nothing added above or below.
    window = window_2d((1, length), (1, k), (1, s), ((0, 0), pads), (1, d))
    return conv2d_padded(x[:, :, None, :], w[:, :, None, :], b, window)[:, :, 0, :]


def conv2d_padded(x: np.ndarray, w: np.ndarray, b, window: Window2D) -> np.ndarray:
    """Run the kernel on validated, contiguous arrays of one dtype."""
    n_images, filters = x.shape[0], w.shape[0]
    out = np.empty((n_images, filters, *window.out), dtype=x.dtype)
    out[...] = 0.0 if b is None else b[None, :, None, None]
    xp = pad_2d(x, window.pads)
    conv2d_kernel(xp, w, out, *window.stride, *window.dilation)
    return out


def conv_arrays(x, w, b, spatial: tuple[str, ...], kernel: tuple[str, ...]):
    """Check ``x``, ``w``, ``b`` of a convolution and bring them to one dtype, C order."""
    x_layout = f"({', '.join(('N', 'C', *spatial))})"
    w_layout = f"({', '.join(('F', 'C', *kernel))})"
    ndim = 2 + len(spatial)
    x = float_array(x, "x")
    w = float_array(w, "w")
    check_ndim(x, ndim, "x", x_layout)
    if w.ndim != ndim or w.shape[1] != x.shape[1] or min(w.shape) < 1:
        raise ValueError(
            f"w must have shape {w_layout} with C == x.shape[1] == {x.shape[1]}; got {w.shape}"
        )
    if b is not None:
        b = float_array(b, "b")
        if b.shape != (w.shape[0],):
            raise ValueError(
                f"b must have shape (F,) == ({w.shape[0]},) to match w.shape[0]; got {b.shape}"
            )
    dtype = common_dtype(x, w, b)
    x, w = contiguous(x, dtype), contiguous(w, dtype)
    if b is not None:
        b = contiguous(b, dtype)
    return x, w, b
