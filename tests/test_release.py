"""The committed student versions are exactly what `release` produces, and leak nothing."""

import re

import pytest
from notebook_helpers import ASSIGNMENTS, ROOT, cell_source, load

from autograder.notebooks import read_notebook, source_notebooks
from autograder.release import release, student_version


def _solution_lines(source_text: str) -> list[str]:
    """The distinctive lines inside solution and hidden-test regions of a source cell."""
    lines, inside = [], False
    for line in source_text.splitlines():
        marker = line.strip()
        if marker in ("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS"):
            inside = True
        elif marker in ("### END SOLUTION", "### END HIDDEN TESTS"):
            inside = False
        elif inside and len(marker) > 12 and not marker.startswith(("#", '"""', "return")):
            lines.append(marker)
    return lines


def _outside_regions(source_text: str) -> str:
    return re.sub(r"### BEGIN (SOLUTION|HIDDEN TESTS).*?### END \1", "", source_text, flags=re.S)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_committed_student_version_equals_a_fresh_release(assignment, tmp_path):
    written = release(assignment, tmp_path)
    for fresh in written:
        source = read_notebook(source_notebooks(assignment)[0])
        chapter = ROOT / source.metadata["autograder"]["chapter"]
        committed = chapter / fresh.name
        assert committed.exists(), f"run: python -m autograder release {assignment}"
        assert committed.read_text() == fresh.read_text(), (
            f"{committed} is out of date: run python -m autograder release {assignment}"
        )


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_student_version_contains_no_solution_or_hidden_test(assignment):
    for path in source_notebooks(assignment):
        source = load(path)
        secret = [line for c in source["cells"] for line in _solution_lines(cell_source(c))]
        assert secret, "the source should contain solution code"
        public = "\n".join(_outside_regions(cell_source(c)) for c in source["cells"])
        secret = [line for line in secret if line not in public]  # e.g. imports shared with them
        assert len(secret) >= 5
        released = read_notebook(ROOT / source["metadata"]["autograder"]["chapter"] / path.name)
        text = "\n".join(c.source for c in released.cells)
        assert not re.search(r"BEGIN (SOLUTION|HIDDEN TESTS)", text)
        leaked = [line for line in secret if line in text]
        assert not leaked, f"solution or hidden-test lines leaked into the release: {leaked[:3]}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_student_version_keeps_nbgrader_metadata(assignment):
    for path in source_notebooks(assignment):
        source = read_notebook(path)
        released = student_version(source)
        ids = [c.metadata["nbgrader"]["grade_id"] for c in source.cells]
        assert [c.metadata["nbgrader"]["grade_id"] for c in released.cells] == ids
        assert len(set(ids)) == len(ids), "grade ids must be unique"
        for before, after in zip(source.cells, released.cells, strict=True):
            for key in ("grade", "solution", "points"):
                assert before.metadata["nbgrader"].get(key) == after.metadata["nbgrader"].get(key)
            if after.metadata["nbgrader"].get("grade") or after.metadata["nbgrader"].get("locked"):
                assert "checksum" in after.metadata["nbgrader"]
            if after.cell_type == "code":
                assert after.outputs == [] and after.execution_count is None
        assert released.metadata["kernelspec"]["name"] == "python3"


def test_release_refuses_unknown_assignment(tmp_path):
    with pytest.raises(ValueError, match="unknown assignment 'nope'.*known assignments"):
        release("nope", tmp_path)


def test_release_is_deterministic(tmp_path):
    first = release(ASSIGNMENTS[0], tmp_path / "a")
    second = release(ASSIGNMENTS[0], tmp_path / "b")
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]


def test_cached_student_version_equals_a_fresh_one_and_skips_nbgrader(tmp_path):
    import subprocess
    import sys

    from autograder.release import cached_student_version

    path = source_notebooks("conv1d")[0]
    cache = tmp_path / "released"
    source, first = cached_student_version(path, cache)
    assert first == student_version(read_notebook(path)) and source == read_notebook(path)
    (entry,) = cache.glob("*.ipynb")
    _, again = cached_student_version(path, cache)
    assert again == first
    # a later grading process reads the cache and never imports nbgrader (0.7 s)
    probe = (
        "import sys; from pathlib import Path; from autograder.release import "
        f"cached_student_version as c; c(Path({str(path)!r}), Path({str(cache)!r})); "
        "print('nbgrader' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT)
    assert done.stdout.strip() == "False", done.stderr
    # a damaged entry is computed again and repaired
    entry.write_text('{"cells": ')
    _, repaired = cached_student_version(path, cache)
    assert repaired == first and entry.read_text().startswith('{"cells": [')
    # an edited source gets its own entry
    edited = tmp_path / path.name
    edited.write_text(path.read_text().replace("Implement", "Write"), encoding="utf-8")
    cached_student_version(edited, cache)
    assert len(list(cache.glob("*.ipynb"))) == 2
