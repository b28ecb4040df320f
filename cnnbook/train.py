"""Train a classifier with the course's loop, in one process or many.

One process (CPU, or the one GPU)::

    python -m cnnbook.train --dataset mnist1d --model cnn --epochs 10

Several processes with ``DistributedDataParallel`` (NCCL on GPUs, gloo on CPUs)::

    torchrun --standalone --nproc_per_node=2 -m cnnbook.train --epochs 10

On CPUs of one machine set ``GLOO_SOCKET_IFNAME=lo``. ``--batch-size`` is the global batch,
split evenly over the processes; rank 0 alone prints and writes the checkpoint. Resuming is
automatic: run the same command again with the same ``--checkpoint`` after an interruption.

Models with batch normalization (``cnn``, ``resnet18*``) normalize each process's share of the
batch with that share's statistics; ``--sync-batchnorm`` makes every process use the whole
batch's (``SyncBatchNorm``: GPUs with NCCL only; refused on CPU processes).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import torch
from torch import nn

from cnnbook import datasets, ddp, image_runs, models
from cnnbook.mnist1d_net import DilatedResNet
from cnnbook.training import TrainConfig, fit, seed_everything


class MLP(nn.Module):
    """``(N, L) -> (N, 10)``: two hidden layers of ``hidden`` ReLU units, the second residual
    (the MNIST-1D paper's MLP)."""

    def __init__(self, in_features: int, hidden: int = 256, classes: int = 10):
        super().__init__()
        self.linear1 = nn.Linear(in_features, hidden)
        self.linear2 = nn.Linear(hidden, hidden)
        self.linear3 = nn.Linear(hidden, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.linear1(x.flatten(1)).relu()
        h = h + self.linear2(h).relu()
        return self.linear3(h)


def load(dataset: str, limit: int | None) -> tuple:
    """``(train, test)`` TensorDatasets; ``digits`` flattened to 64 features; ``images``:
    CIFAR-10 if it is on disk, else the digits at 32×32, normalized (``image_runs``)."""
    if dataset == "images":
        return datasets.as_datasets(image_runs.load_images(limit).split)
    if dataset == "mnist1d":
        split = datasets.mnist1d()
    elif dataset == "digits":
        s = datasets.digits()
        split = datasets.Split(
            s.x_train.reshape(len(s.x_train), -1),
            s.y_train,
            s.x_test.reshape(len(s.x_test), -1),
            s.y_test,
        )
    else:
        raise ValueError(f"dataset must be 'mnist1d', 'digits' or 'images', got {dataset!r}")
    if limit is not None:
        split = datasets.Split(
            split.x_train[:limit], split.y_train[:limit], split.x_test, split.y_test
        )
    return datasets.as_datasets(split)


def make_model(name: str, example: torch.Tensor) -> nn.Module:
    """The model ``name`` for inputs shaped like ``example`` (one example, no batch axis)."""
    if name.startswith("resnet18"):
        if example.dim() != 3 or tuple(example.shape[1:]) != (32, 32):
            raise ValueError(
                f"--model {name} needs 32x32 images (--dataset images), got "
                f"examples of shape {tuple(example.shape)}"
            )
        widths = (16, 32, 64, 128) if name == "resnet18-quarter" else (64, 128, 256, 512)
        return models.resnet_small_images(18, 10, widths, in_channels=example.shape[0])
    if example.dim() != 1:
        raise ValueError(
            f"--model {name} needs flat examples (--dataset mnist1d or digits), "
            f"got examples of shape {tuple(example.shape)}"
        )
    if name == "mlp":
        return MLP(example.numel())
    return DilatedResNet(64, length=example.numel())  # chapter 17's network


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset", choices=["mnist1d", "digits", "images"], default="mnist1d")
    p.add_argument(
        "--model",
        choices=["mlp", "cnn", "resnet18", "resnet18-quarter"],
        default="cnn",
        help="resnet18*: for --dataset images (32x32)",
    )
    p.add_argument("--optimizer", choices=["adamw", "adam", "sgd"], default="adamw")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=64, help="global batch size")
    p.add_argument("--lr", type=float, default=5e-3)
    p.add_argument("--weight-decay", type=float, default=1e-2)
    p.add_argument("--schedule", choices=["constant", "cosine", "onecycle"], default="onecycle")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit", type=int, default=None, help="use the first N training examples")
    p.add_argument(
        "--sync-batchnorm",
        action="store_true",
        help="batch norm over the whole global batch across processes (GPUs/NCCL only)",
    )
    p.add_argument("--checkpoint", type=Path, default=None)
    p.add_argument(
        "--save-weights",
        type=Path,
        default=None,
        help="write each rank's final weights to DIR/rank<R>.pt",
    )
    p.add_argument("--history", type=Path, default=None, help="write the history as JSON")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> list[dict[str, float]]:
    """Train as the arguments say; under torchrun, join the process group first."""
    args = parse_args(argv)
    device = ddp.setup() if "RANK" in os.environ and not ddp.is_distributed() else None
    try:
        train_set, test_set = load(args.dataset, args.limit)
        seed_everything(args.seed)  # the same initial weights in every process
        model = make_model(args.model, train_set[0][0])
        if args.sync_batchnorm:
            model = ddp.sync_batchnorm(model)
        cfg = TrainConfig(
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=args.lr,
            weight_decay=args.weight_decay,
            schedule=args.schedule,
            optimizer=args.optimizer,
            seed=args.seed,
            device=device,
            checkpoint=args.checkpoint,
        )
        history = fit(model, train_set, test_set, cfg)
        if args.save_weights is not None:
            args.save_weights.mkdir(parents=True, exist_ok=True)
            torch.save(model.state_dict(), args.save_weights / f"rank{ddp.rank()}.pt")
        if ddp.is_main():
            last = history[-1]
            print(
                f"{ddp.world_size()} process(es): test accuracy {last['test_acc']:.2%} "
                f"after {last['epoch']} epochs"
            )
            if args.history is not None:
                args.history.write_text(json.dumps(history, indent=1))
        return history
    finally:
        if device is not None:
            ddp.cleanup()


if __name__ == "__main__":
    main(sys.argv[1:])
