"""Datasets that work offline, and real loaders for the classic ones when the reader has them.

Nothing here downloads anything.

Always available (shipped in a wheel, or generated):

* ``digits()``: scikit-learn's 1,797 handwritten digits, 8×8, optionally resized to 32×32
  (the digit fills the middle 28×28, as in MNIST) for LeNet; a fixed, stratified split;
* ``mnist1d()``: the MNIST-1D benchmark (Greydanus, 2020) *regenerated* by the ``mnist1d``
  package from its templates and seed, 4,000 training and 1,000 test signals of length 40;
* ``photo(name)``: scikit-image's sample photos (``camera``, ``astronaut``, ``chelsea``,
  ``coffee``) as float32 in [0, 1];
* ``faces()``: ``skimage.data.lfw_subset()``, 100 faces and 100 non-faces, 25×25.

Read from local files when present (a ``FileNotFoundError`` says where to put them; the formats
are decoded in :mod:`cnnbook.file_formats`):

* ``mnist(kind="mnist" | "fashion")``: the IDX files of MNIST / Fashion-MNIST, gzipped or not,
  in ``$COURSE_DATA/mnist`` or ``$COURSE_DATA/fashion-mnist`` (``COURSE_DATA`` defaults to
  ``~/data``);
* ``cifar10()``: CIFAR-10's "python version" batches in ``$COURSE_DATA/cifar-10-batches-py``.

Every loader returns a ``Split`` of NumPy arrays; ``as_datasets(split)`` turns it into a pair of
PyTorch ``TensorDataset`` for ``cnnbook.training.fit``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

from cnnbook.file_formats import read_cifar_batch, read_idx

DIGITS_TEST_SIZE = 360  # fixed split: 1,437 training and 360 test images, stratified
DIGITS_SPLIT_SEED = 0


class Split(NamedTuple):
    """Training and test arrays: inputs ``x_*`` (N, ...) and integer labels ``y_*`` (N,)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def as_datasets(split: Split):
    """``(train, test)`` PyTorch ``TensorDataset`` (inputs float32, labels int64)."""
    import torch
    from torch.utils.data import TensorDataset

    def pair(x, y):
        return TensorDataset(
            torch.as_tensor(np.asarray(x, np.float32)), torch.as_tensor(np.asarray(y, np.int64))
        )

    return pair(split.x_train, split.y_train), pair(split.x_test, split.y_test)


def data_root() -> Path:
    """Where local copies of MNIST and CIFAR-10 live: ``$COURSE_DATA``, default ``~/data``."""
    return Path(os.environ.get("COURSE_DATA", "~/data")).expanduser()


# --- scikit-learn digits --------------------------------------------------------------------


def digits(size: int = 8) -> Split:
    """scikit-learn's digits as ``(N, 1, size, size)`` float32 in [0, 1], labels 0–9.

    ``size=8`` keeps the original images; ``size=32`` resizes them bilinearly to 28×28 and
    pads 2 zero pixels on each side, like MNIST in LeNet-5's 32×32 input. The split is fixed
    (stratified, ``DIGITS_TEST_SIZE`` test images, seed ``DIGITS_SPLIT_SEED``).
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x = (data.images / 16.0).astype(np.float32)[:, None]  # (1797, 1, 8, 8), values 0..16
    if size == 32:
        import torch
        import torch.nn.functional as F

        big = F.interpolate(
            torch.from_numpy(x), size=(28, 28), mode="bilinear", align_corners=False
        )
        x = F.pad(big, (2, 2, 2, 2)).clamp(0, 1).numpy()
    elif size != 8:
        raise ValueError(f"size must be 8 or 32, got {size}")
    x_tr, x_te, y_tr, y_te = train_test_split(
        x,
        data.target,
        test_size=DIGITS_TEST_SIZE,
        stratify=data.target,
        random_state=DIGITS_SPLIT_SEED,
    )
    return Split(x_tr, y_tr.astype(np.int64), x_te, y_te.astype(np.int64))


# --- MNIST-1D ---------------------------------------------------------------------------------


# The published MNIST-1D data set, ``mnist1d_data.pkl`` of github.com/greydanus/mnist1d (commit
# 7878d96, the file that ``mnist1d.data.get_dataset`` downloads), summarized here so that the
# regenerated data can be compared with it offline: SHA-256 of each array as ``mnist1d()``
# returns it (signals cast to float32, labels int64, C order) and the mean and standard
# deviation of the signals (of the file's float64 values). The pickle's float64 values differ
# from a fresh run of the generator only in the last bits, so the float32 hashes are the test.
MNIST1D_PUBLISHED = {
    "sha256": {
        "x_train": "d53506bddd12d3b72c7153b1ae7f34807724b1dd078a7273809bf9d0792319f6",
        "y_train": "d97dc7aecec8ad6b5d8f143ba3e9c4bd7e25c420d7dfc2eb990591cfc0ed3e15",
        "x_test": "30addc43827c82aafa5db8bc97cea63349ca687e87db2f201cc4f5415d9a4ebd",
        "y_test": "8de99be3ff9dab15ae0dc072c3d6ced7cf6b33d365888ce4a386fc944489452c",
    },
    "mean": {"x_train": -0.000323671674219, "x_test": 0.001294686696877},
    "std": {"x_train": 0.997647974936589, "x_test": 1.009352256228043},
}


def array_sha256(a: np.ndarray) -> str:
    """SHA-256 of an array's bytes in C order (its dtype and shape are not hashed)."""
    import hashlib

    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def mnist1d(shuffle_seq: bool = False, seed: int = 42, num_samples: int = 5000) -> Split:
    """MNIST-1D regenerated with the ``mnist1d`` package: ``x`` (N, 40) float32, labels 0–9.

    The defaults are the published dataset's: 5,000 signals, 80% for training, seed 42.
    ``shuffle_seq=True`` applies one fixed random permutation to the 40 positions of every
    signal (the paper's "shuffled" variant). ``mnist1d.data.make_dataset`` builds the data from
    the ten templates; its ``get_dataset`` (which may download a pickle) is never called. The
    package seeds NumPy's and Python's global generators; their states are restored here.
    """
    import random

    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.shuffle_seq, args.seed, args.num_samples = shuffle_seq, seed, num_samples
    np_state, py_state = np.random.get_state(), random.getstate()  # noqa: NPY002
    try:
        data = make_dataset(args)
    finally:
        np.random.set_state(np_state)  # noqa: NPY002 (the global one mnist1d seeds)
        random.setstate(py_state)
    return Split(
        data["x"].astype(np.float32),
        data["y"].astype(np.int64),
        data["x_test"].astype(np.float32),
        data["y_test"].astype(np.int64),
    )


