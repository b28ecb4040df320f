"""A per-layer table of a network, measured by running it once: ``model_table(model, shape)``.

For every call of a *leaf* module (one without submodules: a convolution, a ReLU, a pooling,
...) during one forward pass of a single input, a forward hook records one row:

* ``output_shape``: the shape of its output without the batch axis, ``(C, H, W)`` or ``(F,)``;
* ``params``: the module's own parameters (weights and biases; batch norm's scale and shift);
* ``activations``: the number of values in its output; ``memory_bytes``: the same times the
  size of one value (4 bytes in float32);
* ``flops``: floating-point operations, counted as 2 per multiply-accumulate of a convolution
  or dense layer, ``2 · (output values) · (inputs seen by one output)``; the bias, activation
  functions, pooling and normalisation count 0 (they are cheap next to the products).

Everything is per image: the input has a batch of one. The model is put in evaluation mode for
the pass (batch norm uses its running statistics, dropout does nothing) and restored after.
Additions that are not modules (a residual connection written ``out + x``) are not rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class LayerRow:
    """One call of a leaf module in the forward pass."""

    name: str  # its name in ``model.named_modules()``, e.g. "3.0.conv1"
    kind: str  # its class, e.g. "Conv2d"
    output_shape: tuple[int, ...]
    params: int
    activations: int
    memory_bytes: int
    flops: int


def layer_flops(module: nn.Module, inputs: tuple, output: torch.Tensor) -> int:
    """FLOPs of one call, ``2 · MACs`` for ``Conv*d`` and ``Linear``, 0 for anything else."""
    if isinstance(module, nn.modules.conv._ConvNd):
        per_output = (module.in_channels // module.groups) * math.prod(module.kernel_size)
        return 2 * output.numel() * per_output
    if isinstance(module, nn.Linear):
        return 2 * output.numel() * module.in_features
    return 0


def model_table(
    model: nn.Module, input_shape: tuple[int, ...], dtype: torch.dtype = torch.float32
) -> list[LayerRow]:
    """Run ``model`` on one zero input of shape ``input_shape`` (without the batch axis) and
    return one ``LayerRow`` per leaf-module call, in the order of the calls. The input is made
    on the device of the model's first parameter; a model built under ``torch.device("meta")``
    gives the same table without computing anything (big networks in tests)."""
    names = {module: name for name, module in model.named_modules()}
    rows: list[LayerRow] = []

    def record(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        rows.append(
            LayerRow(
                name=names.get(module, "?"),
                kind=type(module).__name__,
                output_shape=tuple(output.shape[1:]),
                params=sum(p.numel() for p in module.parameters(recurse=False)),
                activations=output[0].numel(),
                memory_bytes=output[0].numel() * output.element_size(),
                flops=layer_flops(module, inputs, output[:1]),
            )
        )

    leaves = [m for m in model.modules() if not list(m.children())]
    handles = [m.register_forward_hook(record) for m in leaves]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            device = next(model.parameters(), torch.empty(0)).device
            model(torch.zeros((1, *input_shape), dtype=dtype, device=device))
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return rows


def totals(rows: list[LayerRow]) -> dict[str, int]:
    """Sums of the ``params``, ``activations``, ``memory_bytes`` and ``flops`` columns."""
    return {
        key: sum(getattr(r, key) for r in rows)
        for key in ("params", "activations", "memory_bytes", "flops")
    }


def _shape_text(shape: tuple[int, ...]) -> str:
    if len(shape) == 3:  # (C, H, W) written as the books write it, H×W×C
        return f"{shape[1]}×{shape[2]}×{shape[0]}"
    return "×".join(str(s) for s in shape)


def _human(n: int, unit: str = "") -> str:
    for size, suffix in ((10**9, "G"), (10**6, "M"), (10**3, "k")):
        if n >= size:
            return f"{n / size:.3g} {suffix}{unit}"
    return f"{n} {unit}".rstrip()


def markdown_table(
    rows: list[LayerRow], skip: tuple[str, ...] = (), exact: bool = False, total: bool = True
) -> str:
    """The rows as a Markdown table (layer, output H×W×C, parameters, activation memory,
    FLOPs). Rows whose ``kind`` is in ``skip`` (e.g. ``("ReLU", "Dropout")``) are left out of
    the table but still count in the total line. ``exact`` writes every number in full."""

    def num(n: int, unit: str = "") -> str:
        return f"{n:,}" if exact else _human(n, unit)

    memory = "activation memory (bytes)" if exact else "activation memory"
    lines = [
        f"| layer | type | output (H×W×C) | parameters | {memory} | FLOPs |",
        "| --- | --- | --- | ---: | ---: | ---: |",
    ]
    for r in rows:
        if r.kind in skip:
            continue
        lines.append(
            f"| `{r.name}` | {r.kind} | {_shape_text(r.output_shape)} | "
            f"{num(r.params)} | {num(r.memory_bytes, 'B')} | {num(r.flops)} |"
        )
    if total:
        t = totals(rows)
        lines.append(
            f"| **total** | | | **{num(t['params'])}** | "
            f"**{num(t['memory_bytes'], 'B')}** | **{num(t['flops'])}** |"
        )
    return "\n".join(lines)
