"""Max and average pooling, forward and backward, with the semantics of PyTorch.

A ``KH x KW`` window moves over each channel of ``x`` ``(N, C, H, W)`` with stride
``(SH, SW)`` (by default the kernel size: windows do not overlap), giving ``(N, C, OH, OW)``
with ``OH = (H + top + bottom - KH) // SH + 1``.

* Max pooling pads with ``-inf`` (padding never wins) and sends the gradient of each output to
  the position of its window's maximum. On ties it picks the *first* maximum in row-major order
  inside the window, as PyTorch does; a NaN counts as a maximum (the last NaN wins), as in
  PyTorch. When windows overlap, a position collects the gradients of every window it wins.
* Average pooling pads with zeros and always divides by ``KH*KW``, padded zeros included
  (PyTorch's default ``count_include_pad=True``); each input position receives
  ``dy / (KH*KW)`` from every window that covers it.

Like PyTorch, padding may be at most half the kernel on each side, so every window holds at
least one real input value.

How: direct numba loops, the ``N*C`` planes split among threads (:mod:`._threads`). Pooling
does no multiply-adds worth a matrix product; it is one pass over memory, so the work is to
make that pass cheap. 2x2 windows with stride 2 and no padding (most CNNs) have their own
kernels with the window unrolled (:mod:`.pooling_2x2`), which LLVM vectorises along the rows
(8-40x faster than the general loops, and faster than PyTorch's CPU pooling); every other
window uses the general loops. The backward passes zero each plane of ``dx`` in the thread
that fills it.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._arguments import check_ndim, common_dtype, contiguous, float_array
from ._threads import run_split
from .pooling_2x2 import (
    avg_pool2x2_backward_kernel,
    avg_pool2x2_kernel,
    is_2x2,
    max_pool2x2_backward_kernel,
    max_pool2x2_kernel,
)
from .shapes import Window2D, window_2d

# Indices are cast to unsigned so that numba drops its negative-index wraparound check (a
# select on every access, and gathers instead of vector loads in the loops it vectorises).
U = np.uintp


@njit(inline="always")
def zero_plane(a, n, c):  # pragma: no cover - compiled by numba
    """``a[n, c] = 0``, done by the thread that then fills the plane: the zeros are written by
    the core that adds to them, while the plane is in its cache (``np.zeros`` would be one
    serial pass over the whole array first)."""
    for h in range(a.shape[2]):
        for w in range(a.shape[3]):
            a[n, c, U(h), U(w)] = 0.0


@njit(cache=True)
def window_argmax(image, h0, h1, w0, w1):  # pragma: no cover - compiled by numba
    """``(max, row, col)`` over ``image[h0:h1, w0:w1]``: first maximum wins, NaN beats all.

    Starts from ``-inf`` at the window's first position, exactly like PyTorch's CPU kernel.
    """
    best = -np.inf
    best_h, best_w = h0, w0
    for h in range(h0, h1):
        for w in range(w0, w1):
            value = image[U(h), U(w)]
            if value > best or np.isnan(value):
                best = value
                best_h, best_w = h, w
    return best, best_h, best_w


@njit(nogil=True, cache=True)
def max_pool2d_kernel(x, out, kh, kw, sh, sw, top, left, start, stop):  # pragma: no cover - numba
    """``out[n, c, oh, ow]`` = max of the window's real (unpadded) inputs."""
    n_images, channels, height, width = x.shape
    oh_size, ow_size = out.shape[2], out.shape[3]
    for task in range(start, stop):
        n = task // channels
        c = task - n * channels
        image = x[n, c]
        for oh in range(oh_size):
            h0 = oh * sh - top
            h1 = min(h0 + kh, height)
            h0 = max(h0, 0)
            for ow in range(ow_size):
                w0 = ow * sw - left
                w1 = min(w0 + kw, width)
                w0 = max(w0, 0)
                best, _, _ = window_argmax(image, h0, h1, w0, w1)
                out[n, c, U(oh), U(ow)] = best


