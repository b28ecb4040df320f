"""conv2d_backward against PyTorch autograd and a hand-worked example."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from strategies import Case2D, conv2d_cases, grouped_conv2d_cases, reference_settings

from autograder import reference as ref

from .helpers import DTYPES, assert_matches, random, tensor, torch_pad


def test_conv2d_backward_worked_example():
    # y = x ⋆ w with x 3x3, w 2x2 and dy all ones: db = 4 (four outputs), dw[i, j] is the sum of
    # the 2x2 block of x starting at (i, j), dx[h, w] the sum of the taps that touch (h, w).
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    w = np.arange(4.0).reshape(1, 1, 2, 2)
    dx, dw, db = ref.conv2d_backward(np.ones((1, 1, 2, 2)), x, w)
    np.testing.assert_array_equal(db, [4])
    np.testing.assert_array_equal(dw[0, 0], [[0 + 1 + 3 + 4, 1 + 2 + 4 + 5], [20, 24]])
    np.testing.assert_array_equal(dx[0, 0], [[0, 1, 1], [2, 6, 4], [2, 5, 3]])


@reference_settings
@given(case=conv2d_cases())
@pytest.mark.parametrize("dtype", DTYPES)
def test_conv2d_backward_matches_autograd(case: Case2D, dtype):
    rng = case.rng()
    x = random(rng, case.x_shape, dtype)
    w = random(rng, case.w_shape, dtype)
    dy = random(rng, (case.x_shape[0], case.filters, *case.out_shape), dtype)
    dx, dw, db = ref.conv2d_backward(
        dy, x, w, stride=case.stride, padding=case.padding, dilation=case.dilation
    )

    tx, tw = tensor(x, requires_grad=True), tensor(w, requires_grad=True)
    tb = torch.zeros(case.filters, dtype=torch.float64, requires_grad=True)
    y = F.conv2d(torch_pad(tx, case.pads), tw, tb, stride=case.strides, dilation=case.dilations)
    y.backward(tensor(dy))
    assert_matches(dx, tx.grad, dtype, f"dx {case}")
    assert_matches(dw, tw.grad, dtype, f"dw {case}")
    assert_matches(db, tb.grad, dtype, f"db {case}")


@reference_settings
@given(case=grouped_conv2d_cases())
@pytest.mark.parametrize("dtype", DTYPES)
def test_grouped_conv2d_backward_matches_autograd(case: Case2D, dtype):
    rng = case.rng()
    x = random(rng, case.x_shape, dtype)
    w = random(rng, case.w_shape, dtype)
    dy = random(rng, (case.x_shape[0], case.filters, *case.out_shape), dtype)
    dx, dw, db = ref.conv2d_backward(
        dy, x, w, case.stride, case.padding, case.dilation, groups=case.groups
    )

    tx, tw = tensor(x, requires_grad=True), tensor(w, requires_grad=True)
    tb = torch.zeros(case.filters, dtype=torch.float64, requires_grad=True)
    y = F.conv2d(
        torch_pad(tx, case.pads),
        tw,
        tb,
        stride=case.strides,
        dilation=case.dilations,
        groups=case.groups,
    )
    y.backward(tensor(dy))
    assert_matches(dx, tx.grad, dtype, f"dx {case}")
    assert_matches(dw, tw.grad, dtype, f"dw {case}")
    assert_matches(db, tb.grad, dtype, f"db {case}")


def test_depthwise_backward_worked_example():
    # Channel 1 of x is 0..8, w[1] picks the bottom-right tap of a 2x2 window, dy is all ones:
    # dw[1] sums x over the four windows at each tap (tap (1, 1): 4 + 5 + 7 + 8 = 24), dx[1]
    # gets a 1 where the bottom-right tap touched, db = 4 (four outputs per filter).
    x = np.stack([np.ones((3, 3)), np.arange(9.0).reshape(3, 3)])[None]
    w = np.zeros((2, 1, 2, 2))
    w[1, 0, 1, 1] = 1
    dx, dw, db = ref.conv2d_backward(np.ones((1, 2, 2, 2)), x, w, groups=2)
    np.testing.assert_array_equal(db, [4, 4])
    np.testing.assert_array_equal(dw[1, 0], [[0 + 1 + 3 + 4, 1 + 2 + 4 + 5], [20, 24]])
    np.testing.assert_array_equal(dw[0, 0], [[4, 4], [4, 4]])
    np.testing.assert_array_equal(dx[0, 1], [[0, 0, 0], [0, 1, 1], [0, 1, 1]])
    np.testing.assert_array_equal(dx[0, 0], np.zeros((3, 3)))


def test_conv2d_backward_input_beyond_last_window_gets_no_gradient():
    # Stride 2 over width 6 with a 3-wide kernel: windows start at 0 and 2, column 5 is unused.
    x = np.ones((1, 1, 1, 6))
    w = np.ones((1, 1, 1, 3))
    dx, _, _ = ref.conv2d_backward(np.ones((1, 1, 1, 2)), x, w, stride=2)
    np.testing.assert_array_equal(dx[0, 0, 0], [1, 1, 2, 1, 1, 0])
