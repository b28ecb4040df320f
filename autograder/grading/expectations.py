"""What every check of a source expects, recorded by the instructor's code alone.

The source notebook (solutions and hidden tests, expected values computed by the reference or
the instructor's solution) runs with ``AUTOGRADER_MODE=expect`` in a fresh process where no
learner code ever runs. Its records are saved in ``OUT/.expectations/<seed>/<notebook>/``, which
the sandbox hides from every learner, and read once per grading worker.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

from ..execution.cells import run_cells
from ..execution.outcomes import CellStatus
from ..layout import REFERENCE_DIR
from ..notebooks import grade_id, is_test_cell
from ..protocol import EXPECT, MODE_VARIABLE, SEED_VARIABLE
from .cache import persistent_numba_cache
from .options import GradingOptions
from .records import RecordStore

READY_MARKER = ".ready"  # in the expectations folder: written when every expectation is
FAILED_MARKER = ".failed"  # ... or when the expectation run failed


def record_expectations(source_path: Path, folder: Path, options: GradingOptions) -> None:
    """Run ``source_path`` in expect mode and save its records in ``folder`` (replaced).

    Raises ``ValueError`` when a test cell fails or makes no check: the grader could not judge.
    """
    from .sources import load_source

    prepared = load_source(source_path)
    if folder.exists():
        shutil.rmtree(folder)
    store = RecordStore(folder, trusted=True)
    cells = [(i, c.source) for i, c in enumerate(prepared.source.cells) if c.cell_type == "code"]
    numba_cache = persistent_numba_cache() or str(folder / "numba-cache")
    try:
        with tempfile.TemporaryDirectory(prefix="autograder-expect-") as scratch:
            run = run_cells(
                cells,
                Path(scratch),
                cell_timeout=max(options.cell_timeout, 300),
                total_timeout=3600,
                memory_mb=None,
                env={
                    SEED_VARIABLE: str(options.seed),
                    MODE_VARIABLE: EXPECT,
                    "NUMBA_CACHE_DIR": numba_cache,
                },
                recorder=store,
            )
        for index, cell in enumerate(prepared.source.cells):
            if not is_test_cell(cell):
                continue
            outcome = run.outcomes[index]
            if outcome.status != CellStatus.OK:
                raise ValueError(
                    f"{source_path.name}: test cell {grade_id(cell)!r} fails with the "
                    f"instructor's solution: {outcome.message}\n{run.output[-3000:]}"
                )
            if not store.records(index):
                raise ValueError(
                    f"{source_path.name}: test cell {grade_id(cell)!r} makes no check; "
                    "compare through autograder.checks so the grader can judge it"
                )
        store.save()
    finally:
        store.close()


def load_expectations(folder: Path) -> RecordStore:
    """The saved expectations in ``folder`` (read once per worker, again if rewritten)."""
    try:
        stamp = (folder / "records.jsonl").stat().st_mtime_ns
    except OSError:
        stamp = 0
    return _load(str(folder), stamp)


@functools.lru_cache(maxsize=16)
def _load(folder: str, stamp: int) -> RecordStore:  # noqa: ARG001 - part of the cache key
    return RecordStore.load(Path(folder))


def wait_for(ready_marker: str) -> None:
    """Block until the expectations are recorded (learners started before they were)."""
    if not ready_marker:
        return
    ready = Path(ready_marker)
    failed = ready.with_name(FAILED_MARKER)
    parent = os.getppid()
    while not ready.exists():
        if failed.exists() or os.getppid() != parent:
            raise RuntimeError("the expectation run failed; nothing was judged")
        time.sleep(0.02)


def warm_cache_marker(cache: str, sources: list[Path]) -> Path:
    """A file in the numba cache that exists once an expectation run of ``sources`` compiled
    into it with the reference, numba and Python as they are now."""
    try:
        numba_version = metadata.version("numba")
    except metadata.PackageNotFoundError:
        numba_version = ""
    stamps = [sys.version, numba_version]
    for path in sorted([*REFERENCE_DIR.glob("*.py"), *sources], key=str):
        info = path.stat()
        stamps.append(f"{path}:{info.st_mtime_ns}:{info.st_size}")
    key = hashlib.sha256("\n".join(stamps).encode()).hexdigest()[:24]
    return Path(cache) / f".autograder-warm-{key}"
