"""Per-student HTML feedback: public-test messages, hidden-test outcomes and hints.

Hidden tests are reported only as passed or failed with the instructor's hint: never their code,
their inputs or their expected values.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .results import StudentResult

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 56rem; margin: 2rem auto; padding: 0 1rem;
       color: #1d1d1f; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid #ddd;
         vertical-align: top; }
td.points { white-space: nowrap; text-align: right; }
.passed { color: #1a7f37; }
.failed, .timeout, .crashed, .memory, .not-run, .forbidden { color: #cf222e; }
pre { white-space: pre-wrap; margin: 0; font-size: .9em; }
ul.checks { list-style: none; margin: 0; padding: 0; }
ul.checks li { margin: .1rem 0; }
"""


def _detail(part) -> str:
    """A hidden part: its outcome by kind of input (the notebook shows its hint already). A
    public part: every check, passed or failed, each failure with its whole message."""
    esc = html.escape
    if part.manual:
        answer = f"<details><summary>your answer</summary><pre>{esc(part.answer)}</pre></details>"
        return f"<pre>{esc(part.message)}</pre>{answer if part.answer else ''}"
    if part.hidden or not part.checks:
        return f"<pre>{esc(part.message)}</pre>"
    items = []
    for check in part.checks:
        if check.passed:
            items.append(f"<li class='passed'>✓ {esc(check.call or 'check')}</li>")
        else:
            items.append(f"<li class='failed'>✗ <pre>{esc(check.message)}</pre></li>")
    head = (
        f"<pre>{esc(part.message)}</pre>"
        if part.message and part.status.value not in ("passed", "failed")
        else ""
    )
    return f"{head}<ul class='checks'>{''.join(items)}</ul>"


def render_feedback(result: StudentResult) -> str:
    esc = html.escape
    rows = []
    for part in result.parts:
        kind = "written" if part.manual else "hidden" if part.hidden else "public"
        status = part.status.value
        rows.append(
            f"<tr><td>{esc(part.grade_id)}</td><td>{kind}</td>"
            f"<td class='{esc(status)}'>{esc(status)}</td>"
            f"<td class='points'>{part.earned:g} / {part.points:g}</td>"
            f"<td>{_detail(part)}</td></tr>"
        )
    notes = "".join(f"<li>{esc(n)}</li>" for n in result.notes)
    reason = (
        f"<p><strong>Status:</strong> {esc(result.status.value)}"
        + (f": {esc(result.reason)}" if result.reason else "")
        + "</p>"
    )
    if result.late is not None:
        reason += f"<p><strong>Lateness:</strong> {esc(result.late.note)}"
        if result.penalty:
            reason += f" ({result.raw_score:g} points earned, {result.penalty:g} taken off)"
        reason += "</p>"
    if result.pending_manual:
        reason += (
            f"<p><strong>Written answers:</strong> {result.pending_manual:g} points are "
            "graded by hand and not counted yet.</p>"
        )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Feedback: {esc(result.assignment)} for {esc(result.student_id)}</title>
<style>{STYLE}</style></head>
<body>
<h1>{esc(result.assignment)}: {result.score:g} / {result.max_score:g}</h1>
<p>Student: {esc(result.student_id)}</p>
{reason}
<table><thead><tr><th>part</th><th>tests</th><th>result</th><th>points</th><th>details</th></tr>
</thead><tbody>
{"".join(rows)}
</tbody></table>
{f"<h2>Notes</h2><ul>{notes}</ul>" if notes else ""}
</body></html>
"""
