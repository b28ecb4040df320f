"""Scoring one notebook: from a run's outcomes, the judged checks and the rules, to parts.

Each test cell of the source is one part, scored on its own: a crash, a timeout or a forbidden
call costs the parts it touched, never the ones already earned. What a learner reads is built
here, and cleaned of anything that came from a hidden test.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from ..execution.outcomes import Cause, CellOutcome, CellStatus
from ..notebooks import grade_id, has_hidden_tests, hint_of, points
from ..rules.static import Violation
from .errors import error_message
from .results import CheckResult, PartResult, PartStatus, Problem, Status
from .sources import SourceNotebook

REDACTED = "[text from the hidden tests removed]"


@dataclass
class Scored:
    parts: list[PartResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def redact(text: str, hidden_lines: frozenset[str]) -> str:
    """``text`` without any line of the hidden tests it may quote (a learner's exception can
    carry the source of a hidden test it read from the running process), whole or cut short at
    the end (messages are truncated, in the learner's process too): an ending of ``text`` of at
    least 16 characters that begins a hidden line goes as well."""
    if not hidden_lines:
        return text
    for line in hidden_lines:
        if line in text:
            text = text.replace(line, REDACTED)
    cut = len(text)
    for line in hidden_lines:
        start = text.rfind(line[:16], max(0, len(text) - len(line)))
        if start != -1 and line.startswith(text[start:]):
            cut = min(cut, start)
    return text if cut == len(text) else text[:cut] + REDACTED


def _part_status(outcome: CellOutcome | None, checks: list[CheckResult]) -> PartStatus:
    if outcome is not None and outcome.out_of_memory:
        return PartStatus.MEMORY
    if outcome is None or outcome.status == CellStatus.ERROR:
        return PartStatus.FAILED
    if outcome.status == CellStatus.OK:
        return PartStatus.PASSED if all(c.passed for c in checks) else PartStatus.FAILED
    if outcome.status == CellStatus.TIMEOUT:
        return PartStatus.TIMEOUT
    if outcome.status == CellStatus.CRASHED:
        return PartStatus.CRASHED
    return PartStatus.NOT_RUN


def earned_points(worth: float, status: PartStatus, checks: list[CheckResult]) -> float:
    """The points a part earns: all of ``worth`` when it passed; when its checks were judged
    and some failed, each answer check's share of ``worth`` in proportion to its weight,

        earned = worth * sum(w_i for passed answer checks i) / sum(w_i for all answer checks i),

    rounded to hundredths (checks the test never reached count as failed: their number comes
    from the instructor's run, not from the learner's). A required check (a rule of the part,
    such as "no Python loops") earns no share of its own: failing it costs the whole part, and
    passing it alone earns nothing (a stub has no loops). Nothing for a timeout, a crash, a
    memory kill, a forbidden call or a part that never ran."""
    if status == PartStatus.PASSED:
        return worth
    if status != PartStatus.FAILED or any(c.required and not c.passed for c in checks):
        return 0.0
    answers = [c for c in checks if not c.required]
    total = sum(c.weight for c in answers)
    passed = sum(c.weight for c in answers if c.passed)
    return round(worth * passed / total, 2) if total > 0 else 0.0


def by_kind(checks: list[CheckResult]) -> str:
    """``failed for padding > 0 (3 of 12); passed for ties``: hidden tests named by the kinds
    of input that failed, never by their values."""
    total: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    for check in checks:
        for kind in check.kinds or ["other cases"]:
            total[kind] += 1
            failed[kind] += not check.passed
    if set(total) == {"other cases"}:
        return f"{failed['other cases']} of {total['other cases']} checks"
    bad = [f"{k} ({failed[k]} of {total[k]})" for k in total if failed[k]]
    good = [k for k in total if not failed[k]]
    return f"failed for {', '.join(bad)}" + (f"; passed for {', '.join(good)}" if good else "")


def _hidden_message(status: PartStatus, checks: list[CheckResult]) -> str:
    return {
        PartStatus.PASSED: "",
        PartStatus.FAILED: (
            f"the hidden tests failed: {by_kind(checks)}" if checks else "the hidden tests failed"
        ),
        PartStatus.TIMEOUT: "the hidden tests ran past the time limit",
        PartStatus.CRASHED: "the Python process crashed during the hidden tests",
        PartStatus.MEMORY: "the hidden tests ran out of memory",
    }.get(status, "the hidden tests were not run")


def runtime_violations(outcome: CellOutcome | None) -> list[Violation]:
    """The guard's refusals reported with a cell's outcome, as violations."""
    found = []
    for item in outcome.forbidden if outcome else []:
        try:
            found.append(
                Violation(
                    int(item["cell"]),
                    int(item["line"]),
                    str(item["name"])[:200],
                    str(item.get("action", "calls"))[:20],
                    "run time",
                )
            )
        except (KeyError, TypeError, ValueError):
            continue
    return found


def score(
    prepared: SourceNotebook,
    outcomes: dict[int, CellOutcome],
    judge: Callable[[int], list[CheckResult]],
    violations: dict[int, list[Violation]],
    disk_mb: int | None = None,
    budget_exhausted: bool = False,
) -> Scored:
    """Parts of ``prepared`` for one run. ``judge(index)`` judges a test cell's checks;
    ``violations`` maps a solution cell to what its code may not use but did."""
    result = Scored()
    name = prepared.path.name
    for index in prepared.tests:
        cell = prepared.source.cells[index]
        gid, worth, hidden = grade_id(cell) or f"cell-{index}", points(cell), has_hidden_tests(cell)
        outcome = outcomes.get(index)
        broken = [v for s in sorted(prepared.depends.get(index, ())) for v in violations.get(s, [])]
        broken += runtime_violations(outcome)
        checks: list[CheckResult] = []
        if broken:
            status = PartStatus.FORBIDDEN
            message = "; ".join(dict.fromkeys(v.describe() for v in broken))
            result.problems.append(Problem(Status.FORBIDDEN, f"{gid}: {message}"))
        else:
            if outcome is not None and outcome.status in (CellStatus.OK, CellStatus.ERROR):
                checks = judge(index)
            status = _part_status(outcome, checks)
            raised = outcome is not None and outcome.status == CellStatus.ERROR
            if hidden:
                message = _hidden_message(status, checks)
                if outcome is not None and outcome.cause == Cause.SKIPPED:
                    message += f": {outcome.detail}"
                if raised:
                    where = error_message(outcome, prepared, hidden=True)
                    message += "; " + where.replace("\n  ", "; ")
            else:
                failed = [c.message for c in checks if not c.passed]
                if raised:
                    message = error_message(outcome, prepared, hidden=False)
                elif failed:
                    message = failed[0]
                else:
                    message = outcome.message if outcome is not None else ""
                if outcome is not None and outcome.disk_full and disk_mb:
                    message += (
                        f" (your notebook's folder holds at most {disk_mb} MB while it is "
                        "graded: the files your code writes there count, so write less or "
                        "delete them)"
                    )
        earned = earned_points(worth, status, checks)
        if hidden:  # what the learner may know of a hidden check: passed or not, and its kinds
            checks = [CheckResult(c.passed, "", c.weight, "", c.kinds, c.required) for c in checks]
        result.parts.append(
            PartResult(
                name,
                gid,
                worth,
                earned,
                hidden,
                status,
                redact(message, prepared.hidden_lines),
                hint_of(cell) if hidden else "",
                [
                    CheckResult(
                        c.passed,
                        redact(c.message, prepared.hidden_lines),
                        c.weight,
                        redact(c.call, prepared.hidden_lines),
                        c.kinds,
                        c.required,
                        c.not_written,
                    )
                    for c in checks
                ],
            )
        )
    _charged_once_notes(prepared, result.parts, outcomes)
    _run_problems(prepared, outcomes, result, budget_exhausted)
    return result


def _charged_once_notes(
    prepared: SourceNotebook, parts: list[PartResult], outcomes: dict[int, CellOutcome]
) -> None:
    """A part graded with correct versions of earlier parts' functions says so when the
    learner's own version of one fails its part: while grading, that this part did not pay for
    it; in a learner's own ``check``, which part to fix first."""
    by_index = dict(zip(prepared.tests, parts, strict=True))
    ran = {part.grade_id for index, part in by_index.items() if index in outcomes}
    for test, names in prepared.uses_correct.items():
        part = by_index[test]
        for name in names:
            owner = _part_of(prepared, name, by_index)
            if owner is None or owner.status == PartStatus.PASSED or owner is part:
                continue
            if prepared.substitutes:
                note = (
                    f"(graded with a correct {name}: yours is graded in {owner.grade_id}, "
                    "so this part does not pay for its mistake)"
                )
                part.message = f"{part.message}\n  {note}" if part.message else note
            elif (
                part.status != PartStatus.PASSED
                and owner.grade_id in ran  # (check.part runs only the parts it is given)
                and not _not_written(part, outcomes.get(test))
            ):
                part.message = (
                    f"fix {owner.grade_id} first: {part.grade_id} uses {name}\n  {part.message}"
                )


def _not_written(part: PartResult, outcome: CellOutcome | None) -> bool:
    """The part's own function is still the stub: its cell stopped on the stub's
    ``NotImplementedError``, or every check that failed called it through a ``lambda``."""
    if outcome is not None and outcome.not_written:
        return True
    failed = [c for c in part.checks if not c.passed]
    return bool(failed) and all(c.not_written for c in failed)


def _part_of(prepared: SourceNotebook, name: str, by_index: dict) -> PartResult | None:
    """The first part that grades the learner's ``name`` itself."""
    for test in prepared.tests:
        solution_cells = prepared.depends.get(test, frozenset())
        for cell in solution_cells:
            if name in _defines(prepared.source.cells[cell].source):
                return by_index[test]
    return None


def _defines(source: str) -> set[str]:
    import ast

    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)}


