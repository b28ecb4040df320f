"""Every accepted padding form, and a ValueError naming the argument for every bad one."""

from __future__ import annotations

import re

import numpy as np
import pytest

from autograder import reference as ref

rng = np.random.default_rng(0)
X = rng.standard_normal((2, 3, 6, 6))
W = rng.standard_normal((4, 3, 3, 3))
X1 = rng.standard_normal((2, 3, 6))
W1 = rng.standard_normal((4, 3, 3))


@pytest.mark.parametrize(
    ("padding", "same_as"),
    [
        (1, ((1, 1), (1, 1))),
        ((1, 2), ((1, 1), (2, 2))),
        ([1, 2], ((1, 1), (2, 2))),
        ((1, (0, 2)), ((1, 1), (0, 2))),
        ("valid", 0),
        ("same", 1),  # 3x3 kernel, stride 1
        (np.int64(1), 1),
    ],
)
def test_conv2d_padding_forms(padding, same_as):
    np.testing.assert_array_equal(
        ref.conv2d(X, W, padding=padding), ref.conv2d(X, W, padding=same_as)
    )


@pytest.mark.parametrize(
    ("padding", "same_as"), [(1, (1, 1)), ([0, 2], (0, 2)), ("valid", 0), ("same", 1)]
)
def test_conv1d_padding_forms(padding, same_as):
    np.testing.assert_array_equal(
        ref.conv1d(X1, W1, padding=padding), ref.conv1d(X1, W1, padding=same_as)
    )


def test_same_padding_with_stride_may_be_asymmetric():
    # 6 inputs, 3 taps, stride 2: ceil(6/2) = 3 outputs need (3-1)*2 + 3 = 7 inputs: (0, 1).
    assert ref.same_padding(6, 3, 2) == (0, 1)
    y = ref.conv2d(X, W, stride=2, padding="same")
    assert y.shape == (2, 4, 3, 3)
    np.testing.assert_array_equal(y, ref.conv2d(X, W, stride=2, padding=((0, 1), (0, 1))))


CONV2D_ERRORS = [
    (dict(x=X[0]), r"x must be a 4-D array of shape \(N, C, H, W\); got shape \(3, 6, 6\)"),
    (
        dict(w=W[:, :2]),
        r"w must have shape \(F, C, KH, KW\) with C == x.shape\[1\] == 3; got \(4, 2, 3, 3\)",
    ),
    (dict(w=W[0]), r"w must have shape \(F, C, KH, KW\)"),
    (dict(b=np.zeros(3)), r"b must have shape \(F,\) == \(4,\)"),
    (dict(b=np.zeros((4, 1))), r"b must have shape \(F,\)"),
    (dict(stride=0), "stride must be a positive int or a pair of positive ints.*got 0"),
    (dict(stride=(1, 0)), r"stride must be .*got \(1, 0\)"),
    (dict(stride=(1, 1, 1)), "stride must be"),
    (dict(stride=1.0), "stride must be"),
    (dict(dilation=-1), "dilation must be"),
    (dict(padding=-1), "padding: expected an int, a \\(ph, pw\\) pair"),
    (dict(padding="sam"), "padding: expected .*'valid' or 'same'; got 'sam'"),
    (dict(padding=(1, 2, 3)), "padding: expected"),
    (dict(padding=((1, 2, 3), 1)), "padding: expected"),
    (dict(padding=(1.5, 1)), "padding: expected"),
    (dict(padding=None), "padding: expected"),
    (dict(w=np.zeros((4, 3, 7, 3))), "kernel height .* larger than the padded input height"),
    (dict(dilation=(1, 3)), "kernel width .*3\\*\\(3-1\\)\\+1 = 7.* larger than the padded input"),
    (dict(x=X.astype(complex)), "x must be an array of real numbers"),
    (dict(x=np.array([["a"]])), "x must be an array of real numbers"),
    (dict(w=W.astype(object)), "w must be an array of real numbers"),
    (dict(x=np.zeros((2, 3, 0, 6))), "x of shape .* must have non-empty axes"),
    (dict(groups=0), "groups must be a positive int, got 0"),
    (dict(groups=3.0), "groups must be a positive int, got 3.0"),
    (dict(groups=True), "groups must be a positive int, got True"),
    (
        dict(groups=2),
        re.escape("groups must divide the input channels C == x.shape[1] == 3; got groups=2"),
    ),
    (
        dict(groups=3),
        re.escape("w must have shape (F, C // groups, KH, KW) with C // groups == 3 // 3 == 1; "),
    ),
    (
        dict(groups=3, w=W[:, :1]),
        re.escape("w must have shape (F, C // groups, KH, KW) with F a multiple of groups == 3"),
    ),
]


