"""conv1d and conv2d against hand-worked examples and torch.nn.functional."""

from __future__ import annotations

import numpy as np
import pytest
import torch.nn.functional as F
from hypothesis import given
from strategies import (
    Case1D,
    Case2D,
    conv1d_cases,
    conv2d_cases,
    grouped_conv2d_cases,
    reference_settings,
)

from autograder import reference as ref

from .helpers import DTYPES, assert_matches, random, tensor, torch_pad

# ---------------------------------------------------------------- worked examples (by hand)


def test_conv1d_worked_example_valid():
    # [1 0 2 2 3 1] ⋆ [3 2 2]: 1*3+0*2+2*2 = 7, 0*3+2*2+2*2 = 8, 2*3+2*2+3*2 = 16, 2*3+3*2+1*2 = 14
    x = np.array([[[1, 0, 2, 2, 3, 1]]], dtype=float)
    w = np.array([[[3, 2, 2]]], dtype=float)
    np.testing.assert_array_equal(ref.conv1d(x, w), [[[7, 8, 16, 14]]])
    np.testing.assert_array_equal(ref.conv1d(x, w, padding="valid"), [[[7, 8, 16, 14]]])


def test_conv1d_worked_example_same():
    # 'same' adds one zero on each side: [0 1 0 2 2 3 1 0]; first 0*3+1*2+0*2 = 2, last
    # 3*3+1*2+0*2 = 11.
    x = np.array([[[1, 0, 2, 2, 3, 1]]], dtype=float)
    w = np.array([[[3, 2, 2]]], dtype=float)
    np.testing.assert_array_equal(ref.conv1d(x, w, padding="same"), [[[2, 7, 8, 16, 14, 11]]])


def test_conv2d_worked_example():
    # [[0 1 2] [3 4 5] [6 7 8]] ⋆ [[0 1] [2 3]]: top-left 0*0 + 1*1 + 3*2 + 4*3 = 19
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    w = np.arange(4.0).reshape(1, 1, 2, 2)
    np.testing.assert_array_equal(ref.conv2d(x, w), [[[[19, 25], [37, 43]]]])


def test_conv2d_is_cross_correlation_not_convolution():
    # A kernel that picks the top-left tap picks the top-left input of each window (unflipped).
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    w = np.zeros((1, 1, 2, 2))
    w[0, 0, 0, 0] = 1
    np.testing.assert_array_equal(ref.conv2d(x, w)[0, 0], x[0, 0, :3, :3])


def test_conv2d_bias_and_integer_inputs():
    x = np.arange(9).reshape(1, 1, 3, 3)  # integers become float64
    w = np.ones((2, 1, 3, 3), dtype=np.int32)
    y = ref.conv2d(x, w, b=[1, -1])
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y[0, :, 0, 0], [37, 35])


def test_mixed_dtypes_promote_like_numpy():
    x = np.ones((1, 1, 3, 3), np.float32)
    assert ref.conv2d(x, np.ones((1, 1, 2, 2), np.float32)).dtype == np.float32
    assert ref.conv2d(x, np.ones((1, 1, 2, 2), np.float64)).dtype == np.float64
    assert ref.conv1d(x[:, :, 0], np.ones((1, 1, 2), np.float16)).dtype == np.float32


def test_non_contiguous_inputs():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 7, 9)).transpose(0, 1, 3, 2)[:, ::-1]
    w = rng.standard_normal((3, 4, 3, 3))[:, :, ::-1].swapaxes(0, 1)
    expected = F.conv2d(tensor(x), tensor(w))
    assert_matches(ref.conv2d(x, w), expected, np.float64)


def test_depthwise_worked_example():
    # groups == C == 2: filter 0 sees channel 0 only, filter 1 channel 1 only.
    # Channel 0 is all ones and w[0] sums a 2x2 window: 4 everywhere. Channel 1 is 0..8 and
    # w[1] picks the bottom-right tap: x[1, 1:, 1:] = [[4, 5], [7, 8]].
    x = np.stack([np.ones((3, 3)), np.arange(9.0).reshape(3, 3)])[None]
    w = np.zeros((2, 1, 2, 2))
    w[0] = 1
    w[1, 0, 1, 1] = 1
    y = ref.conv2d(x, w, groups=2)
    np.testing.assert_array_equal(y[0, 0], [[4, 4], [4, 4]])
    np.testing.assert_array_equal(y[0, 1], [[4, 5], [7, 8]])


def test_groups_are_separate_convolutions():
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((2, 6, 7, 7)), rng.standard_normal((4, 3, 3, 3)), [1.0, 2, 3, 4]
    y = ref.conv2d(x, w, b, padding=1, groups=2)
    np.testing.assert_allclose(y[:, :2], ref.conv2d(x[:, :3], w[:2], b[:2], padding=1))
    np.testing.assert_allclose(y[:, 2:], ref.conv2d(x[:, 3:], w[2:], b[2:], padding=1))


