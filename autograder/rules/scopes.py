"""Following names through a notebook's scopes: what shadows an alias, and where it ends.

The source check (:mod:`.static`) keeps a map from names to the dotted names they stand for
(``np`` -> ``numpy``). A function's parameters, a comprehension's variables, a ``for`` target or
an ``except ... as`` name shadow that map inside their scope; an assignment rebinds a name.
"""

from __future__ import annotations

import ast


class ScopedVisitor(ast.NodeVisitor):
    """Visits code with ``self.aliases`` (name -> dotted name) scoped as Python scopes it.
    Subclasses define ``resolve(node) -> dotted name or None``."""

    aliases: dict[str, str]

    def resolve(self, node: ast.AST) -> str | None:  # pragma: no cover - defined by subclasses
        raise NotImplementedError

    def visit_ListComp(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp) -> None:
        outer = self.aliases
        self.aliases = dict(outer)
        try:
            for generator in node.generators:
                self.visit(generator)
            for part in (
                getattr(node, "key", None),
                getattr(node, "value", None),
                getattr(node, "elt", None),
            ):
                if part is not None:
                    self.visit(part)
        finally:
            self.aliases = outer

    visit_SetComp = visit_GeneratorExp = visit_DictComp = visit_ListComp

    def visit_comprehension(self, node: ast.comprehension) -> None:
        self.visit(node.iter)
        for name in _stored_names(node.target):
            self.aliases.pop(name, None)
        for condition in node.ifs:
            self.visit(condition)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        self._bind(node.target, self.resolve(node.value))

    def _bind(self, target: ast.AST, name: str | None) -> None:
        if isinstance(target, ast.Name):
            if name:
                self.aliases[target.id] = name
            else:
                self.aliases.pop(target.id, None)

    # --- scopes: parameters and local names shadow the notebook's aliases -----------------

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for decorator in node.decorator_list:
            self.visit(decorator)
        self._visit_defaults(node.args)
        self.aliases.pop(node.name, None)
        self._in_scope(_parameters(node.args), node.body)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._visit_defaults(node.args)
        self._in_scope(_parameters(node.args), [node.body])

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for expression in [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]:
            self.visit(expression)
        self.aliases.pop(node.name, None)
        self._in_scope(set(), node.body)

    def _visit_defaults(self, arguments: ast.arguments) -> None:
        for default in [*arguments.defaults, *(d for d in arguments.kw_defaults if d)]:
            self.visit(default)

    def _in_scope(self, local: set[str], body: list[ast.AST]) -> None:
        outer = self.aliases
        self.aliases = {k: v for k, v in outer.items() if k not in local}
        try:
            for statement in body:
                self.visit(statement)
        finally:
            self.aliases = outer

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self.visit(node.iter)
        for name in _stored_names(node.target):
            self.aliases.pop(name, None)
        for statement in [*node.body, *node.orelse]:
            self.visit(statement)

    visit_AsyncFor = visit_For

    def visit_withitem(self, node: ast.withitem) -> None:
        self.visit(node.context_expr)
        if node.optional_vars is not None:
            self._bind(node.optional_vars, self.resolve(node.context_expr))

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.type is not None:
            self.visit(node.type)
        if node.name:
            self.aliases.pop(node.name, None)
        for statement in node.body:
            self.visit(statement)

    # --- uses -------------------------------------------------------------------------------


def _parameters(arguments: ast.arguments) -> set[str]:
    names = [a.arg for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]]
    names += [a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None]
    return set(names)


def _stored_names(target: ast.AST) -> list[str]:
    return [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]
