"""The course's one training loop: ``fit(model, train_set, test_set, TrainConfig(...))``.

Everything a chapter needs to train a classifier, on whatever hardware the reader has:

* the device is chosen at run time: CUDA, then Apple MPS, then the CPU (``choose_device``);
  ``TrainConfig.device`` or the environment variable ``COURSE_DEVICE`` overrides it;
* mixed precision on CUDA GPUs (``amp_plan``): bfloat16 where the GPU supports it, otherwise
  float16 with a ``GradScaler``; off on the CPU and on MPS;
* ``channels_last`` memory format for 4-D inputs (images) on CUDA, and on the CPU when asked
  (``TrainConfig.channels_last=True``); optional ``torch.compile``;
* data that is already in memory (a ``TensorDataset``, which is what ``datasets.as_datasets``
  makes) is copied to the device once and stays there: each batch is one indexing operation on
  the device with a slice of the epoch's permutation, with no loader, no worker processes and no
  per-example collation (``DeviceBatches``). Any other ``Dataset`` goes through a
  ``DataLoader``, with worker processes and pinned memory on CUDA (``LoaderBatches``);
* nothing in a training step waits for the device: the loss and the number of correct
  predictions of each step are kept on the device and read once, at the end of the epoch;
* the order of the examples in epoch ``e`` depends only on ``(seed, e)``: it is the order of a
  ``DistributedSampler`` (with one replica when running in a single process) reseeded each
  epoch, whichever way the batches are made (``epoch_order``). Together with
  ``seed_everything`` this makes runs reproducible, lets an interrupted run resume exactly from
  a checkpoint, and lets the same code run under ``torchrun`` with ``DistributedDataParallel``
  (see ``cnnbook.ddp``);
* a checkpoint written atomically after every epoch (model, optimizer, scheduler, scaler,
  epoch, history, random-number-generator states); ``fit`` resumes from it when it exists;
* a history, one row per epoch: ``epoch, train_loss, train_acc, test_loss, test_acc, lr,
  seconds, images_per_s``. Losses are mean cross-entropies, accuracies fractions in [0, 1];
  ``images_per_s`` counts training examples per second of the training pass only;
* a tqdm progress bar, silent when ``TQDM_DISABLE`` is set (book builds set it) or
  ``progress=False``.

The batches are made in :mod:`cnnbook.batches`, checkpoints written and read in
:mod:`cnnbook.checkpoints`; this module holds the configuration, the device and precision
choices, the optimizer and schedule, evaluation and ``fit``.

The loss is the mean cross-entropy over a batch,
``L = -(1/B) sum_b log softmax(f(x_b))[y_b]``. The scheduler is stepped after every batch.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import random
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import (
    Dataset,
)

from cnnbook import ddp
from cnnbook.batches import DeviceBatches, LoaderBatches, make_batches
from cnnbook.checkpoints import load_checkpoint, rng_states, save_checkpoint, set_rng_states

HISTORY_FIELDS = (
    "epoch",
    "train_loss",
    "train_acc",
    "test_loss",
    "test_acc",
    "lr",
    "seconds",
    "images_per_s",
)

# Fields of TrainConfig that do not change the numbers a run computes: a checkpoint written
# under other values of these may be resumed.
_RUN_ONLY_FIELDS = {"device", "progress", "checkpoint", "num_workers", "compile", "data_on_device"}


@dataclass
class TrainConfig:
    """How to train. ``batch_size`` is the *global* batch: under ``torchrun`` with ``W``
    processes each one sees ``batch_size // W`` examples per step."""

    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3  # peak learning rate for "onecycle"
    weight_decay: float = 0.0
    optimizer: str = "adamw"  # "adamw" | "adam" | "sgd" (with Nesterov momentum)
    momentum: float = 0.9
    schedule: str = "constant"  # "constant" | "cosine" | "onecycle"
    label_smoothing: float = 0.0
    seed: int = 0
    device: str | None = None  # None: choose_device()
    amp: bool = True  # mixed precision where amp_plan allows it
    channels_last: bool | None = None  # 4-D inputs: None = on CUDA only, True = any device
    compile: bool = False  # torch.compile the model
    num_workers: int | None = None  # None: 4 on CUDA, 0 elsewhere (DataLoader only)
    data_on_device: bool | None = None  # None: TensorDatasets are copied to the device once
    checkpoint: str | Path | None = None
    progress: bool = True
    eval_batch_size: int = 1024


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and PyTorch's (CPU and every GPU) random number generators."""
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 (the global generator, for old code)
    torch.manual_seed(seed)  # also seeds every CUDA device


def choose_device(preferred: str | None = None) -> torch.device:
    """``preferred``, else ``$COURSE_DEVICE``, else the first available of cuda, mps, cpu."""
    preferred = preferred or os.environ.get("COURSE_DEVICE") or None
    if preferred:
        return torch.device(preferred)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


