"""Reference implementations the grader trusts: convolution, pooling, im2col, shape rules.

``from autograder import reference as ref``. NumPy arrays in and out, the semantics of
``torch.nn.functional`` (cross-correlation, channels first: ``(N, C, L)`` and
``(N, C, H, W)``).

Convolution (:mod:`.conv`, :mod:`.conv_backward`)
    ``conv1d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1)``:
    ``(N, C, L) ⋆ (F, C // groups, K)``
    ``conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1)``:
    ``(N, C, H, W) ⋆ (F, C // groups, KH, KW)``
    ``conv2d_backward(dy, x, w, stride=1, padding=0, dilation=1, groups=1) -> (dx, dw, db)``
    ``groups`` as in PyTorch: it divides ``C`` and ``F``, and each group of ``F // groups``
    filters sees only its ``C // groups`` channels (``groups == C``: depthwise).
Pooling (:mod:`.pooling`; ``stride`` defaults to ``kernel_size``)
    ``max_pool2d(x, kernel_size, stride=None, padding=0)``, ``avg_pool2d(...)``
    ``max_pool2d_backward(dy, x, kernel_size, stride=None, padding=0) -> dx``,
    ``avg_pool2d_backward(...)``
Convolution as a matrix product (:mod:`.im2col`)
    ``im2col(x, kernel_size, stride=1, padding=0, dilation=1)`` (``torch`` ``unfold``)
    ``col2im(cols, output_size, kernel_size, stride=1, padding=0, dilation=1)`` (``fold``)
Shape rules (:mod:`.shapes`)
    ``conv_output_size(n, k, stride=1, padding=0, dilation=1)``:
    ``floor((n + p_total - d*(k-1) - 1) / s) + 1``
    ``same_padding(n, k, stride=1, dilation=1) -> (before, after)``: TensorFlow's rule,
    ``ceil(n/s)`` outputs, the extra zero after.

Arguments:
    ``kernel_size``, ``stride`` and ``dilation`` are ints or, in 2-D, ``(h, w)`` pairs.
    ``padding`` is an int (zeros on each side), in 2-D a ``(ph, pw)`` pair (symmetric per
    dim, like PyTorch) or ``((top, bottom), (left, right))``, in 1-D a ``(before, after)``
    pair, or ``'valid'`` (none) or ``'same'`` (TensorFlow's rule for any stride, possibly
    asymmetric).

Dtypes:
    float32 and float64 are computed as given, mixed inputs in NumPy's common dtype (float32
    with float64 gives float64). Integer and bool arrays are converted to float64, float16 to
    float32; complex and object arrays are rejected.

Errors:
    Wrong shapes or arguments raise ``ValueError`` naming the argument and what was expected.

The work is done by numba kernels compiled on first use (``cache=True`` keeps them on disk,
so a second process loads them in well under a second), so importing this package compiles
nothing and starts no thread. Calls use numba's thread count (``NUMBA_NUM_THREADS``,
``numba.set_num_threads``): each thread runs whole images, with NumPy's BLAS held to one
thread during the call (:mod:`._threads`); with one thread no thread is started at all.
How each kernel is computed, and why, is in the docstrings of :mod:`.conv`, :mod:`.direct`,
:mod:`.depthwise`, :mod:`.conv_backward` and :mod:`.pooling`; ``bench/kernels.py`` measures
them against PyTorch.
"""

from .conv import conv1d, conv2d
from .conv_backward import conv2d_backward
from .im2col import col2im, im2col
from .pooling import avg_pool2d, avg_pool2d_backward, max_pool2d, max_pool2d_backward
from .shapes import conv_output_size, same_padding

__all__ = [
    "avg_pool2d",
    "avg_pool2d_backward",
    "col2im",
    "conv1d",
    "conv2d",
    "conv2d_backward",
    "conv_output_size",
    "im2col",
    "max_pool2d",
    "max_pool2d_backward",
    "same_padding",
]
