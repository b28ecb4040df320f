"""``release``: turn an instructor's source notebook into the student version.

The student version keeps nbgrader's metadata (grade ids, points, checksums of locked cells) so
that nbgrader itself can still grade it, and loses everything a learner must not see:
solution regions become ``# YOUR CODE HERE`` stubs, hidden-test regions disappear, outputs and
execution counts are cleared. The result is byte-for-byte deterministic, so a test can prove that
the committed student version equals a fresh release.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.metadata
import json
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from .files import write_atomic
from .notebooks import (
    HIDDEN_BEGIN,
    SOLUTION_BEGIN,
    chapter_dir,
    read_notebook,
    source_notebooks,
    write_notebook,
)
from .rules import part_rules

KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


def student_version(source: NotebookNode) -> NotebookNode:
    """Return the student version of a source notebook (the source is not modified)."""
    # Imported here: nbgrader's package imports Jupyter Server (0.7 s), which grading avoids
    # when the student version is cached (see cached_student_version).
    from nbgrader.preprocessors import (
        CheckCellMetadata,
        ClearHiddenTests,
        ClearOutput,
        ClearSolutions,
        ComputeChecksums,
        LockCells,
    )

    nb = copy.deepcopy(source)
    state_rules(nb)
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


RULE_HEADING = "**What your code may not use.**"


def state_rules(nb: NotebookNode) -> None:
    """Say each part's rule in words where the learner reads the instructions: the rule most
    parts share after the first markdown cell, and a part's own rule after the markdown cell
    before its solution cell (:mod:`autograder.rules`)."""
    rules = part_rules(nb)
    if not rules:
        return
    words = {index: rule.in_words() for index, rule in rules.items()}
    common = max(set(words.values()), key=list(words.values()).count)
    markdown = [i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"]
    if markdown:
        first = nb.cells[markdown[0]]
        first.source = (
            f"{first.source.rstrip()}\n\n{RULE_HEADING} {common} The grader checks it "
            "(and `check` shows the same verdict): a part whose code uses any of these earns 0."
        )
    for index, text in words.items():
        before = [i for i in markdown if i < index]
        if text != common and before:
            cell = nb.cells[before[-1]]
            cell.source = f"{cell.source.rstrip()}\n\n{RULE_HEADING} In this part: {text}"


def _release_key(raw: bytes) -> str:
    """What the student version depends on: the source's bytes, this module, nbgrader."""
    digest = hashlib.sha256(raw)
    digest.update(Path(__file__).read_bytes())
    digest.update(importlib.metadata.version("nbgrader").encode())
    return digest.hexdigest()


def cached_student_version(
    path: Path, cache: Path | None = None
) -> tuple[NotebookNode, NotebookNode]:
    """The source notebook at ``path`` and its student version, the latter kept in ``cache``
    (a folder, e.g. ``~/.cache/autograder/released``) under a key of everything it depends on,
    so that a grading run whose sources have not changed never imports nbgrader.

    An unreadable or damaged cache entry is computed again; a cache that cannot be written is
    not used.
    """
    source = read_notebook(path)
    if cache is None:
        return source, student_version(source)
    entry = cache / f"{_release_key(path.read_bytes())}.ipynb"
    try:
        return source, nbformat.from_dict(json.loads(entry.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        pass
    released = student_version(source)
    try:
        write_atomic(entry, json.dumps(released, sort_keys=True))
    except OSError:
        pass
    return source, released


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
