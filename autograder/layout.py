"""Where things are in the course's repository: the one place that knows its layout."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS_DIR = PROJECT_ROOT / "solutions"  # instructor sources: solutions, hidden tests
CHAPTERS_DIR = PROJECT_ROOT / "chapters"  # the book, with the released notebooks
GIT_DIR = PROJECT_ROOT / ".git"
PACKAGE_DIR = PROJECT_ROOT / "autograder"
ORACLES_DIR = PACKAGE_DIR / "oracles"  # instructor-only expected values
REFERENCE_DIR = PACKAGE_DIR / "reference"


def instructor_only() -> tuple[Path, ...]:
    """What a learner's process must never read while grading (besides the submissions and the
    output folder, which the grader adds)."""
    return (SOLUTIONS_DIR, GIT_DIR, ORACLES_DIR)
