"""The file formats of the classic datasets, decoded with NumPy alone (no download, no pickle
code execution): IDX (MNIST, Fashion-MNIST) and CIFAR-10's pickled "python version" batches.

:mod:`cnnbook.datasets` finds the files and turns them into a ``Split``.
"""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np

# Third byte of the magic number: the element type.
IDX_TYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def parse_idx(raw: bytes, name: str = "IDX data") -> np.ndarray:
    """Decode the IDX format: magic ``00 00 TT DD`` (type ``TT``, ``DD`` dimensions), then
    ``DD`` big-endian uint32 sizes, then the values, big-endian, row-major.

    Raises ``ValueError`` when the magic number, the sizes or the length do not fit."""
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_TYPES:
        raise ValueError(
            f"{name}: not an IDX file (magic number {raw[:4].hex()!r}; expected "
            f"00 00, a type code in {sorted(IDX_TYPES)}, and a dimension count)"
        )
    dtype, ndim = IDX_TYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise ValueError(f"{name}: IDX header declares {ndim} dimensions but is truncated")
    shape = tuple(int(s) for s in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(
            f"{name}: IDX sizes {shape} need {expected} bytes of data, found {len(raw) - header}"
        )
    return np.frombuffer(raw, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file, gzipped (``.gz``) or not."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        return parse_idx(f.read(), str(path))


# The only globals a CIFAR-10 batch may name: NumPy's array reconstruction (under its old and
# new module names), and `_codecs.encode`, which protocol-2 pickles written by Python 3 use
# to rebuild `bytes`. Anything else (os.system, ...) is refused.
_CIFAR_GLOBALS = {
    ("_codecs", "encode"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
}


class _CifarUnpickler(pickle.Unpickler):
    """An unpickler that builds only dicts, lists, strings, bytes, numbers and NumPy arrays."""

    def find_class(self, module: str, name: str):
        if (module, name) not in _CIFAR_GLOBALS:
            raise pickle.UnpicklingError(
                f"CIFAR-10 batch refers to {module}.{name}: not a "
                "CIFAR-10 batch (refusing to load it)"
            )
        if module == "_codecs":
            import codecs

            return codecs.encode
        from numpy._core import multiarray

        if name in ("_reconstruct", "scalar"):
            return getattr(multiarray, name)
        return getattr(np, name)


def read_cifar_batch(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """One batch of CIFAR-10's python version: images ``(N, 3, 32, 32)`` uint8 and labels
    ``(N,)`` int64. The file is a pickled dict (written by Python 2, hence ``bytes`` keys) with
    ``data`` of shape ``(N, 3072)``, each row the red, green and blue 32×32 planes, and
    ``labels``, a list of N ints in 0–9."""
    path = Path(path)
    with open(path, "rb") as f:
        batch = _CifarUnpickler(f, encoding="bytes").load()
    if not isinstance(batch, dict):
        raise ValueError(f"{path}: expected a pickled dict, got {type(batch).__name__}")
    batch = {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()}
    if "data" not in batch or "labels" not in batch:
        raise ValueError(
            f"{path}: a CIFAR-10 batch has keys 'data' and 'labels', found {sorted(batch)}"
        )
    data, labels = np.asarray(batch["data"]), np.asarray(batch["labels"], np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise ValueError(
            f"{path}: 'data' must be uint8 of shape (N, 3072), got {data.dtype} {data.shape}"
        )
    if labels.shape != (len(data),) or labels.min(initial=0) < 0 or labels.max(initial=0) > 9:
        raise ValueError(f"{path}: 'labels' must be {len(data)} ints in 0..9")
    return data.reshape(-1, 3, 32, 32), labels
