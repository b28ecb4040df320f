"""Mistakes in conv1d: output length, 'same' padding, the loop and im2col versions."""

from mutants import Mutant

LENGTH, SAME, LOOP, IM2COL = (
    "output-length-solution",
    "same-padding-solution",
    "conv1d-loop-solution",
    "im2col-solution",
)
LENGTH_PARTS = {"output-length", "output-length-hidden"}
SAME_PARTS = {"same-padding", "same-padding-hidden"}
LOOP_PARTS = {"conv1d-loop", "conv1d-loop-hidden"}
IM2COL_PARTS = {"im2col", "im2col-hidden"}

MUTANTS = [
    Mutant(
        "length-true-division",
        "divides with / instead of //: a float length",
        {LENGTH: [("return (n + p - k) // s + 1", "return (n + p - k) / s + 1")]},
        "expected an int",
        LENGTH_PARTS,
    ),
    Mutant(
        "length-forgets-plus-one",
        "counts the steps, not the windows: forgets the +1",
        {LENGTH: [("return (n + p - k) // s + 1", "return (n + p - k) // s")]},
        "off by one",
        LENGTH_PARTS,
    ),
    Mutant(
        "length-ignores-stride",
        "forgets to divide by the stride",
        {LENGTH: [("return (n + p - k) // s + 1", "return n + p - k + 1")]},
        "stride > 1",
        LENGTH_PARTS,
    ),
    Mutant(
        "length-rounds-up",
        "rounds the division up: a last window that does not fit",
        {LENGTH: [("return (n + p - k) // s + 1", "return -(-(n + p - k) // s) + 1")]},
        "stride does not fit evenly",
        LENGTH_PARTS,
        hidden_passes="stride fits evenly",
    ),
    Mutant(
        "same-extra-zero-before",
        "puts the extra zero of an odd padding before the input",
        {
            SAME: [
                ("return total // 2, total - total // 2", "return total - total // 2, total // 2")
            ]
        },
        "swapped?",
        SAME_PARTS,
    ),
    Mutant(
        "same-floor-outputs",
        "n // s outputs instead of ceil(n / s)",
        {SAME: [("out = -(-n // s)", "out = n // s")]},
        "stride does not divide n",
        SAME_PARTS,
    ),
    Mutant(
        "same-negative-padding",
        "forgets that the padding cannot be negative (kernel shorter than the stride)",
        {SAME: [("total = max((out - 1) * s + k - n, 0)", "total = (out - 1) * s + k - n")]},
        None,  # no public case has a kernel shorter than the stride
        SAME_PARTS - {"same-padding"},
    ),
    Mutant(
        "loop-ignores-stride",
        "slides the window one position at a time whatever the stride",
        {LOOP: [("w[j] * padded[i * stride + j]", "w[j] * padded[i + j]")]},
        "stride > 1",
        LOOP_PARTS,
        hidden_passes="stride 1",
    ),
    Mutant(
        "loop-flips-kernel",
        "flips the kernel: a true convolution, not the cross-correlation",
        {LOOP: [("total += w[j] * padded", "total += w[k - 1 - j] * padded")]},
        "the kernel is not flipped",
        LOOP_PARTS,
    ),
    Mutant(
        "loop-length-without-after",
        "counts only the zeros before the input in the output length",
        {
            LOOP: [
                (
                    "    o = output_length(n, k, before + after, stride)",
                    "    o = output_length(n, k, before, stride)",
                )
            ]
        },
        "padding?",
        LOOP_PARTS,
    ),
    Mutant(
        "loop-stops-early",
        "range(o - 1): the last output is never written",
        {LOOP: [("for i in range(o):", "for i in range(o - 1):")]},
        "a loop that stops early",
        LOOP_PARTS,
    ),
    Mutant(
        "loop-integer-output",
        "an integer output array: np.zeros_like of an integer input",
        {LOOP: [("y = np.zeros(o)", "y = np.zeros(o, dtype=int)")]},
        "stored in an integer array",
        LOOP_PARTS,
    ),
    Mutant(
        "im2col-ignores-stride",
        "window i starts at i, whatever the stride",
        {IM2COL: [("idx = np.arange(o)[:, None] * stride +", "idx = np.arange(o)[:, None] +")]},
        "window i starts at i * stride",
        IM2COL_PARTS,
    ),
    Mutant(
        "im2col-comprehension",
        "builds the windows with a list comprehension",
        {IM2COL: [("return x[idx]", "return np.array([x[row] for row in idx])")]},
        "comprehension",
        IM2COL_PARTS,
    ),
    Mutant(
        "im2col-forgets-padding",
        "conv1d_im2col takes the windows of the unpadded input",
        {
            IM2COL: [
                (
                    "return im2col_1d(padded, len(w), stride) @ w",
                    "return im2col_1d(x, len(w), stride) @ w",
                )
            ]
        },
        "pad x before im2col_1d",
        IM2COL_PARTS,
    ),
]
