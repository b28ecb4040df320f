"""The classic networks of the architecture chapters, in plain ``torch.nn`` (no torchvision).

Every builder returns an ordinary ``nn.Module`` whose parameter count equals the published one
for the variant it names (``tests/cnnbook/test_models.py`` checks each count exactly):

==========================  ===========  ==================================================
builder                     parameters   variant
==========================  ===========  ==================================================
``lenet5()``                61,706       LeNet-5 with every C3 map connected to all 6 S2
                                         maps, tanh, average pooling (the 1998 paper's C3
                                         used a sparse table: 60,000 trainable parameters)
``alexnet()``               61,100,840   torchvision's single-GPU AlexNet: 64, 192, 384,
                                         256, 256 filters, 224×224 input (the one-GPU
                                         configuration of cuda-convnet2; Krizhevsky's 2014
                                         "one weird trick" paper has 384 filters in conv4)
``alexnet("original")``     62,378,344   the 2012 layer sizes (96, 256, 384, 384, 256
                                         filters, 227×227 input) on one GPU
``alexnet("two-gpu")``      60,965,224   the same, with layers 2, 4 and 5 split between two
                                         GPUs (``groups=2``), as in the 2012 paper
``vgg16()``                 138,357,544  VGG-16 (configuration D), no batch norm
``googlenet()``             6,624,904    torchvision's GoogLeNet without the auxiliary
                                         classifiers: conv + batch norm without bias, and a
                                         3×3 kernel in the "5×5" branch (a known quirk)
``googlenet("paper")``      6,998,552    the 2014 paper's layers: convs with bias, no batch
                                         norm, real 5×5 kernels, no auxiliary classifiers
``resnet18()``              11,689,512   ResNet-18 as in torchvision (basic blocks)
``resnet34()``              21,797,672   ResNet-34 (basic blocks)
``resnet50()``              25,557,032   ResNet-50, bottleneck blocks with the stride on the
                                         3×3 convolution (torchvision's "v1.5"; the count is
                                         the same wherever the stride sits)
``resnet101()``             44,549,160   ResNet-101
``resnet152()``             60,192,808   ResNet-152
==========================  ===========  ==================================================

All counts are for 1,000 classes; ``num_classes`` changes only the last layer. The ResNets are
defined in :mod:`cnnbook.resnet` and re-exported here.
"""

from __future__ import annotations

import torch
from torch import nn

from cnnbook.resnet import (  # noqa: F401 - the ResNets are part of this module's API
    RESNET_CONFIGS,
    BasicBlock,
    Bottleneck,
    projection,
    resnet,
    resnet18,
    resnet34,
    resnet50,
    resnet101,
    resnet152,
    resnet_small_images,
    resnet_stage,
)

# --- LeNet-5 ------------------------------------------------------------------------------


def lenet5(activation: str = "tanh", pooling: str = "avg", num_classes: int = 10) -> nn.Sequential:
    """LeNet-5 for ``(N, 1, 32, 32)`` inputs.

    C1 conv 6@5×5 → 28×28×6, S2 pool 2×2/2 → 14×14×6, C3 conv 16@5×5 → 10×10×16, S4 pool
    → 5×5×16, C5 conv 120@5×5 → 1×1×120, F6 dense 84, output dense ``num_classes``.

    Args:
        activation: ``"tanh"`` (the paper's squashing function, without its 1.7159 scale) or
            ``"relu"``.
        pooling: ``"avg"`` (the paper's subsampling, without its trainable scale and bias) or
            ``"max"``.
    """
    act = {"tanh": nn.Tanh, "relu": nn.ReLU}[activation]
    pool = {"avg": nn.AvgPool2d, "max": nn.MaxPool2d}[pooling]
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5),
        act(),
        pool(2, 2),
        nn.Conv2d(6, 16, kernel_size=5),
        act(),
        pool(2, 2),
        nn.Conv2d(16, 120, kernel_size=5),
        act(),
        nn.Flatten(),
        nn.Linear(120, 84),
        act(),
        nn.Linear(84, num_classes),
    )


# --- AlexNet ------------------------------------------------------------------------------

ALEXNET_VARIANTS = ("torchvision", "original", "two-gpu")

# Local response normalization as in Krizhevsky et al. (2012), section 3.3: across n = 5
# neighbouring channels, b_i = a_i / (k + alpha * sum_j a_j^2)^beta with k = 2, alpha = 1e-4,
# beta = 0.75.
LRN_PAPER = {"size": 5, "alpha": 1e-4, "beta": 0.75, "k": 2.0}