@dataclass(frozen=True)
class AmpPlan:
    """Mixed precision for one device: autocast to ``dtype`` (None: full float32), and whether
    the loss must be scaled (float16 gradients underflow without it; bfloat16's do not)."""

    dtype: torch.dtype | None
    use_scaler: bool

    @property
    def enabled(self) -> bool:
        return self.dtype is not None


def amp_plan(device: torch.device, enabled: bool = True) -> AmpPlan:
    """bfloat16 on CUDA GPUs that support it, float16 + GradScaler on older ones, else off."""
    if not enabled or device.type != "cuda":
        return AmpPlan(None, False)
    if torch.cuda.is_bf16_supported():
        return AmpPlan(torch.bfloat16, False)
    return AmpPlan(torch.float16, True)


def make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """AdamW, Adam or SGD with Nesterov momentum, at ``cfg.lr``."""
    params = model.parameters()
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=cfg.lr, momentum=cfg.momentum, nesterov=True, weight_decay=cfg.weight_decay
        )
    raise ValueError(f"optimizer must be 'adamw', 'adam' or 'sgd', got {cfg.optimizer!r}")


def make_scheduler(
    optimizer: torch.optim.Optimizer, cfg: TrainConfig, total_steps: int
) -> torch.optim.lr_scheduler.LRScheduler:
    """Learning rate per step ``t`` of ``T = total_steps``: constant; cosine,
    ``lr (1 + cos(pi t / T)) / 2``; or one-cycle (warm up over 30% of the steps, then anneal)."""
    if cfg.schedule == "constant":
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    if cfg.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    if cfg.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=cfg.lr, total_steps=total_steps
        )
    raise ValueError(f"schedule must be 'constant', 'cosine' or 'onecycle', got {cfg.schedule!r}")


def _comparable(cfg: TrainConfig) -> dict[str, Any]:
    return {k: v for k, v in dataclasses.asdict(cfg).items() if k not in _RUN_ONLY_FIELDS}


def _check_resumable(saved: dict[str, Any], cfg: TrainConfig, path: Path) -> None:
    now = _comparable(cfg)
    changed = {k: (saved.get(k), v) for k, v in now.items() if saved.get(k) != v}
    if changed:
        detail = ", ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in changed.items())
        raise ValueError(
            f"{path} was written with another configuration ({detail}); "
            "delete it or use another checkpoint path"
        )


@torch.no_grad()
def evaluate(
    model: nn.Module,
    batches: DeviceBatches | LoaderBatches,
    device: torch.device,
    plan: AmpPlan = AmpPlan(None, False),
) -> tuple[float, float]:
    """Mean cross-entropy and accuracy (a fraction) of ``model`` over ``batches`` (see
    ``make_batches``). The sums stay on the device until the last batch."""
    model.eval()
    losses, corrects, count = [], [], 0
    for x, y in batches:
        with _autocast(device, plan):
            logits = model(x)
        losses.append(F.cross_entropy(logits.float(), y, reduction="sum"))
        corrects.append((logits.argmax(1) == y).sum())
        count += len(y)
    loss_sum = sum(torch.stack(losses).tolist(), 0.0)
    return loss_sum / count, sum(torch.stack(corrects).tolist()) / count


def _autocast(device: torch.device, plan: AmpPlan):
    if not plan.enabled:
        return nullcontext()
    return torch.autocast(device.type, dtype=plan.dtype)


