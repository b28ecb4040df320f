"""Checking from inside a running notebook (`check.this_notebook()`, `check.part(...)`), and
the guarantees around it: the same rules as the grader, the same line per part as the command
line, and a grader that ignores the course's own cells of a released notebook."""

from __future__ import annotations

import json
import subprocess
import sys
import types

import nbformat
import pytest
from nbclient import NotebookClient
from notebook_helpers import (
    ASSIGNMENTS,
    ROOT,
    edit_cell,
    grade_class,
    load,
    released_path,
    save,
    solved_release,
    source_path,
)

from autograder import check, notebook_finder
from autograder.grading import student
from autograder.notebooks import read_notebook
from autograder.protocol import CHECK, MODE_VARIABLE
from autograder.release import CHECK_ID, SETUP_ID

CORRELATE = 'y = np.correlate(padded, w, mode="valid")[::stride][:o]'


def forbidden_conv1d() -> dict:
    """conv1d solved, but its loop part calls numpy.correlate (right values, forbidden)."""

    def use_correlate(source: str) -> str:
        start = source.index("    y = np.zeros(o)")
        end = source.index("    return y")
        return source[:start] + f"    {CORRELATE}\n" + source[end:]

    return edit_cell(solved_release("conv1d"), "conv1d-loop-solution", use_correlate)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_check_applies_the_graders_rules(assignment):
    """check prepares a notebook as the grader prepares a source, and both apply one definition
    of the rules (autograder.grading.violations): nothing forbidden in the source or the
    release, the guard configured for every part with a rule, and (conv1d) a forbidden answer
    found."""
    assert check.static_violations is student.static_violations
    assert check.guard_config is student.guard_config
    for path in (source_path(assignment), released_path(assignment)):
        nb = read_notebook(path)
        prepared, spliced = check.prepare(path, nb)
        assert check.static_violations(prepared, spliced) == {}
        guarded = check.guard_config(prepared, path.parent)["cells"]
        assert {c["index"] for c in guarded.values()} == set(prepared.rules)
    if assignment == "conv1d":
        nb = nbformat.from_dict(forbidden_conv1d())
        prepared, spliced = check.prepare(released_path(assignment), nb)
        found = check.static_violations(prepared, spliced)
        assert [v.name for vs in found.values() for v in vs] == ["numpy.correlate"]


def test_the_notebook_is_found_as_each_front_end_tells_it(tmp_path, monkeypatch):
    first, second = (
        save(load(released_path("conv1d")), tmp_path / n) for n in ("a.ipynb", "b.ipynb")
    )
    namespace = {}
    monkeypatch.setattr(notebook_finder, "_user_namespace", lambda: namespace)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(check.NotebookNotFound, match=r"a\.ipynb, b\.ipynb.*this_notebook\('"):
        check.find_this_notebook()  # two exercise notebooks in the folder: ambiguous
    monkeypatch.setenv("JPY_SESSION_NAME", str(second))  # JupyterLab, Notebook 7
    assert check.find_this_notebook() == (second, "Jupyter's JPY_SESSION_NAME")
    namespace["__session__"] = str(first)  # what ipykernel makes of it
    assert check.find_this_notebook() == (first, "Jupyter's __session__")
    namespace["__vsc_ipynb_file__"] = str(second)  # VS Code
    assert check.find_this_notebook() == (second, "VS Code's __vsc_ipynb_file__")
    namespace.clear()
    monkeypatch.setenv("JPY_SESSION_NAME", "Console 1")  # a console, not a notebook
    second.unlink()
    assert check.find_this_notebook() == (first, "the only exercise notebook in the working folder")
    # on Colab a file in the working folder is an upload, not the open notebook
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert check.find_this_notebook() == (None, "Colab")


def test_inside_a_check_run_it_does_nothing(monkeypatch, capsys):
    monkeypatch.setenv(MODE_VARIABLE, CHECK)
    report = check.this_notebook()
    report._ipython_display_()
    assert report.parts == [] and capsys.readouterr().out == "\n"