def test_empty_batch():
    y = ref.conv2d(np.zeros((0, 2, 5, 5)), np.zeros((3, 2, 3, 3)), padding=1)
    assert y.shape == (0, 3, 5, 5)


# ---------------------------------------------------------------- against PyTorch


@reference_settings
@given(case=conv2d_cases())
@pytest.mark.parametrize("dtype", DTYPES)
def test_conv2d_matches_torch(case: Case2D, dtype):
    rng = case.rng()
    x = random(rng, case.x_shape, dtype)
    w = random(rng, case.w_shape, dtype)
    b = random(rng, (case.filters,), dtype) if rng.random() < 0.7 else None
    y = ref.conv2d(x, w, b, stride=case.stride, padding=case.padding, dilation=case.dilation)

    tb = None if b is None else tensor(b)
    expected = F.conv2d(
        torch_pad(tensor(x), case.pads),
        tensor(w),
        tb,
        stride=case.strides,
        dilation=case.dilations,
    )
    assert_matches(y, expected, dtype, f"conv2d {case}")
    if case.symmetric:  # PyTorch's own padding argument
        padding = (case.pads[0][0], case.pads[1][0])
        expected = F.conv2d(
            tensor(x),
            tensor(w),
            tb,
            stride=case.strides,
            padding=padding,
            dilation=case.dilations,
        )
        assert_matches(y, expected, dtype, f"conv2d {case}")


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning")
@reference_settings
@given(case=conv1d_cases())
@pytest.mark.parametrize("dtype", DTYPES)
def test_conv1d_matches_torch(case: Case1D, dtype):
    rng = case.rng()
    x = random(rng, case.x_shape, dtype)
    w = random(rng, case.w_shape, dtype)
    b = random(rng, (case.filters,), dtype) if rng.random() < 0.7 else None
    y = ref.conv1d(x, w, b, stride=case.stride, padding=case.padding, dilation=case.dilation)

    tb = None if b is None else tensor(b)
    expected = F.conv1d(
        torch_pad(tensor(x), case.pads),
        tensor(w),
        tb,
        stride=case.stride,
        dilation=case.dilation,
    )
    assert_matches(y, expected, dtype, f"conv1d {case}")
    if case.stride == 1 and case.padding in ("same", "valid"):
        expected = F.conv1d(tensor(x), tensor(w), tb, padding=case.padding, dilation=case.dilation)
        assert_matches(y, expected, dtype, f"conv1d {case}")


@reference_settings
@given(case=conv2d_cases(max_batch=2, max_channels=2, max_filters=2))
def test_conv1d_equals_conv2d_on_one_row(case: Case2D):
    rng = case.rng()
    n, c, _, length = case.x_shape
    x = random(rng, (n, c, length), np.float64)
    w = random(rng, (case.filters, c, case.kernel[1]), np.float64)
    stride, dilation = case.strides[1], case.dilations[1]
    pads = case.pads[1]
    if w.shape[2] * dilation - dilation + 1 > length + sum(pads):
        return
    y1 = ref.conv1d(x, w, stride=stride, padding=pads, dilation=dilation)
    y2 = ref.conv2d(
        x[:, :, None],
        w[:, :, None],
        stride=(1, stride),
        padding=((0, 0), pads),
        dilation=(1, dilation),
    )
    np.testing.assert_array_equal(y1, y2[:, :, 0])


@reference_settings
@given(case=grouped_conv2d_cases())
@pytest.mark.parametrize("dtype", DTYPES)
def test_grouped_conv2d_matches_torch(case: Case2D, dtype):
    rng = case.rng()
    x = random(rng, case.x_shape, dtype)
    w = random(rng, case.w_shape, dtype)
    b = random(rng, (case.filters,), dtype) if rng.random() < 0.7 else None
    y = ref.conv2d(x, w, b, case.stride, case.padding, case.dilation, groups=np.int64(case.groups))
    expected = F.conv2d(
        torch_pad(tensor(x), case.pads),
        tensor(w),
        None if b is None else tensor(b),
        stride=case.strides,
        dilation=case.dilations,
        groups=case.groups,
    )
    assert_matches(y, expected, dtype, f"conv2d {case}")


@reference_settings
@given(case=grouped_conv2d_cases(max_batch=2))
def test_grouped_conv1d_equals_conv2d_on_one_row(case: Case2D):
    rng = case.rng()
    n, c, _, length = case.x_shape
    x = random(rng, (n, c, length), np.float64)
    w = random(rng, (case.filters, c // case.groups, case.kernel[1]), np.float64)
    stride, dilation, pads = case.strides[1], case.dilations[1], case.pads[1]
    y1 = ref.conv1d(x, w, stride=stride, padding=pads, dilation=dilation, groups=case.groups)
    expected = F.conv1d(
        torch_pad(tensor(x), pads), tensor(w), stride=stride, dilation=dilation, groups=case.groups
    )
    assert_matches(y1, expected, np.float64, f"conv1d {case}")
