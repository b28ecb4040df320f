"""Grading one Gradescope submission: ``python -m autograder.gradescope.run ASSIGNMENT
[--root DIR]`` (what the bundle's ``run_autograder`` runs).

Gradescope's layout, under ``--root`` (default ``$AUTOGRADER_ROOT`` or ``/autograder``):
``submission/`` holds what the learner uploaded, ``submission_metadata.json`` who they are,
``results/results.json`` is what Gradescope reads back. The learner's notebooks (regular
``.ipynb`` files, anywhere in ``submission/``; a link is never followed) are laid out as one
student of nbgrader's layout in a temporary folder and graded by ``grade``'s own code, one
worker, the same sandbox and limits. The learner's feedback is Gradescope's ``results.json``
(:mod:`autograder.grading.gradescope`).

Gradescope applies its own late policy: lateness is not looked at here. When the instructor's
source does not earn full marks (a broken image), nothing is written and the exit status is 3:
Gradescope then reports the autograder as failed instead of grading everyone 0.

``--self-test`` grades the instructor's source itself as the submission (``setup.sh`` runs it
to build the image) and fails unless it earns every autograded point.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import stat
import sys
import tempfile
from pathlib import Path

from ..files import write_atomic
from ..grading import SelfCheckError, grade_assignment
from ..grading.results import StudentResult
from ..notebooks import source_notebooks

STUDENT = "submission"  # the one student folder (Gradescope knows who it is)
MAX_FILES = 200  # entries looked at in an upload (a learner may upload a folder of anything)


def uploaded_notebooks(submission: Path) -> list[Path]:
    """Regular ``.ipynb`` files under ``submission`` (links and hidden names skipped)."""
    found: list[Path] = []
    seen = 0
    for folder, dirs, files in os.walk(submission, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__MACOSX")
        for name in sorted(files):
            seen += 1
            path = Path(folder) / name
            if seen > MAX_FILES:
                return found
            if name.endswith(".ipynb") and not name.startswith("."):
                if stat.S_ISREG(path.lstat().st_mode):
                    found.append(path)
    return found


def lay_out(assignment: str, submission: Path, base: Path) -> list[str]:
    """Copy the learner's notebooks into ``base/submission/ASSIGNMENT/``; notes for the learner."""
    target = base / STUDENT / assignment
    target.mkdir(parents=True)
    notes = []
    expected = {p.name for p in source_notebooks(assignment)}
    notebooks = uploaded_notebooks(submission) if submission.is_dir() else []
    # The expected names first, wherever they are; then the others (a misnamed notebook).
    notebooks.sort(key=lambda p: (p.name not in expected, len(p.parts), str(p)))
    for path in notebooks:
        destination = target / path.name
        if destination.exists():
            notes.append(f"{path.relative_to(submission)} was not graded: another {path.name} was")
            continue
        shutil.copyfile(path, destination)
    return notes


def grade_submission(assignment: str, root: Path) -> StudentResult:
    """Grade ``root/submission`` and write ``root/results/results.json``."""
    with tempfile.TemporaryDirectory(prefix="autograder-gradescope-") as name:
        base = Path(name)
        notes = lay_out(assignment, root / "submission", base / "submissions")
        results = grade_assignment(assignment, base / "submissions", base / "out", workers=1)
    result = results[0]
    result.notes.extend(notes)
    data = result.to_gradescope()
    text = json.dumps(data, indent=1, ensure_ascii=False) + "\n"
    write_atomic(root / "results" / "results.json", text)
    return result


def self_test(assignment: str) -> StudentResult:
    """Grade the instructor's source as a submission (the image can grade, kernels compiled)."""
    with tempfile.TemporaryDirectory(prefix="autograder-gradescope-") as name:
        root = Path(name)
        for path in source_notebooks(assignment):
            (root / "submission").mkdir(exist_ok=True)
            shutil.copyfile(path, root / "submission" / path.name)
        result = grade_submission(assignment, root)
    if result.score != result.autograded_max():
        raise SelfCheckError(
            f"the instructor's source earned {result.score:g} of {result.autograded_max():g}"
        )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.gradescope.run")
    parser.add_argument("assignment")
    parser.add_argument(
        "--root",
        type=Path,
        default=Path(os.environ.get("AUTOGRADER_ROOT", "/autograder")),
        help="Gradescope's folder (default: $AUTOGRADER_ROOT or /autograder)",
    )
    parser.add_argument("--self-test", action="store_true", help="grade the source itself")
    args = parser.parse_args(argv)
    try:
        if args.self_test:
            result = self_test(args.assignment)
        else:
            result = grade_submission(args.assignment, args.root)
    except SelfCheckError as error:
        print(f"error: {error}", file=sys.stderr)
        return 3
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{result.assignment}: {result.score:g} / {result.max_score:g} ({result.status.value})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
