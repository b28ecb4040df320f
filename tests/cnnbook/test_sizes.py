"""Output sizes through stacks of layers (chapter 04's numbers come from these)."""

import pytest

from cnnbook.sizes import layers_to_reach, sizes_through_layers, unseen_positions


def test_seven_5x5_layers_take_32_to_4():
    assert sizes_through_layers(32, 5, layers=7) == [32, 28, 24, 20, 16, 12, 8, 4]


def test_224_needs_55_layers_of_5x5_to_reach_4_not_44():
    assert layers_to_reach(224, 5, target=4) == 55
    assert sizes_through_layers(224, 5, layers=44)[-1] == 48


def test_same_padding_never_shrinks():
    with pytest.raises(ValueError, match="never reaches size 4"):
        layers_to_reach(32, 3, target=4, padding="same", max_layers=50)


def test_stride_2_halves_the_size_with_same_padding():
    assert sizes_through_layers(32, 3, layers=3, stride=2, padding="same") == [32, 16, 8, 4]


def test_the_stack_stops_when_the_kernel_no_longer_fits():
    assert sizes_through_layers(7, 3, layers=10) == [7, 5, 3, 1]


@pytest.mark.parametrize(
    "n, k, stride, unseen", [(8, 3, 2, [7]), (7, 3, 2, []), (10, 2, 3, [2, 5, 8, 9])]
)
def test_unseen_positions(n, k, stride, unseen):
    assert unseen_positions(n, k, stride=stride) == unseen
