"""The classic networks: parameter counts equal the published ones, shapes follow the papers,
and ``model_table`` counts what its docstring says."""

from __future__ import annotations

import pytest
import torch

from cnnbook import models
from cnnbook.model_table import model_table, totals

# builder, published parameter count (1,000 classes unless stated)
PUBLISHED = {
    "lenet5": (models.lenet5, 61_706),  # 10 classes
    "alexnet-torchvision": (models.alexnet, 61_100_840),  # torchvision.models.alexnet
    "alexnet-original": (lambda: models.alexnet("original"), 62_378_344),
    "alexnet-two-gpu": (lambda: models.alexnet("two-gpu"), 60_965_224),
    "vgg16": (models.vgg16, 138_357_544),  # torchvision.models.vgg16
    "googlenet": (models.googlenet, 6_624_904),  # torchvision, no aux heads
    "resnet18": (models.resnet18, 11_689_512),
    "resnet34": (models.resnet34, 21_797_672),
    "resnet50": (models.resnet50, 25_557_032),
    "resnet101": (models.resnet101, 44_549_160),
    "resnet152": (models.resnet152, 60_192_808),
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_parameter_count_equals_the_published_one(name):
    build, expected = PUBLISHED[name]
    with torch.device("meta"):
        model = build()
    assert models.count_parameters(model) == expected


def test_lenet5_parameters_by_hand():
    weights = 5 * 5 * 1 * 6 + 5 * 5 * 6 * 16 + 5 * 5 * 16 * 120 + 120 * 84 + 84 * 10
    biases = 6 + 16 + 120 + 84 + 10
    assert (weights, biases) == (150 + 2_400 + 48_000 + 10_080 + 840, 236)
    assert weights + biases == models.count_parameters(models.lenet5()) == 61_706


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("pooling", ["avg", "max"])
def test_lenet5_shapes_follow_the_paper(activation, pooling):
    rows = model_table(models.lenet5(activation, pooling), (1, 32, 32))
    shapes = [
        r.output_shape for r in rows if r.kind in ("Conv2d", "AvgPool2d", "MaxPool2d", "Linear")
    ]
    assert shapes == [(6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 5, 5), (120, 1, 1), (84,), (10,)]


def test_alexnet_first_layer_gives_55x55x96_on_227():
    with torch.device("meta"):
        rows = model_table(models.alexnet("original"), (3, 227, 227))
    assert rows[0].output_shape == (96, 55, 55)
    assert rows[0].params == 11 * 11 * 3 * 96 + 96
    flatten = next(r for r in rows if r.kind == "Flatten")
    assert flatten.output_shape == (9216,)


def test_vgg16_table_memory_and_parameters():
    with torch.device("meta"):
        rows = model_table(models.vgg16(), (3, 224, 224))
    t = totals(rows)
    assert t["params"] == 138_357_544
    linears = [r for r in rows if r.kind == "Linear"]
    assert linears[0].params == 7 * 7 * 512 * 4096 + 4096 == 102_764_544
    kept = [r for r in rows if r.kind not in ("ReLU", "Dropout")]  # in-place ReLU, no dropout
    assert sum(r.activations for r in kept) + 3 * 224 * 224 == 15_287_784
    assert rows[0].memory_bytes == 224 * 224 * 64 * 4
    # 2 * MACs of the 13 convolutions and 3 dense layers
    assert t["flops"] == 30_940_528_640


def test_flops_are_two_per_multiply_accumulate():
    conv = torch.nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2)
    (row,) = model_table(conv, (4, 9, 9))
    assert row.output_shape == (6, 5, 5)
    assert row.flops == 2 * (6 * 5 * 5) * (2 * 3 * 3)
    assert row.params == 6 * 2 * 3 * 3 + 6
    (dense,) = model_table(torch.nn.Linear(7, 3), (7,))
    assert (dense.flops, dense.memory_bytes) == (2 * 7 * 3, 3 * 4)


def test_inception_3a_output_channels_and_reductions():
    block = models.Inception(*models.GOOGLENET_INCEPTIONS["3a"])
    y = block(torch.zeros(2, 192, 28, 28))
    assert y.shape == (2, 64 + 128 + 32 + 32, 28, 28)


@pytest.mark.parametrize(
    "block, args, out",
    [
        (models.BasicBlock, (64, 64, 1), (64, 8, 8)),
        (models.BasicBlock, (64, 128, 2), (128, 4, 4)),
        (models.Bottleneck, (64, 64, 1), (256, 8, 8)),
        (models.Bottleneck, (256, 128, 2), (512, 4, 4)),
    ],
)
def test_residual_blocks_shapes_and_projection(block, args, out):
    b = block(*args)
    assert b(torch.zeros(1, args[0], 8, 8)).shape[1:] == out
    needs_projection = args[2] != 1 or args[0] != out[0]
    assert isinstance(b.shortcut, torch.nn.Identity) != needs_projection


def test_zero_residual_branch_gives_the_relu_mask_as_gradient():
    block = models.BasicBlock(3, 3).eval()
    torch.nn.init.zeros_(block.bn2.weight)
    torch.nn.init.zeros_(block.bn2.bias)
    x = torch.randn(2, 3, 5, 5, requires_grad=True)
    block(x).sum().backward()
    assert torch.equal(x.grad, (x > 0).float())


def test_resnet18_ends_at_7x7x512():
    with torch.device("meta"):
        rows = model_table(models.resnet18(), (3, 224, 224))
    pool = next(r for r in rows if r.kind == "AdaptiveAvgPool2d")
    assert pool.output_shape == (512, 1, 1)
    assert rows[3].output_shape == (64, 56, 56)


def test_unknown_variants_are_refused():
    with pytest.raises(ValueError, match="variant"):
        models.alexnet("three-gpu")
    with pytest.raises(ValueError, match="depth"):
        models.resnet(20)


def lrn_as_in_the_paper(a, size=5, alpha=1e-4, beta=0.75, k=2.0):
    """Krizhevsky et al. (2012), eq. of section 3.3, written out with loops over channels:
    b[i] = a[i] / (k + alpha * sum_{j=max(0, i-size//2)}^{min(C-1, i+size//2)} a[j]^2)^beta."""
    channels = a.shape[1]
    b = torch.empty_like(a)
    for i in range(channels):
        lo, hi = max(0, i - size // 2), min(channels - 1, i + size // 2)
        total = (a[:, lo : hi + 1] ** 2).sum(dim=1)
        b[:, i] = a[:, i] / (k + alpha * total) ** beta
    return b


@pytest.mark.parametrize("variant", ["original", "two-gpu"])
def test_alexnet_local_response_norm_is_the_papers(variant):
    lrns = [m for m in models.alexnet(variant) if isinstance(m, torch.nn.LocalResponseNorm)]
    assert len(lrns) == 2  # after conv1 and conv2
    generator = torch.Generator().manual_seed(0)
    # activations large enough that the normalization changes them by several percent
    a = 30 * torch.rand(2, 96, 5, 5, generator=generator, dtype=torch.float64)
    expected = lrn_as_in_the_paper(a)
    assert (expected / a).min() < 0.9  # the test would see a wrong alpha
    for lrn in lrns:
        torch.testing.assert_close(lrn(a), expected, rtol=1e-12, atol=0)
    # PyTorch's alpha is the paper's divided by the window: alpha=1e-4 would be 5x too weak
    too_weak = torch.nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)(a)
    assert not torch.allclose(too_weak, expected, rtol=1e-3)