def synchronize(device: torch.device) -> None:
    """Wait until ``device`` has finished the work queued on it (nothing to wait for on a CPU):
    GPUs run asynchronously, so a timer must wait before it reads the clock."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def fit(
    model: nn.Module,
    train_set: Dataset,
    test_set: Dataset,
    cfg: TrainConfig,
    augment: Callable[[torch.Tensor], torch.Tensor] | None = None,
    on_epoch_end: Callable[[dict[str, float]], None] | None = None,
) -> list[dict[str, float]]:
    """Train ``model`` on ``train_set`` for ``cfg.epochs`` epochs; return the history.

    Both datasets yield ``(x, y)`` with ``y`` a class index. ``augment`` (optional) maps a batch
    of inputs, already on the device, to new inputs during training. ``on_epoch_end`` is called
    with each new history row, after the checkpoint is written. If ``cfg.checkpoint`` names an
    existing file, training resumes from it (the configuration must be the same).
    Under ``torchrun`` (``ddp.setup()`` called first) the model is wrapped in
    ``DistributedDataParallel``; only rank 0 shows progress and writes checkpoints.
    The model is left on the device it was trained on.
    """
    device = choose_device(cfg.device)
    plan = amp_plan(device, cfg.amp)
    sample_x = train_set[0][0]
    wanted = device.type == "cuda" if cfg.channels_last is None else cfg.channels_last
    channels_last = wanted and device.type != "mps" and sample_x.dim() == 3
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True

    seed_everything(cfg.seed)
    model = model.to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    batches = functools.partial(
        make_batches,
        seed=cfg.seed,
        device=device,
        channels_last=channels_last,
        num_workers=cfg.num_workers,
        on_device=cfg.data_on_device,
    )
    train_batches = batches(train_set, cfg.batch_size, train=True)
    test_batches = batches(test_set, cfg.eval_batch_size, train=False)
    optimizer = make_optimizer(model, cfg)
    scheduler = make_scheduler(optimizer, cfg, cfg.epochs * len(train_batches))
    scaler = torch.amp.GradScaler(device.type, enabled=plan.use_scaler)

    history: list[dict[str, float]] = []
    start_epoch = 0
    path = Path(cfg.checkpoint) if cfg.checkpoint else None
    if path is not None and path.exists():
        state = load_checkpoint(path)
        _check_resumable(state["config"], cfg, path)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        history, start_epoch = state["history"], state["epoch"]
        set_rng_states(state["rng"])

    raw_model = model  # what gets saved: no DDP or compile wrapper
    if ddp.world_size() > 1:
        ids = (
            [device.index if device.index is not None else torch.cuda.current_device()]
            if device.type == "cuda"
            else None
        )
        model = nn.parallel.DistributedDataParallel(model, device_ids=ids)
    if cfg.compile:
        model = torch.compile(model)

    from tqdm.auto import tqdm

    quiet = not cfg.progress or bool(os.environ.get("TQDM_DISABLE")) or not ddp.is_main()
    steps = len(train_batches)
    for epoch in range(start_epoch, cfg.epochs):
        train_batches.set_epoch(epoch)
        model.train()
        # The loss and the correct count of every step, kept on the device: reading them back
        # after each step (.item()) would make the CPU wait for the GPU at every step.
        step_loss = torch.zeros(steps, device=device)
        step_correct = torch.zeros(steps, dtype=torch.int64, device=device)
        sizes = []
        synchronize(device)
        t0 = time.perf_counter()
        bar = tqdm(
            train_batches, desc=f"epoch {epoch + 1}/{cfg.epochs}", disable=quiet, leave=False
        )
        for step, (x, y) in enumerate(bar):
            if augment is not None:
                x = augment(x)
            with _autocast(device, plan):
                logits = model(x)
                loss = F.cross_entropy(logits.float(), y, label_smoothing=cfg.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            step_loss[step] = loss.detach()
            step_correct[step] = (logits.argmax(1) == y).sum()
            sizes.append(len(y))
        losses, corrects = step_loss.tolist(), step_correct.tolist()  # waits for the device
        seconds = time.perf_counter() - t0
        loss_sum = 0.0
        for loss_value, n in zip(losses, sizes, strict=True):
            loss_sum += loss_value * n
        sums = torch.tensor([loss_sum, sum(corrects), sum(sizes)], dtype=torch.float64)
        sums = ddp.all_reduce_sum(sums)
        test_loss, test_acc = evaluate(raw_model, test_batches, device, plan)
        row = {
            "epoch": epoch + 1,
            "train_loss": sums[0].item() / sums[2].item(),
            "train_acc": sums[1].item() / sums[2].item(),
            "test_loss": test_loss,
            "test_acc": test_acc,
            "lr": optimizer.param_groups[0]["lr"],
            "seconds": seconds,
            "images_per_s": sums[2].item() / seconds,
        }
        history.append(row)
        if not quiet:
            tqdm.write(
                f"epoch {epoch + 1}/{cfg.epochs}: train loss {row['train_loss']:.4f}, "
                f"test acc {test_acc:.2%}, {row['images_per_s']:,.0f} images/s"
            )
        if path is not None and ddp.is_main():
            save_checkpoint(
                path,
                {
                    "model": raw_model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "scaler": scaler.state_dict(),
                    "epoch": epoch + 1,
                    "history": history,
                    "rng": rng_states(),
                    "config": _comparable(cfg),
                },
            )
        if on_epoch_end is not None:
            on_epoch_end(row)
    return history


def time_to_accuracy(history: list[dict[str, float]], target: float) -> tuple[int, float] | None:
    """``(epoch, seconds)`` at the end of the first epoch whose test accuracy is at least
    ``target`` (a fraction), ``seconds`` being the training time summed over epochs 1..epoch
    (the evaluation passes are not counted); ``None`` if no epoch reached it."""
    if not 0 < target <= 1:
        raise ValueError(f"target must be an accuracy in (0, 1], got {target}")
    seconds = 0.0
    for row in history:
        seconds += row["seconds"]
        if row["test_acc"] >= target:
            return int(row["epoch"]), seconds
    return None
