r"""Output sizes and padding rules of convolution and pooling.

One spatial dimension of size ``n``, a kernel of size ``k`` with dilation ``d`` (it covers
``d*(k-1) + 1`` input positions), stride ``s`` and ``p_before + p_after`` zeros added around
the input give

.. math::

    n_{out} = \left\lfloor \frac{n + p_{before} + p_{after} - d(k-1) - 1}{s} \right\rfloor + 1

which for symmetric padding ``p`` on each side and ``d = 1`` is CS231n's
``1 + (n + 2*p - k) // s``.

"Same" padding follows TensorFlow for every stride: the output has ``ceil(n / s)`` positions,
the input is padded with the fewest zeros that make this possible,

.. math::

    p_{total} = \max\big((\lceil n/s \rceil - 1)\,s + d(k-1) + 1 - n,\; 0\big),

and ``p_before = p_total // 2``; when ``p_total`` is odd the extra zero goes *after* the input.
At stride 1 this is also PyTorch's ``padding='same'`` (PyTorch refuses ``'same'`` for
stride > 1).
"""

from __future__ import annotations

from dataclasses import dataclass

from ._arguments import (
    Pads1D,
    Pads2D,
    parse_padding_1d,
    parse_padding_2d,
    positive_int,
    positive_pair,
)


def same_padding(n: int, k: int, stride: int = 1, dilation: int = 1) -> tuple[int, int]:
    """Zeros to add before and after an input of size ``n`` for TensorFlow's "same" padding.

    Args:
        n: input size along one dimension.
        k: kernel size.
        stride: stride of the window.
        dilation: spacing between kernel taps.

    Returns:
        ``(before, after)`` with ``before = total // 2`` and ``after = total - before``, where
        ``total = max((ceil(n/s) - 1)*s + d*(k-1) + 1 - n, 0)``. The output then has
        ``ceil(n / s)`` positions.

    Example:
        >>> same_padding(13, 6, stride=5)   # ceil(13/5) = 3 outputs: (3-1)*5 + 6 - 13 = 3
        (1, 2)
    """
    n = positive_int(n, "n")
    k = positive_int(k, "k")
    s = positive_int(stride, "stride")
    d = positive_int(dilation, "dilation")
    return _same_padding(n, k, s, d)


def conv_output_size(n: int, k: int, stride: int = 1, padding=0, dilation: int = 1) -> int:
    """Number of output positions of a convolution or pooling window along one dimension.

    ``floor((n + p_total - d*(k-1) - 1) / s) + 1`` where ``p_total = before + after``.

    Args:
        n: input size.
        k: kernel size.
        stride: stride ``s``.
        padding: an int ``p`` (``p`` zeros on each side, ``p_total = 2p``), a
            ``(before, after)`` pair, ``'valid'`` (no padding) or ``'same'`` (TensorFlow's rule,
            see :func:`same_padding`; the result is then ``ceil(n / s)``).
        dilation: spacing ``d`` between kernel taps.

    Returns:
        The output size, at least 1.

    Raises:
        ValueError: on a malformed argument, or when the (dilated) kernel is larger than the
            padded input, so that no window fits.

    Example:
        >>> conv_output_size(6, 3), conv_output_size(6, 3, padding="same")
        (4, 6)
    """
    n = positive_int(n, "n")
    k = positive_int(k, "k")
    s = positive_int(stride, "stride")
    d = positive_int(dilation, "dilation")
    before, after = resolve_padding_1d(padding, n, k, s, d)
    return output_size(n, k, s, before, after, d)


def output_size(n: int, k: int, s: int, before: int, after: int, d: int, what: str = "") -> int:
    """The output-size formula on validated numbers; ``what`` names the dimension in errors."""
    span = d * (k - 1) + 1
    padded = n + before + after
    if span > padded:
        dim = f" {what}" if what else ""
        raise ValueError(
            f"kernel{dim} (effective size d*(k-1)+1 = {dilation_text(d, k)}{span}) is larger "
            f"than the padded input{dim} (n + before + after = {n} + {before} + {after} = "
            f"{padded})"
        )
    return (padded - span) // s + 1


def dilation_text(d: int, k: int) -> str:
    """``'2*(3-1)+1 = '`` when the kernel is dilated, else ``''`` (keeps messages short)."""
    return f"{d}*({k}-1)+1 = " if d != 1 else ""


def resolve_padding_1d(padding, n: int, k: int, s: int, d: int) -> Pads1D:
    """Any accepted 1-D ``padding`` as explicit ``(before, after)`` zero counts."""
    pads = parse_padding_1d(padding)
    if pads == "same":
        return _same_padding(n, k, s, d)
    return pads


def resolve_padding_2d(
    padding, size: tuple[int, int], kernel: tuple[int, int], stride, dilation
) -> Pads2D:
    """Any accepted 2-D ``padding`` as explicit ``((top, bottom), (left, right))``."""
    pads = parse_padding_2d(padding)
    if pads == "same":
        return tuple(_same_padding(size[i], kernel[i], stride[i], dilation[i]) for i in range(2))
    return pads


def output_shape_2d(size, kernel, stride, pads: Pads2D, dilation) -> tuple[int, int]:
    """``(OH, OW)`` of a 2-D window; raises ``ValueError`` when the kernel does not fit."""
    return tuple(
        output_size(size[i], kernel[i], stride[i], *pads[i], dilation[i], what)
        for i, what in enumerate(("height", "width"))
    )


@dataclass(frozen=True)
class Window2D:
    """Where a 2-D window slides: everything a kernel needs besides the arrays."""

    kernel: tuple[int, int]  # (KH, KW)
    stride: tuple[int, int]  # (SH, SW)
    dilation: tuple[int, int]  # (DH, DW)
    pads: Pads2D  # ((top, bottom), (left, right))
    out: tuple[int, int]  # (OH, OW)


def window_2d(size, kernel_size, stride, padding, dilation=1) -> Window2D:
    """Validate the window arguments of a 2-D operation on an input of spatial ``size``.

    ``kernel_size``, ``stride`` and ``dilation`` are ints or pairs, ``padding`` any accepted
    form (see :func:`autograder.reference._arguments.parse_padding_2d`).
    """
    kernel = positive_pair(kernel_size, "kernel_size")
    strides = positive_pair(stride, "stride")
    dilations = positive_pair(dilation, "dilation")
    pads = resolve_padding_2d(padding, size, kernel, strides, dilations)
    out = output_shape_2d(size, kernel, strides, pads, dilations)
    return Window2D(kernel, strides, dilations, pads, out)


def _same_padding(n: int, k: int, s: int, d: int) -> tuple[int, int]:
    out = -(-n // s)  # ceil(n / s)
    total = max((out - 1) * s + d * (k - 1) + 1 - n, 0)
    return total // 2, total - total // 2
