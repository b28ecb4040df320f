"""No answer key within a learner's reach: released notebooks and importable course modules.

For every assignment, the functions its solution cells define (the graded functions) must not be
implemented anywhere a learner's graded process can import from, nor in any released notebook
(where they are stubs). The reference kernels and the book's package may implement them: they are
forbidden in every part, and hidden from the learner's process while grading (checked here).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from notebook_helpers import ASSIGNMENTS, ROOT, source_path

from autograder.grading.sources import load_source
from autograder.notebooks import is_solution_cell, read_notebook

COURSE_PACKAGES = [ROOT / "autograder", ROOT / "cnnbook"]


def graded_functions(assignment: str) -> set[str]:
    names = set()
    for cell in read_notebook(source_path(assignment)).cells:
        if cell.cell_type == "code" and is_solution_cell(cell):
            tree = ast.parse(cell.source)
            names |= {
                n.name
                for n in tree.body
                if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            }
    return names


def _is_stub(node: ast.FunctionDef | ast.ClassDef) -> bool:
    """A released definition: per function a docstring, `super().__init__()` and
    `raise NotImplementedError()`, nothing else."""
    for inner in ast.walk(node):
        if isinstance(inner, ast.FunctionDef | ast.AsyncFunctionDef):
            body = [s for s in inner.body if not _boilerplate(s)]
            if body and not all(isinstance(s, ast.Raise) for s in body):
                return False
    return True


def _boilerplate(statement: ast.stmt) -> bool:
    if isinstance(statement, ast.Pass):
        return True
    if isinstance(statement, ast.Expr):
        value = statement.value
        if isinstance(value, ast.Constant):
            return True  # a docstring
        return "super()" in ast.unparse(value)
    return False


def _loop_tool_of_a_vectorized_part(node: ast.AST) -> bool:
    """A locked tool written with loops, for a name whose own part requires no loops (a rule
    that takes the whole part): it earns nothing there, so it is no answer key."""
    has_loop = any(isinstance(n, ast.For | ast.While) for n in ast.walk(node))
    return has_loop and any(
        f"check_no_python_loops({node.name})" in "".join(c.source)
        for a in ASSIGNMENTS
        for c in read_notebook(source_path(a)).cells
        if c.cell_type == "code"
    )


def definitions(tree: ast.AST) -> list[ast.FunctionDef | ast.ClassDef]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef)]


def reachable_modules(hidden: tuple[Path, ...]) -> list[Path]:
    files = [f for package in COURSE_PACKAGES for f in package.rglob("*.py")]
    return [f for f in files if not any(f == h or h in f.parents for h in hidden)]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_no_importable_course_module_implements_a_graded_function(assignment):
    prepared = load_source(source_path(assignment))
    names = graded_functions(assignment)
    assert names, "an assignment defines its graded functions in its solution cells"
    found = []
    for module in reachable_modules(prepared.hidden):
        tree = ast.parse(module.read_text(encoding="utf-8"))
        found += [
            f"{module.relative_to(ROOT)}: {d.name}" for d in definitions(tree) if d.name in names
        ]
    assert found == []


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_what_implements_it_elsewhere_is_hidden_from_the_graded_process(assignment):
    prepared = load_source(source_path(assignment))
    hidden = {p.relative_to(ROOT).as_posix() for p in prepared.hidden if ROOT in p.parents}
    assert {"autograder/reference", "autograder/oracles", "solutions"} <= hidden
    assert "cnnbook" in hidden, "the book's package implements networks and figures of the course"


def test_released_notebooks_hold_stubs_only():
    graded = set().union(*(graded_functions(a) for a in ASSIGNMENTS))
    found = []
    for released in sorted((ROOT / "chapters").glob("*/*.ipynb")):
        for cell in json.loads(released.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] != "code":
                continue
            tree = ast.parse("".join(cell["source"]))
            found += [
                f"{released.name}: {d.name}"
                for d in definitions(tree)
                if d.name in graded and not _is_stub(d) and not _loop_tool_of_a_vectorized_part(d)
            ]
    assert found == []


def test_the_scan_finds_an_answer_key_when_there_is_one(tmp_path):
    """The scan can fail: an implementation of a graded function in a course module is found."""
    planted = ROOT / "cnnbook" / "_planted_answer_key_for_the_test.py"
    planted.write_text("def conv1d_loop(x, w, stride=1, padding=0):\n    return x\n")
    try:
        found = [
            d.name
            for module in reachable_modules(())
            for d in definitions(ast.parse(module.read_text(encoding="utf-8")))
            if d.name in graded_functions("conv1d")
        ]
        assert "conv1d_loop" in found
    finally:
        planted.unlink()
