"""Finding and reading submissions in nbgrader's layout, as untrusted input.

``SUBMISSIONS/<student>/<assignment>/<notebook>.ipynb`` (plus nbgrader's ``timestamp.txt``). A
student folder is the learner's; everything in it may be a trap: a symbolic link to another
student or to the instructor's files, a named pipe, a device, a file too large to read. The
grader only ever opens a regular file inside the student's own folder, without following a link
at any level, with a bounded size.
"""

from __future__ import annotations

import difflib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from nbformat import NotebookNode

from ..notebooks import NotebookError, parse_notebook

MAX_NOTEBOOK_BYTES = 64 * 1024 * 1024
# Names of the grader's own outputs in OUT: a student folder of that name would collide.
RESERVED_IDS = frozenset({"grades.csv", "review", "similarity", "export", "gradescope"})


@dataclass(frozen=True)
class StudentFolder:
    path: Path
    refused: str = ""  # why it is not graded (a link, a reserved name), or ""

    @property
    def student_id(self) -> str:
        return self.path.name


def student_folders(submissions: Path) -> list[StudentFolder]:
    """Every entry of ``submissions`` that stands for a student, sorted; hidden names skipped."""
    folders = []
    for entry in sorted(submissions.iterdir()):
        if entry.name.startswith("."):
            continue
        info = entry.lstat()
        if stat.S_ISLNK(info.st_mode):
            folders.append(
                StudentFolder(
                    entry,
                    f"the student folder {entry.name!r} is a symbolic link; "
                    "each student's work must be a folder of its own",
                )
            )
        elif not stat.S_ISDIR(info.st_mode):
            continue  # a stray file next to the student folders
        elif entry.name.lower() in RESERVED_IDS:
            folders.append(
                StudentFolder(
                    entry,
                    f"the folder name {entry.name!r} is reserved for the "
                    "grader's output; rename the student's folder to grade it",
                )
            )
        else:
            folders.append(StudentFolder(entry))
    return folders


def find_submission(folder: Path, expected: str) -> tuple[Path | None, str]:
    """The learner's notebook for ``expected`` in ``folder``, tolerating a misnamed single file.

    Returns (path, note) or (None, why not).
    """
    exact = folder / expected
    if os.path.lexists(exact):
        return exact, ""
    candidates = sorted(
        p for p in folder.glob("*.ipynb") if not p.name.startswith(".") and os.path.lexists(p)
    )
    if not candidates:
        found = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
        listing = f" (found: {', '.join(found[:5])})" if found else " (the folder is empty)"
        return None, f"no notebook {expected} in {folder.name}/{listing}"
    close = difflib.get_close_matches(expected, [p.name for p in candidates], n=2, cutoff=0.3)
    ratio = [difflib.SequenceMatcher(None, expected, name).ratio() for name in close]
    if len(candidates) == 1 or (close and (len(close) == 1 or ratio[0] > ratio[1])):
        chosen = folder / close[0] if close else candidates[0]
        return chosen, f"graded {chosen.name} as {expected} (rename it to {expected} next time)"
    names = ", ".join(p.name for p in candidates[:5])
    return None, f"no notebook {expected}; found {names} and could not tell which one to grade"


def assignment_folder(student: Path, assignment: str) -> tuple[Path | None, str, bool]:
    """``student/assignment`` if it is a real folder (not a link): (folder, "", False), else
    (None, why, whether something stands there that is not a folder)."""
    folder = student / assignment
    try:
        info = folder.lstat()
    except FileNotFoundError:
        return None, f"no folder {assignment}/ in the submission", False
    if stat.S_ISLNK(info.st_mode):
        return None, f"{assignment}/ is a symbolic link; submit the folder itself", True
    if not stat.S_ISDIR(info.st_mode):
        return None, f"{assignment} is not a folder", True
    return folder, "", False


def read_submission(path: Path) -> NotebookNode:
    """Read a learner's notebook: a regular file, opened without following links, at most
    :data:`MAX_NOTEBOOK_BYTES`. Raises :class:`NotebookError` with the reason."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        if os.path.islink(path):
            raise NotebookError(
                f"{path.name} is a symbolic link; submit the notebook itself"
            ) from None
        raise NotebookError(f"{path.name} could not be read ({error.strerror})") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise NotebookError(f"{path.name} is not a regular file")
        if info.st_size > MAX_NOTEBOOK_BYTES:
            raise NotebookError(
                f"{path.name} is larger than {MAX_NOTEBOOK_BYTES // 2**20} MB; clear the "
                "outputs and submit again"
            )
        raw = handle.read(MAX_NOTEBOOK_BYTES + 1)
    return parse_notebook(raw, path.name)
