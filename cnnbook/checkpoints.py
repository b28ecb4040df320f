"""Checkpoints of the training loop: written atomically, with every random generator's state.

``fit`` saves one after each epoch (model, optimizer, scheduler, scaler, epoch, history and
the generators' states from :func:`rng_states`) and resumes from it when it exists.
"""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from autograder.files import write_atomic


def rng_states() -> dict[str, Any]:
    """The states of every random-number generator a run draws from: Python's, NumPy's global
    one, PyTorch's CPU generator and (when there is one) every CUDA device's."""
    states = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),  # noqa: NPY002
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: dict[str, Any]) -> None:
    """Put back the generators' states saved by :func:`rng_states`."""
    random.setstate(states["python"])
    np.random.set_state(states["numpy"])  # noqa: NPY002
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    """``torch.save`` to a temporary file, then rename: a crash never leaves half a file."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    write_atomic(Path(path), buffer.getvalue())


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint written by ``fit`` (it holds RNG states and the history, so it is
    unpickled in full: load only checkpoints you wrote yourself)."""
    return torch.load(path, map_location="cpu", weights_only=False)
