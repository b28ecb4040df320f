"""The ResNet chapter's training runs: which data, which width, how long, and the target.

A *profile* says how much to train. ``quick`` fits in the book's build on a laptop CPU: a
quarter-width ResNet-18 and a few epochs. ``full`` is the GPU experience: the real ResNet-18
width and a schedule long enough for a published-grade result. ``choose_profile`` picks
``full`` on a GPU and ``quick`` elsewhere; ``$COURSE_PROFILE`` overrides it.

The data is CIFAR-10 when its python batches are on disk (``datasets.cifar10``), otherwise
scikit-learn's digits at 32×32, which ship with scikit-learn: the page always runs, and says
which data it used and how to get CIFAR-10.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from cnnbook import datasets

PROFILE_NAMES = ("quick", "full")


@dataclass(frozen=True)
class Profile:
    """How long and how wide to train (``widths``: channels of ResNet-18's four stages)."""

    name: str
    widths: tuple[int, int, int, int]
    epochs: int
    batch_size: int
    lr: float  # peak learning rate of the one-cycle schedule (SGD)
    train_limit: int | None = None  # use only the first N training images


PROFILES = {
    "quick": Profile(
        "quick", (16, 32, 64, 128), epochs=12, batch_size=64, lr=0.1, train_limit=10_000
    ),
    "full": Profile("full", (64, 128, 256, 512), epochs=30, batch_size=512, lr=0.4),
}

# Test accuracy to time, per data set and profile (fractions).
TARGETS = {
    ("cifar10", "quick"): 0.50,
    ("cifar10", "full"): 0.93,
    ("digits", "quick"): 0.97,
    ("digits", "full"): 0.99,
}


def choose_profile(device: torch.device, requested: str | None = None) -> Profile:
    """``requested``, else ``$COURSE_PROFILE``, else ``full`` on CUDA and ``quick`` elsewhere
    (Apple's MPS included: its speed varies too much between machines to promise the full run
    in a reasonable time)."""
    name = (
        requested
        or os.environ.get("COURSE_PROFILE")
        or ("full" if device.type == "cuda" else "quick")
    )
    if name not in PROFILES:
        raise ValueError(
            f"profile must be one of {PROFILE_NAMES} (argument or $COURSE_PROFILE), got {name!r}"
        )
    return PROFILES[name]


@dataclass
class ImageData:
    """Normalized images ``(N, C, 32, 32)`` float32, labels, class names and where they came
    from. ``mean``/``std`` are the per-channel statistics of the training images that were
    subtracted and divided by."""

    name: str
    split: datasets.Split
    classes: tuple[str, ...]
    mean: np.ndarray
    std: np.ndarray
    note: str


def load_images(limit: int | None = None, root: str | Path | None = None) -> ImageData:
    """CIFAR-10 from ``root`` (default ``$COURSE_DATA/cifar-10-batches-py``) if it is there,
    else scikit-learn's digits resized to 32×32. ``limit`` keeps the first ``limit`` training
    images (the test set is always whole)."""
    try:
        split = datasets.cifar10(root)
        name, classes = "cifar10", datasets.CIFAR_CLASSES
        note = f"CIFAR-10 from {root or datasets.data_root() / datasets.CIFAR_FOLDER}"
    except FileNotFoundError as missing:
        split = datasets.digits(32)
        name, classes = "digits", tuple(str(d) for d in range(10))
        note = f"scikit-learn's digits at 32×32 (CIFAR-10 not found: {missing})"
    if limit is not None and limit < len(split.x_train):
        split = datasets.Split(
            split.x_train[:limit], split.y_train[:limit], split.x_test, split.y_test
        )
    mean = split.x_train.mean(axis=(0, 2, 3), keepdims=True)
    std = split.x_train.std(axis=(0, 2, 3), keepdims=True) + 1e-6

    def norm(x: np.ndarray) -> np.ndarray:
        return ((x - mean) / std).astype(np.float32)

    split = datasets.Split(norm(split.x_train), split.y_train, norm(split.x_test), split.y_test)
    return ImageData(name, split, classes, mean.ravel(), std.ravel(), note)


def target_for(data_name: str, profile: Profile) -> float:
    """The test accuracy whose time-to-reach the page reports."""
    return TARGETS[(data_name, profile.name)]
