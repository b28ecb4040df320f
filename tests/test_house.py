"""The house rules of the code (README's maintainers' table): small modules, no import circle,
dependencies that point one way, and runners that start fast."""

from __future__ import annotations

import ast
import functools
import graphlib
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("autograder", "cnnbook", "book")
MAX_LINES = 400


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _top_level_imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules ``name`` imports when it is imported (not inside functions, not for
    type checkers only); ``from p import m`` counts as importing ``p.m`` when that is a module."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    imported: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.If) and not _is_type_checking(node):
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
            elif isinstance(node, ast.Import):
                imported.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                imported.add(base)
                imported.update(f"{base}.{a.name}" for a in node.names)

    visit(ast.parse(path.read_text()).body)
    return {m for m in imported if m in known and m != name}


def test_no_module_is_over_400_lines():
    long = {
        name: n
        for name, path in _modules().items()
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"split these modules (over {MAX_LINES} lines): {long}"


@functools.cache
def _graph() -> dict[str, set[str]]:
    """Each project module -> the project modules it imports when it is imported."""
    modules = _modules()
    return {name: _top_level_imports(name, path, set(modules)) for name, path in modules.items()}


def _inside(name: str, *packages: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def test_no_import_circle():
    # a package imports its own submodules freely (its __init__ re-exports them)
    graph = {n: {m for m in deps if not _inside(m, n)} for n, deps in _graph().items()}
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as error:
        raise AssertionError("import circle: " + " -> ".join(error.args[1])) from None


def test_dependencies_point_one_way():
    """The reference and the book's package never import the grader; the grader never imports
    the book's package (chapters are not graded code)."""
    wrong = []
    for name, deps in _graph().items():
        if _inside(name, "autograder.reference", "cnnbook"):
            wrong += [(name, d) for d in deps if _inside(d, "autograder.grading", "book")]
        if _inside(name, "autograder.grading"):
            wrong += [(name, d) for d in deps if _inside(d, "cnnbook", "book")]
    assert not wrong, f"imports against the layering: {wrong}"


def test_a_runner_starts_without_nbformat():
    """What every cell runner imports stays light: nbformat (jsonschema and its format
    checkers) cost up to a second per learner's process, paid by every ``check`` and grading."""
    code = (
        "import sys, autograder.execution.runner, autograder.checks, autograder.rules.guard\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('nbformat', 'jsonschema')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.strip()
    assert out == "[]", f"a runner imports {out}"
