"""Mistakes in conv-gpu: launch configurations, the naive kernel, the tiled kernel."""

from mutants import Mutant

LAUNCH, NAIVE, TILED = "launch-solution", "naive-solution", "tiled-solution"
LAUNCH_PARTS = {"launch", "launch-hidden"}
NAIVE_PARTS = {"naive", "naive-hidden"}
TILED_PARTS = {"tiled", "tiled-hidden"}
CEIL = "return (n + threads_per_block - 1) // threads_per_block"

MUTANTS = [
    Mutant(
        "blocks-floor",
        "n // t blocks: the remainder gets no thread",
        {LAUNCH: [(CEIL, "return n // threads_per_block")]},
        "one more block for the remainder",
        LAUNCH_PARTS,
    ),
    Mutant(
        "blocks-always-one-more",
        "n // t + 1 blocks: one block too many when t divides n",
        {LAUNCH: [(CEIL, "return n // threads_per_block + 1")]},
        "exactly n / t blocks, not one more",
        LAUNCH_PARTS,
        hidden_passes="n not a multiple",
    ),
    Mutant(
        "blocks-float-ceil",
        "ceil of a float division: wrong for n above 2**53",
        {LAUNCH: [(CEIL, "return int(np.ceil(n / threads_per_block))")]},
        "integers only",
        LAUNCH_PARTS,
        hidden_passes="n not a multiple",
    ),
    Mutant(
        "naive-launch-forgets-images",
        "one thread per output of one image",
        {
            LAUNCH: [
                (
                    "blocks_per_grid(n_images * n_filters * oh * ow,",
                    "blocks_per_grid(n_filters * oh * ow,",
                )
            ]
        },
        "a thread for every output of every image and filter",
        LAUNCH_PARTS,
    ),
    Mutant(
        "tiled-grid-rows-first",
        "the grid's x runs over the rows instead of the columns",
        {
            LAUNCH: [
                (
                    "grid = (blocks_per_grid(ow, tile), blocks_per_grid(oh, tile),",
                    "grid = (blocks_per_grid(oh, tile), blocks_per_grid(ow, tile),",
                )
            ]
        },
        "the right values in the wrong order",
        LAUNCH_PARTS,
    ),
    Mutant(
        "naive-no-bound-check",
        "no check of t against the size of y: the last block's extra threads write past it",
        {NAIVE: [("if t < n_images * n_filters * oh * ow:", "if True:")]},
        "out of bounds",
        NAIVE_PARTS,
    ),
    Mutant(
        "naive-ignores-stride",
        "input row i + a - padding whatever the stride",
        {
            NAIVE: [
                ("row = i * stride + a - padding", "row = i + a - padding"),
                ("col = j * stride + bb - padding", "col = j + bb - padding"),
            ]
        },
        "i*stride + a - padding",
        NAIVE_PARTS,
    ),
    Mutant(
        "naive-forgets-bias",
        "never adds the bias",
        {NAIVE: [("y[n, f, i, j] = acc + b[f]", "y[n, f, i, j] = acc")]},
        "a bias?",
        NAIVE_PARTS,
    ),
    Mutant(
        "naive-padding-not-subtracted",
        "input row i*stride + a: the padding is never subtracted",
        {
            NAIVE: [
                ("row = i * stride + a - padding", "row = i * stride + a"),
                ("col = j * stride + bb - padding", "col = j * stride + bb"),
            ]
        },
        "i*stride + a - padding",
        NAIVE_PARTS,
    ),
    Mutant(
        "tiled-patch-corner-without-stride",
        "the patch of block (bx, by) starts at by*tile - padding",
        {
            TILED: [
                (
                    "row0 = cuda.blockIdx.y * tile * stride - padding",
                    "row0 = cuda.blockIdx.y * tile - padding",
                ),
                (
                    "col0 = cuda.blockIdx.x * tile * stride - padding",
                    "col0 = cuda.blockIdx.x * tile - padding",
                ),
            ]
        },
        "by*tile*stride - padding",
        TILED_PARTS,
    ),
    Mutant(
        "tiled-forgets-bias",
        "never adds the bias",
        {TILED: [("y[n, f, row, col] = acc + b[f]", "y[n, f, row, col] = acc")]},
        "a bias?",
        TILED_PARTS,
    ),
    Mutant(
        "tiled-no-output-guard",
        "writes the outputs of threads past the edge of y",
        {TILED: [("if row < y.shape[2] and col < y.shape[3]:", "if True:")]},
        "out of bounds",
        TILED_PARTS,
    ),
]
