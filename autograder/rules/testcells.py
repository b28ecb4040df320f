"""Test cells as the learner's process runs them while grading: without expected values.

A test cell computes its inputs, calls the learner's functions and hands each result to a check
with what is expected. While grading, only the first two may run in the learner's process: an
expected value computed there could be recorded as the learner's own answer by code that
patches the checks. So the source notebook writes every computed expected value as a function
of no arguments, and imports the modules that compute them (the oracles: the reference, and any
module the notebook declares in ``metadata.autograder.oracles``) only for those functions::

    from autograder import reference as ref
    check_array(conv1d_loop(x, w), lambda: ref.conv1d(x[None, None], w[None, None])[0, 0])

:func:`learner_version` replaces each such ``lambda`` by ``None`` and each oracle import by
``pass`` (line numbers kept, so messages point at the notebook's lines). :func:`lint` refuses a
source notebook whose test cells would leak: an oracle name used outside such a ``lambda``, or,
in a hidden test cell, an expected value that is not a ``lambda`` (or left out).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

CHECKS = frozenset({"check_array", "check_value"})


@dataclass
class _Analysis:
    spans: list[tuple[ast.AST, str]] = field(default_factory=list)  # (node, replacement)
    problems: list[str] = field(default_factory=list)


def _module_of(node: ast.Import | ast.ImportFrom, alias: ast.alias) -> str:
    if isinstance(node, ast.Import):
        return alias.name
    return f"{node.module}.{alias.name}" if node.module else alias.name


def _is_oracle(module: str, oracles: tuple[str, ...]) -> bool:
    return any(module == o or module.startswith(o + ".") for o in oracles)


def _bound_name(node: ast.Import | ast.ImportFrom, alias: ast.alias) -> str:
    if alias.asname:
        return alias.asname
    return alias.name.split(".")[0] if isinstance(node, ast.Import) else alias.name


def _expected_argument(call: ast.Call) -> ast.AST | None:
    if len(call.args) >= 2:
        return call.args[1]
    for keyword in call.keywords:
        if keyword.arg == "expected":
            return keyword.value
    return None


def _is_check(call: ast.Call) -> bool:
    func = call.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
    return name in CHECKS


def analyse(
    source: str, oracle_names: set[str], oracles: tuple[str, ...], hidden: bool, label: str
) -> _Analysis:
    """Find what to strip from one cell and what is wrong with it; updates ``oracle_names``
    with the names its imports bind (the namespace is shared by the notebook's cells)."""
    result = _Analysis()
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        result.problems.append(f"{label} is not valid Python: {error}")
        return result
    stripped: set[int] = set()  # ids of lambda nodes removed
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            oracle = [_is_oracle(_module_of(node, a), oracles) for a in node.names]
            if any(oracle) and not all(oracle):
                result.problems.append(
                    f"{label}, line {node.lineno}: import the oracle modules in a statement of "
                    "their own (it is removed from the learner's run)"
                )
            if all(oracle):
                oracle_names.update(_bound_name(node, a) for a in node.names)
                result.spans.append((node, "pass"))
    _expect_only_functions(tree, oracle_names, stripped, result)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _is_check(node):
            expected = _expected_argument(node)
            if isinstance(expected, ast.Lambda):
                stripped.add(id(expected))
                result.spans.append((expected, "None"))
            elif expected is not None and hidden:
                result.problems.append(
                    f"{label}, line {node.lineno}: a hidden test's expected value must be a "
                    "`lambda: ...` (computed only where expectations are recorded) or left out "
                    "(the instructor's solution's result); as written it would be computed in "
                    "the learner's process"
                )
    for node in ast.walk(tree):
        if isinstance(node, ast.Lambda) and id(node) not in stripped and _uses(node, oracle_names):
            stripped.add(id(node))
            result.spans.append((node, "None"))
    inside = _nodes_inside(tree, stripped)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Name)
            and isinstance(node.ctx, ast.Load)
            and node.id in oracle_names
            and id(node) not in inside
        ):
            result.problems.append(
                f"{label}, line {node.lineno}: `{node.id}` is used outside an expected value; "
                f"write the expected value as `lambda: ...` so that the learner's process never "
                "computes it"
            )
    return result


def _expect_only_functions(
    tree: ast.AST, oracle_names: set[str], stripped: set[int], result: _Analysis
) -> None:
    """A function a test cell defines that uses an oracle (``def torch_dense(...): ... torch``)
    computes expected values: it is an oracle itself, defined only where expectations are
    computed (``NAME = None`` in the learner's run), and callable only inside a ``lambda``."""
    changed = True
    while changed:  # a helper calling a helper of the oracle is one too
        changed = False
        for node in getattr(tree, "body", []):
            if (
                isinstance(node, ast.FunctionDef)
                and id(node) not in stripped
                and _uses(node, oracle_names)
            ):
                oracle_names.add(node.name)
                stripped.add(id(node))
                start = node.decorator_list[0] if node.decorator_list else node
                result.spans.append((_Span(start, node), f"{node.name} = None"))
                changed = True


class _Span:
    """The text of a whole definition, decorators included."""

    def __init__(self, first: ast.AST, last: ast.AST) -> None:
        self.lineno, self.col_offset = first.lineno, first.col_offset
        self.end_lineno, self.end_col_offset = last.end_lineno, last.end_col_offset


def _uses(node: ast.AST, names: set[str]) -> bool:
    return any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(node))


def _nodes_inside(tree: ast.AST, roots: set[int]) -> set[int]:
    inside: set[int] = set()
    for node in ast.walk(tree):
        if id(node) in roots:
            inside.update(id(n) for n in ast.walk(node))
    return inside


def _replace(source: str, spans: list[tuple[ast.AST, str]]) -> str:
    """``source`` with each node's text replaced, keeping every line where it was."""
    data = source.encode("utf-8")
    starts = [0]
    for line in data.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))

    def offset(line: int, column: int) -> int:
        return starts[line - 1] + column

    pieces = sorted(
        (
            (offset(n.lineno, n.col_offset), offset(n.end_lineno, n.end_col_offset), text)
            for n, text in spans
        ),
        reverse=True,
    )
    for begin, end, text in pieces:
        newlines = data[begin:end].count(b"\n")
        data = data[:begin] + text.encode() + b"\n" * newlines + data[end:]
    return data.decode("utf-8")


def learner_version(source: str, oracle_names: set[str], oracles: tuple[str, ...]) -> str:
    """The cell without its expected values and oracle imports (see the module docstring)."""
    analysis = analyse(source, oracle_names, oracles, hidden=False, label="")
    return _replace(source, _outermost(analysis.spans))


def _outermost(spans: list[tuple[ast.AST, str]]) -> list[tuple[ast.AST, str]]:
    """Drop spans nested in another span (a lambda inside a stripped lambda)."""
    kept = []
    for node, text in spans:
        inner = any(
            other is not node
            and (other.lineno, other.col_offset) <= (node.lineno, node.col_offset)
            and (node.end_lineno, node.end_col_offset) <= (other.end_lineno, other.end_col_offset)
            for other, _ in spans
        )
        if not inner:
            kept.append((node, text))
    return kept


def lint(cells: list[tuple[str, str, bool]], oracles: tuple[str, ...]) -> list[str]:
    """Problems of a source notebook's non-learner cells ``(label, source, hidden)``, in order."""
    names: set[str] = set()
    problems: list[str] = []
    for label, source, hidden in cells:
        problems.extend(analyse(source, names, oracles, hidden, label).problems)
    return problems
