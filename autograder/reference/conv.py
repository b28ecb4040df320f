"""Convolution forward pass: ``conv1d`` and ``conv2d`` (cross-correlation, like PyTorch).

For an input ``x`` of shape ``(N, C, H, W)`` padded to ``xp``, weights ``w`` of shape
``(F, C, KH, KW)`` and bias ``b`` of shape ``(F,)``:

    y[n, f, oh, ow] = b[f] + sum_{c, i, j} w[f, c, i, j] * xp[n, c, oh*SH + i*DH, ow*SW + j*DW]

The kernel is *not* flipped (that would be a mathematical convolution); this is what every
deep-learning library calls convolution. ``conv1d`` is ``conv2d`` with ``H = KH = 1``. With
``groups = G``, ``w`` has shape ``(F, C/G, KH, KW)`` and filter ``f`` sums only over the
``C/G`` channels of its group ``g = f // (F/G)``, ``c = g*C/G + k`` with weights ``w[f, k]``.

How it is computed, and why (measured with ``bench/kernels.py`` on the course's 2-core
machine; see :func:`conv2d_padded`): three formulations, chosen by the layer's shape.

* im2col into a buffer allocated with NumPy, then BLAS matrix products, the images split
  among threads: for layers with many filters or large images, where the product is large
  enough for BLAS to run near the machine's SGEMM speed;
* for layers with few filters and small images (LeNet's second layer), where that product
  is too thin for BLAS and im2col's copies cost as much as the multiply-adds: a direct kernel
  on blocks of images interleaved along each row (:mod:`.direct`; 0.58 ms against 1.09 for
  LeNet conv2 on one thread, see :func:`use_interleaved`);
* for stride 1 with few input taps (``C*KH*KW <= SHIFTED_MAX_ROWS``, LeNet's first layer):
  each tap is a shifted view of the padded image, no im2col (:func:`shifted_conv2d`, 2.7x
  faster than im2col + BLAS there).

Grouped convolutions are split in :func:`grouped_conv2d`: depthwise ones (one channel per
filter) have kernels of their own (:mod:`.depthwise`), others are one convolution per group.

The alternatives that lost:

* textbook direct numba loops over one image (even with contiguous inner loops): 5x slower
  than PyTorch on a ResNet layer and 7x on its backward pass; rows of one image (10 outputs
  in LeNet conv2) are shorter than a vector register, and numba cannot express register
  blocking beyond what :mod:`.direct` does;
* one im2col of the whole batch, then one GEMM: the columns (151 MB for the ResNet layer)
  make a round trip through memory; chunks of ``CHUNK_BYTES`` stay in cache, and GEMMs on
  a chunk ran at 87 GFLOP/s against 61 on one thread;
* numba's ``prange`` for the lowering plus multithreaded BLAS for the products: two thread
  pools taking turns, one barrier per chunk each; on a loaded machine that was 7x slower than
  one thread (see :mod:`._threads`);
* not tried, for time: the "shifted GEMM" version of the shifted trick for wide layers (NHWC
  copies and one accumulating GEMM per tap with K = C), and Winograd for 3x3 or 5x5 (fewer
  multiplications, but an error that float64 callers comparing against PyTorch at 1e-10
  would notice).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._arguments import (
    check_ndim,
    common_dtype,
    contiguous,
    float_array,
    positive_int,
)
from ._threads import items_per_thread, one_thread_blas, run_split
from .depthwise import depthwise_conv2d
from .direct import interleaved_conv2d
from .im2col import U, lower
from .shapes import Window2D, output_size, resolve_padding_1d, window_2d
from .shifted import shifted_conv2d

# Bytes of the column buffer a chunk of images is lowered into. One chunk is lowered, multiplied
# and written out before the next, so the columns are read back by BLAS while they are still in
# the (32 MB, shared) L3 cache instead of making a round trip through memory; a few megabytes
# also leave BLAS a long enough matrix to run at full speed.
CHUNK_BYTES = 8 << 20

# Multiply-adds per image (F x C*KH*KW x L) above which each image gets its own GEMM written
# straight into the output (``(F, C*KH*KW) @ (C*KH*KW, L)``); below it one GEMM covers the
# whole chunk (``N*L`` columns) and its result is copied into place. Small images (LeNet:
# L = 100) make per-image GEMMs too small for BLAS; large ones (ResNet: 64 x 576 x 1024 per
# image) make the copy a waste and one more pass over the output. The 1-D benchmark layer
# (32 x 112 x 1018 = 3.6 M per image) sits between: per image it took 4.39 ms against 5.04 ms
# chunked (2 threads, Intel Xeon, bench/kernels.py), so the limit is 2 M, not 4 M as before.
PER_IMAGE_GEMM_MACS = 2_000_000


@njit(nogil=True, cache=True)
def columns_to_output(res, out, n0, b):  # pragma: no cover - compiled by numba
    """``out[n0 + nl, f, :] = res[f, nl, :] + b[f]``: from GEMM layout to ``(N, F, L)``."""
    filters, n_block, length = res.shape
    for nl in range(n_block):
        for f in range(filters):
            bias = b[f]
            for k in range(length):
                out[n0 + nl, f, U(k)] = res[f, nl, U(k)] + bias


@njit(nogil=True, cache=True)
def output_to_columns(dy, res, n0):  # pragma: no cover - compiled by numba
    """``res[f, nl, :] = dy[n0 + nl, f, :]``: from ``(N, F, L)`` to GEMM layout (serial)."""
    filters, n_block, length = res.shape
    for nl in range(n_block):
        for f in range(filters):
            for k in range(length):
                res[f, nl, U(k)] = dy[n0 + nl, f, U(k)]


# Largest C*KH*KW for which stride-1 convolutions skip im2col and BLAS (see shifted_conv2d).
SHIFTED_MAX_ROWS = 32

# The batch-interleaved direct kernel (:mod:`.direct`) replaces im2col + BLAS for layers with
# at most INTERLEAVED_MAX_FILTERS filters whose images are too small for a GEMM of their own
# (below PER_IMAGE_GEMM_MACS), in batches of at least INTERLEAVED_MIN_IMAGES. Measured on the
# course's 2-core AMD EPYC, one thread, best of 7-15 runs, ms (interleaved / im2col + BLAS):
# LeNet conv2 64x6x14x14, 16@5x5: 0.58 / 1.09; 64x3x32x32, 16@5x5: 2.56 / 3.49;
# 64x16x14x14, 16@3x3: 1.25 / 1.91; 64x32x14x14, 32@3x3: 4.58 / 5.06; 64x16x28x28,
# 32@3x3 stride 2: 2.92 / 7.57; 4 images of LeNet conv2: 0.12 / 0.12. Where BLAS wins: 64
# filters (64x16x14x14, 64@3x3: 5.18 / 3.96) and large images (the 1-D layer 64x16x1024,
# 32@7: 11.5 / 8.7; 64x32x56x56, 32@3x3 stride 2: 26.3 / 22.0).
INTERLEAVED_MAX_FILTERS = 32
INTERLEAVED_MIN_IMAGES = 8


def use_interleaved(n_images: int, filters: int, rows: int, length: int) -> bool:
    """True when the batch-interleaved direct kernel is the faster formulation (see above)."""
    return (
        n_images >= INTERLEAVED_MIN_IMAGES
        and filters <= INTERLEAVED_MAX_FILTERS
        and not per_image_gemm(filters, rows, length)
    )


def images_per_chunk(n_images: int, rows: int, length: int, itemsize: int) -> int:
    """How many images' columns (``rows x length`` each) fit in ``CHUNK_BYTES``; at least 1."""
    return max(1, min(n_images, CHUNK_BYTES // max(1, rows * length * itemsize)))


def per_image_gemm(filters: int, rows: int, length: int) -> bool:
    """True when each image is large enough for a GEMM of its own (``PER_IMAGE_GEMM_MACS``)."""
    return filters * rows * length >= PER_IMAGE_GEMM_MACS


def chunk_view(buffer: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A C-contiguous array of ``shape`` at the start of ``buffer`` (the last, smaller chunk)."""
    return buffer.reshape(-1)[: int(np.prod(shape))].reshape(shape)


def image_major(cols: np.ndarray) -> np.ndarray:
    """``(rows, NB, ...)`` GEMM-layout columns seen as ``(NB, rows, L)``, without a copy.

    Each image's ``(rows, L)`` matrix has a leading dimension of ``NB*L``, which BLAS takes
    as it is, so ``np.matmul`` runs one GEMM per image on it.
    """
    rows, n_block = cols.shape[:2]
    return cols.reshape(rows, n_block, -1).transpose(1, 0, 2)


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1) -> np.ndarray:
    """2-D cross-correlation with the semantics of ``torch.nn.functional.conv2d``.

    Args:
        x: input of shape ``(N, C, H, W)``.
        w: weights of shape ``(F, C // groups, KH, KW)``.
        b: bias of shape ``(F,)`` or ``None``.
        stride: an int or ``(SH, SW)``.
        padding: an int, ``(PH, PW)`` (symmetric per dim), ``((top, bottom), (left, right))``,
            ``'valid'`` or ``'same'`` (TensorFlow's rule for any stride, see
            :func:`autograder.reference.same_padding`); zeros are added.
        dilation: an int or ``(DH, DW)``, the spacing between kernel taps.
        groups: a positive int dividing ``C`` and ``F``. The channels are cut into ``groups``
            consecutive groups of ``C // groups``, the filters into groups of ``F // groups``,
            and filter group ``g`` sees only channel group ``g``: with ``groups == C`` each
            filter sees one channel (a *depthwise* convolution).

    Returns:
        ``y`` of shape ``(N, F, OH, OW)`` with
        ``OH = (H + top + bottom - DH*(KH-1) - 1) // SH + 1`` and likewise ``OW``;
        ``y[n, f] = b[f] + sum_k x_pad[n, g*Cg + k] ⋆ w[f, k]`` for ``k < Cg = C // groups``,
        where ``g = f // (F // groups)`` is the group of filter ``f`` (with ``groups=1``:
        ``sum_c x_pad[n, c] ⋆ w[f, c]``). float32 in, float32 out (arrays are computed in
        NumPy's common dtype of ``x``, ``w``, ``b``; integer arrays count as float64).

    Raises:
        ValueError: naming the argument, on wrong shapes, dtypes or window arguments, when
            ``groups`` does not divide ``C`` and ``F``, and when the kernel is larger than
            the padded input.

    Example:
        >>> x = np.arange(9.0).reshape(1, 1, 3, 3)
        >>> w = np.arange(4.0).reshape(1, 1, 2, 2)
        >>> conv2d(x, w)[0, 0]
        array([[19., 25.],
               [37., 43.]])
    """
    x, w, b, groups = conv_arrays(x, w, b, groups, spatial=("H", "W"), kernel=("KH", "KW"))
    window = window_2d(x.shape[2:], w.shape[2:], stride, padding, dilation)
    return grouped_conv2d(x, w, b, window, groups)


def conv1d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1) -> np.ndarray:
    """1-D cross-correlation with the semantics of ``torch.nn.functional.conv1d``.

    Args:
        x: input of shape ``(N, C, L)``.
        w: weights of shape ``(F, C // groups, K)``.
        b: bias of shape ``(F,)`` or ``None``.
        stride: a positive int ``s``.
        padding: an int (zeros on each side), a ``(before, after)`` pair, ``'valid'`` or
            ``'same'`` (TensorFlow's rule, any stride; the extra zero goes after).
        dilation: a positive int ``d``.
        groups: a positive int dividing ``C`` and ``F``, as for :func:`conv2d`.

    Returns:
        ``y`` of shape ``(N, F, L_out)``, ``L_out = (L + before + after - d*(K-1) - 1) // s + 1``,
        ``y[n, f, t] = b[f] + sum_{c, k} w[f, c, k] * x_pad[n, c, t*s + k*d]`` (with groups,
        ``c`` runs over the channels of the group of ``f``).

    Example:
        >>> x = np.array([[[1.0, 0, 2, 2, 3, 1]]])
        >>> w = np.array([[[3.0, 2, 2]]])
        >>> conv1d(x, w)[0, 0], conv1d(x, w, padding="same")[0, 0]
        (array([ 7.,  8., 16., 14.]), array([ 2.,  7.,  8., 16., 14., 11.]))
    """
    x, w, b, groups = conv_arrays(x, w, b, groups, spatial=("L",), kernel=("K",))
    s = positive_int(stride, "stride")
    d = positive_int(dilation, "dilation")
    length, k = x.shape[2], w.shape[2]
    pads = resolve_padding_1d(padding, length, k, s, d)
    output_size(length, k, s, *pads, d)  # says "kernel larger than padded input" in 1-D words
    # A row of height 1: H = KH = 1, nothing added above or below.
    window = window_2d((1, length), (1, k), (1, s), ((0, 0), pads), (1, d))
    return grouped_conv2d(x[:, :, None, :], w[:, :, None, :], b, window, groups)[:, :, 0, :]


def conv2d_padded(x: np.ndarray, w: np.ndarray, b, window: Window2D) -> np.ndarray:
    """Run the convolution on validated, contiguous arrays of one dtype (``groups == 1``).

    Few input taps at stride 1 go to :func:`shifted_conv2d`, thin layers to the
    batch-interleaved kernel (:func:`use_interleaved`, :mod:`.direct`), the rest to
    im2col + GEMM, described here.

    Why this formulation: the multiply-adds go to BLAS (``np.matmul``), which runs at the
    machine's SGEMM speed; numba loop nests reached a fraction of it (5x slower than PyTorch
    on a ResNet layer, see ``bench/kernels.py``). The lowering is chunked (``CHUNK_BYTES``)
    and writes into buffers allocated here, because allocating inside numba costs page faults
    on every call. Every stride, dilation and padding goes through the same code, so the tests
    against PyTorch cover every path. For a chunk of ``NB`` images:

        cols (C*KH*KW [+1], NB, L) <- im2col of the chunk (numba)

    then, for large images (:func:`per_image_gemm`), one GEMM per image straight into ``y``,
    with the bias folded in as a row of ones under the columns and a column ``b`` beside the
    weights:

        y[n] (F, L) = [w | b] @ [cols[:, n] ; 1]

    and for small ones (LeNet), one GEMM over the whole chunk and a copy into place:

        res (F, NB*L) = w @ cols;   y[n, f] = res[f, n] + b[f]

    Each of ``num_threads()`` threads takes a block of images and runs it start to finish with
    single-threaded BLAS (see :mod:`._threads` for why not numba's ``prange`` + BLAS threads).
    """
    n_images, channels = x.shape[:2]
    filters = w.shape[0]
    (kh, kw), (oh, ow) = window.kernel, window.out
    rows, length = channels * kh * kw, oh * ow
    if window.stride == (1, 1) and rows <= SHIFTED_MAX_ROWS:
        return shifted_conv2d(x, w, b, window)
    if use_interleaved(n_images, filters, rows, length):
        return interleaved_conv2d(x, w, b, window)
    out = np.empty((n_images, filters, oh, ow), dtype=x.dtype)
    if n_images == 0:
        return out
    weights = w.reshape(filters, rows)
    out3 = out.reshape(n_images, filters, length)
    per_image = per_image_gemm(filters, rows, length)
    with_bias = per_image and b is not None
    if with_bias:
        weights = np.concatenate([weights, b[:, None]], axis=1)
    bias = np.zeros(filters, dtype=x.dtype) if b is None else b

    def images(start: int, stop: int) -> None:
        """Images ``start .. stop`` of ``y``, one chunk at a time (runs on its own thread)."""
        block = images_per_chunk(stop - start, rows, length, x.itemsize)
        cols_buffer = np.empty((rows + with_bias) * block * length, dtype=x.dtype)
        if not per_image:
            res_buffer = np.empty(filters * block * length, dtype=x.dtype)
        for n0 in range(start, stop, block):
            nb = min(block, stop - n0)
            cols = chunk_view(cols_buffer, (rows + with_bias, nb, oh, ow))
            lower(x, cols, n0, window)
            if per_image:
                if with_bias:
                    cols[rows] = 1.0
                np.matmul(weights, image_major(cols), out=out3[n0 : n0 + nb])
            else:
                res = chunk_view(res_buffer, (filters, nb * length))
                np.matmul(weights, cols.reshape(rows, nb * length), out=res)
                columns_to_output(res.reshape(filters, nb, length), out3, n0, bias)

    with one_thread_blas():
        run_split(images, n_images, min_per_thread=images_per_thread(filters, rows, length))
    return out


def images_per_thread(filters: int, rows: int, length: int) -> int:
    """The fewest images worth handing to another thread (:func:`._threads.items_per_thread`)."""
    return items_per_thread(filters * rows * length)


def conv_arrays(x, w, b, groups, spatial: tuple[str, ...], kernel: tuple[str, ...]):
    """Check ``x``, ``w``, ``b`` and ``groups`` of a convolution; arrays in one dtype, C order.

    Returns ``(x, w, b, groups)`` with ``groups`` as an int.
    """
    groups = positive_int(groups, "groups")
    channels = "C" if groups == 1 else "C // groups"
    x_layout = f"({', '.join(('N', 'C', *spatial))})"
    w_layout = f"({', '.join(('F', channels, *kernel))})"
    ndim = 2 + len(spatial)
    x = float_array(x, "x")
    w = float_array(w, "w")
    check_ndim(x, ndim, "x", x_layout)
    if x.shape[1] % groups:
        raise ValueError(
            f"groups must divide the input channels C == x.shape[1] == {x.shape[1]}; "
            f"got groups={groups}"
        )
    per_group = x.shape[1] // groups
    if w.ndim != ndim or w.shape[1] != per_group or min(w.shape) < 1:
        expected = (
            f"C == x.shape[1] == {x.shape[1]}"
            if groups == 1
            else f"C // groups == {x.shape[1]} // {groups} == {per_group}"
        )
        raise ValueError(f"w must have shape {w_layout} with {expected}; got {w.shape}")
    if w.shape[0] % groups:
        raise ValueError(
            f"w must have shape {w_layout} with F a multiple of groups == {groups} (each group "
            f"gets F // groups filters); got F == {w.shape[0]} in {w.shape}"
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
    return x, w, b, groups


def grouped_conv2d(x: np.ndarray, w: np.ndarray, b, window: Window2D, groups: int) -> np.ndarray:
    """Validated arrays, any ``groups``: one convolution, the depthwise kernel, or one per group.

    ``groups == C`` (one channel per filter) goes to :mod:`.depthwise`, where a plane of the
    input is read once for all its filters. Other groupings are ``groups`` independent
    convolutions of ``C // groups`` channels and ``F // groups`` filters, each computed like an
    ungrouped one (:func:`conv2d_padded`) on a contiguous copy of its channels.
    """
    if groups == 1:
        return conv2d_padded(x, w, b, window)
    if w.shape[1] == 1:
        return depthwise_conv2d(x, w, b, window)
    n_images, channels = x.shape[:2]
    filters = w.shape[0]
    per_group, filters_per_group = channels // groups, filters // groups
    out = np.empty((n_images, filters, *window.out), dtype=x.dtype)
    for g in range(groups):
        fs = slice(g * filters_per_group, (g + 1) * filters_per_group)
        xs = np.ascontiguousarray(x[:, g * per_group : (g + 1) * per_group])
        out[:, fs] = conv2d_padded(xs, w[fs], None if b is None else b[fs], window)
    return out
