"""The source check: which forbidden names a learner's solution cells reach.

The notebook's code cells are read in order, as the kernel runs them, so that an alias made in
any cell (``import numpy as np`` in a locked cell, ``F = torch.nn.functional`` in a solution
cell) is followed into later cells. Only solution cells are judged; each with its own rule.

Followed: ``import`` and ``from ... import`` (with ``as``), attribute chains through any alias,
assignments of an alias to a new name, ``getattr(obj, "name")``, ``__import__("name")`` and
``importlib.import_module("name")`` with constant strings, ``sys.modules["name"]``, and code in
constant strings passed to ``exec``, ``eval`` or ``compile`` (checked like the cell itself).
What cannot be followed is a violation of its own: a name or code built at run time
(``getattr(np, "con" + "volve")``, ``exec(text)``), and the attributes that expose a function's
globals or a module's internals (``__globals__``, ``__dict__``, ...). What the run-time guard
(:mod:`autograder.rules.guard`) catches is then only what this check could not see.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass

from .catalogue import DUNDER_ESCAPES, DYNAMIC_BUILTINS, SHELL_NAMES, matches
from .scopes import ScopedVisitor

MAX_NESTED_CODE = 4  # exec("exec('...')") depth followed before giving up
IMPORT_FUNCTIONS = frozenset(
    {"importlib.import_module", "importlib.__import__", "builtins.__import__"}
)


@dataclass(frozen=True)
class Violation:
    """One use of a forbidden name in a solution cell."""

    cell: int  # index of the solution cell in the notebook
    line: int  # 1-based line in that cell
    name: str  # what the code reaches, e.g. "torch.nn.functional.conv1d"
    action: str  # "calls", "imports", "uses", "runs", "looks up"
    entry: str  # the rule entry that forbids it, e.g. "torch"

    def describe(self) -> str:
        """``line 4 calls torch.nn.functional.conv1d, which this part may not use``."""
        if self.action == "runs":
            return (
                f"line {self.line} runs code built at run time ({self.name}), which the grader "
                "cannot check; write the code itself"
            )
        if self.action == "looks up":
            return (
                f"line {self.line} looks up a name built at run time ({self.name}), which the "
                "grader cannot check; write the name itself"
            )
        if self.action == "changes":
            return (
                f"line {self.line} changes {self.name}: solutions may not change a library's "
                "functions (or the tests' view of them)"
            )
        return f"line {self.line} {self.action} {self.name}, which this part may not use"


@dataclass(frozen=True)
class Cell:
    index: int
    source: str
    forbidden: frozenset[str] | None  # None: not the learner's code (aliases only)
    test: bool = False  # a test cell: its functions are the tests' own, not the learner's


def find_violations(cells: Iterable[Cell]) -> list[Violation]:
    """Every forbidden name each learner cell reaches, in notebook order."""
    cells = list(cells)
    aliases: dict[str, str] = {}
    found: list[Violation] = []
    trees = {}
    for cell in cells:
        try:
            trees[cell.index] = ast.parse(cell.source)
        except (SyntaxError, ValueError):
            continue  # a cell that does not parse runs nothing (it fails at run time)
    tests_own = {
        node.name
        for cell in cells
        if cell.test and cell.index in trees
        for node in ast.walk(trees[cell.index])
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    }
    for cell in cells:  # a name a locked helper cell defines too is the notebook's tool
        if not cell.test and cell.forbidden is None and cell.index in trees:
            tests_own -= _defined_at_top(trees[cell.index])
    for cell in cells:
        if cell.index in trees:
            visitor = _Visitor(aliases, cell.index, cell.forbidden, found)
            visitor.tests_own = tests_own - _defined_at_top(trees[cell.index])
            visitor.visit(trees[cell.index])
    return found


def _defined_at_top(tree: ast.AST) -> set[str]:
    """Functions and classes a cell defines, and names it assigns, outside any function."""
    body = getattr(tree, "body", [])
    return {
        node.name
        for node in body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    } | _stored(body)


def _stored(statements: list[ast.AST]) -> set[str]:
    """Names these statements assign, not counting those inside functions or classes."""
    names: set[str] = set()
    pending = list(statements)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            names.add(node.id)
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            pending.extend(ast.iter_child_nodes(node))
    return names


class _Visitor(ScopedVisitor):
    def __init__(
        self,
        aliases: dict[str, str],
        cell: int,
        forbidden: frozenset[str] | None,
        found: list[Violation],
        line_offset: int = 0,
        depth: int = 0,
    ) -> None:
        self.aliases, self.cell, self.forbidden, self.found = aliases, cell, forbidden, found
        self.line_offset, self.depth = line_offset, depth
        self.tests_own: set[str] = set()

    # --- reporting -------------------------------------------------------------------------

    def report(self, node: ast.AST, name: str, action: str, entry: str) -> None:
        if self.forbidden is None:
            return
        line = getattr(node, "lineno", 1) + self.line_offset
        violation = Violation(self.cell, line, name, action, entry)
        if violation not in self.found:
            self.found.append(violation)

    def judge(self, node: ast.AST, name: str | None, action: str) -> bool:
        """Report ``name`` if forbidden; True when reported."""
        if name is None or self.forbidden is None:
            return False
        entry = matches(name, self.forbidden)
        if entry is None:
            return False
        self.report(node, name, action, entry)
        return True

    def _in_scope(self, local: set[str], body: list[ast.AST]) -> None:
        """A parameter or local variable named like a function of the tests is the learner's."""
        outer = self.tests_own
        self.tests_own = outer - local - _stored(body)
        try:
            super()._in_scope(local, body)
        finally:
            self.tests_own = outer

    def visit_comprehension(self, node: ast.comprehension) -> None:
        self.tests_own = self.tests_own - _stored([node.target])
        super().visit_comprehension(node)

    # --- resolving expressions to dotted names ----------------------------------------------

    def resolve(self, node: ast.AST) -> str | None:
        """The dotted name ``node`` stands for (through aliases), or None."""
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self.resolve(node.value)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Subscript):  # sys.modules["torch"]
            base = self.resolve(node.value)
            key = _constant_string(node.slice)
            if base == "sys.modules" and key:
                return key
            return None
        if isinstance(node, ast.Call):
            return self.resolve_call(node)
        return None

    def resolve_call(self, node: ast.Call) -> str | None:
        function = self.resolve(node.func)
        plain = node.func.id if isinstance(node.func, ast.Name) else None
        first = _constant_string(node.args[0]) if node.args else None
        if plain == "getattr" and len(node.args) >= 2:
            base = self.resolve(node.args[0])
            attribute = _constant_string(node.args[1])
            return f"{base}.{attribute}" if base and attribute else None
        if (plain == "__import__" and plain not in self.aliases) or function in IMPORT_FUNCTIONS:
            return first
        return None

    # --- statements that make aliases -------------------------------------------------------

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.judge(node, alias.name, "imports")
            if alias.asname:
                self.aliases[alias.asname] = alias.name
            else:
                top = alias.name.split(".")[0]
                self.aliases[top] = top

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level or not node.module:
            return  # a relative import: the learner has no package of their own
        for alias in node.names:
            if alias.name == "*":
                if not self.judge(node, node.module, "imports"):
                    self._judge_star(node, node.module)
                continue
            full = f"{node.module}.{alias.name}"
            if not self.judge(node, node.module, "imports"):
                self.judge(node, full, "imports")
            self.aliases[alias.asname or alias.name] = full

    def _judge_star(self, node: ast.AST, module: str) -> None:
        if self.forbidden is None:
            return
        inside = sorted(n for n in self.forbidden if n.startswith(module + "."))
        if inside:
            self.report(node, f"everything from {module}", "imports", inside[0])

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        name = self.resolve(node.value)
        for target in node.targets:
            self._judge_patch(target)
            self._bind(target, name)
            if not isinstance(target, ast.Name):
                self.visit(target)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._judge_patch(node.target)
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            self._judge_patch(target)
        self.generic_visit(node)

    def _judge_patch(self, target: ast.AST) -> None:
        """``np.allclose = ...``: changing a library's functions (monkeypatching) is never a
        solution; it could change what the tests see."""
        if self.forbidden is None:
            return
        if isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._judge_patch(element)
        elif isinstance(target, ast.Starred):
            self._judge_patch(target.value)
        elif isinstance(target, ast.Attribute):
            base = self.resolve(target.value)
            if base is not None:
                self.report(target, f"{base}.{target.attr}", "changes", "@introspection")
        elif isinstance(target, ast.Subscript):
            # ``sys.modules["numpy"] = ...`` changes a library; ``out[np.arange(n)] = ...``
            # only uses one in the index.
            base = self.resolve(target.value)
            if base is not None:
                self.report(target, f"{base}[...]", "changes", "@introspection")

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
            self._bind(node.target, self.resolve(node.value))

    def visit_Name(self, node: ast.Name) -> None:
        if (node.id in DUNDER_ESCAPES or node.id in SHELL_NAMES) and self.forbidden is not None:
            self.report(node, node.id, "uses", "@introspection")
            return
        if isinstance(node.ctx, ast.Load):
            if node.id in DYNAMIC_BUILTINS and node.id not in self.aliases:
                return  # judged where it is called (constant arguments are fine)
            if node.id in self.tests_own and node.id not in self.aliases and self.forbidden:
                self.report(node, f"{node.id} (a function of the tests)", "uses", "@course-code")
                return
            self.judge(node, self.aliases.get(node.id), "uses")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in DUNDER_ESCAPES and self.forbidden is not None:
            self.report(node, f".{node.attr}", "uses", "@introspection")
            return
        if self.judge(node, self.resolve(node), "uses"):
            return
        self.visit(node.value)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if self.judge(node, self.resolve(node), "uses"):
            return
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        plain = node.func.id if isinstance(node.func, ast.Name) else None
        if plain in self.aliases:
            plain = None  # a learner's own function of that name
        function = self.resolve(node.func)
        if plain in ("exec", "eval", "compile"):
            self._judge_code(node, plain)
        elif plain == "globals" or (plain == "vars" and not node.args):
            self.report(node, f"{plain}()", "uses", "@introspection")
        elif plain in ("setattr", "delattr") and node.args and self.forbidden is not None:
            base = self.resolve(node.args[0])
            if base is not None:
                self.report(node, f"{plain}({base}, ...)", "changes", "@introspection")
        lookup = plain in ("getattr", "__import__") or function in IMPORT_FUNCTIONS
        if lookup and node.args:
            target = self.resolve_call(node)
            if target is None and self._built_at_run_time(node, plain):
                self.report(node, f"{plain or function}(...)", "looks up", "@introspection")
            action = "uses" if plain == "getattr" else "imports"
            if target is not None and self.judge(node, target, action):
                return self._visit_arguments(node)
        if self.judge(node.func, function, "calls"):
            return self._visit_arguments(node)
        self.generic_visit(node)

    def _built_at_run_time(self, node: ast.Call, plain: str | None) -> bool:
        """A lookup by a name that is not a constant: ``getattr(module, text)``."""
        if plain == "getattr":
            return len(node.args) >= 2 and (
                self.resolve(node.args[0]) is not None and _constant_string(node.args[1]) is None
            )
        return _constant_string(node.args[0]) is None

    def _visit_arguments(self, node: ast.Call) -> None:
        for argument in [*node.args, *(k.value for k in node.keywords)]:
            self.visit(argument)

    def _judge_code(self, node: ast.Call, kind: str) -> None:
        text = _constant_string(node.args[0]) if node.args else None
        if text is None:
            if self.forbidden is not None and node.args:
                self.report(node, f"{kind}(...)", "runs", "@introspection")
            return
        if self.depth >= MAX_NESTED_CODE:
            self.report(node, f"{kind}(...)", "runs", "@introspection")
            return
        try:
            tree = ast.parse(text, mode="exec")
        except (SyntaxError, ValueError):
            return  # fails when it runs
        _Visitor(
            self.aliases,
            self.cell,
            self.forbidden,
            self.found,
            self.line_offset + node.lineno - 1,
            self.depth + 1,
        ).visit(tree)


def _constant_string(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None
