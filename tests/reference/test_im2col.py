"""im2col / col2im against torch.nn.functional.unfold / fold, and as a route to conv2d."""

from __future__ import annotations

import numpy as np
import pytest
import torch.nn.functional as F
from hypothesis import given
from strategies import Case2D, conv2d_cases, reference_settings

from autograder import reference as ref

from .helpers import DTYPES, TOLERANCES, assert_matches, random, tensor, torch_pad


def test_im2col_worked_example():
    # The four 2x2 windows of [[0 1 2] [3 4 5] [6 7 8]] as columns, taps in row-major order.
    cols = ref.im2col(np.arange(9.0).reshape(1, 1, 3, 3), 2)
    np.testing.assert_array_equal(cols[0], [[0, 1, 3, 4], [1, 2, 4, 5], [3, 4, 6, 7], [4, 5, 7, 8]])


def test_col2im_counts_overlaps():
    cols = ref.im2col(np.ones((1, 1, 3, 3)), 2)
    np.testing.assert_array_equal(
        ref.col2im(cols, (3, 3), 2)[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]]
    )


def _unfold_arguments(case: Case2D) -> dict:
    return {"kernel_size": case.kernel, "stride": case.strides, "dilation": case.dilations}


@reference_settings
@given(case=conv2d_cases())
@pytest.mark.parametrize("dtype", DTYPES)
def test_im2col_matches_unfold(case: Case2D, dtype):
    x = random(case.rng(), case.x_shape, dtype)
    cols = ref.im2col(
        x, case.kernel_size, stride=case.stride, padding=case.padding, dilation=case.dilation
    )
    expected = F.unfold(torch_pad(tensor(x), case.pads), **_unfold_arguments(case))
    # A copy is exact, whatever the dtype.
    assert cols.dtype == dtype
    np.testing.assert_array_equal(cols, expected.numpy().astype(dtype))
    if case.symmetric:
        padding = (case.pads[0][0], case.pads[1][0])
        expected = F.unfold(tensor(x), **_unfold_arguments(case), padding=padding)
        np.testing.assert_array_equal(cols, expected.numpy().astype(dtype))


@reference_settings
@given(case=conv2d_cases())
@pytest.mark.parametrize("dtype", DTYPES)
def test_col2im_matches_fold(case: Case2D, dtype):
    n, c, h, w = case.x_shape
    kh, kw = case.kernel
    cols = random(case.rng(), (n, c * kh * kw, case.out_shape[0] * case.out_shape[1]), dtype)
    image = ref.col2im(
        cols,
        (h, w),
        case.kernel_size,
        stride=case.stride,
        padding=case.padding,
        dilation=case.dilation,
    )
    (top, bottom), (left, right) = case.pads
    padded = F.fold(tensor(cols), (h + top + bottom, w + left + right), **_unfold_arguments(case))
    expected = padded[:, :, top : top + h, left : left + w]
    assert_matches(image, expected, dtype, f"col2im {case}")
    if case.symmetric:
        expected = F.fold(tensor(cols), (h, w), **_unfold_arguments(case), padding=(top, left))
        assert_matches(image, expected, dtype, f"col2im {case}")


@reference_settings
@given(case=conv2d_cases())
def test_conv2d_is_a_matrix_product_of_im2col(case: Case2D):
    rng = case.rng()
    x = random(rng, case.x_shape, np.float64)
    w = random(rng, case.w_shape, np.float64)
    cols = ref.im2col(x, case.kernel, case.stride, case.padding, case.dilation)
    y = (w.reshape(case.filters, -1) @ cols).reshape(case.x_shape[0], case.filters, *case.out_shape)
    np.testing.assert_allclose(
        ref.conv2d(x, w, stride=case.stride, padding=case.padding, dilation=case.dilation),
        y,
        **TOLERANCES[np.float64],
    )
