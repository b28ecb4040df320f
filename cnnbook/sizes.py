"""Output sizes through a stack of layers, and the inputs a strided window never reaches.

Small helpers for the chapters on padding and stride; the shape rule itself is
:func:`autograder.reference.conv_output_size`, which these call::

    sizes_through_layers(32, 5, layers=7)   # [32, 28, 24, 20, 16, 12, 8, 4]
    layers_to_reach(224, 5, target=4)       # 55
    unseen_positions(8, 3, stride=2)        # [7]
"""

from __future__ import annotations

from autograder import reference as ref


def sizes_through_layers(
    n: int, k: int, layers: int, stride: int = 1, padding: int | str | tuple[int, int] = 0
) -> list[int]:
    """Size of one spatial dimension before the first layer and after each of ``layers`` layers.

    Every layer has the same kernel size ``k``, ``stride`` and ``padding`` (as accepted by
    :func:`autograder.reference.conv_output_size`). The list stops early when the kernel no
    longer fits the (padded) input.

    Returns:
        ``[n, n_1, n_2, ...]``, at most ``layers + 1`` sizes.
    """
    sizes = [n]
    for _ in range(layers):
        try:
            sizes.append(ref.conv_output_size(sizes[-1], k, stride=stride, padding=padding))
        except ValueError:  # the kernel is larger than the padded input
            break
    return sizes


def layers_to_reach(
    n: int,
    k: int,
    target: int,
    stride: int = 1,
    padding: int | str | tuple[int, int] = 0,
    max_layers: int = 10_000,
) -> int:
    """Number of identical layers after which the size is ``target`` or smaller.

    Raises:
        ValueError: if the size never gets down to ``target`` (for example 'same' padding at
            stride 1, or a kernel that stops fitting first).
    """
    sizes = sizes_through_layers(n, k, max_layers, stride=stride, padding=padding)
    for depth, size in enumerate(sizes):
        if size <= target:
            return depth
    raise ValueError(
        f"n={n}, k={k}, stride={stride}, padding={padding!r} never reaches size {target}"
    )


def unseen_positions(
    n: int, k: int, stride: int = 1, padding: tuple[int, int] = (0, 0)
) -> list[int]:
    """Input positions ``0..n-1`` that no window covers.

    Args:
        n: input size.
        k: kernel size.
        stride: stride of the window.
        padding: ``(before, after)`` zeros.

    Returns:
        The positions of the input (padding excluded) that take part in no output.
    """
    before, after = padding
    o = ref.conv_output_size(n, k, stride=stride, padding=(before, after))
    seen = {t * stride + i - before for t in range(o) for i in range(k)}
    return [i for i in range(n) if i not in seen]