def _run_problems(
    prepared: SourceNotebook,
    outcomes: dict[int, CellOutcome],
    result: Scored,
    budget_exhausted: bool,
) -> None:
    """What the run as a whole did: broken solution cells, and a crash, a timeout or memory."""
    for index, outcome in outcomes.items():  # (negative: the grader's own cells, not shown)
        if index in prepared.rules and outcome.status != CellStatus.OK:
            first = (outcome.message.splitlines() or [""])[0]
            gid = grade_id(prepared.source.cells[index])
            result.notes.append(redact(f"your cell {gid!r} failed: {first}", prepared.hidden_lines))
    worst = None
    for outcome in outcomes.values():
        if outcome.out_of_memory:
            worst = Status.MEMORY
        elif outcome.status in (CellStatus.TIMEOUT, CellStatus.CRASHED) and worst is None:
            worst = Status(outcome.status.value)
    if budget_exhausted:
        worst = Status.TIMEOUT
    if worst is not None:
        stopped = (PartStatus.MEMORY, PartStatus.TIMEOUT, PartStatus.CRASHED, PartStatus.NOT_RUN)
        hit = [p for p in result.parts if p.status in stopped]
        reason = f"{worst.value} in {hit[0].grade_id}: {hit[0].message}" if hit else worst.value
        result.problems.append(Problem(worst, reason))