# --- scikit-image photos and faces -----------------------------------------------------------

PHOTOS = ("camera", "astronaut", "chelsea", "coffee")


def photo(name: str) -> np.ndarray:
    """A sample photo shipped with scikit-image, float32 in [0, 1]: ``(H, W)`` for ``camera``,
    ``(H, W, 3)`` for the colour ones."""
    if name not in PHOTOS:
        raise ValueError(f"photo name must be one of {PHOTOS}, got {name!r}")
    import skimage.data

    return (getattr(skimage.data, name)() / 255.0).astype(np.float32)


def faces() -> tuple[np.ndarray, np.ndarray]:
    """``skimage.data.lfw_subset()``: images ``(200, 25, 25)`` float32 in [0, 1] and labels
    ``(200,)``, 1 for the 100 faces (first) and 0 for the 100 non-faces."""
    import skimage.data

    images = skimage.data.lfw_subset().astype(np.float32)
    labels = np.r_[np.ones(100, np.int64), np.zeros(100, np.int64)]
    return images, labels


# --- generated shapes with segmentation masks -----------------------------------------------

SHAPE_CLASSES = ("background", "circle", "square", "triangle")


def shape_mask(
    kind: str, size: int, center: tuple[float, float], radius: float, angle: float = 0.0
) -> np.ndarray:
    """The pixels of a ``size``×``size`` grid covered by one shape: a boolean array.

    ``kind`` is ``"circle"``, ``"square"`` or ``"triangle"``; ``center`` is ``(row, col)`` in
    pixel units (pixel ``(i, j)`` has its centre at ``(i + 0.5, j + 0.5)``); ``radius`` is the
    distance from the centre to the circle's edge or to the polygon's corners; ``angle``
    (radians) turns the polygon about its centre (a circle ignores it). A pixel belongs to the
    shape when its centre lies inside or on the edge.
    """
    if kind not in SHAPE_CLASSES[1:]:
        raise ValueError(f"kind must be one of {SHAPE_CLASSES[1:]}, got {kind!r}")
    if size < 1 or radius <= 0:
        raise ValueError(f"size must be >= 1 and radius > 0, got size={size}, radius={radius}")
    rows, cols = np.mgrid[0:size, 0:size] + 0.5
    dr, dc = rows - center[0], cols - center[1]
    if kind == "circle":
        return dr**2 + dc**2 <= radius**2
    corners = 4 if kind == "square" else 3
    turns = angle + 2 * np.pi * np.arange(corners) / corners
    vr, vc = radius * np.sin(turns), radius * np.cos(turns)  # corners, counter-clockwise
    inside = np.ones((size, size), bool)
    for k in range(corners):
        # the centre is on the left of every edge; so is every pixel inside the polygon
        er, ec = vr[(k + 1) % corners] - vr[k], vc[(k + 1) % corners] - vc[k]
        inside &= ec * (dr - vr[k]) - er * (dc - vc[k]) >= -1e-9
    return inside


