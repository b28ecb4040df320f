"""The "no Python loops" rule, judged on the learner's source.

A part that asks for a vectorized function forbids loops in that function *and in every
function of the learner's it calls*, however it is written: every ``def`` of that name counts
(a loop-free decoy defined after the real one does not hide it), helpers are followed by name,
and a loop can be a ``for``/``while`` statement, a comprehension or generator expression,
recursion, or a call that loops over Python values for you (``map``, ``filter``,
``functools.reduce``, ``np.vectorize``, ``np.apply_along_axis``, ...).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

LOOP_NODES = (
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
)
LOOPING_CALLS = frozenset(
    {
        "map",
        "filter",
        "reduce",
        "vectorize",
        "frompyfunc",
        "apply_along_axis",
        "apply_over_axes",
        "fromiter",
        "fromfunction",
        "starmap",
        "accumulate",
        "iter",
    }
)
FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda


def loop_problem(
    sources: Iterable[str], name: str, parts: frozenset[str] = frozenset()
) -> str | None:
    """Why ``name`` (defined in ``sources``, the learner's cells) is not loop-free, or None.

    ``parts``: functions that other parts grade on their own; a loop in one of them is charged
    to that part, so they are not followed into (every other function of the learner's is).
    """
    definitions: dict[str, list[FunctionNode]] = {}
    for source in sources:
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                definitions.setdefault(node.name, []).append(node)
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Lambda):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        definitions.setdefault(target.id, []).append(node.value)
    if name not in definitions:
        return f"{name} is not defined with def in your solution cells"
    done: set[str] = set()

    def visit(current: str, path: list[str]) -> str | None:
        if current in path:
            return _say(name, current, path, f"recursion ({current} calls itself")
        if current in done:
            return None
        for function in definitions[current]:
            problem = _loop_in(function, current)
            if problem:
                return _say(name, current, path, problem)
            for callee in dict.fromkeys(_called_names(function)):
                if callee in definitions and (callee == name or callee not in parts):
                    found = visit(callee, [*path, current])
                    if found:
                        return found
        done.add(current)
        return None

    return visit(name, [])


def _loop_in(function: FunctionNode, name: str) -> str | None:
    for node in ast.walk(function):
        if isinstance(node, LOOP_NODES):
            kind = {
                "For": "for loop",
                "AsyncFor": "for loop",
                "While": "while loop",
                "ListComp": "list comprehension",
                "SetComp": "set comprehension",
                "DictComp": "dict comprehension",
                "GeneratorExp": "generator expression",
            }[type(node).__name__]
            return f"a Python {kind} (line {node.lineno - function.lineno + 1} of {name}"
        if isinstance(node, ast.Call):
            called = _call_name(node.func)
            if called in LOOPING_CALLS:
                line = node.lineno - function.lineno + 1
                return f"{called}(...), which loops in Python (line {line} of {name}"
    return None


def _called_names(function: FunctionNode) -> list[str]:
    names = []
    for node in ast.walk(function):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            names.append(node.func.id)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            names.append(node.id)  # a helper passed along (a callback) is followed too
    return names


def _call_name(func: ast.AST) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _say(name: str, where: str, path: list[str], problem: str) -> str:
    chain = " -> ".join([*path, where])
    via = f"; the calls: {chain})" if path else ")"
    return (
        f"{name} uses {problem}{via}; this part asks for a vectorized version: use NumPy "
        "indexing, broadcasting, reshapes and matrix products instead of looping"
    )
