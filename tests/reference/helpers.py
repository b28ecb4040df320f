"""What the reference tests share: PyTorch as the oracle, tolerances per dtype."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

DTYPES = [np.float64, np.float32]

# float64 agrees with PyTorch to rounding; float32 results are compared with PyTorch in float64
# on the same (float32-rounded) inputs, so the tolerance covers float32 accumulation.
TOLERANCES = {np.float64: {"rtol": 1e-10, "atol": 1e-10}, np.float32: {"rtol": 1e-4, "atol": 1e-4}}


def tensor(a: np.ndarray, requires_grad: bool = False) -> torch.Tensor:
    """A float64 tensor of ``a`` (PyTorch is the oracle, always in float64)."""
    return torch.tensor(np.array(a, dtype=np.float64), requires_grad=requires_grad)


def torch_pad(t: torch.Tensor, pads, value: float = 0.0) -> torch.Tensor:
    """Pad the last dims with ``pads`` given as ``((top, bottom), (left, right))`` or
    ``(before, after)``: what PyTorch's ``padding=`` cannot say (asymmetric 'same')."""
    if isinstance(pads[0], int):
        pads = (pads,)
    flat = [p for pair in reversed(pads) for p in pair]  # F.pad starts from the last dim
    return F.pad(t, flat, value=value)


def assert_matches(actual: np.ndarray, expected, dtype, what: str = "") -> None:
    """Same dtype as the input, same shape, values within the dtype's tolerance."""
    if isinstance(expected, torch.Tensor):
        expected = expected.detach().numpy()
    assert isinstance(actual, np.ndarray), f"{what}: expected an ndarray, got {type(actual)}"
    assert actual.dtype == dtype, f"{what}: dtype {actual.dtype}, expected {np.dtype(dtype)}"
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    np.testing.assert_allclose(actual, expected, err_msg=what, **TOLERANCES[dtype])


def random(rng: np.random.Generator, shape, dtype) -> np.ndarray:
    """Uniform values in [-1, 1) of ``dtype``."""
    return rng.uniform(-1.0, 1.0, size=shape).astype(dtype)
