"""``release``: turn an instructor's source notebook into the student version.

The student version keeps nbgrader's metadata (grade ids, points, checksums of locked cells) so
that nbgrader itself can still grade it, and loses everything a learner must not see:
solution regions become ``# YOUR CODE HERE`` stubs, hidden-test regions disappear, outputs and
execution counts are cleared. The result is byte-for-byte deterministic, so a test can prove that
the committed student version equals a fresh release.
"""

from __future__ import annotations

import copy
from pathlib import Path

from nbformat import NotebookNode
from nbgrader.preprocessors import (
    CheckCellMetadata,
    ClearHiddenTests,
    ClearOutput,
    ClearSolutions,
    ComputeChecksums,
    LockCells,
)

from .notebooks import (
    HIDDEN_BEGIN,
    SOLUTION_BEGIN,
    chapter_dir,
    read_notebook,
    source_notebooks,
    write_notebook,
)

KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


def student_version(source: NotebookNode) -> NotebookNode:
    """Return the student version of a source notebook (the source is not modified)."""
    nb = copy.deepcopy(source)
    resources: dict = {}
    for preprocessor in (
        CheckCellMetadata(),
        ClearSolutions(),
        ClearHiddenTests(),
        LockCells(),
        ClearOutput(),
        ComputeChecksums(),
    ):
        nb, resources = preprocessor.preprocess(nb, resources)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.execution_count = None
            cell.outputs = []
        cell.pop("id", None)
        cell.metadata.pop("execution", None)
    nb.metadata = {
        "kernelspec": dict(KERNELSPEC),
        "language_info": {"name": "python"},
        "autograder": dict(source.metadata.get("autograder", {})),
    }
    nb.nbformat, nb.nbformat_minor = 4, 4
    leaked = [c.source for c in nb.cells if SOLUTION_BEGIN in c.source or HIDDEN_BEGIN in c.source]
    if leaked:  # nbgrader leaves regions in cells not marked as solution/grade cells
        raise ValueError(
            "solution or hidden-test markup left in a cell after release; mark the cell as a "
            f"solution or test cell in nbgrader metadata:\n{leaked[0][:200]}"
        )
    return nb


def release(assignment: str, out: Path | None = None) -> list[Path]:
    """Write the student version of every source notebook of ``assignment``.

    Args:
        assignment: folder name under ``solutions/``.
        out: destination folder; default: the chapter folder named in the source metadata.

    Returns:
        The paths written.
    """
    written = []
    for path in source_notebooks(assignment):
        source = read_notebook(path)
        destination = (out if out is not None else chapter_dir(source, assignment)) / path.name
        write_notebook(student_version(source), destination)
        written.append(destination)
    return written
