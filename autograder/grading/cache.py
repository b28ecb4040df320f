"""The grader's caches between runs: student versions of sources and compiled numba kernels."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def autograder_cache(name: str, override: str = "") -> Path | None:
    """``override`` if given, else ``$XDG_CACHE_HOME/autograder/NAME`` (default
    ``~/.cache/autograder/NAME``), created; None if it cannot be written."""
    home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = Path(override) if override else home / "autograder" / name
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError:
        return None
    return folder


def persistent_numba_cache() -> str:
    """Where the expectation runs keep numba's compiled reference kernels between grading runs
    (``$AUTOGRADER_NUMBA_CACHE``, else ``~/.cache/autograder/numba``), or "" if not writable.

    Only the instructor's expectation runs use it: the learner's process never runs the
    reference. numba's index is keyed on each kernel's source file (time stamp and size) and
    numba's version, so an edited reference is compiled again.
    """
    folder = autograder_cache("numba", os.environ.get("AUTOGRADER_NUMBA_CACHE", ""))
    return str(folder) if folder else ""