@pytest.mark.parametrize(("override", "match"), CONV2D_ERRORS)
def test_conv2d_errors(override, match):
    kwargs = {"x": X, "w": W, "b": None, **override}
    with pytest.raises(ValueError, match=match):
        ref.conv2d(**kwargs)


@pytest.mark.parametrize(
    ("override", "match"),
    [
        (dict(x=X), r"x must be a 3-D array of shape \(N, C, L\)"),
        (
            dict(w=W),
            r"w must have shape \(F, C, K\) with C == x.shape\[1\] == 3; got \(4, 3, 3, 3\)",
        ),
        (
            dict(w=W1[:, :2]),
            r"w must have shape \(F, C, K\) with C == x.shape\[1\] == 3; got \(4, 2, 3\)",
        ),
        (dict(b=np.zeros(5)), r"b must have shape \(F,\) == \(4,\)"),
        (dict(stride=0), "stride must be a positive int, got 0"),
        (dict(stride=(1, 1)), "stride must be a positive int"),
        (dict(dilation=0), "dilation must be a positive int"),
        (
            dict(padding="sam"),
            "padding: expected an int, a \\(before, after\\) pair, 'valid' or 'same'; got 'sam'",
        ),
        (dict(padding=((1, 1), (1, 1))), "padding: expected"),
        (
            dict(w=np.zeros((4, 3, 9))),
            r"kernel \(effective size d\*\(k-1\)\+1 = 9\) is larger than the padded input",
        ),
        (dict(w=np.zeros((4, 3, 9)), padding="same"), None),
        (
            dict(groups=3),
            re.escape("w must have shape (F, C // groups, K) with C // groups == 3 // 3 == 1"),
        ),
        (dict(groups=3, w=W1[:3, :1]), None),  # depthwise
        (dict(groups=-1), "groups must be a positive int"),
    ],
)
def test_conv1d_errors(override, match):
    kwargs = {"x": X1, "w": W1, "b": None, **override}
    if match is None:  # 'same' always fits; depthwise with 3 filters
        assert ref.conv1d(**kwargs).shape[:2] == (2, kwargs["w"].shape[0])
        return
    with pytest.raises(ValueError, match=match):
        ref.conv1d(**kwargs)


def test_conv2d_backward_errors():
    dy = np.zeros((2, 4, 4, 4))
    ref.conv2d_backward(dy, X, W)  # the right shape works
    with pytest.raises(
        ValueError, match=re.escape("dy must have shape (N, F, OH, OW) == (2, 4, 4, 4)")
    ):
        ref.conv2d_backward(np.zeros((2, 4, 6, 6)), X, W)
    with pytest.raises(ValueError, match=r"dy must be a 4-D array"):
        ref.conv2d_backward(np.zeros((4, 4, 4)), X, W)
    with pytest.raises(ValueError, match=r"w must have shape \(F, C, KH, KW\)"):
        ref.conv2d_backward(dy, X, W[:, :1])
    with pytest.raises(ValueError, match="padding: expected"):
        ref.conv2d_backward(dy, X, W, padding="full")
    with pytest.raises(ValueError, match="dy must be an array of real numbers"):
        ref.conv2d_backward(dy.astype(complex), X, W)
    with pytest.raises(ValueError, match=re.escape("w must have shape (F, C // groups, KH, KW)")):
        ref.conv2d_backward(dy, X, W, groups=3)
    with pytest.raises(ValueError, match="groups must divide the input channels"):
        ref.conv2d_backward(dy, X, W, groups=2)
    depthwise = W[:3, :1]
    dy3 = np.zeros((2, 3, 4, 4))
    assert [a.shape for a in ref.conv2d_backward(dy3, X, depthwise, groups=3)] == [
        X.shape,
        depthwise.shape,
        (3,),
    ]
    with pytest.raises(ValueError, match=re.escape("dy must have shape (N, F, OH, OW) == (2, 3,")):
        ref.conv2d_backward(dy, X, depthwise, groups=3)


