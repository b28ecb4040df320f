"""Mistakes in separable: depthwise and pointwise convolutions, their backward passes, costs."""

from mutants import Mutant

DW, PW, DWB, PWB, COST = (
    "depthwise-solution",
    "pointwise-solution",
    "depthwise-backward-solution",
    "pointwise-backward-solution",
    "cost-solution",
)
DW_PARTS = {"depthwise", "depthwise-hidden"}
PW_PARTS = {"pointwise", "pointwise-hidden"}
DWB_PARTS = {"depthwise-backward", "depthwise-backward-hidden"}
PWB_PARTS = {"pointwise-backward", "pointwise-backward-hidden"}
COST_PARTS = {"cost", "cost-hidden"}

MUTANTS = [
    Mutant(
        "depthwise-sums-channels",
        "sums the window over the channels too, like a standard convolution",
        {
            DW: [
                (
                    "(window * w[:, 0]).sum(axis=(2, 3))",
                    "(window * w[:, 0]).sum(axis=(1, 2, 3))[:, None]",
                )
            ]
        },
        "y[n, c] uses x[n, c] and w[c, 0] only",
        DW_PARTS,
    ),
    Mutant(
        "depthwise-flips-kernel",
        "flips the kernel (a true convolution)",
        {DW: [("(window * w[:, 0]).sum", "(window * w[:, 0, ::-1, ::-1]).sum")]},
        "not flipped",
        DW_PARTS,
    ),
    Mutant(
        "depthwise-ignores-stride",
        "window (i, j) starts at (i, j) whatever the stride",
        {
            DW: [
                (
                    "window = xp[:, :, i * sh : i * sh + kh, j * sw : j * sw + kw]",
                    "window = xp[:, :, i : i + kh, j : j + kw]",
                )
            ]
        },
        "starts at (i*sh, j*sw)",
        DW_PARTS,
        hidden_passes="stride 1",
    ),
    Mutant(
        "depthwise-forgets-bias",
        "never adds the bias",
        {DW: [("    if b is not None:\n", "    if False:\n")]},
        "b[c] is added to every pixel of channel c",
        DW_PARTS,
        hidden_passes="no bias",
    ),
    Mutant(
        "pointwise-loops",
        "loops over the filters",
        {
            PW: [
                (
                    '    y = np.einsum("fc,nchw->nfhw", np.asarray(w, dtype=float)[:, :, 0, 0],\n'
                    "                  np.asarray(x, dtype=float))\n",
                    "    x = np.asarray(x, dtype=float)\n"
                    "    y = np.zeros((x.shape[0], w.shape[0], *x.shape[2:]))\n"
                    "    for f in range(w.shape[0]):\n"
                    "        y[:, f] = np.einsum('c,nchw->nhw', w[f, :, 0, 0], x)\n",
                )
            ]
        },
        "uses a Python for",
        PW_PARTS,
    ),
    Mutant(
        "pointwise-swaps-height-width",
        "writes the output's axes as (N, F, W, H)",
        {PW: [('"fc,nchw->nfhw"', '"fc,nchw->nfwh"')]},
        "transposed",
        PW_PARTS,
    ),
    Mutant(
        "pointwise-forgets-bias",
        "never adds the bias",
        {PW: [("    if b is not None:\n", "    if False:\n")]},
        "b[f] is added to every pixel of output channel f",
        PW_PARTS,
        hidden_passes="no bias",
    ),
    Mutant(
        "depthwise-backward-overwrites",
        "= instead of +=: an input in two windows keeps one share",
        {DWB: [("dxp[:, :, rows, cols] += g * w[:, 0]", "dxp[:, :, rows, cols] = g * w[:, 0]")]},
        "an input in two windows gets both shares",
        DWB_PARTS,
        hidden_passes="no overlap",
    ),
    Mutant(
        "depthwise-backward-keeps-padding",
        "returns the gradient of the padded input",
        {DWB: [("dx = dxp[:, :, ph : ph + h, pw : pw + wd]", "dx = dxp")]},
        "cut the padding off dxp",
        DWB_PARTS,
        hidden_passes="no padding",
    ),
    Mutant(
        "depthwise-backward-db-first-image",
        "db from the first image only: the batch is not summed",
        {DWB: [("db = dy.sum(axis=(0, 2, 3))", "db = dy[0].sum(axis=(1, 2))")]},
        "sum over the images",
        DWB_PARTS,
        hidden_passes="N = 1",
    ),
    Mutant(
        "depthwise-backward-dw-first-image",
        "dw from the first image only: the batch is not summed",
        {
            DWB: [
                (
                    "dw[:, 0] += (g * xp[:, :, rows, cols]).sum(axis=0)",
                    "dw[:, 0] += (g * xp[:, :, rows, cols])[0]",
                )
            ]
        },
        "sum over the images",
        DWB_PARTS,
        hidden_passes="N = 1",
    ),
    Mutant(
        "pointwise-backward-dw-matrix",
        "returns dw as the F x C matrix, not in the shape of w",
        {
            PWB: [
                (
                    'dw = np.einsum("nfhw,nchw->fc", dy, x)[:, :, None, None]',
                    'dw = np.einsum("nfhw,nchw->fc", dy, x)',
                )
            ]
        },
        "axes of length 1 are dropped",
        PWB_PARTS,
    ),
    Mutant(
        "pointwise-backward-db-per-image",
        "sums db over the pixels but not over the images",
        {PWB: [("db = dy.sum(axis=(0, 2, 3))", "db = dy.sum(axis=(2, 3))")]},
        "dy summed over the images and the pixels",
        PWB_PARTS,
    ),
    Mutant(
        "cost-separable-forgets-depthwise",
        "counts only the pointwise part of the separable layer",
        {COST: [("params = c_in * k * k + c_in * c_out", "params = c_in * c_out")]},
        "a depthwise part and a pointwise part",
        COST_PARTS,
    ),
    Mutant(
        "cost-flops-are-macs",
        "counts multiply-adds, not FLOPs",
        {
            COST: [
                (
                    "params = c_out * c_in * k * k\n    return int(params), int(2 * params",
                    "params = c_out * c_in * k * k\n    return int(params), int(params",
                ),
                (
                    "params = c_in * k * k + c_in * c_out\n    return int(params), int(2 * params",
                    "params = c_in * k * k + c_in * c_out\n    return int(params), int(params",
                ),
            ]
        },
        "a factor of 2 missing?",
        COST_PARTS,
    ),
]
