"""Helpers of the GPU kernels: the simulator switch, quicker barriers in it, device arrays and
the output shape of a valid convolution."""

from __future__ import annotations

import contextlib
import sys

import numpy as np
from numba import cuda


def simulated() -> bool:
    """True when numba runs CUDA kernels in its simulator (``NUMBA_ENABLE_CUDASIM=1``)."""
    return cuda.jit.__module__.startswith("numba.cuda.simulator")


@contextlib.contextmanager
def quick_barriers(seconds: float = 1e-4):
    """Let the simulator's barriers cost less: hand the interpreter between threads sooner.

    The simulator's main thread watches its GPU threads in a loop, and a thread released from
    a barrier waits until Python hands it the interpreter (every 5 ms by default), so a kernel
    with barriers spends most of its time waiting. A shorter switch interval (here 0.1 ms)
    made the chapter's kernels with barriers 5-8 times faster in the simulator. It changes
    nothing but speed.
    """
    before = sys.getswitchinterval()
    sys.setswitchinterval(seconds)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def to_device(a):
    """A float32 copy of a NumPy array in the GPU's global memory (device arrays pass through)."""
    if not isinstance(a, np.ndarray):
        return a
    return cuda.to_device(np.ascontiguousarray(a, dtype=np.float32))


def conv_output_shape(height: int, width: int, kh: int, kw: int) -> tuple[int, int]:
    """Valid convolution, stride 1: ``(H - KH + 1, W - KW + 1)``."""
    oh, ow = height - kh + 1, width - kw + 1
    if oh < 1 or ow < 1:
        raise ValueError(f"kernel {kh}x{kw} is larger than the image {height}x{width}")
    return oh, ow
