"""What each graded part may not use, read from the source notebook's metadata.

A source notebook declares an assignment-wide default and per-part changes::

    notebook  metadata.autograder.forbid   = ["@library-convolutions", "numpy.lib.stride_tricks"]
    solution  cell.metadata.autograder.forbid = [...]   (added for this part)
              cell.metadata.autograder.allow  = [...]   (taken away for this part)

Entries are dotted names (a module forbids everything in it, ``"numpy.convolve"`` only that
function) or groups from :mod:`.catalogue`. Every part also forbids
:data:`.catalogue.DEFAULT_FORBID` (the course's own code, introspection) unless it allows it.

The rule is enforced three times: on the solution cells' source (:mod:`.static`), at run time in
the learner's process (:mod:`.guard`), and by the sandbox, which hides every forbidden module
that no test needs (:func:`hidden_modules`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .catalogue import DEFAULT_FORBID, GROUPS, expand

# nbformat can cost a second to import (jsonschema's format checkers): never in a runner
if TYPE_CHECKING:
    from nbformat import NotebookNode

GROUP_WORDS = {
    "@library-convolutions": "any library that computes a convolution for you (numpy.convolve "
    "and numpy.correlate, numpy.fft, SciPy, PyTorch, TensorFlow, JAX, scikit-image, OpenCV)",
    "@course-code": "the course's own code (autograder, cnnbook) or the functions of the tests",
    "@introspection": "introspection or code built at run time (gc, inspect, importlib, ctypes, "
    "sys.modules, exec/eval of a string built at run time, attributes such as __globals__), or "
    "changes to a library's functions (monkeypatching)",
}
# Modules that only ever compute expected values: a test cell may import them, but only for an
# expected value (``lambda: ...``), never in the learner's process.
ALWAYS_ORACLES = ("autograder.reference", "autograder.oracles")


@dataclass(frozen=True)
class PartRule:
    """The rule of one solution cell: the entries as written and their expansion."""

    entries: tuple[str, ...]
    forbidden: frozenset[str]

    def in_words(self) -> str:
        """``You may not use: PyTorch, ...`` for the notebook's instructions."""
        words = []
        for entry in self.entries:
            words.append(GROUP_WORDS.get(entry, f"`{entry}`"))
        return "You may not use " + _join(words) + "." if words else ""

    def to_json(self) -> list[str]:
        return sorted(self.forbidden)


def _entries(meta: Mapping, key: str, where: str) -> list[str]:
    value = meta.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"{where}: metadata.autograder.{key} must be a list of dotted names")
    for entry in value:
        if entry.startswith("@") and entry not in GROUPS:
            raise ValueError(
                f"{where}: unknown group {entry!r} in metadata.autograder.{key}; known: "
                f"{', '.join(sorted(GROUPS))}"
            )
    return value


def autograder_meta(node: NotebookNode | Mapping) -> Mapping:
    meta = node.get("metadata", {}).get("autograder", {})
    return meta if isinstance(meta, Mapping) else {}


def part_rules(nb: NotebookNode) -> dict[int, PartRule]:
    """The rule of every solution cell of ``nb``, by cell index."""
    from ..notebooks import grade_id, is_solution_cell

    defaults = _entries(autograder_meta(nb), "forbid", "the notebook")
    rules = {}
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "code" or not is_solution_cell(cell):
            continue
        where = f"cell {grade_id(cell) or index!r}"
        meta = autograder_meta(cell)
        allowed = set(_entries(meta, "allow", where))
        entries = [*DEFAULT_FORBID, *defaults, *_entries(meta, "forbid", where)]
        entries = [e for e in dict.fromkeys(entries) if e not in allowed]
        forbidden = expand(entries) - expand(sorted(allowed))
        rules[index] = PartRule(tuple(entries), frozenset(forbidden))
    return rules


def oracle_modules(nb: NotebookNode) -> tuple[str, ...]:
    """Modules a test cell may import only to compute expected values."""
    declared = autograder_meta(nb).get("oracles", [])
    if not isinstance(declared, list) or not all(isinstance(v, str) for v in declared):
        raise ValueError("the notebook's metadata.autograder.oracles must be a list of modules")
    return tuple(dict.fromkeys([*ALWAYS_ORACLES, *declared]))


def _join(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " or " + words[-1]
