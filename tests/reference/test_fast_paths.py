"""The code paths the small Hypothesis cases do not reach: chunked convolutions, 2x2 pooling.

The convolutions lower a chunk of images at a time (``conv.CHUNK_BYTES``); the Hypothesis
shapes always fit one chunk, so here the chunk is shrunk until every image is its own chunk
(and the last chunk is a short one). The 2x2 / stride-2 pooling kernels are compared with
PyTorch and with the general kernels on odd sizes, ties and NaNs.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import torch.nn.functional as F

from autograder import reference as ref

from .helpers import DTYPES, assert_matches, random, tensor, torch_pad

conv = importlib.import_module("autograder.reference.conv")
pooling = importlib.import_module("autograder.reference.pooling")

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
