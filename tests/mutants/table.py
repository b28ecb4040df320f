"""Print the mistake catalogue's table: assignment, mutants, caught by check, caught by grading.

    python tests/mutants/table.py            # the summary table (Markdown)
    python tests/mutants/table.py --list     # every mutant: its mistake and what check says

The numbers are the catalogue's declarations; ``tests/test_mutants.py`` proves each of them
(a mutant declared as flagged fails a public part of ``check`` with the declared words, and
every mutant loses points in exactly its declared parts when graded).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mutants import ASSIGNMENTS, catalogue  # noqa: E402


def main(argv: list[str]) -> None:
    rows = [("assignment", "mutants", "caught by check", "caught by grading")]
    totals = [0, 0, 0]
    for assignment in ASSIGNMENTS:
        mutants = catalogue(assignment)
        counts = [len(mutants), sum(bool(m.check_says) for m in mutants)]
        counts.append(sum(bool(m.loses) for m in mutants))
        totals = [t + c for t, c in zip(totals, counts, strict=True)]
        rows.append((assignment, *map(str, counts)))
    rows.append(("**all**", *map(str, totals)))
    print("| " + " | ".join(rows[0]) + " |")
    print("|" + "---|" * len(rows[0]))
    for row in rows[1:]:
        print("| " + " | ".join(row) + " |")
    if "--list" in argv:
        for assignment in ASSIGNMENTS:
            print(f"\n{assignment}")
            for m in catalogue(assignment):
                says = f'check: "{m.check_says}"' if m.check_says else "check: passes (gap)"
                print(f"  {m.name}: {m.mistake}; {says}; loses {', '.join(sorted(m.loses))}")


if __name__ == "__main__":
    main(sys.argv[1:])
