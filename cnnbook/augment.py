"""Data augmentation for batches of images that are already on the training device.

``fit(..., augment=...)`` calls the function on every training batch after moving it to the
device, so the random crops and flips cost no data-loader work and run on the GPU when there is
one. The random numbers come from PyTorch's generator of the batch's device, which
``seed_everything`` seeds: runs stay reproducible.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F


def random_shift(x: torch.Tensor, pad: int, flip: bool = False) -> torch.Tensor:
    """Shift each image of ``x`` ``(N, C, H, W)`` by its own random offset in
    ``[-pad, pad]`` pixels along both axes, filling with zeros, and (``flip=True``) mirror each
    image left-right with probability 1/2.

    This is the "pad by ``pad`` and take a random ``H×W`` crop" augmentation of CIFAR training:
    output pixel ``(i, j)`` of image ``n`` is padded pixel ``(i + dy_n, j + dx_n)`` with
    ``dy_n, dx_n`` uniform in ``0..2 pad``. Returns a new tensor of the same shape.
    """
    if x.dim() != 4:
        raise ValueError(f"x must be a batch of images (N, C, H, W), got shape {tuple(x.shape)}")
    if pad < 0:
        raise ValueError(f"pad must be >= 0, got {pad}")
    n, c, h, w = x.shape
    out = x
    if pad > 0:
        padded = F.pad(x, (pad, pad, pad, pad))
        dy = torch.randint(0, 2 * pad + 1, (n,), device=x.device)
        dx = torch.randint(0, 2 * pad + 1, (n,), device=x.device)
        rows = (dy[:, None] + torch.arange(h, device=x.device))[:, None, :, None]  # (N,1,H,1)
        cols = (dx[:, None] + torch.arange(w, device=x.device))[:, None, None, :]  # (N,1,1,W)
        batch = torch.arange(n, device=x.device)[:, None, None, None]
        channel = torch.arange(c, device=x.device)[None, :, None, None]
        out = padded[batch, channel, rows, cols]
    if flip:
        mirror = torch.rand(n, device=x.device) < 0.5
        out = torch.where(mirror[:, None, None, None], out.flip(3), out)
    if x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
        out = out.contiguous(memory_format=torch.channels_last)  # keep fit's memory format
    return out


def shift_and_flip(pad: int, flip: bool) -> Callable[[torch.Tensor], torch.Tensor]:
    """``random_shift`` with fixed settings, to pass as ``fit(..., augment=...)``."""

    def augment(x: torch.Tensor) -> torch.Tensor:
        return random_shift(x, pad, flip)

    return augment
