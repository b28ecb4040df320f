"""Chapter 17's network for MNIST-1D, defined once: the chapter shows it and trains it, the
training script (``python -m cnnbook.train --model cnn``) and ``bench/mnist1d_network.py`` import
it from here.

A stem convolution to ``channels`` maps, four residual blocks of two dilated convolutions
(dilations 1, 2, 4, 8: receptive field ``1 + 2*2*(1 + 2 + 4 + 8) = 61`` positions, more than
the 40 of a signal), and a linear layer on all ``channels * length`` features. Padding ``d``
zeros on each side of a convolution of length 3 with dilation ``d`` keeps every layer at
``length`` positions.
"""

from __future__ import annotations

import torch
from torch import nn

from cnnbook.training import TrainConfig

# (channels, epochs) of the chapter's two profiles: the quick one must train on a laptop's CPU
# in about a minute per seed.
PROFILES = {"quick": (48, 12), "full": (64, 60)}


class Block(nn.Module):
    """(N, C, L) -> (N, C, L): two dilated convolutions, batch norm, a shortcut."""

    def __init__(self, channels, dilation, batch_norm=True, residual=True):
        super().__init__()

        def norm():
            return nn.BatchNorm1d(channels) if batch_norm else nn.Identity()

        def conv():
            return nn.Conv1d(
                channels, channels, 3, padding=dilation, dilation=dilation, bias=not batch_norm
            )

        self.body = nn.Sequential(conv(), norm(), nn.ReLU(), conv(), norm())
        self.residual = residual

    def forward(self, x):
        h = self.body(x)
        return (x + h if self.residual else h).relu()


class DilatedResNet(nn.Module):
    """(N, L) -> (N, 10): a stem convolution, four blocks, a linear layer on all L positions."""

    def __init__(
        self,
        channels=64,
        dilations=(1, 2, 4, 8),
        batch_norm=True,
        residual=True,
        length=40,
        classes=10,
    ):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv1d(1, channels, 3, padding=1, bias=not batch_norm),
            nn.BatchNorm1d(channels) if batch_norm else nn.Identity(),
            nn.ReLU(),
        )
        self.blocks = nn.Sequential(*(Block(channels, d, batch_norm, residual) for d in dilations))
        self.head = nn.Linear(channels * length, classes)

    def forward(self, x):
        h = self.blocks(self.stem(x.unsqueeze(1)))  # (N, channels, L)
        return self.head(h.flatten(1))


def our_config(epochs: int, seed: int, device: str | torch.device | None = None) -> TrainConfig:
    """The chapter's recipe: AdamW at 5e-3 with a one-cycle schedule, weight decay 1e-2, label
    smoothing 0.1, batches of 64."""
    return TrainConfig(
        epochs=epochs,
        batch_size=64,
        lr=5e-3,
        weight_decay=1e-2,
        label_smoothing=0.1,
        optimizer="adamw",
        schedule="onecycle",
        seed=seed,
        device=None if device is None else str(device),
    )
