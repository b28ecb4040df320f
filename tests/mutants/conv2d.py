"""Mistakes in conv2d: output shape, the loop with channels, 1x1 as a matrix product, costs."""

from mutants import Mutant

SHAPE, LOOP, ONE, COST = (
    "output-shape-solution",
    "conv2d-loop-solution",
    "conv1x1-solution",
    "cost-solution",
)
SHAPE_PARTS = {"output-shape", "output-shape-hidden"}
LOOP_PARTS = {"conv2d-loop", "conv2d-loop-hidden"}
ONE_PARTS = {"conv1x1", "conv1x1-hidden"}
PARAMS_PARTS = {"conv2d-params", "conv2d-params-hidden"}
FLOPS_PARTS = {"conv2d-flops", "conv2d-flops-hidden"}
WINDOW = "window = xp[n, :, i * sh : i * sh + kh, j * sw : j * sw + kw]"

MUTANTS = [
    Mutant(
        "shape-true-division",
        "divides with / instead of //: float sizes",
        {SHAPE: [("int((h + 2 * ph - kh) // sh + 1)", "(h + 2 * ph - kh) / sh + 1")]},
        "every entry should be an int",
        SHAPE_PARTS,
    ),
    Mutant(
        "shape-pads-one-side",
        "counts the padding once, not on both sides",
        {SHAPE: [("(h + 2 * ph - kh)", "(h + ph - kh)"), ("(w + 2 * pw - kw)", "(w + pw - kw)")]},
        "2p in total",
        SHAPE_PARTS,
        hidden_passes="no padding",
    ),
    Mutant(
        "shape-stride-pair-swapped",
        "uses the width's stride for the height and the reverse",
        {
            SHAPE: [
                ("- kh) // sh + 1)", "- kh) // sw + 1)"),
                ("- kw) // sw + 1)", "- kw) // sh + 1)"),
            ]
        },
        "the first for the height",
        SHAPE_PARTS,
    ),
    Mutant(
        "loop-forgets-bias",
        "never adds the bias",
        {LOOP: [("            if b is not None:\n", "            if False:\n")]},
        "a bias?",
        LOOP_PARTS,
    ),
    Mutant(
        "loop-ignores-stride",
        "slides the window one pixel at a time whatever the stride",
        {LOOP: [(WINDOW, "window = xp[n, :, i : i + kh, j : j + kw]")]},
        "then step sh rows",
        LOOP_PARTS,
        hidden_passes="stride 1",
    ),
    Mutant(
        "loop-first-channel-only",
        "multiplies only the first channel of the window",
        {
            LOOP: [
                (
                    "y[n, f, i, j] = np.sum(window * w[f])",
                    "y[n, f, i, j] = np.sum(window[0] * w[f, 0])",
                )
            ]
        },
        "each filter sums over all channels",
        LOOP_PARTS,
    ),
    Mutant(
        "loop-first-image-only",
        "takes every window from the first image",
        {LOOP: [(WINDOW, WINDOW.replace("xp[n,", "xp[0,"))]},
        "y[n] comes from image n alone",
        LOOP_PARTS,
    ),
    Mutant(
        "loop-bias-on-every-filter",
        "adds b[f] to every output channel, not only to channel f",
        {LOOP: [("y[n, f] += b[f]", "y[n] += b[f]")]},
        "N = 2 images",  # the worked examples have one filter
        LOOP_PARTS,
    ),
    Mutant(
        "loop-integer-output",
        "an integer output array: the values are truncated",
        {
            LOOP: [
                (
                    "y = np.zeros((n_images, n_filters, h_out, w_out))",
                    "y = np.zeros((n_images, n_filters, h_out, w_out), dtype=int)",
                )
            ]
        },
        "to dtype('int64')",
        LOOP_PARTS,
    ),
    Mutant(
        "conv1x1-no-transpose",
        "flattens x without moving the channel axis first: images and channels mixed",
        {
            ONE: [
                ("x.transpose(1, 0, 2, 3).reshape(c, n * h * wd)", "x.reshape(c, n * h * wd)"),
                (
                    ".reshape(m.shape[0], n, h, wd).transpose(1, 0, 2, 3)",
                    ".reshape(n, m.shape[0], h, wd)",
                ),
            ]
        },
        "keep the image axis apart from the channel axis",
        ONE_PARTS,
        hidden_passes="N = 1",
    ),
    Mutant(
        "conv1x1-loops",
        "loops over the pixels instead of one matrix product",
        {
            ONE: [
                (
                    "    columns = x.transpose(1, 0, 2, 3).reshape(c, n * h * wd)\n"
                    "    y = (m @ columns).reshape(m.shape[0], n, h, wd).transpose(1, 0, 2, 3)\n",
                    "    y = np.zeros((n, m.shape[0], h, wd))\n"
                    "    for i in range(h):\n"
                    "        for j in range(wd):\n"
                    "            y[:, :, i, j] = x[:, :, i, j] @ m.T\n",
                )
            ]
        },
        "uses a Python for",
        ONE_PARTS,
    ),
    Mutant(
        "conv1x1-forgets-bias",
        "never adds the bias",
        {ONE: [("    if b is not None:\n", "    if False:\n")]},
        "b[f] is added to every pixel",
        ONE_PARTS,
        hidden_passes="no bias",
    ),
    Mutant(
        "params-forgets-bias",
        "counts the weights but not the biases",
        {
            COST: [
                (
                    "int(c_out * (c_in * kh * kw + (1 if bias else 0)))",
                    "int(c_out * c_in * kh * kw)",
                )
            ]
        },
        "one bias per filter",
        PARAMS_PARTS,
        hidden_passes="bias=False",
    ),
    Mutant(
        "params-one-bias-in-all",
        "one bias for the whole layer instead of one per filter",
        {
            COST: [
                (
                    "int(c_out * (c_in * kh * kw + (1 if bias else 0)))",
                    "int(c_out * c_in * kh * kw + (1 if bias else 0))",
                )
            ]
        },
        "one bias per filter",
        PARAMS_PARTS,
    ),
    Mutant(
        "flops-are-macs",
        "counts multiply-adds, not FLOPs",
        {COST: [("int(2 * c_in", "int(c_in")]},
        "a factor of 2 missing?",
        FLOPS_PARTS,
    ),
]
