"""How fast a model trains, and on which device it trains fastest.

* ``time_training_steps``: seconds per training step (forward, mean cross-entropy, backward,
  optimizer step) on one batch that already sits on the device: the *raw* rate, with nothing
  around it, that a training loop can approach but not beat;
* ``fastest_device``: time a few such steps on each available device and pick the faster;
* ``operations_per_step``: how many ATen operations one training step runs. On a GPU each one
  (views aside) is at least one kernel launch, whose cost does not shrink with its size.

A small network does so little arithmetic per step that its time on a GPU is the fixed cost of
its operations, not the arithmetic: a CPU, which has no launch to pay for, can be faster.
``fastest_device`` measures instead of guessing.
"""

from __future__ import annotations

import copy
import time
from contextlib import nullcontext

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from cnnbook.checkpoints import rng_states, set_rng_states
from cnnbook.training import AmpPlan, choose_device, synchronize


def _device_of(model: nn.Module) -> torch.device:
    for tensor in model.parameters():
        return tensor.device
    return torch.device("cpu")


def time_training_steps(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    steps: int = 10,
    warmup: int = 2,
    optimizer: str = "adamw",
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    plan: AmpPlan | None = None,
) -> float:
    """Seconds per training step of ``model`` on the batch ``(x, y)`` (both on the model's
    device): ``warmup`` untimed steps (the first calls set things up), then ``steps`` timed ones,
    waiting for the device before reading the clock. ``optimizer``: ``"adamw"`` or ``"sgd"``
    (Nesterov momentum 0.9), with ``weight_decay``; ``plan``: mixed precision as in
    ``training.amp_plan`` (None: off).
    The model's weights change (it trains)."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    device = _device_of(model)
    params = model.parameters()
    if optimizer == "adamw":
        opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    elif optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=lr, momentum=0.9, nesterov=True, weight_decay=weight_decay)
    else:
        raise ValueError(f"optimizer must be 'adamw' or 'sgd', got {optimizer!r}")
    enabled = plan is not None and plan.enabled
    autocast = torch.autocast(device.type, dtype=plan.dtype) if enabled else nullcontext()
    model.train()
    for step in range(warmup + steps):
        if step == warmup:
            synchronize(device)
            start = time.perf_counter()
        with autocast:
            loss = F.cross_entropy(model(x).float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    synchronize(device)
    return (time.perf_counter() - start) / steps


def _random_batch(
    model: nn.Module, example: torch.Tensor, batch_size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch of ``batch_size`` random inputs shaped like ``example`` and random labels over
    the model's outputs, on the CPU, from a generator of its own."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch_size, *example.shape, generator=g)
    model.eval()
    with torch.no_grad():
        classes = model(x[:1].to(_device_of(model))).shape[1]
    y = torch.randint(0, classes, (batch_size,), generator=g)
    return x, y


def fastest_device(
    model: nn.Module,
    example: torch.Tensor,
    batch_size: int,
    candidates: list[str | torch.device] | None = None,
    steps: int = 20,
) -> tuple[torch.device, dict[str, float]]:
    """The device on which ``model`` trains fastest on batches of ``batch_size`` examples
    shaped like ``example`` (one example, no batch axis), and the seconds per training step
    measured on each candidate (``time_training_steps`` on a copy of the model, random data).

    ``candidates`` defaults to the device ``choose_device()`` picks and the CPU (just the CPU
    on a machine without an accelerator). ``model`` is not changed and the random number
    generators are left as they were."""
    if candidates is None:
        candidates = [choose_device(), torch.device("cpu")]
    devices = list(dict.fromkeys(torch.device(c) for c in candidates))
    saved = rng_states()
    seconds = {}
    try:
        for device in devices:
            trial = copy.deepcopy(model).to(device)
            x, y = _random_batch(trial, example.cpu(), batch_size)
            seconds[str(device)] = time_training_steps(
                trial, x.to(device), y.to(device), steps=steps
            )
    finally:
        set_rng_states(saved)
    best = min(devices, key=lambda d: seconds[str(d)])
    return best, seconds


class _CountOperations(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if not func.is_view:
            self.count += 1
        return func(*args, **(kwargs or {}))


def operations_per_step(
    model: nn.Module, example: torch.Tensor, batch_size: int, optimizer: str = "adamw"
) -> int:
    """How many ATen operations (views left out) one training step of a copy of ``model`` runs
    on the CPU: the forward pass, the loss, the backward pass and the optimizer's update of
    every weight (PyTorch's per-weight implementation, as on a CPU). On a GPU each is at least
    one kernel launch; its fused multi-tensor optimizers launch fewer for the update."""
    trial = copy.deepcopy(model).cpu()
    x, y = _random_batch(trial, example.cpu(), batch_size)
    saved = rng_states()
    try:
        counter = _CountOperations()
        params = list(trial.parameters())
        opt = (
            torch.optim.AdamW(params, lr=1e-3, foreach=False)
            if optimizer == "adamw"
            else torch.optim.SGD(params, lr=1e-3, momentum=0.9, nesterov=True, foreach=False)
        )
        trial.train()
        loss = F.cross_entropy(trial(x), y)  # one step to create the optimizer's state
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with counter:
            loss = F.cross_entropy(trial(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    finally:
        set_rng_states(saved)
    return counter.count
