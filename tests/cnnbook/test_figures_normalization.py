"""The cube figure of the normalization chapter: which cells share one mean and variance."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from cnnbook.figures.normalization import normalization_axes_figure, normalized_set  # noqa: E402


@pytest.mark.parametrize(
    ("kind", "count"), [("batch", 4 * 4), ("layer", 6 * 4), ("instance", 4), ("group", 3 * 4)]
)
def test_normalized_set_sizes(kind, count):
    cells = normalized_set(kind, n=4, c=6, hw=4, groups=2)
    assert cells.shape == (4, 6, 4) and cells.dtype == bool
    assert cells.sum() == count and cells[0, 0, 0]


@pytest.mark.parametrize("kind", ["batch", "layer", "instance", "group"])
def test_normalized_set_matches_pytorch(kind):
    """Perturbing a cell outside the set leaves the normalized value of cell (0, 0, 0) alone;
    perturbing one inside changes it (the cell is in the statistics)."""
    n, c, h, w = 3, 4, 2, 2
    layer = {
        "batch": torch.nn.BatchNorm2d(c),
        "layer": torch.nn.LayerNorm([c, h, w]),
        "instance": torch.nn.InstanceNorm2d(c),
        "group": torch.nn.GroupNorm(2, c),
    }[kind]
    cells = normalized_set(kind, n, c, h * w, groups=2)
    x = torch.randn(n, c, h, w, generator=torch.Generator().manual_seed(0))
    base = layer(x)[0, 0, 0, 0]
    for e, ch, p in np.ndindex(n, c, h * w):
        if (e, ch, p) == (0, 0, 0):
            continue
        moved = x.clone()
        moved[e, ch, p // w, p % w] += 3.0
        changed = not torch.allclose(layer(moved)[0, 0, 0, 0], base)
        assert changed == cells[e, ch, p], (kind, e, ch, p)


def test_normalized_set_rejects_bad_groups():
    with pytest.raises(ValueError, match="groups"):
        normalized_set("group", 2, 6, 4, groups=4)
    with pytest.raises(ValueError, match="kind"):
        normalized_set("weight", 2, 6, 4)


def test_figure_has_four_labelled_panels():
    fig = normalization_axes_figure()
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["batch norm", "layer norm", "instance norm", "group norm (2 groups)"]
