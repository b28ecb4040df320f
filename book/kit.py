"""``make dist``: the learner's kit, built from this (instructors') repository.

    python -m book.kit --html _build/html --out dist

writes

* ``dist/book/``: the web book (a copy of a build of ``make book``), with the learner wheel
  served beside its pages at ``book/kit/NAME.whl`` (where the notebooks' setup cell looks:
  ``html.baseurl`` of ``_config.yml``, see :func:`autograder.release.course_kit_url`);
* ``dist/cnn_from_scratch_kit-VERSION-py3-none-any.whl``: the learner wheel;
* ``dist/chapters/NN-slug/NAME.ipynb``: the released notebooks, at the paths the book's launch
  links use (so ``dist/`` can be published as the learners' repository);
* ``dist/README.md``: how a learner uses the kit.

The wheel is built from its own minimal packaging config, written to a temporary folder (the
instructors' ``pyproject.toml`` stays as it is): distribution ``cnn-from-scratch-kit``, the
version and the pins of ``pyproject.toml``, and only the modules in :data:`KIT_MODULES`: the
checker and the public checks, the reference kernels, the rules ``check`` enforces, the parts
of the grader that scoring needs, and the book's package ``cnnbook``. Never the instructor-only
oracles (``autograder/oracles``), the rest of the grader, the solutions or the hidden tests.

The build ends with :func:`find_leaks` over everything it wrote, and fails if anything of an
instructor's source (a solution's body, a line of a hidden test, nbgrader's solution and
hidden-test markers, a ``solutions/`` path, an oracle module) is in the kit.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path, PurePosixPath

from autograder.kit import KIT_DISTRIBUTION, KIT_FOLDER, wheel_name
from autograder.layout import PROJECT_ROOT
from book.leaks import Secrets, find_leaks

ROOT = PROJECT_ROOT

# What the learner wheel holds. A folder: all its modules; otherwise one module.
KIT_MODULES = (
    "autograder/__init__.py",
    "autograder/__main__.py",  # `python -m autograder check` (the instructor commands stay out)
    "autograder/check.py",  # the checker: command line, this_notebook(), part()
    "autograder/notebook_finder.py",  # which notebook this_notebook() checks
    "autograder/check_log.py",  # the learner's record of their checks
    "autograder/checks.py",  # what test cells call
    "autograder/cuda_simulator.py",  # conv-gpu's setup cell: numba's simulator, fixed
    "autograder/comparisons.py",
    "autograder/protocol.py",
    "autograder/notebooks.py",  # nbgrader's markup (it names the markers: see MARKER_CONSTANTS)
    "autograder/files.py",
    "autograder/layout.py",
    "autograder/kit.py",  # the setup cell's second half
    "autograder/release.py",  # imported by grading/sources.py; needs nbgrader only when called
    "autograder/reference",  # expected values of public tests (`lambda: ref.conv1d(...)`)
    "autograder/rules",  # the rules `check` enforces, as the grader does
    # Running cells: cells.py and processes.py import sandbox, zygote and users at module level;
    # those act only when grading as root (check never isolates), and hold nothing secret.
    "autograder/execution",
    # The parts of the grader that check's scoring runs through (same verdicts as grading).
    "autograder/grading/cache.py",
    "autograder/grading/errors.py",
    "autograder/grading/records.py",
    "autograder/grading/results.py",
    "autograder/grading/scoring.py",
    "autograder/grading/sources.py",
    "autograder/grading/splicing.py",
    "autograder/grading/violations.py",
    "cnnbook",  # the book's package: data sets, models, training loop, figures
)
# The kit's `autograder.grading` package: the modules above without the grader's __init__
# (which imports the whole grader: orchestration, workers, Dask).
# Dependencies of pyproject.toml a learner does not need: nbgrader (releases, not checks; it
# brings Jupyter Server and a database layer).
LEFT_OUT_DEPENDENCIES = ("nbgrader",)
GRADING_INIT = '''"""The parts of the grader that the learner's ``check`` scores with.

The instructors' repository holds the whole grader; the kit carries only what ``check`` needs to
give the grader's verdicts: records, results, scoring, sources and splicing.
"""
'''


def project_version(root: Path = ROOT) -> str:
    return tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "version"
    ]


def kit_dependencies(root: Path = ROOT) -> list[str]:
    """The learner wheel's requirements: pyproject.toml's, pinned alike, less what a learner
    never runs (:data:`LEFT_OUT_DEPENDENCIES`)."""
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [
        d
        for d in project["dependencies"]
        if re.split(r"[=<>!~ \[]", d, maxsplit=1)[0] not in LEFT_OUT_DEPENDENCIES
    ]


def kit_files(root: Path = ROOT) -> list[str]:
    """The files of :data:`KIT_MODULES`, relative to ``root``, sorted."""
    files = set()
    for entry in KIT_MODULES:
        path = root / entry
        if path.is_dir():
            files |= {
                p.relative_to(root).as_posix()
                for p in path.rglob("*.py")
                if "__pycache__" not in p.parts
            }
        elif path.is_file():
            files.add(entry)
        else:
            raise FileNotFoundError(f"KIT_MODULES names {entry}, which does not exist")
    return sorted(files)


def _pyproject(version: str, dependencies: list[str], packages: list[str]) -> str:
    def toml_list(items: list[str]) -> str:
        return "[" + ", ".join(json.dumps(i) for i in items) + "]"

    return f"""\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "{KIT_DISTRIBUTION}"
