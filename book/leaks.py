"""Proving the absence: nothing of the instructors' sources in the learner kit.

:func:`find_leaks` opens everything under a folder (wheels and zips included) and reports, one
line per finding, a solution region's body, a distinctive line of a hidden test or of an
instructor-only oracle module, nbgrader's solution and hidden-test markers, or a path in (or a
mention of) the ``solutions/`` folder. A secret that a page or module has because its own
hand-written source has it too (the book teaches it) is listed apart as *published*.
"""

from __future__ import annotations

import html as html_text
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from autograder.layout import PROJECT_ROOT

ROOT = PROJECT_ROOT

# Never in the kit, whatever KIT_MODULES says (find_leaks checks the wheel too).
ORACLES = "autograder/oracles"
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
