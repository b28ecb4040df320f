"""Residual networks (He et al., 2015): basic and bottleneck blocks, the ImageNet ResNets and
the small-image ResNet of the training chapters, in plain ``torch.nn``.

:mod:`cnnbook.models` re-exports everything here, with the other classic networks; the
parameter counts are in its table.
"""

from __future__ import annotations

import torch
from torch import nn


def projection(in_channels: int, out_channels: int, stride: int) -> nn.Module:
    """The shortcut of a residual block: the identity when the shapes agree, else a 1×1 conv
    (stride ``stride``, no bias) + batch norm that maps the input to the output's shape."""
    if stride == 1 and in_channels == out_channels:
        return nn.Identity()
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
        nn.BatchNorm2d(out_channels),
    )


class BasicBlock(nn.Module):
    """``y = relu(F(x) + shortcut(x))`` with ``F = bn2 ∘ conv2 ∘ relu ∘ bn1 ∘ conv1``, two 3×3
    convolutions (no bias; the first has stride ``stride``).

    ``(N, in_channels, H, W) → (N, out_channels, H', W')`` with ``H' = (H - 1) // stride + 1``.
    """

    expansion = 1

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = projection(in_channels, out_channels, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class Bottleneck(nn.Module):
    """``y = relu(F(x) + shortcut(x))`` with ``F``: 1×1 conv to ``mid_channels``, 3×3 conv
    (stride ``stride``), 1×1 conv to ``4 * mid_channels``, each followed by batch norm and all
    but the last by ReLU (no conv bias). The stride sits on the 3×3 conv (torchvision, "v1.5").

    ``(N, in_channels, H, W) → (N, 4 * mid_channels, H', W')``, ``H' = (H - 1) // stride + 1``.
    """

    expansion = 4

    def __init__(self, in_channels: int, mid_channels: int, stride: int = 1):
        super().__init__()
        out_channels = self.expansion * mid_channels
        self.conv1 = nn.Conv2d(in_channels, mid_channels, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid_channels)
        self.conv2 = nn.Conv2d(mid_channels, mid_channels, 3, stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(mid_channels)
        self.conv3 = nn.Conv2d(mid_channels, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.shortcut = projection(in_channels, out_channels, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = torch.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return torch.relu(out + self.shortcut(x))


# blocks per stage (stages of 64, 128, 256, 512 channels before expansion), He et al. Table 1
RESNET_CONFIGS = {
    18: (BasicBlock, (2, 2, 2, 2)),
    34: (BasicBlock, (3, 4, 6, 3)),
    50: (Bottleneck, (3, 4, 6, 3)),
    101: (Bottleneck, (3, 4, 23, 3)),
    152: (Bottleneck, (3, 8, 36, 3)),
}


def resnet_stage(
    block: type[nn.Module], in_channels: int, channels: int, num_blocks: int, stride: int
) -> nn.Sequential:
    """``num_blocks`` blocks; the first has stride ``stride`` (and a projection shortcut when
    the shape changes), the others keep the shape."""
    blocks = []
    for i in range(num_blocks):
        blocks.append(block(in_channels, channels, stride if i == 0 else 1))
        in_channels = channels * block.expansion
    return nn.Sequential(*blocks)


def resnet(depth: int = 18, num_classes: int = 1000, widths=(64, 128, 256, 512)) -> nn.Sequential:
    """ResNet-``depth`` (18, 34, 50, 101 or 152) for 224×224×3 inputs: a 7×7/2 conv and a 3×3/2
    max pool (224 → 56), four stages (56, 28, 14, 7), global average pooling, one dense layer."""
    if depth not in RESNET_CONFIGS:
        raise ValueError(f"depth must be one of {sorted(RESNET_CONFIGS)}, got {depth}")
    block, counts = RESNET_CONFIGS[depth]
    stem = widths[0]
    layers: list[nn.Module] = [
        nn.Conv2d(3, stem, 7, stride=2, padding=3, bias=False),
        nn.BatchNorm2d(stem),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(3, stride=2, padding=1),
    ]
    in_channels = stem
    for i, (width, count) in enumerate(zip(widths, counts, strict=True)):
        layers.append(resnet_stage(block, in_channels, width, count, 1 if i == 0 else 2))
        in_channels = width * block.expansion
    layers += [nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(in_channels, num_classes)]
    return nn.Sequential(*layers)


def resnet_small_images(
    depth: int = 18, num_classes: int = 10, widths=(64, 128, 256, 512), in_channels: int = 3
) -> nn.Sequential:
    """ResNet-``depth`` for 32×32 inputs such as CIFAR-10 (He et al.'s Table 1 blocks).

    The ImageNet stem (a 7×7/2 convolution and a 3×3/2 max pool, 224 → 56) would shrink a 32×32
    image to 8×8 before the first stage. Small-image ResNets replace it by one 3×3 convolution
    with stride 1, so the four stages run at 32, 16, 8 and 4 pixels:
    ``(N, in_channels, 32, 32) → (N, num_classes)``. ``widths`` are the stages' channels
    (before expansion); ``(16, 32, 64, 128)`` gives a quarter-width network with about 1/16 of
    the multiply-adds, for CPUs.
    """
    if depth not in RESNET_CONFIGS:
        raise ValueError(f"depth must be one of {sorted(RESNET_CONFIGS)}, got {depth}")
    if len(widths) != 4:
        raise ValueError(f"widths must give the channels of the 4 stages, got {widths!r}")
    block, counts = RESNET_CONFIGS[depth]
    layers: list[nn.Module] = [
        nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False),
        nn.BatchNorm2d(widths[0]),
        nn.ReLU(inplace=True),
    ]
    channels = widths[0]
    for i, (width, count) in enumerate(zip(widths, counts, strict=True)):
        layers.append(resnet_stage(block, channels, width, count, 1 if i == 0 else 2))
        channels = width * block.expansion
    layers += [nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(channels, num_classes)]
    return nn.Sequential(*layers)


def resnet18(num_classes: int = 1000) -> nn.Sequential:
    return resnet(18, num_classes)


def resnet34(num_classes: int = 1000) -> nn.Sequential:
    return resnet(34, num_classes)


def resnet50(num_classes: int = 1000) -> nn.Sequential:
    return resnet(50, num_classes)


def resnet101(num_classes: int = 1000) -> nn.Sequential:
    return resnet(101, num_classes)


def resnet152(num_classes: int = 1000) -> nn.Sequential:
    return resnet(152, num_classes)
