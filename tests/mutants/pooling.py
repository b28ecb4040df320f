"""Mistakes in pooling: output shape, max and average pooling and their backward passes."""

from mutants import Mutant

SHAPE, MAX, AVG = "output-shape-solution", "max-pool-solution", "avg-pool-solution"
MAX_BWD, AVG_BWD, AS_CONV = (
    "max-pool-backward-solution",
    "avg-pool-backward-solution",
    "as-conv-solution",
)
SHAPE_PARTS = {"output-shape", "output-shape-hidden"}
MAX_PARTS = {"max-pool", "max-pool-hidden"}
AVG_PARTS = {"avg-pool", "avg-pool-hidden"}
MAX_BWD_PARTS = {"max-pool-backward", "max-pool-backward-hidden"}
AVG_BWD_PARTS = {"avg-pool-backward", "avg-pool-backward-hidden"}
AS_CONV_PARTS = {"as-conv", "as-conv-hidden"}
WINDOW = "window = padded[:, :, i * stride : i * stride + k, j * stride : j * stride + k]"
CROP = "return dpadded[:, :, padding : padding + h, padding : padding + w]"
AS_CONV_BODY = """    box = np.full((1, 1, k, k), 1.0 / (k * k))
    y = conv2d(x.reshape(n * c, 1, h, w), box, stride=k)
    return y.reshape(n, c, y.shape[2], y.shape[3])"""

MUTANTS = [
    Mutant(
        "shape-stride-none-is-one",
        "reads stride=None as a stride of 1",
        {
            SHAPE: [
                (
                    "stride = k if stride is None else stride",
                    "stride = 1 if stride is None else stride",
                )
            ]
        },
        "the stride is then k",
        SHAPE_PARTS,
        hidden_passes="a given stride",
    ),
    Mutant(
        "shape-pads-one-side",
        "adds the padding on one side only",
        {
            SHAPE: [
                ("(h + 2 * padding - k)", "(h + padding - k)"),
                ("(w + 2 * padding - k)", "(w + padding - k)"),
            ]
        },
        "added on both sides",
        SHAPE_PARTS,
        hidden_passes="no padding",
    ),
    Mutant(
        "max-pads-zeros",
        "pads with zeros: an all-negative border window returns 0",
        {MAX: [("constant_values=-np.inf", "constant_values=0.0")]},
        "a padded entry must never be the maximum",
        MAX_PARTS,
        hidden_passes="no padding",
    ),
    Mutant(
        "max-ignores-stride",
        "window (i, j) starts at (i, j) whatever the stride",
        {MAX: [(WINDOW, "window = padded[:, :, i : i + k, j : j + k]")]},
        "starts at (i*stride, j*stride)",
        MAX_PARTS,
    ),
    Mutant(
        "max-over-channels",
        "takes the maximum over the channels too",
        {
            MAX: [
                (
                    "y[:, :, i, j] = window.max(axis=(2, 3))",
                    "y[:, :, i, j] = window.max(axis=(1, 2, 3))[:, None]",
                )
            ]
        },
        "each channel is pooled on its own",
        MAX_PARTS,
    ),
    Mutant(
        "avg-excludes-padding",
        "divides by the number of real inputs (count_include_pad=False) instead of k*k",
        {
            AVG: [
                (
                    "y[:, :, i, j] = window.sum(axis=(2, 3)) / (k * k)",
                    "real = np.pad(np.ones(x.shape[2:]), padding)"
                    "[i * stride : i * stride + k, j * stride : j * stride + k].sum()\n"
                    "            y[:, :, i, j] = window.sum(axis=(2, 3)) / real",
                )
            ]
        },
        "zeros count in the mean",
        AVG_PARTS,
        hidden_passes="no padding",
    ),
    Mutant(
        "avg-divides-by-k",
        "divides by k instead of k*k",
        {AVG: [("window.sum(axis=(2, 3)) / (k * k)", "window.sum(axis=(2, 3)) / k")]},
        "times the expected one",
        AVG_PARTS,
    ),
    Mutant(
        "max-backward-ties-to-last",
        "on ties, the last maximum gets the gradient",
        {
            MAX_BWD: [
                (
                    "first = window.reshape(n, c, k * k).argmax(axis=2)",
                    "first = k * k - 1 - window.reshape(n, c, k * k)[:, :, ::-1].argmax(axis=2)",
                )
            ]
        },
        "the first maximum in row-major order gets dy",
        MAX_BWD_PARTS,
    ),
    Mutant(
        "max-backward-overwrites",
        "= instead of +=: an input that is the maximum of two windows keeps one gradient",
        {MAX_BWD: [("] += dy[:, :, i, j]", "] = dy[:, :, i, j]")]},
        "an input in two windows gets both shares",
        MAX_BWD_PARTS,
        hidden_passes="no overlap",
    ),
    Mutant(
        "avg-backward-overwrites",
        "= instead of +=: overlapping windows overwrite each other's shares",
        {AVG_BWD: [("] += (", "] = (")]},
        "an input in two windows gets both shares",
        AVG_BWD_PARTS,
        hidden_passes="no overlap",
    ),
    Mutant(
        "avg-backward-whole-dy",
        "gives every input the whole dy, not dy / k**2",
        {AVG_BWD: [("share = dy[:, :, i, j] / (k * k)", "share = dy[:, :, i, j]")]},
        "times the expected one",
        AVG_BWD_PARTS,
    ),
    Mutant(
        "avg-backward-keeps-padding",
        "returns the gradient of the padded input",
        {AVG_BWD: [(CROP, "return dpadded")]},
        "or padding?",
        AVG_BWD_PARTS,
        hidden_passes="no padding",
    ),
    Mutant(
        "as-conv-without-conv",
        "calls avg_pool2d instead of writing it as a convolution",
        {AS_CONV: [(AS_CONV_BODY, "    return avg_pool2d(x, k)")]},
        "conv2d calls",
        AS_CONV_PARTS,
    ),
    Mutant(
        "as-conv-mixes-channels",
        "one box filter over all channels: conv2d sums the channels",
        {
            AS_CONV: [
                (
                    AS_CONV_BODY,
                    "    box = np.full((c, c, k, k), 1.0 / (k * k))\n"
                    "    return conv2d(x, box, stride=k)",
                )
            ]
        },
        "keep each channel apart",
        AS_CONV_PARTS,
    ),
]
