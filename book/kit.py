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
import html as html_text
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from autograder.kit import KIT_DISTRIBUTION, KIT_FOLDER, wheel_name

ROOT = Path(__file__).resolve().parent.parent

# What the learner wheel holds. A folder: all its modules; otherwise one module.
KIT_MODULES = (
    "autograder/__init__.py",
    "autograder/__main__.py",  # `python -m autograder check` (the instructor commands stay out)
    "autograder/check.py",  # the checker: command line, this_notebook(), part()
    "autograder/check_log.py",  # the learner's record of their checks
    "autograder/checks.py",  # what test cells call
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
    "cnnbook",  # the book's package: data sets, models, training loop, figures
)
# The kit's `autograder.grading` package: the modules above without the grader's __init__
# (which imports the whole grader: orchestration, workers, Dask).
GRADING_INIT = '''"""The parts of the grader that the learner's ``check`` scores with.

The instructors' repository holds the whole grader; the kit carries only what ``check`` needs to
give the grader's verdicts: records, results, scoring, sources and splicing.
"""
'''
# Never in the kit, whatever KIT_MODULES says (find_leaks checks the wheel too).
ORACLES = "autograder/oracles"
# Dependencies of pyproject.toml a learner does not need: nbgrader (releases, not checks; it
# brings Jupyter Server and a database layer).
LEFT_OUT_DEPENDENCIES = ("nbgrader",)
# The one module that names nbgrader's markers, as constants (the markup it reads).
MARKER_CONSTANTS = {
    "autograder/notebooks.py": (
        'HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"',
        'HIDDEN_END = "### END HIDDEN TESTS"',
        'SOLUTION_BEGIN = "### BEGIN SOLUTION"',
        'SOLUTION_END = "### END SOLUTION"',
    )
}
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


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


# --- proving the absence ----------------------------------------------------------------------


def _code_lines(text: str) -> list[str]:
    """Lines stripped, without blank and comment-only lines."""
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def _regions(source: str, begin: str, end: str) -> list[str]:
    found, inside, lines = [], False, []
    for line in source.splitlines():
        marker = line.strip()
        if marker.startswith("#") and begin in marker:
            inside, lines = True, []
        elif marker.startswith("#") and end in marker:
            if inside:
                found.append("\n".join(lines))
            inside = False
        elif inside:
            lines.append(line)
    return found


