"""The Gradescope autograder bundle of one assignment: a zip with, at its root,

- ``setup.sh``: run once when Gradescope builds the image (Ubuntu, as root): installs Python
  3.11 and the course's pinned dependencies (``requirements.txt``, from ``pyproject.toml``)
  into ``/autograder/venv``, then grades the instructor's source once, which compiles the
  reference kernels into their cache and proves the image can grade;
- ``run_autograder``: run for every submission: ``python -m autograder.gradescope.run``;
- what grading needs: the ``autograder`` package (reference, oracles, rules, grader),
  ``cnnbook``, ``pyproject.toml`` and the assignment's sources (``solutions/ASSIGNMENT/``, with
  the hidden tests: the bundle is for Gradescope's instructors only, never for learners).

The archive is deterministic (sorted entries, fixed dates), so two builds of the same tree are
byte-identical.
"""

from __future__ import annotations

import io
import tomllib
import zipfile
from pathlib import Path

from ..files import write_atomic
from ..layout import PROJECT_ROOT, SOLUTIONS_DIR
from ..notebooks import source_notebooks

PACKAGES = ("autograder", "cnnbook")
FILES = ("pyproject.toml", "LICENSE")
SKIPPED_PARTS = {"__pycache__", ".pytest_cache"}
EPOCH = (1980, 1, 1, 0, 0, 0)

SETUP = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image (Ubuntu).
set -euo pipefail
cd /autograder/source
if ! command -v python3.11 >/dev/null; then
    apt-get update
    apt-get install -y python3.11 python3.11-venv \\
        || { apt-get install -y software-properties-common \\
             && add-apt-repository -y ppa:deadsnakes/ppa && apt-get update \\
             && apt-get install -y python3.11 python3.11-venv; }
fi
python3.11 -m venv /autograder/venv
/autograder/venv/bin/pip install --no-cache-dir --upgrade pip
/autograder/venv/bin/pip install --no-cache-dir -r requirements.txt
# Grade the instructor's own source once: compiles the reference kernels into their cache and
# fails the image build here, not on the first learner, when the image cannot grade.
/autograder/venv/bin/python -m autograder.gradescope.run {assignment} --self-test
"""

RUN = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission (as /autograder/run_autograder). It grades
# $AUTOGRADER_ROOT/submission/ (default /autograder) and writes
# $AUTOGRADER_ROOT/results/results.json. AUTOGRADER_PYTHON overrides the interpreter (for a
# local trial run of the bundle).
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PYTHON="${AUTOGRADER_PYTHON:-$ROOT/venv/bin/python}"
cd "$ROOT/source"
exec "$PYTHON" -m autograder.gradescope.run {assignment} --root "$ROOT"
"""


def requirements(root: Path = PROJECT_ROOT) -> str:
    """The pinned dependencies of ``pyproject.toml``, one a line."""
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return "\n".join(project["dependencies"]) + "\n"


def _files(assignment: str) -> list[tuple[str, Path]]:
    """(name in the zip, file on disk) of everything the bundle carries from the repository."""
    found = []
    for package in PACKAGES:
        for path in sorted((PROJECT_ROOT / package).rglob("*")):
            relative = path.relative_to(PROJECT_ROOT)
            if path.is_file() and not SKIPPED_PARTS & set(relative.parts):
                if path.suffix not in (".pyc", ".nbi", ".nbc"):
                    found.append((relative.as_posix(), path))
    for name in FILES:
        if (PROJECT_ROOT / name).is_file():
            found.append((name, PROJECT_ROOT / name))
    for path in source_notebooks(assignment):
        found.append((path.relative_to(PROJECT_ROOT).as_posix(), path))
    return found


def _add(archive: zipfile.ZipFile, name: str, data: bytes, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (0o755 if executable else 0o644) << 16
    archive.writestr(info, data)


def build_bundle(assignment: str, out: Path) -> Path:
    """Write the Gradescope bundle of ``assignment`` to ``out`` (a ``.zip``) and return it.
    ``ValueError`` for an unknown assignment or a destination that is not a zip file."""
    if out.suffix.lower() != ".zip":
        raise ValueError(f"--out {out}: Gradescope takes a .zip file; name it e.g. autograder.zip")
    if out.resolve().is_relative_to(SOLUTIONS_DIR.resolve()):
        raise ValueError(f"--out {out} is inside the sources ({SOLUTIONS_DIR})")
    files = _files(assignment)  # raises for an unknown assignment
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, script in (("setup.sh", SETUP), ("run_autograder", RUN)):
            _add(archive, name, script.replace("{assignment}", assignment).encode(), True)
        _add(archive, "requirements.txt", requirements().encode())
        for name, path in sorted(files):
            _add(archive, name, path.read_bytes())
    write_atomic(out, buffer.getvalue())
    return out
