"""What a learner reads about an exception: where it was raised, from which call, and with what.

The runner reports the notebook frames of an error's traceback (:mod:`autograder.execution.
runner`). This turns them into the message: the learner's line, or the notebook's helper it was
raised in and the learner's line that called it, the library below it, and, for a public test,
the test's call and the values it used. Hidden tests never show their code or their values.
"""

from __future__ import annotations

from ..execution.outcomes import CellOutcome
from ..notebooks import grade_id
from .sources import SourceNotebook


def error_message(outcome: CellOutcome, prepared: SourceNotebook, hidden: bool) -> str:
    """``outcome.message`` with where it happened, in the notebook's words."""
    lines = [outcome.message]
    frames = outcome.trace.get("frames", [])
    learners = set(prepared.rules)

    def cell_name(index: int) -> str:
        cells = prepared.source.cells
        return repr(grade_id(cells[index]) or f"cell {index}") if 0 <= index < len(cells) else ""

    functions = [f for f in frames if f["function"] != "<module>"]
    mine = [f for f in frames if f["cell"] in learners]
    innermost = functions[-1] if functions else None
    if innermost is not None and innermost["cell"] not in learners and mine:
        lines.append(
            f"  raised in the notebook's helper {innermost['function']} (cell "
            f"{cell_name(innermost['cell'])}, line {innermost['line']}): {innermost['text']}"
        )
        caller = mine[-1]
        lines.append(
            f"  which your code called at line {caller['line']} of cell "
            f"{cell_name(caller['cell'])}: {caller['text']}"
        )
    elif mine:
        where = mine[-1]
        what = f"your {where['function']}" if where["function"] != "<module>" else "your cell"
        lines.append(
            f"  raised in {what} (line {where['line']} of cell {cell_name(where['cell'])}): "
            f"{where['text']}"
        )
    library = outcome.trace.get("library", "")
    if library and mine:
        lines.append(f"  (inside {library.split('.')[0]}, from that line)")
    if not hidden and frames and frames[0]["cell"] not in learners:
        lines.append(f"  called by the test (line {frames[0]['line']}): {frames[0]['text']}")
        if outcome.trace.get("config"):
            lines.append(f"  configuration: {outcome.trace['config']}")
    return "\n".join(line for line in lines if line.strip())