@njit(nogil=True, cache=True)
def max_pool2d_backward_kernel(
    dy, x, dx, kh, kw, sh, sw, top, left, start, stop
):  # pragma: no cover
    """``dx`` (garbage on entry): zeros, plus ``dy[n, c, oh, ow]`` at each window's argmax."""
    n_images, channels, height, width = x.shape
    oh_size, ow_size = dy.shape[2], dy.shape[3]
    for task in range(start, stop):
        n = task // channels
        c = task - n * channels
        image = x[n, c]
        zero_plane(dx, n, c)
        for oh in range(oh_size):
            h0 = oh * sh - top
            h1 = min(h0 + kh, height)
            h0 = max(h0, 0)
            for ow in range(ow_size):
                w0 = ow * sw - left
                w1 = min(w0 + kw, width)
                w0 = max(w0, 0)
                _, h, w = window_argmax(image, h0, h1, w0, w1)
                dx[n, c, U(h), U(w)] += dy[n, c, U(oh), U(ow)]


@njit(nogil=True, cache=True)
def avg_pool2d_kernel(x, out, kh, kw, sh, sw, top, left, start, stop):  # pragma: no cover - numba
    """``out[n, c, oh, ow]`` = (sum of the window's real inputs) / (KH*KW), in float64."""
    n_images, channels, height, width = x.shape
    oh_size, ow_size = out.shape[2], out.shape[3]
    area = kh * kw
    for task in range(start, stop):
        n = task // channels
        c = task - n * channels
        for oh in range(oh_size):
            h0 = oh * sh - top
            h1 = min(h0 + kh, height)
            h0 = max(h0, 0)
            for ow in range(ow_size):
                w0 = ow * sw - left
                w1 = min(w0 + kw, width)
                w0 = max(w0, 0)
                total = 0.0
                for h in range(h0, h1):
                    for w in range(w0, w1):
                        total += x[n, c, U(h), U(w)]
                out[n, c, U(oh), U(ow)] = total / area


@njit(nogil=True, cache=True)
def avg_pool2d_backward_kernel(dy, dx, kh, kw, sh, sw, top, left, start, stop):  # pragma: no cover
    """``dx``: zeros, plus ``dy[n, c, oh, ow] / (KH*KW)`` at every real input of each window."""
    n_images, channels, height, width = dx.shape
    oh_size, ow_size = dy.shape[2], dy.shape[3]
    area = kh * kw
    for task in range(start, stop):
        n = task // channels
        c = task - n * channels
        zero_plane(dx, n, c)
        for oh in range(oh_size):
            h0 = oh * sh - top
            h1 = min(h0 + kh, height)
            h0 = max(h0, 0)
            for ow in range(ow_size):
                w0 = ow * sw - left
                w1 = min(w0 + kw, width)
                w0 = max(w0, 0)
                share = dy[n, c, U(oh), U(ow)] / area
                for h in range(h0, h1):
                    for w in range(w0, w1):
                        dx[n, c, U(h), U(w)] += share


def max_pool2d(x, kernel_size, stride=None, padding=0) -> np.ndarray:
    """Max pooling with the semantics of ``torch.nn.functional.max_pool2d``.

    Args:
        x: input of shape ``(N, C, H, W)``.
        kernel_size: an int or ``(KH, KW)``.
        stride: an int, ``(SH, SW)`` or ``None`` for ``kernel_size``.
        padding: any form ``conv2d`` accepts (``'same'`` included); ``-inf`` is added, and
            each side may have at most half the kernel size (PyTorch's rule).

    Returns:
        ``(N, C, OH, OW)``, ``OH = (H + top + bottom - KH) // SH + 1``, each entry the maximum
        of its window.

    Example:
        >>> x = np.array([[1, 3, 2, 4], [2, 9, 1, 1], [1, 3, 2, 3], [5, 6, 1, 2]], float)
        >>> max_pool2d(x[None, None], 2)[0, 0]
        array([[9., 4.],
               [6., 3.]])
    """
    x, window = _pool_arguments(x, kernel_size, stride, padding)
    out = np.empty((*x.shape[:2], *window.out), dtype=x.dtype)
    if is_2x2(window):
        _planes(max_pool2x2_kernel, x, out)
    else:
        _planes(max_pool2d_kernel, x, out, *_kernel_arguments(window))
    return out


def avg_pool2d(x, kernel_size, stride=None, padding=0) -> np.ndarray:
    """Average pooling with the semantics of ``torch.nn.functional.avg_pool2d``.

    Padded zeros count (``count_include_pad=True``): every window is divided by ``KH*KW``.
    Arguments and output shape as for :func:`max_pool2d`.

    Example:
        >>> x = np.array([[1, 3, 2, 4], [2, 9, 1, 1], [1, 3, 2, 3], [5, 6, 1, 2]], float)
        >>> avg_pool2d(x[None, None], 2)[0, 0]
        array([[3.75, 2.  ],
               [3.75, 2.  ]])
    """
    x, window = _pool_arguments(x, kernel_size, stride, padding)
    out = np.empty((*x.shape[:2], *window.out), dtype=x.dtype)
    if is_2x2(window):
        _planes(avg_pool2x2_kernel, x, out)
    else:
        _planes(avg_pool2d_kernel, x, out, *_kernel_arguments(window))
    return out


