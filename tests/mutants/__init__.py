"""The mistake catalogue: for every assignment, the mistakes learners make, as mutant solutions.

A :class:`Mutant` is the instructor's solution with one realistic mistake, written as exact
text edits of the solution cells of the source notebook (each ``old`` must occur exactly once,
so a catalogue cannot rot silently when a solution changes). Each declares

* ``check_says``: words that ``python -m autograder check`` must print for it, naming the kind
  of mistake (``None``: the public tests are not expected to flag it; at most 20% of an
  assignment's mutants);
* ``loses``: the graded parts (test cells' grade ids) that must lose points when it is graded;
  every other part must keep its points (each mistake is charged once);
* ``hidden_passes`` (optional): a kind of input that the feedback of its failed hidden part
  must list as passed (``failed for stride > 1 (14 of 26); passed for stride 1``): hidden
  feedback tells the kinds of input apart, never showing their values.

``tests/test_mutants.py`` enforces every entry; ``python tests/mutants/table.py`` prints the
table (assignment, mutants, caught by check, caught by grading).
"""

from __future__ import annotations

import copy
import importlib
from dataclasses import dataclass, field

from notebook_helpers import ASSIGNMENTS, cell_source, load, released_path, source_path

MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


@dataclass(frozen=True)
class Mutant:
    name: str
    mistake: str  # the learner's mistake, in one line
    edits: dict[str, list[tuple[str, str]]]  # solution cell grade id -> [(old, new), ...]
    check_says: str | None  # what `check` prints about it; None: check does not flag it
    loses: frozenset[str] = field(default_factory=frozenset)  # parts that lose points
    hidden_passes: str = ""  # a kind of input the failed hidden part's feedback says passed

    def __post_init__(self) -> None:
        object.__setattr__(self, "loses", frozenset(self.loses))


def catalogue(assignment: str) -> list[Mutant]:
    """The mutants of ``assignment`` (``tests/mutants/<assignment with _>.py``, ``MUTANTS``)."""
    try:
        module = importlib.import_module(f"mutants.{assignment.replace('-', '_')}")
    except ModuleNotFoundError:  # no catalogue yet: test_catalogue_is_complete_and_applies fails
        return []
    return list(module.MUTANTS)


def apply_edits(source: dict, mutant: Mutant) -> dict:
    """A copy of the source notebook with the mutant's edits made in its solution cells."""
    nb = copy.deepcopy(source)
    cells = {c.get("metadata", {}).get("nbgrader", {}).get("grade_id"): c for c in nb["cells"]}
    for gid, edits in mutant.edits.items():
        assert gid in cells, f"{mutant.name}: no cell {gid!r}"
        cell = cells[gid]
        assert cell["metadata"]["nbgrader"].get("solution"), f"{mutant.name}: {gid} is no answer"
        text = cell_source(cell)
        for old, new in edits:
            count = text.count(old)
            assert count == 1, f"{mutant.name}: {old!r} occurs {count} times in {gid}"
            text = text.replace(old, new)
        cell["source"] = text
    return nb


def learner_notebook(assignment: str, source: dict) -> dict:
    """The released notebook as a learner hands it in, with ``source``'s solutions (markers
    dropped) in its solution cells."""
    solutions = {}
    for cell in source["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution"):
            lines = cell_source(cell).splitlines()
            solutions[meta["grade_id"]] = "\n".join(
                line for line in lines if line.strip() not in MARKERS
            )
    nb = load(released_path(assignment))
    for cell in nb["cells"]:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in solutions:
            cell["source"] = solutions[gid]
    return nb


def mutant_notebook(assignment: str, mutant: Mutant | None) -> dict:
    """The learner's notebook with ``mutant``'s mistake (None: the correct solution)."""
    source = load(source_path(assignment))
    return learner_notebook(assignment, apply_edits(source, mutant) if mutant else source)


__all__ = ["ASSIGNMENTS", "Mutant", "apply_edits", "catalogue", "mutant_notebook"]
