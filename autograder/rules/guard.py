"""The run-time side of a part's rule, in the learner's own process.

The source check (:mod:`.static`) sees every name written in the solution cells. This guard
catches what it cannot see: a name built at run time, a helper module the learner wrote to
disk and imported, a library function that computes a convolution on the learner's behalf.
Learner code is any frame of one of the learner's solution cells (the runner compiles cell
``INDEX`` under the name ``<cell-INDEX>``) or of a file in the learner's folder, judged by that
cell's rule (the strictest rule for files). Code built from a string counts as library code here
(numba generates some): the source check judges a learner's ``exec`` instead.

* ``import`` of a forbidden module, written in learner code, fails with
  :class:`ForbiddenError` (a library importing its own dependencies is not the learner's act);
* a forbidden function (``numpy.convolve``) is replaced, in every loaded module that holds it, by
  a wrapper that refuses when the nearest notebook code on the call stack is the learner's, so
  ``np.polymul`` (which calls ``np.convolve``) is refused to the learner too, while a test cell
  or a locked helper cell may still call it;
* a forbidden module that the tests themselves loaded answers no attribute to learner code.

Every refusal is recorded and reported with the cell's outcome (:meth:`Guard.take_violations`),
so the part fails even if the learner's code catches the error. The grader does not rely on this
alone: the source check flags introspection (which could undo the guard), and in the sandbox the
forbidden modules that no test needs are not on disk at all.
"""

from __future__ import annotations

import builtins
import importlib
import sys
import types
from typing import Any

from .catalogue import INTROSPECTION

CELL_PREFIX = "<cell-"
# Captured before anything is patched: the guard must never call a wrapper of its own.
_getframe = sys._getframe
_ModuleType = types.ModuleType
_module_getattribute = types.ModuleType.__getattribute__
_ACTIVE: Guard | None = None
# Enforced on imports only: libraries use these all the time on the learner's behalf.
_IMPORT_ONLY = frozenset(INTROSPECTION)


class ForbiddenError(ImportError):
    """Raised in the learner's code when it reaches what its part may not use."""


def cell_filename(index: int) -> str:
    """The file name the runner compiles notebook cell ``index`` under."""
    return f"{CELL_PREFIX}{index}>"


