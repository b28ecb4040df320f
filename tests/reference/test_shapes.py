"""conv_output_size and same_padding: worked examples, the formula, and a brute-force count."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import reference_settings, tf_same_pads

from autograder import reference as ref


def test_same_padding_worked_example():
    # ceil(13/5) = 3 outputs need (3-1)*5 + 6 = 16 inputs: 3 zeros, 1 before and 2 after.
    assert ref.same_padding(13, 6, stride=5) == (1, 2)
    assert ref.conv_output_size(13, 6, stride=5, padding="same") == 3
    assert ref.conv_output_size(13, 6, stride=5, padding=(1, 2)) == 3


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((6, 3), 4),  # the 1-D worked example, 'valid'
        ((32, 5), 28),  # LeNet's first layer
        ((32, 3, 1, 1), 32),  # 3x3, padding 1 keeps the size
        ((224, 7, 2, 3), 112),  # ResNet's stem
        ((7, 3, 2, 0, 2), 2),  # dilation 2: the kernel spans 5
        ((5, 5), 1),  # kernel as large as the input
        ((1, 1), 1),
        ((6, 3, 1, "valid"), 4),
        ((6, 3, 1, "same"), 6),
        ((6, 2, 1, (0, 1)), 6),
    ],
)
def test_conv_output_size_examples(args, expected):
    assert ref.conv_output_size(*args) == expected


def test_same_padding_puts_the_extra_zero_after():
    assert ref.same_padding(6, 3) == (1, 1)
    assert ref.same_padding(6, 2) == (0, 1)
    assert ref.same_padding(6, 4) == (1, 2)
    assert ref.same_padding(5, 3, dilation=2) == (2, 2)
    assert ref.same_padding(10, 1, stride=3) == (0, 0)
    assert ref.same_padding(4, 2, stride=2) == (0, 0)


def _brute_force_count(n, k, s, before, after, d):
    """Count the window positions t*s whose last tap t*s + d*(k-1) lies in the padded input."""
    return sum(
        1 for start in range(0, n + before + after, s) if start + d * (k - 1) < n + before + after
    )


sizes = st.integers(1, 40)
small = st.integers(1, 6)


@reference_settings
@given(
    n=sizes,
    k=small,
    s=small,
    d=st.integers(1, 3),
    before=st.integers(0, 4),
    after=st.integers(0, 4),
)
def test_conv_output_size_counts_windows(n, k, s, d, before, after):
    if d * (k - 1) + 1 > n + before + after:
        with pytest.raises(ValueError, match="larger than the padded input"):
            ref.conv_output_size(n, k, s, (before, after), d)
        return
    expected = _brute_force_count(n, k, s, before, after, d)
    assert ref.conv_output_size(n, k, s, (before, after), d) == expected
    if before == after:
        assert ref.conv_output_size(n, k, s, before, d) == expected


@reference_settings
@given(n=sizes, k=small, s=small, d=st.integers(1, 3))
def test_same_padding_is_tensorflows_rule(n, k, s, d):
    before, after = ref.same_padding(n, k, s, d)
    assert (before, after) == tf_same_pads(n, k, s, d)
    assert before <= after <= before + 1
    assert ref.conv_output_size(n, k, s, "same", d) == math.ceil(n / s)
    assert ref.conv_output_size(n, k, s, (before, after), d) == math.ceil(n / s)
    if before + after > 0:  # the fewest zeros: one less and an output is lost
        assert _brute_force_count(n, k, s, before, after - 1, d) < math.ceil(n / s)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: ref.conv_output_size(0, 3), "n must be a positive int"),
        (lambda: ref.conv_output_size(5, 0), "k must be a positive int"),
        (lambda: ref.conv_output_size(5, 3, 0), "stride must be a positive int, got 0"),
        (lambda: ref.conv_output_size(5, 3, 1.5), "stride must be a positive int"),
        (lambda: ref.conv_output_size(5, 3, True), "stride must be a positive int"),
        (lambda: ref.conv_output_size(5, 3, dilation=0), "dilation must be a positive int"),
        (lambda: ref.conv_output_size(5, 3, padding=-1), "padding: expected"),
        (lambda: ref.conv_output_size(5, 3, padding="sam"), "padding: expected .* got 'sam'"),
        (lambda: ref.conv_output_size(5, 3, padding=(1, 2, 3)), "padding: expected"),
        (lambda: ref.conv_output_size(2, 5), "larger than the padded input"),
        (lambda: ref.conv_output_size(2, 3, dilation=2, padding=1), "larger than the padded input"),
        (lambda: ref.same_padding(5, 3, stride=-1), "stride must be a positive int"),
        (lambda: ref.same_padding(5.0, 3), "n must be a positive int"),
    ],
)
def test_shape_errors_name_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()