@dataclass
class Secrets:
    """What must never be in the kit, taken from the instructors' sources."""

    solution_bodies: list[tuple[str, ...]] = field(default_factory=list)  # code lines, in order
    hidden_lines: set[str] = field(default_factory=set)  # distinctive lines of hidden tests
    oracle_lines: set[str] = field(default_factory=set)  # distinctive lines of oracle modules
    sources: int = 0

    @classmethod
    def of(cls, root: Path = ROOT) -> Secrets:
        """Every solution region's body; every line of a hidden test or an oracle module that
        is distinctive (over 12 characters) and that no source notebook shows outside its
        solution and hidden-test regions (``config=config)`` closes public checks too)."""
        secrets = cls()
        notebooks = []
        for path in sorted((root / "solutions").glob("*/*.ipynb")):
            cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
            notebooks.append(
                [
                    "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
                    for c in cells
                ]
            )
        secrets.sources = len(notebooks)
        public = set()
        for text in (t for texts in notebooks for t in texts):
            outside = re.sub(
                r"### BEGIN (SOLUTION|HIDDEN TESTS).*?### END \1", "", text, flags=re.S
            )
            public |= set(_code_lines(outside))
        for text in (t for texts in notebooks for t in texts):
            for body in _regions(text, "BEGIN SOLUTION", "END SOLUTION"):
                lines = tuple(_code_lines(body))
                if lines and len("".join(lines)) >= 12:
                    secrets.solution_bodies.append(lines)
            for body in _regions(text, "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
                secrets.hidden_lines |= {
                    line for line in _code_lines(body) if len(line) > 12 and line not in public
                }
        for module in sorted((root / "autograder" / "oracles").rglob("*.py")):
            secrets.oracle_lines |= {
                line
                for line in _code_lines(module.read_text(encoding="utf-8"))
                if len(line) >= 30 and not line.startswith(("import ", "from ", '"""', "return"))
            }
        return secrets

    def found_in(self, text: str) -> list[str]:
        """What of these secrets ``text`` holds, one phrase each."""
        lines = _code_lines(text)
        present = set(lines)
        found = [
            f"a line of a hidden test: {line[:80]!r}"
            for line in sorted(present & self.hidden_lines)
        ]
        found += [
            f"a line of an instructor-only oracle: {line[:80]!r}"
            for line in sorted(present & self.oracle_lines)
        ]
        firsts: dict[str, list[tuple[str, ...]]] = {}
        for body in self.solution_bodies:
            firsts.setdefault(body[0], []).append(body)
        for start in (i for i, line in enumerate(lines) if line in firsts):
            for body in firsts[lines[start]]:
                if tuple(lines[start : start + len(body)]) == body:
                    found.append(f"the body of a solution cell: {body[0][:80]!r}")
        return list(dict.fromkeys(found))


# Hand-written public sources: what the book and its package publish by design. A secret found
# in a kit file that was made from one of these, and that is in that source too, is not a leak
# of the build (the book teaches the same code as the exercise asks for); find_leaks lists it
# apart, as "published", for the instructors to judge.
PUBLISHED_SOURCES = ("chapters/*/index.md", "intro.md", "cnnbook/**.py", "autograder/**.py")


def _published(candidate: str) -> bool:
    parts = PurePosixPath(candidate).parts
    return (
        candidate == "intro.md"
        or (len(parts) == 3 and parts[0] == "chapters" and parts[2] == "index.md")
        or (parts[0] in ("cnnbook", "autograder") and candidate.endswith(".py"))
    )


def _origin(name: str, root: Path) -> Path | None:
    """The hand-written source in ``root`` that the kit file ``name`` was made from, if any."""
    if "!/" in name:
        candidate = name.split("!/", 1)[1]
    elif name.startswith("book/_sources/"):
        candidate = name.removeprefix("book/_sources/")
    elif name.startswith("book/") and name.endswith(".html"):
        candidate = name.removeprefix("book/").removesuffix(".html") + ".md"
    else:
        return None
    path = root / candidate
    published = bool(candidate) and _published(candidate)
    return path if published and path.is_file() and ORACLES not in candidate else None


TEXT_SUFFIXES = {".html", ".htm", ".js", ".css", ".txt", ".md", ".py", ".json", ".ipynb", ".svg"}
TEXT_SUFFIXES |= {".toml", ".cfg", ".yml", ".yaml", ".xml", ".csv", ".tex", ".rst", ""}


def _strings(value) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _readable_text(name: str, data: bytes) -> str | None:
    """The text a reader could get from a file: tags stripped from HTML, the strings of JSON."""
    suffix = PurePosixPath(name).suffix.lower()
    if suffix not in TEXT_SUFFIXES and not name.endswith(("METADATA", "RECORD", "WHEEL")):
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if suffix in (".html", ".htm", ".svg", ".xml"):
        text = html_text.unescape(re.sub(r"<[^>]*>", "", text))
    elif suffix in (".ipynb", ".json"):
        try:
            text = "\n".join(_strings(json.loads(text)))
        except ValueError:
            pass
    return text


def _files(folder: Path) -> Iterator[tuple[str, bytes]]:
    """(path, bytes) of every file under ``folder``, and of every member of its archives."""
    for path in sorted(folder.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        name = path.relative_to(folder).as_posix()
        data = path.read_bytes()
        yield name, data
        if path.suffix in (".whl", ".zip"):
            with zipfile.ZipFile(path) as archive:
                for member in archive.namelist():
                    yield f"{name}!/{member}", archive.read(member)


def find_leaks(
    folder: Path, secrets: Secrets, root: Path = ROOT, published: list[str] | None = None
) -> list[str]:
    """Everything under ``folder`` (archives opened) that an instructor's source would explain:
    one line per finding, ``path: what``. An empty list proves the absence.

    A secret that a page or module has because its hand-written source has it too (see
    :data:`PUBLISHED_SOURCES`) is appended to ``published`` instead, when given.
    """
    if not secrets.sources or not secrets.solution_bodies or not secrets.hidden_lines:
        raise ValueError("no secrets to look for: is the solutions/ folder there?")
    leaks = []
    for name, data in _files(folder):
        parts = PurePosixPath(name.replace("!/", "/")).parts
        if "solutions" in parts:
            leaks.append(f"{name}: a path in a solutions/ folder")
        if f"/{ORACLES}/" in "/" + "/".join(parts):
            leaks.append(f"{name}: an instructor-only oracle module")
        text = _readable_text(name, data)
        if text is None:
            continue
        member = name.split("!/", 1)[1] if "!/" in name else ""
        for allowed in MARKER_CONSTANTS.get(member, ()):
            text = text.replace(allowed, "")
        if "solutions/" in text:
            leaks.append(f"{name}: names the instructors' solutions/ folder")
        found = [m for m in MARKERS if m in text]
        if found:
            leaks.append(f"{name}: nbgrader marker {found[0]!r}")
        secret = secrets.found_in(text)
        origin = _origin(name, root) if secret else None
        already = set(secrets.found_in(origin.read_text(encoding="utf-8"))) if origin else set()
        for what in secret:
            if what in already:
                if published is not None:
                    published.append(f"{name}: {what} (also in {origin.relative_to(root)})")
            else:
                leaks.append(f"{name}: {what}")
    return leaks


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
