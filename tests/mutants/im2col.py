"""Mistakes in im2col: the column layout, col2im's overlaps and padding, the matrix product."""

from mutants import Mutant

IM2COL, COL2IM, CONV = "im2col-solution", "col2im-solution", "conv2d-im2col-solution"
IM2COL_PARTS = {"im2col", "im2col-hidden"}
COL2IM_PARTS = {"col2im", "col2im-hidden"}
CONV_PARTS = {"conv2d-im2col", "conv2d-im2col-hidden"}
ROWS = "rows = np.repeat(np.arange(h_out), w_out)[None, :] * sh"
COLS_IM2COL = "cols = np.tile(np.arange(w_out), h_out)[None, :] * sw"
COLS_COL2IM = "columns = np.tile(np.arange(w_out), h_out)[None, :] * sw"

MUTANTS = [
    Mutant(
        "im2col-kernel-before-channel",
        "rows run over the kernel position first, then the channel",
        {
            IM2COL: [
                (
                    "return xp[:, :, rows, cols].reshape(",
                    "return xp[:, :, rows, cols].transpose(0, 2, 1, 3).reshape(",
                )
            ]
        },
        "the right values in the wrong places",
        IM2COL_PARTS,
    ),
    Mutant(
        "im2col-windows-column-by-column",
        "orders the windows column by column instead of row by row",
        {
            IM2COL: [
                ("np.repeat(np.arange(h_out), w_out)", "np.tile(np.arange(h_out), w_out)"),
                ("np.tile(np.arange(w_out), h_out)", "np.repeat(np.arange(w_out), h_out)"),
            ]
        },
        "the right values in the wrong places",
        IM2COL_PARTS,
    ),
    Mutant(
        "im2col-comprehension",
        "one slice per kernel position, in a list comprehension",
        {
            IM2COL: [
                (
                    "    # rows[u*kw",
                    "    windows = [xp[:, :, u : u + sh * (h_out - 1) + 1 : sh,"
                    " v : v + sw * (w_out - 1) + 1 : sw] for u in range(kh) for v in range(kw)]\n"
                    "    return np.stack(windows, axis=2).reshape(n, c * kh * kw, h_out * w_out)\n"
                    "    # rows[u*kw",
                )
            ]
        },
        "uses a Python list comprehension",
        IM2COL_PARTS,
    ),
    Mutant(
        "im2col-ignores-stride",
        "window (i, j) starts at (i, j) whatever the stride",
        {IM2COL: [(ROWS, ROWS[: -len(" * sh")]), (COLS_IM2COL, COLS_IM2COL[: -len(" * sw")])]},
        "starts at (i*sh, j*sw)",
        IM2COL_PARTS,
        hidden_passes="stride 1",
    ),
    Mutant(
        "im2col-forgets-padding",
        "takes the windows of the unpadded input (and sizes the output without padding)",
        {
            IM2COL: [
                ("(h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw)", "(h - kh) // sh + 1, (w - kw)"),
                ("xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))", "xp = x"),
            ]
        },
        "pad H and W with zeros before taking windows",
        IM2COL_PARTS,
    ),
    Mutant(
        "col2im-fancy-plus-equals",
        "xp[rows, cols] += values: a pixel in two windows keeps only one share",
        {
            COL2IM: [
                (
                    "np.add.at(xp, (slice(None), slice(None), rows, columns), values)",
                    "xp[:, :, rows, columns] += values",
                )
            ]
        },
        "a pixel in two windows gets both shares",
        COL2IM_PARTS,
        hidden_passes="no overlap",
    ),
    Mutant(
        "col2im-keeps-padding",
        "returns the padded image",
        {COL2IM: [("return xp[:, :, ph : ph + h, pw : pw + w]", "return xp")]},
        "or padding?",
        COL2IM_PARTS,
    ),
    Mutant(
        "col2im-crops-the-end",
        "cuts the padding off the end only",
        {COL2IM: [("return xp[:, :, ph : ph + h, pw : pw + w]", "return xp[:, :, :h, :w]")]},
        "drop ph rows at the top and ph at the bottom",
        COL2IM_PARTS,
    ),
    Mutant(
        "col2im-ignores-stride",
        "adds window (i, j) at (i, j) whatever the stride",
        {COL2IM: [(ROWS, ROWS[: -len(" * sh")]), (COLS_COL2IM, COLS_COL2IM[: -len(" * sw")])]},
        "starts at (i*sh, j*sw)",
        COL2IM_PARTS,
    ),
    Mutant(
        "col2im-integer-image",
        "an integer image to add into",
        {
            COL2IM: [
                (
                    "xp = np.zeros((n, c, h + 2 * ph, w + 2 * pw))",
                    "xp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=int)",
                )
            ]
        },
        "stored in an integer array",
        COL2IM_PARTS,
    ),
    Mutant(
        "conv-forgets-bias",
        "never adds the bias",
        {CONV: [("    if b is not None:\n", "    if False:\n")]},
        "b[f] is added to every column",
        CONV_PARTS,
        hidden_passes="no bias",
    ),
    Mutant(
        "conv-kernel-transposed",
        "flattens each kernel column by column",
        {CONV: [("y = w.reshape(f, -1) @", "y = w.transpose(0, 1, 3, 2).reshape(f, -1) @")]},
        "in the order of im2col's rows",
        CONV_PARTS,
    ),
    Mutant(
        "conv-reshape-filters-first",
        "reshapes the product as (F, N, H', W'): filters and images mixed",
        {
            CONV: [
                (
                    "return y.reshape(n, f, h_out, w_out)",
                    "return y.reshape(f, n, h_out, w_out).transpose(1, 0, 2, 3)",
                )
            ]
        },
        "the right values in the wrong places",
        CONV_PARTS,
    ),
]
