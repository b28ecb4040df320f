"""Convolution on a GPU, written by hand: the numba.cuda kernels of chapter 07.

Defined once, in this package (``device``: helpers; ``teaching``: the single-image sequence;
``layers``: channels, filters and pooling; ``backward``: the weight gradient): the chapter shows
their source (``literalinclude``) and runs them in numba's CUDA simulator,
``tests/cnnbook/test_gpu_kernels.py`` checks them against ``autograder.reference`` in the
simulator, and ``bench/gpu_kernels.py`` times exactly these
kernels on a real GPU against cuDNN.

What is here, and what is deliberately not
------------------------------------------
The graded assignment ``conv-gpu`` asks learners for a *naive* and a *tiled* kernel of the
multi-channel, multi-filter NCHW convolution *with stride and padding*. Neither of those two
kernels is in this module or on the chapter's page, and none must be added (a learner can read
both). The kernels here teach the same ideas on problems specialised differently:

* the teaching sequence (one thread per output, 2D blocks, shared-memory tiles with a halo)
  works on **one single-channel image and one filter, stride 1, no padding**. Everything a GPU
  kernel needs is there (indexing, the bounds check, the halo load, the barrier); what the
  assignment adds is the channel sum, the batch and filter axes, the stride and the padding
  (whose bounds checks belong inside the halo load);
* the one kernel that takes channels and filters (:func:`make_blocked_conv2d_kernel`) is
  specialised the other way: stride 1 only, an input that the caller has **already padded**
  (:func:`pad_images`; no padding logic in the kernel), several filters per thread in
  registers, the weights staged in shared memory and the input read straight from global
  memory (no halo tile). It is neither of the assignment's kernels;
* pooling (:func:`max_pool2d`, non-overlapping windows) and the weight gradient of a stride-1
  convolution of a pre-padded input (:func:`conv2d_dw_atomic`, :func:`conv2d_dw_two_pass`) are
  not part of the assignment.

The simulator
-------------
Set ``NUMBA_ENABLE_CUDASIM=1`` before numba is imported and ``@cuda.jit`` kernels run on the
CPU, each GPU thread as a Python thread (numba 0.68.1 ships the simulator: no extra package).
It is slow (keep sizes tiny) and it is stricter than a GPU in one useful way: an out-of-bounds
index past the end of an array raises ``IndexError`` naming the thread (``tid``) and block
(``ctaid``) that made it, where a GPU would read or overwrite some other memory without a word
(a negative index wraps around, as in NumPy, unreported). The threads of a block start one
after another and each runs until a barrier (``cuda.syncthreads()``) stops it or Python
switches threads, so a missing barrier shows up as wrong numbers (in every run we tried);
blocks run one after another, so races between blocks never show. :func:`simulated` tells
which target numba is using. Importing this package in the simulator makes its shared arrays
safe to create from many threads (:mod:`autograder.cuda_simulator`: numba's are not, and a
correct tiled kernel failed now and then without it).

All kernels are float32: inputs, weights and accumulators (a Python ``0.0`` would make the
accumulator float64, which runs at half speed or worse on most GPUs).
"""

from __future__ import annotations

from cnnbook.gpu.backward import (
    conv2d_dw_atomic,
    conv2d_dw_two_pass,
    make_dw_block_sums_kernel,
    sum_partials_kernel,
)
from cnnbook.gpu.device import (
    conv_output_shape,
    quick_barriers,
    simulated,
    to_device,
)
from cnnbook.gpu.layers import (
    conv2d_blocked,
    make_blocked_conv2d_kernel,
    max_pool2d,
    max_pool2d_kernel,
    pad_images,
    pad_images_kernel,
)
from cnnbook.gpu.teaching import (
    conv2d_blocks2d,
    conv2d_blocks2d_kernel,
    conv2d_naive,
    conv2d_naive_kernel,
    conv2d_tiled,
    conv2d_uncoalesced,
    conv2d_uncoalesced_kernel,
    make_tiled_conv2d_kernel,
)

__all__ = [
    "simulated",
    "quick_barriers",
    "to_device",
    "conv_output_shape",
    "conv2d_naive_kernel",
    "conv2d_naive",
    "conv2d_blocks2d_kernel",
    "conv2d_blocks2d",
    "conv2d_uncoalesced_kernel",
    "conv2d_uncoalesced",
    "make_tiled_conv2d_kernel",
    "conv2d_tiled",
    "pad_images_kernel",
    "pad_images",
    "make_blocked_conv2d_kernel",
    "conv2d_blocked",
    "max_pool2d_kernel",
    "max_pool2d",
    "make_dw_block_sums_kernel",
    "sum_partials_kernel",
    "conv2d_dw_atomic",
    "conv2d_dw_two_pass",
]

if simulated():
    from autograder.cuda_simulator import share_arrays_safely

    share_arrays_safely()
