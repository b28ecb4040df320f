"""Max and average pooling, forward and backward, against examples and PyTorch autograd."""

from __future__ import annotations

import numpy as np
import pytest
import torch.nn.functional as F
from hypothesis import given
from strategies import Case2D, pool2d_cases, reference_settings

from autograder import reference as ref

from .helpers import DTYPES, assert_matches, random, tensor, torch_pad

EXAMPLE = np.array([[1, 3, 2, 4], [2, 9, 1, 1], [1, 3, 2, 3], [5, 6, 1, 2]], dtype=float)


def test_max_pool_worked_example():
    np.testing.assert_array_equal(ref.max_pool2d(EXAMPLE[None, None], 2)[0, 0], [[9, 4], [6, 3]])


def test_avg_pool_worked_example():
    # (1+3+2+9)/4 = 3.75, (2+4+1+1)/4 = 2, (1+3+5+6)/4 = 3.75, (2+3+1+2)/4 = 2
    y = ref.avg_pool2d(EXAMPLE[None, None], 2, stride=2)
    np.testing.assert_array_equal(y[0, 0], [[3.75, 2], [3.75, 2]])


def test_max_pool_backward_worked_example():
    dx = ref.max_pool2d_backward(np.array([[[[1.0, 2], [3, 4]]]]), EXAMPLE[None, None], 2)
    expected = np.zeros((4, 4))
    expected[1, 1], expected[0, 3], expected[3, 1], expected[2, 3] = 1, 2, 3, 4
    np.testing.assert_array_equal(dx[0, 0], expected)


def test_max_pool_ties_go_to_the_first_maximum_like_torch():
    # All equal: every 2x2 window (stride 1) sends its gradient to its top-left position.
    x = np.ones((1, 1, 3, 3))
    dx = ref.max_pool2d_backward(np.ones((1, 1, 2, 2)), x, 2, stride=1)
    np.testing.assert_array_equal(dx[0, 0], [[1, 1, 0], [1, 1, 0], [0, 0, 0]])
    tx = tensor(x, requires_grad=True)
    F.max_pool2d(tx, 2, stride=1).sum().backward()
    np.testing.assert_array_equal(dx, tx.grad.numpy())


def test_max_pool_padding_never_wins():
    # -inf padding: a window holding only negative inputs and padding returns an input.
    x = -np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    y = ref.max_pool2d(x, 3, stride=1, padding=1)
    expected = F.max_pool2d(tensor(x), 3, stride=1, padding=1)
    assert_matches(y, expected, np.float64)
    assert y[0, 0, 0, 0] == -1


def test_avg_pool_counts_padded_zeros():
    y = ref.avg_pool2d(np.ones((1, 1, 2, 2)), 2, stride=1, padding=1)
    np.testing.assert_array_equal(y[0, 0], [[0.25, 0.5, 0.25], [0.5, 1, 0.5], [0.25, 0.5, 0.25]])


def test_max_pool_nan_propagates_like_torch():
    x = np.array([[[[1.0, np.nan], [np.nan, 0.0]]]])
    assert np.isnan(ref.max_pool2d(x, 2)[0, 0, 0, 0])
    dx = ref.max_pool2d_backward(np.ones((1, 1, 1, 1)), x, 2)
    tx = tensor(x, requires_grad=True)
    F.max_pool2d(tx, 2).sum().backward()
    np.testing.assert_array_equal(dx, tx.grad.numpy())  # the last NaN, as in PyTorch


def _torch_pool_arguments(case: Case2D) -> dict:
    return {"kernel_size": case.kernel, "stride": case.strides}


@reference_settings
@given(case=pool2d_cases())
@pytest.mark.parametrize("dtype", DTYPES)
def test_max_pool_matches_torch(case: Case2D, dtype):
    rng = case.rng()
    # Few distinct values: many ties, so the tie-breaking rule is exercised.
    x = rng.integers(-3, 4, size=case.x_shape).astype(dtype)
    if rng.random() < 0.5:
        x += random(rng, case.x_shape, dtype)
    dy = random(rng, (*case.x_shape[:2], *case.out_shape), dtype)
    y = ref.max_pool2d(x, case.kernel_size, stride=case.stride, padding=case.padding)
    dx = ref.max_pool2d_backward(dy, x, case.kernel_size, stride=case.stride, padding=case.padding)

    tx = tensor(x, requires_grad=True)
    expected = F.max_pool2d(torch_pad(tx, case.pads, float("-inf")), **_torch_pool_arguments(case))
    expected.backward(tensor(dy))
    assert_matches(y, expected, dtype, f"max_pool2d {case}")
    assert_matches(dx, tx.grad, dtype, f"max_pool2d_backward {case}")
    if case.symmetric:
        tx = tensor(x, requires_grad=True)
        padding = (case.pads[0][0], case.pads[1][0])
        expected = F.max_pool2d(tx, **_torch_pool_arguments(case), padding=padding)
        expected.backward(tensor(dy))
        assert_matches(y, expected, dtype, f"max_pool2d {case}")
        assert_matches(dx, tx.grad, dtype, f"max_pool2d_backward {case}")


@reference_settings
@given(case=pool2d_cases())
@pytest.mark.parametrize("dtype", DTYPES)
def test_avg_pool_matches_torch(case: Case2D, dtype):
    rng = case.rng()
    x = random(rng, case.x_shape, dtype)
    dy = random(rng, (*case.x_shape[:2], *case.out_shape), dtype)
    y = ref.avg_pool2d(x, case.kernel_size, stride=case.stride, padding=case.padding)
    dx = ref.avg_pool2d_backward(dy, x, case.kernel_size, stride=case.stride, padding=case.padding)

    tx = tensor(x, requires_grad=True)
    expected = F.avg_pool2d(torch_pad(tx, case.pads), **_torch_pool_arguments(case))
    expected.backward(tensor(dy))
    assert_matches(y, expected, dtype, f"avg_pool2d {case}")
    assert_matches(dx, tx.grad, dtype, f"avg_pool2d_backward {case}")
    if case.symmetric:
        tx = tensor(x, requires_grad=True)
        padding = (case.pads[0][0], case.pads[1][0])
        expected = F.avg_pool2d(tx, **_torch_pool_arguments(case), padding=padding)
        expected.backward(tensor(dy))
        assert_matches(y, expected, dtype, f"avg_pool2d {case}")
        assert_matches(dx, tx.grad, dtype, f"avg_pool2d_backward {case}")


def test_stride_defaults_to_kernel_size():
    x = np.random.default_rng(1).standard_normal((2, 3, 7, 8))
    np.testing.assert_array_equal(ref.max_pool2d(x, 3), ref.max_pool2d(x, 3, stride=3))
    np.testing.assert_array_equal(ref.avg_pool2d(x, (2, 3)), ref.avg_pool2d(x, (2, 3), (2, 3)))