class Guard:
    """Enforces ``cells``: file name of a learner cell -> {"index", "grade_id", "forbidden"}."""

    def __init__(self, cells: dict[str, dict], learner_folder: str = "") -> None:
        self.cells = {
            name: (int(info["index"]), str(info.get("grade_id", "")), frozenset(info["forbidden"]))
            for name, info in cells.items()
        }
        self.strictest = frozenset().union(*(rule for _, _, rule in self.cells.values()))
        self.folder = learner_folder.rstrip("/") + "/" if learner_folder else ""
        self.violations: list[dict] = []
        self.wrappers: dict[int, tuple[Any, Any]] = {}  # id(original) -> (original, wrapper)
        self.resolved: set[str] = set()
        self.names: dict[int, list[str]] = {}  # id(wrapper) -> [its reported name]
        self._scanned: set[str] = set()
        self._busy = False
        self._import = builtins.__import__
        self._import_module = importlib.import_module

    # --- who is calling ---------------------------------------------------------------------

    def _owner(self, frame) -> tuple[int, str, frozenset[str], int] | None:
        """(cell index, grade id, rule, line) if ``frame`` is learner code; None if it is
        another notebook cell; ``...`` (Ellipsis) if it is library code."""
        name = frame.f_code.co_filename
        if name in self.cells:
            index, grade_id, rule = self.cells[name]
            return index, grade_id, rule, frame.f_lineno
        if name.startswith(CELL_PREFIX):
            return None
        if self.folder and name.startswith(self.folder):
            return -1, "", self.strictest, frame.f_lineno
        # Library code, and code built from a string (numba and dataclasses generate some; a
        # learner's exec of a string is judged by the source check instead)
        return ...  # type: ignore[return-value]

    def _nearest_notebook_code(self, depth: int):
        frame = _getframe(depth)
        while frame is not None:
            owner = self._owner(frame)
            if owner is not ...:
                return owner
            frame = frame.f_back
        return None

    def _immediate(self, depth: int):
        owner = self._owner(_getframe(depth))
        return None if owner is ... else owner

    def _refuse(self, who, name: str, action: str) -> None:
        index, grade_id, _, line = who
        self.violations.append(
            {"cell": index, "grade_id": grade_id, "line": line, "name": name, "action": action}
        )
        raise ForbiddenError(f"{name} may not be used in this part (line {line} {action} it)")

    @staticmethod
    def _forbids(rule: frozenset[str], name: str) -> str | None:
        parts = name.split(".")
        for end in range(len(parts), 0, -1):
            prefix = ".".join(parts[:end])
            if prefix in rule:
                return prefix
        return None

    # --- imports ----------------------------------------------------------------------------

    def guarded_import(self, name, globals=None, locals=None, fromlist=(), level=0):  # noqa: A002
        if level == 0 and name:
            who = self._immediate(2)
            if who is not None:
                for target in [name, *(f"{name}.{f}" for f in fromlist or () if f != "*")]:
                    if self._forbids(who[2], target):
                        self._refuse(who, target, "imports")
        module = self._import(name, globals, locals, fromlist, level)
        self._patch_new_modules()
        return module

    def guarded_import_module(self, name, package=None):
        who = self._immediate(2)
        if who is not None and not name.startswith(".") and self._forbids(who[2], name):
            self._refuse(who, name, "imports")
        module = self._import_module(name, package)
        self._patch_new_modules()
        return module

    # --- functions and modules that stay loaded ----------------------------------------------

    def _wrapper(self, name: str, original: Any) -> Any:
        guard = self
        names = [name]  # the most public name it is reachable by, once known

        def guarded(*args, **kwargs):
            who = guard._nearest_notebook_code(2)
            if who is not None and guard._forbids(who[2], names[0]):
                guard._refuse(who, names[0], "calls")
            return original(*args, **kwargs)

        self.names[id(guarded)] = names
        guarded.__name__ = getattr(original, "__name__", name.rsplit(".", 1)[-1])
        guarded.__qualname__ = guarded.__name__
        guarded.__doc__ = getattr(original, "__doc__", None)
        return guarded

    def _patch_new_modules(self) -> None:
        """Wrap forbidden functions that became reachable, in every module that holds them."""
        if self._busy:
            return
        loaded = [name for name in list(sys.modules) if name not in self._scanned]
        if not loaded:
            return
        self._busy = True
        try:
            self._scanned.update(loaded)
            self._patch(loaded)
        finally:
            self._busy = False

    def _patch(self, loaded: list[str]) -> None:
        # public names first: a function reachable by several is reported by its public one
        for forbidden in sorted(self.strictest, key=_publicness):
            if self._forbids(_IMPORT_ONLY, forbidden):
                continue
            module = sys.modules.get(forbidden)
            if isinstance(module, _ModuleType):
                if type(module) is _ModuleType:
                    _guard_module(module)
            elif forbidden not in self.resolved and "." in forbidden:
                module_name, attribute = forbidden.rsplit(".", 1)
                namespace = _namespace(sys.modules.get(module_name))
                original = namespace.get(attribute) if namespace is not None else None
                if id(original) in self.names:  # already wrapped: keep the most public name
                    names = self.names[id(original)]
                    names[0] = min(names[0], forbidden, key=_publicness)
                    self.resolved.add(forbidden)
                elif callable(original) and not isinstance(original, type | _ModuleType):
                    self.resolved.add(forbidden)
                    if id(original) not in self.wrappers:
                        self.wrappers[id(original)] = (original, self._wrapper(forbidden, original))
                        self._replace_in(list(sys.modules.values()))
        self._replace_in([sys.modules[name] for name in loaded if name in sys.modules])

    def _replace_in(self, modules: list) -> None:
        if not self.wrappers:
            return
        for module in modules:
            namespace = _namespace(module)
            if namespace is None:
                continue
            for key, value in list(namespace.items()):
                found = self.wrappers.get(id(value))
                if found is not None and found[0] is value:
                    namespace[key] = found[1]

    def check_attribute(self, module_name: str, attribute: str) -> None:
        who = self._immediate(3)
        if who is not None and self._forbids(who[2], f"{module_name}.{attribute}"):
            self._refuse(who, f"{module_name}.{attribute}", "uses")

    # --- life cycle ---------------------------------------------------------------------------

    def install(self) -> None:
        global _ACTIVE
        _ACTIVE = self
        builtins.__import__ = self.guarded_import
        importlib.import_module = self.guarded_import_module
        self._patch_new_modules()

    def take_violations(self) -> list[dict]:
        found, self.violations = self.violations, []
        return found


class _GuardedModule(types.ModuleType):
    """A loaded module whose attributes learner code may not read (its part forbids it)."""

    def __getattribute__(self, attribute: str) -> Any:
        if _ACTIVE is not None and not attribute.startswith("__"):
            _ACTIVE.check_attribute(_module_getattribute(self, "__name__"), attribute)
        return _module_getattribute(self, attribute)


def _guard_module(module: types.ModuleType) -> None:
    try:
        module.__class__ = _GuardedModule
    except TypeError:
        pass  # the import guard and the source check still hold


def _publicness(name: str) -> tuple:
    """Sort key: public names (no private module on the way) first, then shorter ones."""
    return ("._" in name, len(name), name)


def _namespace(module: Any) -> dict | None:
    """A module's own attributes, read without running its ``__getattr__`` (lazy imports)."""
    if module is None:
        return None
    try:
        namespace = object.__getattribute__(module, "__dict__")
    except AttributeError:
        return None
    return namespace if isinstance(namespace, dict) else None
