"""Mistakes in batchnorm: statistics, running averages, evaluation mode, the backward pass."""

from mutants import Mutant

FWD, RUN, EVAL, BWD, GRAD = (
    "forward-solution",
    "running-solution",
    "eval-solution",
    "backward-solution",
    "gradient-check-solution",
)
FWD_PARTS = {"forward", "forward-hidden"}
RUN_PARTS = {"running", "running-hidden"}
EVAL_PARTS = {"eval", "eval-hidden"}
BWD_PARTS = {"backward", "backward-hidden"}
RELERR_PARTS = {"relative-error", "relative-error-hidden"}
NUMGRAD_PARTS = {"numerical-gradient", "numerical-gradient-hidden"}
RATIO = "np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), eps))"
EVAL_HAT = (
    "x_hat = (x - np.reshape(running_mean, shape)) / np.sqrt(np.reshape(running_var, shape) + eps)"
)

MUTANTS = [
    Mutant(
        "forward-unbiased-variance",
        "normalizes with the unbiased variance (m - 1)",
        {
            FWD: [
                (
                    "var = x.var(axis=(0, 2, 3), keepdims=True)",
                    "var = x.var(axis=(0, 2, 3), keepdims=True, ddof=1)",
                )
            ]
        },
        "the biased variance divides by m",
        FWD_PARTS,
    ),
    Mutant(
        "forward-statistics-per-image",
        "takes the statistics of each image (axes 2, 3) instead of the batch's",
        {
            FWD: [
                (
                    "mean = x.mean(axis=(0, 2, 3), keepdims=True)",
                    "mean = x.mean(axis=(2, 3), keepdims=True)",
                ),
                (
                    "var = x.var(axis=(0, 2, 3), keepdims=True)",
                    "var = x.var(axis=(2, 3), keepdims=True)",
                ),
            ]
        },
        "statistics per channel over the batch and the positions",
        FWD_PARTS,
        hidden_passes="one image",
    ),
    Mutant(
        "forward-eps-outside-root",
        "adds eps to the standard deviation, not to the variance",
        {FWD: [("np.sqrt(var + eps)", "(np.sqrt(var) + eps)")]},
        "eps inside the square root",
        FWD_PARTS,
    ),
    Mutant(
        "forward-changes-x",
        "subtracts the mean from x in place",
        {
            FWD: [
                (
                    "x_hat = (x - mean) / np.sqrt(var + eps)",
                    "x -= mean\n    x_hat = x / np.sqrt(var + eps)",
                )
            ]
        },
        "x after batchnorm_forward",
        FWD_PARTS,
    ),
    Mutant(
        "running-biased-variance",
        "updates the running variance with the biased variance",
        {RUN: [("batch_var = x.var(axis=(0, 2, 3), ddof=1)", "batch_var = x.var(axis=(0, 2, 3))")]},
        "unbiased variance",
        RUN_PARTS,
    ),
    Mutant(
        "running-momentum-swapped",
        "momentum weighs the old statistics instead of the new batch",
        {
            RUN: [
                (
                    "new_mean = (1 - momentum) * np.asarray(running_mean, dtype=float) + momentum * batch_mean",
                    "new_mean = momentum * np.asarray(running_mean, dtype=float) + (1 - momentum) * batch_mean",
                ),
                (
                    "new_var = (1 - momentum) * np.asarray(running_var, dtype=float) + momentum * batch_var",
                    "new_var = momentum * np.asarray(running_var, dtype=float) + (1 - momentum) * batch_var",
                ),
            ]
        },
        "momentum weighs the new batch",
        RUN_PARTS,
    ),
    Mutant(
        "running-in-place",
        "updates the running statistics it is given in place",
        {
            RUN: [
                (
                    "new_mean = (1 - momentum) * np.asarray(running_mean, dtype=float) + momentum * batch_mean",
                    "running_mean *= 1 - momentum\n    running_mean += momentum * batch_mean\n"
                    "    new_mean = running_mean",
                ),
            ]
        },
        "do not change the one you are given",
        RUN_PARTS,
    ),
    Mutant(
        "eval-batch-statistics",
        "normalizes with the statistics of x in evaluation mode",
        {
            EVAL: [
                (
                    EVAL_HAT,
                    "x_hat = (x - x.mean(axis=(0, 2, 3), keepdims=True)) / np.sqrt("
                    "x.var(axis=(0, 2, 3), keepdims=True) + eps)",
                )
            ]
        },
        "not x's statistics",
        EVAL_PARTS,
    ),
    Mutant(
        "eval-forgets-eps",
        "forgets eps in evaluation mode",
        {EVAL: [(EVAL_HAT, EVAL_HAT.replace(" + eps)", ")"))]},
        "eps inside the square root",
        EVAL_PARTS,
    ),
    Mutant(
        "backward-dx-two-terms",
        "forgets the term of dx that comes through the variance",
        {
            BWD: [
                (
                    "\n          - x_hat * (g_hat * x_hat).sum(axis=axes, keepdims=True)) / (m * s)",
                    ") / (m * s)",
                )
            ]
        },
        "dx has three terms",
        BWD_PARTS,
    ),
    Mutant(
        "backward-dgamma-without-x-hat",
        "dgamma as the sum of dy, like dbeta",
        {BWD: [("return dx, (dy * x_hat).sum(axis=axes)", "return dx, dy.sum(axis=axes)")]},
        "dy times x_hat, summed per channel",
        BWD_PARTS,
    ),
    Mutant(
        "relative-error-global-ratio",
        "one global ratio max|a - b| / max(|a| + |b|) instead of entry by entry",
        {GRAD: [(RATIO, "np.max(np.abs(a - b)) / max(np.max(np.abs(a) + np.abs(b)), eps)")]},
        "entry by entry",
        RELERR_PARTS,
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