version = "{version}"
description = "Convolutional Neural Networks from Scratch: the learner's kit"
readme = "README.md"
license = "MIT"
# Pure Python; the course is built and tested on 3.11 (hosted notebooks run 3.11 or later).
requires-python = ">=3.11"
dependencies = {toml_list(dependencies)}

[tool.setuptools]
packages = {toml_list(packages)}
include-package-data = false
"""


def build_wheel(out: Path, root: Path = ROOT) -> Path:
    """Build the learner wheel into ``out`` from a temporary packaging folder; its path."""
    out = out.resolve()  # pip runs in the packaging folder
    version = project_version(root)
    files = kit_files(root)
    packages = sorted({str(PurePosixPath(f).parent).replace("/", ".") for f in files})
    with tempfile.TemporaryDirectory(prefix="learner-kit-") as tmp:
        staging = Path(tmp)
        for name in files:
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / name, staging / name)
        (staging / "autograder/grading/__init__.py").write_text(GRADING_INIT, encoding="utf-8")
        (staging / "README.md").write_text(learner_readme(version, root), encoding="utf-8")
        (staging / "pyproject.toml").write_text(
            _pyproject(version, kit_dependencies(root), packages), encoding="utf-8"
        )
        out.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PIP_NO_INDEX": "1", "SOURCE_DATE_EPOCH": "315532800"}
        done = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps"]
            + ["--no-build-isolation", "--wheel-dir", str(out), str(staging)],
            capture_output=True,
            text=True,
            env=env,
            cwd=staging,
        )
        if done.returncode != 0:
            raise RuntimeError(f"building the learner wheel failed:\n{done.stdout}{done.stderr}")
    wheel = out / wheel_name(version)
    if not wheel.is_file():
        raise RuntimeError(f"pip wrote no {wheel.name} into {out}")
    return wheel


def wheel_modules(wheel: Path) -> list[str]:
    """The modules a wheel holds, dotted (``autograder.check``), sorted."""
    with zipfile.ZipFile(wheel) as archive:
        names = [n for n in archive.namelist() if n.endswith(".py")]
    return sorted(n[:-3].replace("/", ".").removesuffix(".__init__") for n in names)


def learner_readme(version: str, root: Path = ROOT) -> str:
    from autograder.release import course_kit_url

    url = course_kit_url(root)
    book = url.rsplit(f"/{KIT_FOLDER}/", 1)[0] + "/"
    return f"""\
# Convolutional Neural Networks from Scratch: the learner's kit

The web book: {book}

- **Read** the book online, or open `book/index.html` of this kit in a browser.
- **Exercises**: download a chapter's notebook from its page (or take it from `chapters/`).
  Its first cell sets it up: where the course's package is missing (Colab, Binder, a fresh
  Jupyter) it installs it from the book; where it is installed it does nothing.
- **Your own machine** (Python 3.11): install the kit with the versions the book was built
  with, then work in any Jupyter:

  ```bash
  python3.11 -m venv .venv && . .venv/bin/activate
  pip install {url}
  ```

- **Check your work** from a terminal, `python -m autograder check conv1d.ipynb`, or from the
  notebook itself, in its last cell: `from autograder import check; check.this_notebook()`
  (one part: `check.part("conv1d-loop")`). One line per graded part: `✓` passed, `✗` failed
  with the first thing to fix, `·` hidden tests that run when your work is graded, `!` a cell
  of yours that raised an error. Each check is noted in `.NAME.checks.jsonl` beside the
  notebook; hand it in with the notebook if your instructor asks for it (it is never graded).

Kit version {version}. Code: MIT. Book text and figures: CC BY 4.0.
"""


def build_kit(out: Path, html: Path, root: Path = ROOT) -> Path:
    """Write the learner kit into ``out`` (emptied first) from a built book ``html``; returns
    ``out``. Raises ``RuntimeError`` if the kit would leak anything of the instructors'."""
    if not (html / "index.html").is_file():
        raise FileNotFoundError(f"{html} holds no built book: run `make book` first")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    wheel = build_wheel(out, root)
    shutil.copytree(html, out / "book", ignore=shutil.ignore_patterns(".buildinfo"))
    (out / "book" / KIT_FOLDER).mkdir(exist_ok=True)
    shutil.copy2(wheel, out / "book" / KIT_FOLDER / wheel.name)
    for notebook in sorted((root / "chapters").glob("*/*.ipynb")):
        target = out / notebook.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(notebook, target)
    (out / "README.md").write_text(learner_readme(project_version(root), root), encoding="utf-8")
    leaks = find_leaks(out, Secrets.of(root))
    if leaks:
        raise RuntimeError("the learner kit leaks:\n  " + "\n  ".join(leaks[:20]))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m book.kit", description=__doc__.split("\n")[0])
    parser.add_argument("--html", type=Path, default=ROOT / "_build" / "html", help="built book")
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="where the kit goes")
    args = parser.parse_args(argv)
    try:
        out = build_kit(args.out, args.html)
    except (FileNotFoundError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    wheel = out / wheel_name(project_version())
    print(f"wrote the learner kit into {out} ({size / 1e6:.1f} MB; wheel {wheel.name}, ", end="")
    print(f"{wheel.stat().st_size / 1e3:.0f} kB, {len(wheel_modules(wheel))} modules)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
