"""Mistakes in conv-backward: the loop and im2col backward passes, the gradient checker."""

from mutants import Mutant

LOOP, IM2COL, GRAD = (
    "backward-loop-solution",
    "backward-im2col-solution",
    "gradient-check-solution",
)
LOOP_PARTS = {"backward-loop", "backward-loop-hidden"}
IM2COL_PARTS = {"backward-im2col", "backward-im2col-hidden"}
RELERR_PARTS = {"relative-error", "relative-error-hidden"}
NUMGRAD_PARTS = {"numerical-gradient", "numerical-gradient-hidden"}
RATIO = "np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), eps))"

MUTANTS = [
    Mutant(
        "loop-overwrites-dx",
        "= instead of +=: an input in two windows keeps one share",
        {LOOP: [("dxp[n, :, rows, cols] += dy", "dxp[n, :, rows, cols] = dy")]},
        "an input in two windows gets both shares",
        LOOP_PARTS,
        hidden_passes="dw",
    ),
    Mutant(
        "loop-keeps-padding",
        "returns the gradient of the padded input",
        {LOOP: [("dx = dxp[:, :, ph : ph + h, pw : pw + wd]", "dx = dxp")]},
        "or padding?",
        LOOP_PARTS,
        hidden_passes="no padding",
    ),
    Mutant(
        "loop-db-first-image",
        "db from the first image only: the batch is not summed",
        {LOOP: [("db = dy.sum(axis=(0, 2, 3))", "db = dy[0].sum(axis=(1, 2))")]},
        "sum over the images",
        LOOP_PARTS,
        hidden_passes="N = 1",
    ),
    Mutant(
        "loop-db-mean",
        "averages dy for db instead of summing it",
        {LOOP: [("db = dy.sum(axis=(0, 2, 3))", "db = dy.mean(axis=(0, 2, 3))")]},
        "dy summed over the images and the positions",
        LOOP_PARTS,
    ),
    Mutant(
        "loop-ignores-stride",
        "window (i, j) starts at (i, j) whatever the stride",
        {
            LOOP: [
                ("rows = slice(i * sh, i * sh + kh)", "rows = slice(i, i + kh)"),
                ("cols = slice(j * sw, j * sw + kw)", "cols = slice(j, j + kw)"),
            ]
        },
        "starts at (i*sh, j*sw)",
        LOOP_PARTS,
    ),
    Mutant(
        "im2col-dw-first-image",
        "dW from the first image only: the batch is not summed",
        {IM2COL: [(".sum(axis=0).reshape(w.shape)", "[0].reshape(w.shape)")]},
        "sum over the images",
        IM2COL_PARTS,
        hidden_passes="N = 1",
    ),
    Mutant(
        "im2col-dw-generator",
        "sums the images' dW in a generator expression",
        {
            IM2COL: [
                (
                    "dw = (dy_mat @ cols.transpose(0, 2, 1)).sum(axis=0).reshape(w.shape)",
                    "dw = sum(dy_mat[k] @ cols[k].T for k in range(n_images)).reshape(w.shape)",
                )
            ]
        },
        "generator expression",
        IM2COL_PARTS,
    ),
    Mutant(
        "im2col-db-per-image",
        "sums db over the positions but not over the images",
        {IM2COL: [("db = dy_mat.sum(axis=(0, 2))", "db = dy_mat.sum(axis=2)")]},
        "dy summed over the images and the positions",
        IM2COL_PARTS,
    ),
    Mutant(
        "im2col-col2im-without-padding",
        "forgets to pass the padding on to col2im",
        {
            IM2COL: [
                (
                    "dx = col2im(dcols, x.shape, kh, kw, stride, padding)",
                    "dx = col2im(dcols, x.shape, kh, kw, stride)",
                )
            ]
        },
        "copies from the padding are dropped",
        IM2COL_PARTS,
        hidden_passes="no padding",
    ),
    Mutant(
        "relative-error-global-ratio",
        "one global ratio max|a - b| / max(|a| + |b|) instead of entry by entry",
        {GRAD: [(RATIO, "np.max(np.abs(a - b)) / max(np.max(np.abs(a) + np.abs(b)), eps)")]},
        "entry by entry",
        RELERR_PARTS,
    ),
    Mutant(
        "relative-error-signed",
        "forgets the absolute value of a - b",
        {GRAD: [("np.max(np.abs(a - b) /", "np.max((a - b) /")]},
        "whatever the sign",
        RELERR_PARTS,
    ),
    Mutant(
        "relative-error-array",
        "returns a 0-d array, not a float",
        {GRAD: [(f"return float({RATIO})", f"return np.asarray({RATIO})")]},
        "isinstance(relative_error(a, b), float)",
        RELERR_PARTS,
    ),
    Mutant(
        "gradient-one-sided",
        "one-sided differences (f(x + h) - f(x)) / h",
        {
            GRAD: [
                ("x[idx] = old - h\n", "x[idx] = old\n"),
                ("grad[idx] = (f_plus - f_minus) / (2 * h)", "grad[idx] = (f_plus - f_minus) / h"),
            ]
        },
        "centered differences",
        NUMGRAD_PARTS,
    ),
    Mutant(
        "gradient-forgets-restore",
        "never puts the old value back: x is changed",
        {GRAD: [("        x[idx] = old\n        grad", "        grad")]},
        "x after numerical_gradient",
        NUMGRAD_PARTS,
    ),
    Mutant(
        "gradient-divides-by-h",
        "divides the centered difference by h, not 2h",
        {
            GRAD: [
                ("grad[idx] = (f_plus - f_minus) / (2 * h)", "grad[idx] = (f_plus - f_minus) / h")
            ]
        },
        "2 times the expected one",
        NUMGRAD_PARTS,
    ),
]