def max_pool2d_backward(dy, x, kernel_size, stride=None, padding=0) -> np.ndarray:
    """Gradient of :func:`max_pool2d` with respect to ``x``.

    Args:
        dy: upstream gradient of shape ``(N, C, OH, OW)``, the shape ``max_pool2d`` returns.
        x: the input of the forward pass, ``(N, C, H, W)``.
        kernel_size, stride, padding: as for ``max_pool2d``.

    Returns:
        ``dx`` of shape ``(N, C, H, W)``: each ``dy`` entry added at its window's maximum
        (the first one in row-major order on ties, like PyTorch), zero elsewhere.
    """
    x, window = _pool_arguments(x, kernel_size, stride, padding)
    dy, x = _pool_gradient(dy, x, window)
    dx = np.empty_like(x)
    if is_2x2(window):
        _planes(max_pool2x2_backward_kernel, dy, x, dx)
    else:
        _planes(max_pool2d_backward_kernel, dy, x, dx, *_kernel_arguments(window))
    return dx


def avg_pool2d_backward(dy, x, kernel_size, stride=None, padding=0) -> np.ndarray:
    """Gradient of :func:`avg_pool2d` with respect to ``x``.

    Returns:
        ``dx`` of shape ``(N, C, H, W)``: every input receives ``dy / (KH*KW)`` from each
        window covering it. ``x`` supplies the shape and dtype only.
    """
    x, window = _pool_arguments(x, kernel_size, stride, padding)
    dy, x = _pool_gradient(dy, x, window)
    dx = np.empty_like(x)
    if is_2x2(window):
        _planes(avg_pool2x2_backward_kernel, dy, dx)
    else:
        _planes(avg_pool2d_backward_kernel, dy, dx, *_kernel_arguments(window))
    return dx


def _pool_arguments(x, kernel_size, stride, padding) -> tuple[np.ndarray, Window2D]:
    """Check ``x`` and the window; enforce PyTorch's "padding <= kernel / 2" rule."""
    x = float_array(x, "x")
    check_ndim(x, 4, "x", "(N, C, H, W)")
    window = window_2d(x.shape[2:], kernel_size, kernel_size if stride is None else stride, padding)
    for pads, k, what in zip(window.pads, window.kernel, ("height", "width"), strict=True):
        if 2 * max(pads) > k:
            raise ValueError(
                f"padding must be at most half the kernel size on each side (as in PyTorch); "
                f"got padding {pads} (before, after) for kernel {what} {k}"
            )
    return contiguous(x, x.dtype), window


def _pool_gradient(dy, x: np.ndarray, window: Window2D) -> tuple[np.ndarray, np.ndarray]:
    """Check ``dy`` against the forward output shape; return ``dy`` and ``x`` in one dtype."""
    dy = float_array(dy, "dy")
    expected = (*x.shape[:2], *window.out)
    if dy.shape != expected:
        raise ValueError(
            f"dy must have shape (N, C, OH, OW) == {expected}, the shape the pooling returns "
            f"for x {x.shape} and these kernel_size/stride/padding; got {dy.shape}"
        )
    dtype = common_dtype(dy, x)
    return contiguous(dy, dtype), contiguous(x, dtype)


def _planes(kernel, *arguments) -> None:
    """Run ``kernel(*arguments, start, stop)`` over the ``N*C`` planes of its first array,
    split among ``num_threads()`` threads (see :mod:`._threads`): each plane is independent.
    Threads get at least ~64K input elements each; less is not worth a thread."""
    planes = arguments[0].shape[0] * arguments[0].shape[1]
    plane_size = max(a.shape[2] * a.shape[3] for a in arguments if isinstance(a, np.ndarray))
    per_thread = max(1, (1 << 16) // max(1, plane_size))
    run_split(lambda start, stop: kernel(*arguments, start, stop), planes, per_thread)


def _kernel_arguments(window: Window2D) -> tuple[int, ...]:
    """``(KH, KW, SH, SW, top, left)``, what the pooling kernels take after the arrays."""
    (top, _), (left, _) = window.pads
    return (*window.kernel, *window.stride, top, left)
