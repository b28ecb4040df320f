"""The ResNet chapter's training runs: which data, which width, how long, and the target.

A *profile* says how much to train. ``quick`` fits in the book's build on a laptop CPU: a
quarter-width ResNet-18 and a few epochs. ``full`` is the GPU experience: the real ResNet-18
width and a schedule long enough for a published-grade result. ``choose_profile`` picks
``full`` on a GPU and ``quick`` elsewhere; ``$COURSE_PROFILE`` overrides it.

A profile does not fix the batch size and the learning rate: ``Profile.recipe(n)`` chooses
them, and the number of epochs, from the number ``n`` of training images (see there), because a
recipe tuned for CIFAR-10's 50,000 images diverges on the 1,437 digits (batches of 512 leave
3 steps per epoch, and a learning rate of 0.4 sent the test loss to 429,339 on a GPU).
``train_config`` turns a recipe into the ``TrainConfig`` the chapter trains with.

The data is CIFAR-10 when its python batches are on disk (``datasets.cifar10``), otherwise
scikit-learn's digits at 32×32, which ship with scikit-learn: the page always runs, and says
which data it used and how to get CIFAR-10.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from cnnbook import datasets
from cnnbook.augment import shift_and_flip
from cnnbook.training import TrainConfig

PROFILE_NAMES = ("quick", "full")


@dataclass(frozen=True)
class Recipe:
    """The batch size, peak learning rate and epochs a profile uses on a given data set."""

    batch_size: int
    lr: float
    epochs: int
    steps_per_epoch: int


@dataclass(frozen=True)
class Profile:
    """How long and how wide to train (``widths``: channels of ResNet-18's four stages), and
    how to choose the batch and the learning rate for the data (``recipe``)."""

    name: str
    widths: tuple[int, int, int, int]
    epochs: int  # at least this many epochs
    max_batch_size: int  # the batch on a large data set
    lr_per_128: float  # peak learning rate (one-cycle, SGD) per 128 examples of batch
    min_steps_per_epoch: int = 20
    min_steps: int = 0  # at least this many steps in all
    train_limit: int | None = None  # use only the first N training images

    def recipe(self, n_train: int) -> Recipe:
        """The recipe for ``n_train`` training images:

        * batch: ``max_batch_size``, halved (down to 16) while an epoch would have fewer than
          ``min_steps_per_epoch`` steps: a one-cycle schedule over a few large steps per epoch
          warms up in a handful of steps and diverges;
        * learning rate: ``lr_per_128 * batch / 128``, the linear scaling rule (Goyal et al.,
          2017: the average of a batch twice as large is half as noisy, so the step can be
          twice as long);
        * epochs: ``epochs``, or more if that would make fewer than ``min_steps`` steps.
        """
        if n_train < 1:
            raise ValueError(f"n_train must be at least 1, got {n_train}")
        batch = self.max_batch_size
        while batch > 16 and n_train / batch < self.min_steps_per_epoch:
            batch //= 2
        steps = math.ceil(n_train / batch)
        epochs = max(self.epochs, math.ceil(self.min_steps / steps))
        return Recipe(batch, self.lr_per_128 * batch / 128, epochs, steps)


PROFILES = {
    "quick": Profile(
        "quick",
        (16, 32, 64, 128),
        epochs=12,
        max_batch_size=64,
        lr_per_128=0.2,
        min_steps=200,
        train_limit=10_000,
    ),
    "full": Profile(
        "full", (64, 128, 256, 512), epochs=30, max_batch_size=512, lr_per_128=0.1, min_steps=600
    ),
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


def train_config(recipe: Recipe, **settings) -> TrainConfig:
    """The chapter's training configuration for ``recipe``: SGD with Nesterov momentum 0.9,
    weight decay 5e-4, a one-cycle schedule peaking at ``recipe.lr``, label smoothing 0.1, seed
    0. ``settings`` override any field (``channels_last``, ``device``, ``seed``...)."""
    fields = dict(
        epochs=recipe.epochs,
        batch_size=recipe.batch_size,
        lr=recipe.lr,
        optimizer="sgd",
        momentum=0.9,
        weight_decay=5e-4,
        schedule="onecycle",
        label_smoothing=0.1,
        seed=0,
    )
    return TrainConfig(**{**fields, **settings})


def augmentation(data_name: str):
    """Random shifts of up to 4 pixels and left-right flips for photos (CIFAR-10); shifts of
    up to 2 pixels and no flips for the digits (a mirrored 2 is not a 2)."""
    if data_name == "cifar10":
        return shift_and_flip(4, flip=True)
    return shift_and_flip(2, flip=False)