def shapes(
    num_images: int,
    size: int = 32,
    *,
    max_shapes: int = 3,
    noise: float = 0.05,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Grey images of circles, squares and triangles, and their segmentation masks.

    Each image has 1 to ``max_shapes`` shapes of a random kind, position, size (radius
    between ``size/8`` and ``size/4.5``), rotation and brightness (0.5 to 1) on a darker
    background (0 to 0.3), plus Gaussian noise of standard deviation ``noise``, clipped to
    [0, 1]. A later shape covers an earlier one where they overlap, in the image and in the
    mask alike. The mask gives each pixel's class, an index into ``SHAPE_CLASSES``
    (0 background, 1 circle, 2 square, 3 triangle); the class can only be told from the
    shape's outline, not from its brightness.

    Returns ``images`` ``(num_images, 1, size, size)`` float32 and ``masks``
    ``(num_images, size, size)`` int64. The same ``seed`` gives the same data.
    """
    if num_images < 0 or size < 8 or max_shapes < 1:
        raise ValueError(
            f"need num_images >= 0, size >= 8 and max_shapes >= 1, got {num_images}, "
            f"{size}, {max_shapes}"
        )
    rng = np.random.default_rng(seed)
    images = np.empty((num_images, 1, size, size), np.float32)
    masks = np.zeros((num_images, size, size), np.int64)
    for n in range(num_images):
        image = np.full((size, size), rng.uniform(0.0, 0.3))
        for _ in range(rng.integers(1, max_shapes + 1)):
            label = int(rng.integers(1, len(SHAPE_CLASSES)))
            radius = rng.uniform(size / 8, size / 4.5)
            center = rng.uniform(radius, size - radius, size=2)
            inside = shape_mask(
                SHAPE_CLASSES[label], size, tuple(center), radius, rng.uniform(0, 2 * np.pi)
            )
            image[inside] = rng.uniform(0.5, 1.0)
            masks[n][inside] = label
        images[n, 0] = np.clip(image + noise * rng.normal(size=(size, size)), 0.0, 1.0)
    return images, masks


# --- IDX files (MNIST, Fashion-MNIST) --------------------------------------------------------

MNIST_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
MNIST_FOLDERS = {"mnist": "mnist", "fashion": "fashion-mnist"}


def mnist(kind: str = "mnist", root: str | Path | None = None) -> Split:
    """MNIST or Fashion-MNIST from local IDX files: ``x`` (N, 1, 28, 28) float32 in [0, 1].

    Looks in ``root`` (default ``data_root() / "mnist"`` or ``/ "fashion-mnist"``) for the four
    files of ``MNIST_FILES``, each with or without ``.gz``."""
    if kind not in MNIST_FOLDERS:
        raise ValueError(f"kind must be one of {tuple(MNIST_FOLDERS)}, got {kind!r}")
    folder = Path(root).expanduser() if root is not None else data_root() / MNIST_FOLDERS[kind]
    arrays = {}
    for key, stem in MNIST_FILES.items():
        candidates = [folder / (stem + ".gz"), folder / stem]
        found = next((p for p in candidates if p.exists()), None)
        if found is None:
            raise FileNotFoundError(
                f"{kind}: {candidates[0]} not found. Put the four files "
                f"{', '.join(s + '.gz' for s in MNIST_FILES.values())} (gzipped or not) in "
                f"{folder}, or set COURSE_DATA to the folder that holds "
                f"'{MNIST_FOLDERS[kind]}/'. Nothing is downloaded."
            )
        arrays[key] = read_idx(found)
    for part in ("train", "test"):
        x, y = arrays[f"x_{part}"], arrays[f"y_{part}"]
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise ValueError(
                f"{kind} {part}: images {x.shape} and labels {y.shape} do not "
                "match (expected (N, H, W) and (N,))"
            )
    return Split(
        *(
            arrays[k][:, None].astype(np.float32) / 255.0
            if k.startswith("x")
            else arrays[k].astype(np.int64)
            for k in MNIST_FILES
        )
    )


# --- CIFAR-10 ---------------------------------------------------------------------------------

CIFAR_FOLDER = "cifar-10-batches-py"
CIFAR_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR_TEST = "test_batch"
CIFAR_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)


def cifar10(root: str | Path | None = None) -> Split:
    """CIFAR-10 from its local python batches: ``x`` (N, 3, 32, 32) float32 in [0, 1].

    ``root`` (default ``data_root() / "cifar-10-batches-py"``) holds ``data_batch_1`` ..
    ``data_batch_5`` and ``test_batch``, as unpacked from ``cifar-10-python.tar.gz``."""
    folder = Path(root).expanduser() if root is not None else data_root() / CIFAR_FOLDER
    missing = [name for name in (*CIFAR_TRAIN, CIFAR_TEST) if not (folder / name).exists()]
    if missing:
        raise FileNotFoundError(
            f"CIFAR-10: {folder / missing[0]} not found. Unpack cifar-10-python.tar.gz so that "
            f"{folder} holds {', '.join(CIFAR_TRAIN)} and {CIFAR_TEST}, or set COURSE_DATA to "
            f"the folder that holds '{CIFAR_FOLDER}/'. Nothing is downloaded."
        )
    train = [read_cifar_batch(folder / name) for name in CIFAR_TRAIN]
    x_test, y_test = read_cifar_batch(folder / CIFAR_TEST)
    x_train = np.concatenate([x for x, _ in train])
    y_train = np.concatenate([y for _, y in train])
    return Split(
        x_train.astype(np.float32) / 255.0, y_train, x_test.astype(np.float32) / 255.0, y_test
    )