def local_response_norm(
    size: int = LRN_PAPER["size"],
    alpha: float = LRN_PAPER["alpha"],
    beta: float = LRN_PAPER["beta"],
    k: float = LRN_PAPER["k"],
) -> nn.LocalResponseNorm:
    """The paper's LRN: ``b_c = a_c / (k + alpha * S_c)^beta``, ``S_c`` the sum of ``a_j^2`` over
    the ``size`` channels centred on ``c`` (channels beyond the first and the last count as 0).

    ``nn.LocalResponseNorm`` divides its ``alpha`` by ``size`` (it averages the squares instead
    of adding them up), so the paper's ``alpha`` is passed as ``alpha * size``.
    """
    return nn.LocalResponseNorm(size, alpha=alpha * size, beta=beta, k=k)


def alexnet(
    variant: str = "torchvision", num_classes: int = 1000, dropout: float = 0.5
) -> nn.Sequential:
    """AlexNet. ``"torchvision"``: 224×224 input, conv1 64@11×11/4 pad 2 → 55×55×64, and an
    adaptive average pool to 6×6 before the classifier. ``"original"`` and ``"two-gpu"``:
    227×227 input, conv1 96@11×11/4 → 55×55×96, local response normalisation after conv1 and
    conv2; ``"two-gpu"`` gives conv2, conv4 and conv5 ``groups=2`` (each GPU's half of the
    filters sees only that GPU's half of the channels)."""
    if variant not in ALEXNET_VARIANTS:
        raise ValueError(f"variant must be one of {ALEXNET_VARIANTS}, got {variant!r}")
    if variant == "torchvision":
        features = [
            nn.Conv2d(3, 64, 11, stride=4, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2),
            nn.Conv2d(64, 192, 5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2),
            nn.Conv2d(192, 384, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2),
            nn.AdaptiveAvgPool2d((6, 6)),
        ]
    else:
        g = 2 if variant == "two-gpu" else 1
        features = [
            nn.Conv2d(3, 96, 11, stride=4),
            nn.ReLU(inplace=True),
            local_response_norm(),
            nn.MaxPool2d(3, 2),
            nn.Conv2d(96, 256, 5, padding=2, groups=g),
            nn.ReLU(inplace=True),
            local_response_norm(),
            nn.MaxPool2d(3, 2),
            nn.Conv2d(256, 384, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 384, 3, padding=1, groups=g),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, 3, padding=1, groups=g),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2),
        ]
    return nn.Sequential(
        *features,
        nn.Flatten(),
        nn.Dropout(dropout),
        nn.Linear(256 * 6 * 6, 4096),
        nn.ReLU(inplace=True),
        nn.Dropout(dropout),
        nn.Linear(4096, 4096),
        nn.ReLU(inplace=True),
        nn.Linear(4096, num_classes),
    )


# --- VGG ----------------------------------------------------------------------------------

VGG16_STAGES = ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512))  # (convolutions, channels)


def vgg_block(in_channels: int, out_channels: int, num_convs: int) -> nn.Sequential:
    """``num_convs`` × (conv 3×3, padding 1, + ReLU), then max pool 2×2/2: keeps the size
    through the convolutions and halves it at the end, ``(N, C, H, W) → (N, F, H//2, W//2)``."""
    layers: list[nn.Module] = []
    for i in range(num_convs):
        layers += [
            nn.Conv2d(in_channels if i == 0 else out_channels, out_channels, 3, padding=1),
            nn.ReLU(inplace=True),
        ]
    layers.append(nn.MaxPool2d(2, 2))
    return nn.Sequential(*layers)


def vgg(
    stages=VGG16_STAGES,
    num_classes: int = 1000,
    in_channels: int = 3,
    hidden: int = 4096,
    dropout: float = 0.5,
) -> nn.Sequential:
    """A VGG network: one ``vgg_block`` per stage, then (for 224×224 inputs) 7×7×512 features,
    two dense layers of ``hidden`` units with ReLU and dropout, and the classifier."""
    blocks = []
    for num_convs, channels in stages:
        blocks.append(vgg_block(in_channels, channels, num_convs))
        in_channels = channels
    return nn.Sequential(
        *blocks,
        nn.AdaptiveAvgPool2d((7, 7)),
        nn.Flatten(),
        nn.Linear(in_channels * 7 * 7, hidden),
        nn.ReLU(inplace=True),
        nn.Dropout(dropout),
        nn.Linear(hidden, hidden),
        nn.ReLU(inplace=True),
        nn.Dropout(dropout),
        nn.Linear(hidden, num_classes),
    )


def vgg16(num_classes: int = 1000) -> nn.Sequential:
    """VGG-16 (configuration D): 13 convolutions 3×3 and 3 dense layers, 224×224×3 input."""
    return vgg(VGG16_STAGES, num_classes)


# --- GoogLeNet ----------------------------------------------------------------------------


def conv_relu(
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    stride: int = 1,
    padding: int = 0,
    batch_norm: bool = False,
) -> nn.Sequential:
    """Conv + ReLU (the 2014 paper), or conv without bias + batch norm + ReLU (torchvision's
    ``BasicConv2d``, batch-norm epsilon 0.001)."""
    if batch_norm:
        return nn.Sequential(
            nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias=False),
            nn.BatchNorm2d(out_channels, eps=0.001),
            nn.ReLU(inplace=True),
        )
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding), nn.ReLU(inplace=True)
    )