@pytest.mark.slow
def test_colab_hands_over_the_open_notebook(tmp_path, monkeypatch):
    """On Colab the notebook is not on the kernel's disk: its front end hands it over."""
    nb = solved_release("conv1d")
    nb["metadata"]["colab"] = {"name": "conv1d.ipynb", "provenance": []}
    asked = []

    def blocking_request(kind, request="", timeout_sec=5):
        asked.append(kind)
        return {"ipynb": json.loads(json.dumps(nb))}

    colab = types.ModuleType("google.colab")
    colab._message = types.SimpleNamespace(blocking_request=blocking_request)
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    monkeypatch.setattr(notebook_finder, "_user_namespace", dict)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.chdir(tmp_path)
    report = check.this_notebook()
    assert asked == ["get_ipynb"] and report.passed
    assert report.header.startswith("checked the open notebook conv1d.ipynb")
    assert "all 4 public parts pass" in report.text()
    assert [p.name for p in tmp_path.iterdir()] == [".conv1d.checks.jsonl"]  # no copy left


@pytest.mark.slow
def test_this_notebook_and_part_in_a_running_kernel(tmp_path):
    """A kernel runs the notebook as a learner would (run all): its last cell reports every
    part with the command line's lines, forbidden calls included; then one part alone."""
    nb = forbidden_conv1d()
    assert nb["cells"][0]["metadata"]["nbgrader"]["grade_id"] == SETUP_ID
    assert nb["cells"][-1]["metadata"]["nbgrader"]["grade_id"] == CHECK_ID
    extra = nbformat.v4.new_code_cell('check.part("im2col", "conv1d-loop")')
    extra.pop("id")
    nb["cells"].append(extra)
    path = save(nb, tmp_path / "conv1d.ipynb")
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()

    def output(cell) -> str:
        return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")

    whole, one = output(notebook.cells[-2]), output(notebook.cells[-1])
    command_line = subprocess.run(
        [sys.executable, "-m", "autograder", "check", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1"},
        timeout=300,
    ).stdout
    strip = check_lines  # colours aside, the lines are the command line's
    assert whole.startswith("checked conv1d.ipynb as saved at ")
    assert strip(whole) == strip(command_line)
    assert "\x1b[31m✗\x1b[0m conv1d-loop" in whole  # in colour, as Jupyter shows it
    plain = "\n".join(strip(whole))
    assert "✗ conv1d-loop" in plain and "forbidden: line" in plain and "numpy.correlate" in plain
    assert "✓ im2col" in plain and "3 of 4 public parts pass" in plain
    lines = [line for line in strip(one) if line[:1] in "✓✗·!"]
    assert [line.split()[1] for line in lines] == ["conv1d-loop", "im2col"]
    assert set(lines) <= set(strip(command_line))
    log = [
        json.loads(line) for line in (tmp_path / ".conv1d.checks.jsonl").read_text().splitlines()
    ]
    assert [(e["how"], e["passed"], e["public"]) for e in log] == [
        ("notebook", 3, 4),
        ("notebook", 1, 2),
        ("command line", 3, 4),
    ]


def check_lines(text: str) -> list[str]:
    """The report's part lines and summary, without colour codes, the header or the padding
    (a report's columns are as wide as its longest part name)."""
    import re

    plain = re.sub(r"\x1b\[[0-9;]*m", "", text)
    return [
        " ".join(line.split())
        for line in plain.splitlines()
        if line.strip() and not line.startswith("checked ")
    ]


@pytest.mark.slow
def test_a_part_alone_gets_the_line_of_a_whole_check(tmp_path):
    nb = edit_cell(
        solved_release("conv1d"), "im2col-solution", lambda s: s.replace("return", "return 2 *", 1)
    )
    path = save(nb, tmp_path / "conv1d.ipynb")
    whole = {r.grade_id: r for r in check.check_notebook(path)}
    for part in ("im2col", "same-padding"):
        (alone,) = check.check_notebook(path, parts=[part])
        assert alone == whole[part]
    assert whole["im2col"].status == "failed"
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "check", str(path), "--part", "nope"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert (
        done.returncode == 2 and "its parts are: output-length, output-length-hidden" in done.stderr
    )


@pytest.mark.slow
def test_the_grader_ignores_the_course_cells_of_a_release(tmp_path):
    """The setup and check cells are not in the instructor's source: a learner who edits or
    deletes them is graded as if they were untouched (no tampering, no crash)."""
    solved = solved_release("conv1d")
    edited = json.loads(json.dumps(solved))
    edited["cells"][0]["source"] = "print('I changed the setup')"
    del edited["cells"][-1]
    deleted = json.loads(json.dumps(solved))
    del deleted["cells"][0]
    results = grade_class(
        tmp_path, "conv1d", {"as-released": solved, "edited": edited, "deleted": deleted}, seed=3
    )
    for student_id, result in results.items():
        assert result.status == "ok", (student_id, result.reason)
        assert result.score == result.max_score, (student_id, result.score)
