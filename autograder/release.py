"""``release``: turn an instructor's source notebook into the student version.

The student version keeps nbgrader's metadata (grade ids, points, checksums of locked cells) so
that nbgrader itself can still grade it, and loses everything a learner must not see:
solution regions become ``# YOUR CODE HERE`` stubs, hidden-test regions disappear, outputs and
execution counts are cleared. The result is byte-for-byte deterministic, so a test can prove that
the committed student version equals a fresh release.

``release`` writes the student version as learners get it (:func:`learner_notebook`): a setup
cell first, which installs the learner kit from the book's address where the course's package
is missing (Colab, Binder, a fresh Jupyter), and a check cell last. The grader's own student
version (:func:`student_version`, what grading compares submissions with) has neither.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.metadata
import json
import tomllib
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from .files import write_atomic
from .kit import URL_VARIABLE, kit_url
from .layout import PROJECT_ROOT
from .notebooks import (
    HIDDEN_BEGIN,
    SOLUTION_BEGIN,
    chapter_dir,
    grade_id,
    is_solution_cell,
    is_test_cell,
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
    markdown = [
        i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and not is_solution_cell(c)
    ]  # (not a written answer: its text is the learner's)
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


SETUP_ID = "course-setup"
CHECK_ID = "course-check"


def course_kit_url(root: Path = PROJECT_ROOT) -> str:
    """Where the book serves the learner wheel: ``html.baseurl`` of ``_config.yml`` and the
    version of ``pyproject.toml`` (see :func:`autograder.kit.kit_url`)."""
    import yaml  # the instructors' environment has it (Jupyter Book, nbgrader); the kit needs none

    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8")) or {}
    base = str((config.get("html") or {}).get("baseurl") or "")
    version = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return kit_url(base, version["version"])


def setup_cell_source(url: str) -> str:
    """The first cell of every released notebook. It defines no name (the grader never runs
    it, so a learner's code must not come to rely on one) and does nothing where the course's
    package is importable; elsewhere it installs the learner wheel from ``url`` (or from
    ``$COURSE_KIT_URL``) and then what the runtime lacks of its dependencies."""
    return f"""\
# Setup: run this cell first. Where the course's package is missing (Colab, Binder, a fresh
# Jupyter), it installs the course kit: the checks, the reference kernels and the book's helpers.
# Where the package is installed, it does nothing. {URL_VARIABLE} overrides the kit's address.
def _install_course_kit(url):
    import importlib.util
    import os
    import subprocess
    import sys

    if importlib.util.find_spec("autograder") is not None:
        return
    url = os.environ.get("{URL_VARIABLE}") or url
    print(f"Installing the course kit from {{url}}")
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", url]
    done = subprocess.run(pip, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(
            f"The course kit could not be installed from {{url}}. Check the internet connection, "
            "or set {URL_VARIABLE} to the kit's address and run this cell again. pip said:\\n"
            + done.stderr.strip()[-1500:]
        )
    importlib.invalidate_caches()
    from autograder import kit

    kit.install_missing_requirements()


_install_course_kit("{url}")
del _install_course_kit"""


def check_cell_source(name: str, example_part: str) -> str:
    """The last cell of every released notebook: the learner's check, from inside it."""
    return f"""\
# Check your work from here: this runs the notebook's public tests, as
# `python -m autograder check {name}` does in a terminal, and prints one line per graded part.
# It reads the notebook as saved: save it first (on Colab, it reads the open notebook).
# To check one part only: check.part("{example_part}")
from autograder import check

check.this_notebook()"""


def _course_cell(source: str, cell_id: str, locked: bool) -> NotebookNode:
    from nbgrader.utils import compute_checksum

    cell = nbformat.v4.new_code_cell(source)
    cell.pop("id", None)
    cell.metadata = {
        "nbgrader": {
            "grade": False,
            "grade_id": cell_id,
            "locked": locked,
            "schema_version": 3,
            "solution": False,
            "task": False,
        }
    }
    if locked:
        cell.metadata.update({"deletable": False, "editable": False})
        cell.metadata["nbgrader"].update(
            {"checksum": compute_checksum(cell), "cell_type": cell.cell_type}
        )
    return cell


def learner_notebook(released: NotebookNode, name: str, url: str) -> NotebookNode:
    """The student version as learners get it: a setup cell first (installs the kit where it is
    missing) and a check cell last. Neither is in the instructor's source, so the grader, which
    runs the source's cells with the learner's solutions, never runs them and ignores edits."""
    nb = copy.deepcopy(released)
    tests = [grade_id(c) for c in nb.cells if is_test_cell(c) and grade_id(c)]
    nb.cells.insert(0, _course_cell(setup_cell_source(url), SETUP_ID, locked=True))
    nb.cells.append(
        _course_cell(check_cell_source(name, tests[0] if tests else "ID"), CHECK_ID, False)
    )
    return nb


def release(assignment: str, out: Path | None = None) -> list[Path]:
    """Write the student version of every source notebook of ``assignment``, with the setup
    cell first and the check cell last (:func:`learner_notebook`).

    Args:
        assignment: the name of its folder of source notebooks (``layout.SOLUTIONS_DIR``).
        out: destination folder; default: the chapter folder named in the source metadata.

    Returns:
        The paths written.
    """
    written = []
    url = course_kit_url()
    for path in source_notebooks(assignment):
        source = read_notebook(path)
        destination = (out if out is not None else chapter_dir(source, assignment)) / path.name
        write_notebook(learner_notebook(student_version(source), path.name, url), destination)
        written.append(destination)
    return written
