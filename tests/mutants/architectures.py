"""Mistakes in architectures: VGG, residual and bottleneck blocks, Inception, a layer table."""

from mutants import Mutant

VGG, BASIC, BOTTLE, GRAD, INCEPTION, TABLE = (
    "vgg-block-solution",
    "basic-block-solution",
    "bottleneck-solution",
    "gradient-solution",
    "inception-solution",
    "layer-table-solution",
)
VGG_PARTS = {"vgg-block", "vgg-block-hidden"}
BASIC_PARTS = {"basic-block", "basic-block-hidden"}
BOTTLE_PARTS = {"bottleneck", "bottleneck-hidden"}
GRAD_PARTS = {"gradient", "gradient-hidden"}
INCEPTION_PARTS = {"inception", "inception-hidden"}
TABLE_PARTS = {"layer-table", "layer-table-hidden"}
PROJECT = "if stride != 1 or in_channels != out_channels:"
BASIC_CONV1 = "self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, padding=1, bias=False)"
BASIC_CONV2 = "self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)"
BOTTLE_CONV1 = "self.conv1 = nn.Conv2d(in_channels, mid_channels, 1, bias=False)"
BOTTLE_CONV2 = (
    "self.conv2 = nn.Conv2d(mid_channels, mid_channels, 3, stride, padding=1, bias=False)"
)

MUTANTS = [
    Mutant(
        "vgg-without-relu",
        "no ReLU after the convolutions",
        {VGG: [("        layers.append(nn.ReLU())\n", "")]},
        "every convolution is followed by a ReLU",
        VGG_PARTS,
    ),
    Mutant(
        "vgg-pool-stride-1",
        "max pooling with stride 1: the block does not halve the size",
        {VGG: [("layers.append(nn.MaxPool2d(2, 2))", "layers.append(nn.MaxPool2d(2, 1))")]},
        "more entr",
        VGG_PARTS,
    ),
    Mutant(
        "basic-projection-only-for-stride",
        "projects the shortcut only when the stride changes, not the channels",
        {BASIC: [(PROJECT, "if stride != 1:")]},
        "the channels change: projection",
        BASIC_PARTS,
    ),
    Mutant(
        "basic-relu-before-addition",
        "applies the last ReLU before adding the shortcut",
        {
            BASIC: [
                (
                    "return torch.relu(out + self.shortcut(x))",
                    "return torch.relu(out) + self.shortcut(x)",
                )
            ]
        },
        "the ReLU comes after the addition",
        BASIC_PARTS,
    ),
    Mutant(
        "basic-stride-on-conv2",
        "puts the stride on the second convolution",
        {
            BASIC: [
                (BASIC_CONV1, BASIC_CONV1.replace("3, stride, padding=1", "3, padding=1")),
                (BASIC_CONV2, BASIC_CONV2.replace("3, padding=1", "3, stride, padding=1")),
            ]
        },
        "the stride belongs to conv1",
        BASIC_PARTS,
    ),
    Mutant(
        "bottleneck-no-expansion",
        "the output keeps mid_channels channels: the expansion of 4 forgotten",
        {BOTTLE: [("out_channels = 4 * mid_channels", "out_channels = mid_channels")]},
        "the output has 4 * mid_channels channels",
        BOTTLE_PARTS,
    ),
    Mutant(
        "bottleneck-stride-on-first-conv",
        "puts the stride on the first 1x1 convolution",
        {
            BOTTLE: [
                (
                    BOTTLE_CONV1,
                    BOTTLE_CONV1.replace(", 1, bias=False)", ", 1, stride, bias=False)"),
                ),
                (BOTTLE_CONV2, BOTTLE_CONV2.replace("3, stride, padding=1", "3, padding=1")),
            ]
        },
        "the stride belongs to the 3x3 convolution",
        BOTTLE_PARTS,
    ),
    Mutant(
        "gradient-zeroes-bn1",
        "zeroes the first batch norm instead of the last",
        {
            GRAD: [
                (
                    "block.bn2.weight.zero_()\n        block.bn2.bias.zero_()",
                    "block.bn1.weight.zero_()\n        block.bn1.bias.zero_()",
                )
            ]
        },
        "should be the ReLU mask",
        GRAD_PARTS,
    ),
    Mutant(
        "gradient-in-training-mode",
        "differentiates the block in training mode: batch norm uses the batch's statistics",
        {GRAD: [("    block.eval()\n", "    block.train()\n")]},
        None,  # with bn2 zeroed the residual branch is 0 in either mode
        GRAD_PARTS - {"gradient"},
    ),
    Mutant(
        "inception-branch-order",
        "concatenates the 5x5 branch before the 3x3 branch",
        {
            INCEPTION: [
                (
                    "branches = [self.branch1, self.branch2, self.branch3, self.branch4]",
                    "branches = [self.branch1, self.branch3, self.branch2, self.branch4]",
                )
            ]
        },
        "the right values in the wrong places",
        INCEPTION_PARTS,
    ),
    Mutant(
        "inception-pool-branch-without-relu",
        "no ReLU at the end of the pooling branch",
        {
            INCEPTION: [
                (
                    "nn.Conv2d(in_channels, pool_proj, 1), nn.ReLU())",
                    "nn.Conv2d(in_channels, pool_proj, 1))",
                )
            ]
        },
        "each ends with a ReLU",
        INCEPTION_PARTS,
    ),
    Mutant(
        "table-flops-are-macs",
        "counts multiply-accumulates, not FLOPs",
        {
            TABLE: [
                (
                    "flops = 2 * values * (module.in_channels",
                    "flops = values * (module.in_channels",
                ),
                ("flops = 2 * values * module.in_features", "flops = values * module.in_features"),
            ]
        },
        "0.5 times the expected one",
        TABLE_PARTS,
    ),
    Mutant(
        "table-ignores-groups",
        "a grouped convolution's filters see all input channels in its FLOPs",
        {TABLE: [("(module.in_channels // module.groups)", "module.in_channels")]},
        "the 'flops' column of layer_table(grouped conv",
        TABLE_PARTS,
    ),
    Mutant(
        "table-counts-containers",
        "hooks every module, containers included",
        {
            TABLE: [
                (
                    "leaves = [m for m in model.modules() if len(list(m.children())) == 0]",
                    "leaves = list(model.modules())",
                )
            ]
        },
        "off by one",
        TABLE_PARTS,
    ),
    Mutant(
        "table-memory-as-float64",
        "counts 8 bytes per value whatever the dtype",
        {
            TABLE: [
                ('"memory_bytes": values * output.element_size(),', '"memory_bytes": values * 8,')
            ]
        },
        "2 times the expected one",
        TABLE_PARTS,
    ),
]
