"""The code paths the small Hypothesis cases do not reach: chunked convolutions, the
batch-interleaved kernel, depthwise kernels on several threads, 2x2 pooling.

The convolutions lower a chunk of images at a time (``conv.CHUNK_BYTES``); the Hypothesis
shapes always fit one chunk, so here the chunk is shrunk until every image is its own chunk
(and the last chunk is a short one). The batch-interleaved kernel (:mod:`.direct`) needs 8
images or more; here it runs with few lanes and small tiles, so that blocks are short and
tiles split rows. The 2x2 / stride-2 pooling kernels are compared with PyTorch and with the
general kernels on odd sizes, ties and NaNs.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from autograder import reference as ref

from .helpers import DTYPES, assert_matches, random, tensor, torch_pad

conv = importlib.import_module("autograder.reference.conv")
conv_backward = importlib.import_module("autograder.reference.conv_backward")
depthwise = importlib.import_module("autograder.reference.depthwise")
direct = importlib.import_module("autograder.reference.direct")
pooling = importlib.import_module("autograder.reference.pooling")
threads = importlib.import_module("autograder.reference._threads")

GEOMETRIES = [
    # x shape, w shape, stride, padding (explicit pairs), dilation
    ((5, 3, 9, 11), (4, 3, 3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1)),
    ((5, 2, 12, 10), (3, 2, 3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1)),
    ((3, 2, 10, 9), (2, 2, 3, 2), (2, 1), ((0, 2), (1, 0)), (2, 1)),
    ((7, 1, 12, 12), (6, 1, 5, 5), (1, 1), ((0, 0), (0, 0)), (1, 1)),
]


@pytest.mark.parametrize("per_image", [True, False], ids=["per-image-gemm", "chunk-gemm"])
@pytest.mark.parametrize("chunk_images", [1, 2, 3])
@pytest.mark.parametrize("geometry", GEOMETRIES, ids=lambda g: "x".join(map(str, g[0])))
@pytest.mark.parametrize("dtype", DTYPES)
def test_chunked_convolution_matches_torch(monkeypatch, per_image, chunk_images, geometry, dtype):
    x_shape, w_shape, stride, pads, dilation = geometry
    rng = np.random.default_rng(sum(x_shape) + chunk_images)
    x, w = random(rng, x_shape, dtype), random(rng, w_shape, dtype)
    b = random(rng, w_shape[:1], dtype)
    rows = w_shape[1] * w_shape[2] * w_shape[3]
    oh, ow = (
        (x_shape[2 + k] + sum(pads[k]) - dilation[k] * (w_shape[2 + k] - 1) - 1) // stride[k] + 1
        for k in range(2)
    )
    bytes_per_image = rows * oh * ow * np.dtype(dtype).itemsize
    monkeypatch.setattr(conv, "CHUNK_BYTES", chunk_images * bytes_per_image)
    monkeypatch.setattr(conv, "PER_IMAGE_GEMM_MACS", 0 if per_image else 10**12)
    monkeypatch.setattr(conv, "SHIFTED_MAX_ROWS", 0)  # the im2col + GEMM path only
    assert conv.per_image_gemm(w_shape[0], rows, oh * ow) == per_image
    assert conv.images_per_chunk(x_shape[0], rows, oh * ow, np.dtype(dtype).itemsize) == min(
        chunk_images, x_shape[0]
    )

    y = ref.conv2d(x, w, b, stride=stride, padding=pads, dilation=dilation)
    tx, tw = tensor(x, requires_grad=True), tensor(w, requires_grad=True)
    tb = tensor(b, requires_grad=True)
    ty = F.conv2d(torch_pad(tx, pads), tw, tb, stride=stride, dilation=dilation)
    assert_matches(y, ty, dtype, f"conv2d {geometry}")

    dy = random(rng, y.shape, dtype)
    dx, dw, db = ref.conv2d_backward(dy, x, w, stride=stride, padding=pads, dilation=dilation)
    ty.backward(tensor(dy))
    assert_matches(dx, tx.grad, dtype, f"dx {geometry}")
    assert_matches(dw, tw.grad, dtype, f"dw {geometry}")
    assert_matches(db, tb.grad, dtype, f"db {geometry}")


SHIFTED = [
    # x shape, w shape, padding (explicit pairs), dilation: stride 1 only
    ((3, 1, 12, 12), (6, 1, 5, 5), ((0, 0), (0, 0)), (1, 1)),  # LeNet conv1, 5-wide rows
    ((2, 2, 9, 11), (3, 2, 5, 5), ((2, 1), (0, 3)), (1, 2)),
    ((2, 3, 7, 8), (4, 3, 3, 3), ((1, 1), (1, 1)), (2, 1)),
    ((2, 2, 1, 17), (5, 2, 1, 7), ((0, 0), (3, 3)), (1, 1)),  # a 1-D layer
    ((1, 1, 4, 4), (1, 1, 4, 4), ((0, 0), (0, 0)), (1, 1)),  # kernel as large as the input
]


@pytest.mark.parametrize("geometry", SHIFTED, ids=lambda g: "x".join(map(str, g[0])))
@pytest.mark.parametrize("dtype", DTYPES)
def test_shifted_convolution_matches_torch(monkeypatch, geometry, dtype):
    x_shape, w_shape, pads, dilation = geometry
    monkeypatch.setattr(conv, "SHIFTED_MAX_ROWS", 10**6)
    calls = []
    original = conv.shifted_conv2d
    monkeypatch.setattr(conv, "shifted_conv2d", lambda *a: calls.append(1) or original(*a))
    rng = np.random.default_rng(sum(x_shape))
    x, w, b = random(rng, x_shape, dtype), random(rng, w_shape, dtype), None
    if w_shape[0] > 3:
        b = random(rng, w_shape[:1], dtype)
    y = ref.conv2d(x, w, b, padding=pads, dilation=dilation)
    tb = None if b is None else tensor(b)
    expected = F.conv2d(torch_pad(tensor(x), pads), tensor(w), tb, dilation=dilation)
    assert_matches(y, expected, dtype, f"shifted conv2d {geometry}")
    assert calls, "the shifted kernel was not used"


INTERLEAVED = [
    # x shape, w shape, stride, padding (explicit pairs), dilation
    ((37, 3, 14, 14), (6, 3, 5, 5), (1, 1), ((0, 0), (0, 0)), (1, 1)),  # LeNet conv2 style
    ((9, 2, 1, 30), (5, 2, 1, 7), (1, 1), ((0, 0), (3, 3)), (1, 1)),  # 7 taps = 5 + 1 + 1
    ((10, 2, 11, 13), (3, 2, 3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1)),  # two phases
    ((8, 2, 12, 17), (7, 2, 3, 5), (3, 3), ((2, 0), (1, 3)), (2, 2)),  # three phases, dilated
    ((12, 1, 9, 40), (4, 1, 2, 4), (1, 2), ((0, 1), (2, 2)), (1, 3)),  # 4 taps = 3 + 1
    ((8, 3, 5, 6), (2, 3, 5, 6), (1, 1), ((0, 0), (0, 0)), (1, 1)),  # kernel = image
    ((11, 2, 6, 9), (9, 2, 3, 2), (1, 1), ((2, 2), (3, 3)), (2, 1)),  # padding > kernel
]


@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("small", [False, True], ids=["default-blocks", "small-blocks"])
@pytest.mark.parametrize("geometry", INTERLEAVED, ids=lambda g: "x".join(map(str, g[0])))
@pytest.mark.parametrize("dtype", DTYPES)
def test_interleaved_convolution_and_gradients_match_torch(
    monkeypatch, n_threads, small, geometry, dtype
):
    x_shape, w_shape, stride, pads, dilation = geometry
    monkeypatch.setattr(threads, "num_threads", lambda: n_threads)
    monkeypatch.setattr(direct, "num_threads", lambda: n_threads)
    if small:  # blocks of 3 images (the last one shorter), tiles of a few outputs
        monkeypatch.setattr(direct, "MAX_LANES", 3)
        monkeypatch.setattr(direct, "TILE", 7)
    monkeypatch.setattr(conv, "SHIFTED_MAX_ROWS", 0)  # some geometries have few taps
    calls = []
    original = conv.interleaved_conv2d
    monkeypatch.setattr(conv, "interleaved_conv2d", lambda *a: calls.append(1) or original(*a))
    original_backward = conv_backward.interleaved_conv2d_backward
    monkeypatch.setattr(
        conv_backward,
        "interleaved_conv2d_backward",
        lambda *a: calls.append(2) or original_backward(*a),
    )
    if small:  # several chunks of output rows in the backward pass
        monkeypatch.setattr(direct, "COLUMN_CHUNK_BYTES", 1)
    rng = np.random.default_rng(sum(x_shape) + sum(w_shape))
    x, w = random(rng, x_shape, dtype), random(rng, w_shape, dtype)
    b = random(rng, w_shape[:1], dtype) if w_shape[0] % 2 else None
    y = ref.conv2d(x, w, b, stride=stride, padding=pads, dilation=dilation)
    tx, tw = tensor(x, requires_grad=True), tensor(w, requires_grad=True)
    tb = torch.zeros(w_shape[0], dtype=torch.float64, requires_grad=True)
    if b is not None:
        tb = tensor(b, requires_grad=True)
    ty = F.conv2d(torch_pad(tx, pads), tw, tb, stride=stride, dilation=dilation)
    assert_matches(y, ty, dtype, f"interleaved conv2d {geometry}")

    dy = random(rng, y.shape, dtype)
    dx, dw, db = ref.conv2d_backward(dy, x, w, stride=stride, padding=pads, dilation=dilation)
    ty.backward(tensor(dy))
    assert_matches(dx, tx.grad, dtype, f"dx {geometry}")
    assert_matches(dw, tw.grad, dtype, f"dw {geometry}")
    assert_matches(db, tb.grad, dtype, f"db {geometry}")
    assert calls == [1, 2], "the interleaved kernels were not used"


@pytest.mark.parametrize(
    ("n_images", "n_threads", "expected"),
    [(64, 2, (2, 32)), (64, 1, (2, 32)), (40, 2, (2, 20)), (100, 2, (4, 25)), (3, 2, (2, 2))],
)
def test_block_sizes_share_the_batch_evenly(n_images, n_threads, expected):
    blocks, lanes = direct.block_sizes(n_images, n_threads)
    assert (blocks, lanes) == expected
    assert lanes <= direct.MAX_LANES and blocks * lanes >= n_images > (blocks - 1) * lanes


DEPTHWISE = [
    # x shape, filters, kernel, stride, padding (explicit pairs), dilation
    ((3, 4, 12, 11), 4, (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1)),
    ((2, 3, 13, 12), 6, (3, 3), (2, 2), ((1, 0), (0, 1)), (1, 1)),  # 2 filters per channel
    ((2, 2, 15, 14), 2, (3, 3), (2, 3), ((2, 2), (0, 3)), (2, 2)),
    ((3, 3, 9, 16), 9, (5, 2), (1, 2), ((2, 2), (1, 0)), (1, 3)),  # the general loop
    ((1, 2, 5, 5), 2, (5, 5), (1, 1), ((0, 0), (0, 0)), (1, 1)),  # kernel = image
]


@pytest.mark.parametrize("n_threads", [1, 3])
@pytest.mark.parametrize("geometry", DEPTHWISE, ids=lambda g: "x".join(map(str, g[0])))
@pytest.mark.parametrize("dtype", DTYPES)
def test_depthwise_kernels_match_torch(monkeypatch, n_threads, geometry, dtype):
    x_shape, filters, kernel, stride, pads, dilation = geometry
    monkeypatch.setattr(threads, "num_threads", lambda: n_threads)
    monkeypatch.setattr(threads, "MIN_THREAD_MACS", 0)
    calls = []
    for module, name in ((conv, "depthwise_conv2d"), (conv_backward, "depthwise_conv2d_backward")):
        original = getattr(module, name)
        monkeypatch.setattr(
            module, name, lambda *a, original=original: calls.append(1) or original(*a)
        )
    channels = x_shape[1]
    rng = np.random.default_rng(sum(x_shape) + filters)
    x = random(rng, x_shape, dtype)
    w = random(rng, (filters, 1, *kernel), dtype)
    b = random(rng, (filters,), dtype)
    args = dict(stride=stride, padding=pads, dilation=dilation, groups=channels)
    y = ref.conv2d(x, w, b, **args)
    tx, tw = tensor(x, requires_grad=True), tensor(w, requires_grad=True)
    tb = tensor(b, requires_grad=True)
    ty = F.conv2d(torch_pad(tx, pads), tw, tb, stride=stride, dilation=dilation, groups=channels)
    assert_matches(y, ty, dtype, f"depthwise conv2d {geometry}")
    dy = random(rng, y.shape, dtype)
    dx, dw, db = ref.conv2d_backward(dy, x, w, **args)
    ty.backward(tensor(dy))
    assert_matches(dx, tx.grad, dtype, f"dx {geometry}")
    assert_matches(dw, tw.grad, dtype, f"dw {geometry}")
    assert_matches(db, tb.grad, dtype, f"db {geometry}")
    assert len(calls) == 2, "the depthwise kernels were not used"


@pytest.mark.parametrize("dtype", DTYPES)
def test_conv1d_benchmark_like_layer_matches_torch(dtype):
    rng = np.random.default_rng(1)
    x, w, b = random(rng, (3, 4, 64), dtype), random(rng, (5, 4, 7), dtype), None
    assert_matches(ref.conv1d(x, w, b, padding=3), F.conv1d(tensor(x), tensor(w), padding=3), dtype)


def _pool_inputs(rng, shape, dtype, ties: bool, nans: bool) -> np.ndarray:
    x = rng.integers(-2, 3, size=shape).astype(dtype) if ties else random(rng, shape, dtype)
    if nans:
        x.reshape(-1)[rng.choice(x.size, size=max(1, x.size // 7), replace=False)] = np.nan
    return x


@pytest.mark.parametrize("shape", [(2, 3, 8, 8), (2, 2, 7, 9), (1, 1, 2, 3), (3, 1, 5, 4)])
@pytest.mark.parametrize("data", ["random", "ties", "nans"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_2x2_pooling_matches_torch_and_the_general_kernels(shape, data, dtype):
    rng = np.random.default_rng(shape[2] * 31 + shape[3])
    x = _pool_inputs(rng, shape, dtype, ties=data == "ties", nans=data == "nans")
    out_shape = (*shape[:2], shape[2] // 2, shape[3] // 2)
    dy = random(rng, out_shape, dtype)

    for kind, pool, backward, general in [
        ("max", ref.max_pool2d, ref.max_pool2d_backward, pooling.max_pool2d_kernel),
        ("avg", ref.avg_pool2d, ref.avg_pool2d_backward, pooling.avg_pool2d_kernel),
    ]:
        y = pool(x, 2)
        tx = tensor(x, requires_grad=True)
        ty = getattr(F, f"{kind}_pool2d")(tx, 2)
        np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-6, atol=1e-6)
        assert y.dtype == dtype and y.shape == out_shape
        ty.backward(tensor(dy))
        dx = backward(dy, x, 2)
        np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-6, atol=1e-6, err_msg=kind)

        slow = np.empty_like(y)
        general(x, slow, 2, 2, 2, 2, 0, 0, 0, shape[0] * shape[1])
        np.testing.assert_array_equal(y, slow)

    slow_dx = np.zeros_like(x)
    pooling.max_pool2d_backward_kernel(dy, x, slow_dx, 2, 2, 2, 2, 0, 0, 0, shape[0] * shape[1])
    np.testing.assert_array_equal(ref.max_pool2d_backward(dy, x, 2), slow_dx)


def test_2x2_kernels_apply_only_to_2x2_stride_2_without_padding():
    window = importlib.import_module("autograder.reference.shapes").window_2d
    assert pooling.is_2x2(window((8, 8), 2, 2, 0))
    assert not pooling.is_2x2(window((8, 8), 2, 1, 0))
    assert not pooling.is_2x2(window((8, 8), 2, 2, 1))
    assert not pooling.is_2x2(window((8, 8), (2, 3), 2, 0))