class Inception(nn.Module):
    """Inception module with dimension reductions (GoogLeNet, 2014), four parallel branches
    concatenated along the channels, in this order:

    1. ``branch1``: 1×1 conv → ``ch1x1`` channels;
    2. ``branch2``: 1×1 conv → ``ch3x3red``, then 3×3 conv (padding 1) → ``ch3x3``;
    3. ``branch3``: 1×1 conv → ``ch5x5red``, then ``kernel5``×``kernel5`` conv → ``ch5x5``;
    4. ``branch4``: 3×3 max pool (stride 1, padding 1), then 1×1 conv → ``pool_proj``.

    ``(N, in_channels, H, W) → (N, ch1x1 + ch3x3 + ch5x5 + pool_proj, H, W)``. Every conv is
    followed by a ReLU (and preceded by batch norm when ``batch_norm``).
    """

    def __init__(
        self,
        in_channels: int,
        ch1x1: int,
        ch3x3red: int,
        ch3x3: int,
        ch5x5red: int,
        ch5x5: int,
        pool_proj: int,
        batch_norm: bool = False,
        kernel5: int = 5,
    ):
        super().__init__()
        bn = batch_norm
        self.branch1 = conv_relu(in_channels, ch1x1, 1, batch_norm=bn)
        self.branch2 = nn.Sequential(
            conv_relu(in_channels, ch3x3red, 1, batch_norm=bn),
            conv_relu(ch3x3red, ch3x3, 3, padding=1, batch_norm=bn),
        )
        self.branch3 = nn.Sequential(
            conv_relu(in_channels, ch5x5red, 1, batch_norm=bn),
            conv_relu(ch5x5red, ch5x5, kernel5, padding=kernel5 // 2, batch_norm=bn),
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
            conv_relu(in_channels, pool_proj, 1, batch_norm=bn),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = (self.branch1, self.branch2, self.branch3, self.branch4)
        return torch.cat([branch(x) for branch in branches], dim=1)


# (in, 1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool proj): Table 1 of Szegedy et al. (2014)
GOOGLENET_INCEPTIONS = {
    "3a": (192, 64, 96, 128, 16, 32, 32),
    "3b": (256, 128, 128, 192, 32, 96, 64),
    "4a": (480, 192, 96, 208, 16, 48, 64),
    "4b": (512, 160, 112, 224, 24, 64, 64),
    "4c": (512, 128, 128, 256, 24, 64, 64),
    "4d": (512, 112, 144, 288, 32, 64, 64),
    "4e": (528, 256, 160, 320, 32, 128, 128),
    "5a": (832, 256, 160, 320, 32, 128, 128),
    "5b": (832, 384, 192, 384, 48, 128, 128),
}


def googlenet(variant: str = "torchvision", num_classes: int = 1000) -> nn.Sequential:
    """GoogLeNet (Inception v1) for 224×224×3 inputs, without the auxiliary classifiers.

    ``"torchvision"``: batch norm after every conv (no conv bias) and 3×3 kernels in the "5×5"
    branches, as torchvision defines it. ``"paper"``: conv with bias + ReLU, real 5×5 kernels
    (the paper's local response normalisation has no parameters and is left out)."""
    if variant not in ("torchvision", "paper"):
        raise ValueError(f"variant must be 'torchvision' or 'paper', got {variant!r}")
    bn = variant == "torchvision"
    k5 = 3 if bn else 5

    def inception(name: str) -> Inception:
        return Inception(*GOOGLENET_INCEPTIONS[name], batch_norm=bn, kernel5=k5)

    return nn.Sequential(
        conv_relu(3, 64, 7, stride=2, padding=3, batch_norm=bn),
        nn.MaxPool2d(3, stride=2, ceil_mode=True),
        conv_relu(64, 64, 1, batch_norm=bn),
        conv_relu(64, 192, 3, padding=1, batch_norm=bn),
        nn.MaxPool2d(3, stride=2, ceil_mode=True),
        inception("3a"),
        inception("3b"),
        nn.MaxPool2d(3, stride=2, ceil_mode=True),
        inception("4a"),
        inception("4b"),
        inception("4c"),
        inception("4d"),
        inception("4e"),
        nn.MaxPool2d(2, stride=2, ceil_mode=True),
        inception("5a"),
        inception("5b"),
        nn.AdaptiveAvgPool2d((1, 1)),
        nn.Flatten(),
        nn.Dropout(0.2 if bn else 0.4),
        nn.Linear(1024, num_classes),
    )


# --- helpers ------------------------------------------------------------------------------


def count_parameters(model: nn.Module) -> int:
    """Number of trainable numbers (weights and biases; batch norm's scale and shift count, its
    running statistics are buffers and do not)."""
    return sum(p.numel() for p in model.parameters())
