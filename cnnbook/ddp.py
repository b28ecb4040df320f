"""Training past one machine: the process group behind ``DistributedDataParallel``.

``torchrun --nproc_per_node=W script.py`` starts ``W`` copies of a script and tells each its
``RANK`` (0 .. W-1), ``LOCAL_RANK`` (its index on this machine) and ``WORLD_SIZE`` in the
environment. ``setup()`` joins them into one process group: NCCL between GPUs, gloo between
CPU processes. Each process then trains a replica of the model on its share of every batch;
after ``backward`` DDP averages the gradients over the processes, so every replica takes the
same step. That step is the one a single process would take on the whole batch (with a
mean-reduced loss and equal shares) only if each example's loss depends on that example
alone. Batch normalization breaks this in training: each process normalizes with the mean and
variance of its own share, and keeps running statistics of its own share.
``sync_batchnorm(model)`` replaces the model's batch-norm layers by ``SyncBatchNorm``, which
computes the statistics over the whole global batch; PyTorch implements it for GPUs only.

Outside ``torchrun`` (no process group) ``rank() == 0`` and ``world_size() == 1``, and the
helpers below do nothing: the course's training loop calls them unconditionally.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist
from torch import nn


def is_distributed() -> bool:
    """True inside a process group (after ``setup()`` under ``torchrun``)."""
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    """This process's index in the group, 0 outside one."""
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    """How many processes train together, 1 outside a process group."""
    return dist.get_world_size() if is_distributed() else 1


def is_main() -> bool:
    """True on rank 0, the process that logs and writes checkpoints."""
    return rank() == 0


def setup(backend: str | None = None) -> str:
    """Join the process group ``torchrun`` describes in the environment; return the device
    this process should use (``cuda:LOCAL_RANK`` with NCCL, ``cpu`` with gloo).

    Raises ``RuntimeError`` when not started by ``torchrun`` (no ``RANK``/``WORLD_SIZE``)."""
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        raise RuntimeError(
            "ddp.setup() needs the environment torchrun sets up: start with "
            "`torchrun --standalone --nproc_per_node=2 ...`"
        )
    if backend is None:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    if backend == "nccl":
        torch.cuda.set_device(local_rank)
    dist.init_process_group(backend=backend)
    return f"cuda:{local_rank}" if backend == "nccl" else "cpu"


def cleanup() -> None:
    """Leave the process group (call once at the end of a distributed run)."""
    if is_distributed():
        dist.destroy_process_group()


def sync_batchnorm_supported() -> bool:
    """Whether ``SyncBatchNorm`` can run here: in a process group whose backend is NCCL (GPUs),
    or outside any group (where it is plain batch normalization). PyTorch's ``SyncBatchNorm``
    rejects CPU tensors, so a gloo group of CPU processes cannot use it."""
    return not is_distributed() or dist.get_backend() == "nccl"


def sync_batchnorm(model: nn.Module) -> nn.Module:
    """``model`` with every batch-norm layer replaced by ``nn.SyncBatchNorm`` (same weights and
    running statistics), so that all processes normalize with the statistics of the whole
    global batch. Call it before training (``fit`` then wraps the model in DDP).

    Raises ``RuntimeError`` in a process group that cannot run it (``sync_batchnorm_supported``).
    """
    if not sync_batchnorm_supported():
        raise RuntimeError(
            f"SyncBatchNorm needs GPUs and the NCCL backend; this process group uses "
            f"{dist.get_backend()!r} (CPU processes), on which PyTorch's SyncBatchNorm does not "
            "run. Without it, each process normalizes with the statistics of its own share of "
            "the batch."
        )
    return nn.SyncBatchNorm.convert_sync_batchnorm(model)


def all_reduce_sum(t: torch.Tensor) -> torch.Tensor:
    """The sum of ``t`` over all processes (``t`` itself outside a process group).

    Reduced on the device the backend needs (CUDA for NCCL) and returned on ``t``'s device."""
    if not is_distributed():
        return t
    on = (
        torch.device("cuda", torch.cuda.current_device())
        if dist.get_backend() == "nccl"
        else torch.device("cpu")
    )
    buf = t.to(on)
    dist.all_reduce(buf, op=dist.ReduceOp.SUM)
    return buf.to(t.device)