POOLS = [ref.max_pool2d, ref.avg_pool2d]
POOL_BACKWARDS = [ref.max_pool2d_backward, ref.avg_pool2d_backward]


@pytest.mark.parametrize("pool", POOLS)
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(kernel_size=0), "kernel_size must be a positive int or a pair"),
        (dict(kernel_size=(2, 2, 2)), "kernel_size must be"),
        (dict(kernel_size=2, stride=0), "stride must be"),
        (
            dict(kernel_size=2, padding=2),
            r"padding must be at most half the kernel size .* got padding \(2, 2\)",
        ),
        (dict(kernel_size=3, padding=((0, 2), 0)), "padding must be at most half the kernel"),
        (dict(kernel_size=2, padding="sam"), "padding: expected"),
        (dict(kernel_size=7), "kernel height .* larger than the padded input height"),
        (
            dict(kernel_size=(2, 9), padding=(0, 1)),
            "kernel width .* larger than the padded input width",
        ),
    ],
)
def test_pool_errors(pool, kwargs, match):
    with pytest.raises(ValueError, match=match):
        pool(X, **kwargs)


@pytest.mark.parametrize("pool", POOLS)
def test_pool_x_must_be_4d(pool):
    with pytest.raises(ValueError, match=r"x must be a 4-D array of shape \(N, C, H, W\)"):
        pool(X1, 2)


@pytest.mark.parametrize("backward", POOL_BACKWARDS)
def test_pool_backward_errors(backward):
    assert backward(np.zeros((2, 3, 3, 3)), X, 2).shape == X.shape
    with pytest.raises(
        ValueError, match=re.escape("dy must have shape (N, C, OH, OW) == (2, 3, 3, 3)")
    ):
        backward(np.zeros((2, 3, 2, 2)), X, 2)
    with pytest.raises(ValueError, match="dy must be an array of real numbers"):
        backward(np.zeros((2, 3, 3, 3), dtype=complex), X, 2)


def test_im2col_col2im_errors():
    with pytest.raises(ValueError, match=r"x must be a 4-D array of shape \(N, C, H, W\)"):
        ref.im2col(X1, 2)
    with pytest.raises(ValueError, match="kernel_size must be"):
        ref.im2col(X, (2, 0))
    with pytest.raises(ValueError, match="larger than the padded input"):
        ref.im2col(X, 7)
    cols = ref.im2col(X, 3)
    assert ref.col2im(cols, 6, 3).shape == X.shape
    with pytest.raises(ValueError, match=r"cols must be a 3-D array of shape \(N, C\*KH\*KW, L\)"):
        ref.col2im(X, 6, 3)
    with pytest.raises(ValueError, match=r"cols must have shape .* divisible by KH\*KW = 9"):
        ref.col2im(cols[:, :-1], 6, 3)
    with pytest.raises(ValueError, match=r"cols must have shape .* L == OH\*OW = 4\*4 = 16"):
        ref.col2im(cols[:, :, :-1], 6, 3)
    with pytest.raises(ValueError, match="output_size must be a positive int or a pair"):
        ref.col2im(cols, (6, 0), 3)


def test_dtypes_follow_the_input():
    for dtype in (np.float32, np.float64):
        x, w = X.astype(dtype), W.astype(dtype)
        assert ref.conv2d(x, w).dtype == dtype
        assert ref.conv1d(X1.astype(dtype), W1.astype(dtype)).dtype == dtype
        dy = np.ones((2, 4, 4, 4), dtype)
        assert {a.dtype for a in ref.conv2d_backward(dy, x, w)} == {np.dtype(dtype)}
        assert ref.max_pool2d(x, 2).dtype == dtype
        assert ref.avg_pool2d(x, 2).dtype == dtype
        dy = np.ones((2, 3, 3, 3), dtype)
        assert ref.max_pool2d_backward(dy, x, 2).dtype == dtype
        assert ref.avg_pool2d_backward(dy, x, 2).dtype == dtype
        assert ref.im2col(x, 2).dtype == dtype
        assert ref.col2im(ref.im2col(x, 2), 6, 2).dtype == dtype
    assert ref.max_pool2d(np.arange(16).reshape(1, 1, 4, 4), 2).dtype == np.float64
