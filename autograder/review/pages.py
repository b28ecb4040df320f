"""The reviewer's static pages and the sheet to fill in (see :mod:`autograder.review`).

Everything a learner wrote is hostile: every piece of it is escaped (``html.escape``), shown in
``<pre>`` as text (markdown and HTML are not rendered), and each page forbids scripts, frames,
forms and every outside resource with a Content-Security-Policy.
"""

from __future__ import annotations

import csv
import html
import io
import re
from pathlib import Path

from ..files import write_atomic
from ..grading.results import PartStatus, _safe_csv_text
from .common import (
    REVIEW_DIR,
    SHEET,
    SHEET_COLUMNS,
    Question,
    graded_results,
    questions,
    written_part,
)

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       color: #1d1d1f; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; background: #f6f8fa; padding: .6rem;
      border-radius: 4px; }
section { border-top: 1px solid #ddd; padding-top: .5rem; margin-top: 1rem; }
.pending { color: #9a6700; } .graded-by-hand { color: #1a7f37; }
"""
POLICY = "default-src 'none'; style-src 'unsafe-inline'"


def _page(title: str, body: str) -> str:
    esc = html.escape
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{POLICY}">
<meta name="referrer" content="no-referrer">
<title>{esc(title)}</title>
<style>{STYLE}</style></head>
<body>
{body}
</body></html>
"""


def page_name(question: str) -> str:
    """A file name for a question's page (grade ids are the instructor's, but be safe)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", question)[:100] + ".html"


def question_page(assignment: str, question: Question, answers: list) -> str:
    esc = html.escape
    sections = []
    for student, part in answers:
        scored = (
            f"{part.earned:g} / {part.points:g}"
            if part.status != PartStatus.PENDING
            else (f"pending / {part.points:g}")
        )
        comment = f"<p>comment: {esc(part.message)}</p>" if part.status == "graded-by-hand" else ""
        sections.append(
            f"<section id='{esc(student, quote=True)}'><h3>{esc(student)}</h3>"
            f"<p class='{esc(part.status.value)}'>{esc(part.status.value)}: {scored}</p>"
            f"{comment}<pre>{esc(part.answer) or '(no answer)'}</pre></section>"
        )
    body = (
        f"<p><a href='index.html'>all questions</a></p>"
        f"<h1>{esc(assignment)}: {esc(question.grade_id)} ({question.points:g} points)</h1>"
        f"<p>{esc(question.notebook)}</p><h2>Question</h2><pre>{esc(question.text)}</pre>"
        f"<h2>Model answer</h2><pre>{esc(question.model)}</pre>"
        f"<h2>Answers ({len(answers)})</h2>"
        + ("".join(sections) or "<p>No one answered yet.</p>")
        + f"<p>Score them in <code>{SHEET}</code> beside this page, then run "
        f"<code>python -m autograder review {esc(assignment)} --graded DIR --import "
        f"DIR/{REVIEW_DIR}/{SHEET}</code>.</p>"
    )
    return _page(f"{assignment}: {question.grade_id}", body)


def _previous_sheet(path: Path) -> dict[tuple[str, str], tuple[str, str]]:
    """(student, question) -> (points, comment) typed in an earlier sheet, to keep them."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return {}
    kept = {}
    for row in csv.DictReader(io.StringIO(text)):
        key = ((row.get("student_id") or "").strip(), (row.get("question") or "").strip())
        values = ((row.get("points") or "").strip(), (row.get("comment") or "").strip())
        if all(key) and any(values):
            kept[key] = values
    return kept


def write_review(assignment: str, graded: Path) -> tuple[Path, int, int]:
    """Write the pages and ``scores.csv`` under ``graded/review/``; (folder, answers, pending)."""
    asked = questions(assignment)
    results = graded_results(assignment, graded)
    folder = graded / REVIEW_DIR
    earlier = _previous_sheet(folder / SHEET)
    rows, links, total, pending = [], [], 0, 0
    for question in asked:
        answers = []
        for student, result in sorted(results.items()):
            part = written_part(result, question.grade_id)
            if part is None:
                continue  # nothing submitted
            answers.append((student, part))
            sid = _safe_csv_text(student)
            given = ("", "")
            if part.status == PartStatus.GRADED:
                given = (f"{part.earned:g}", part.message)
            given = earlier.get((sid, question.grade_id), given)
            rows.append([sid, question.grade_id, f"{part.points:g}", *given])
            total += 1
            pending += part.status == PartStatus.PENDING
        write_atomic(
            folder / page_name(question.grade_id), question_page(assignment, question, answers)
        )
        waiting = sum(p.status == PartStatus.PENDING for _, p in answers)
        links.append(
            f"<li><a href='{html.escape(page_name(question.grade_id), quote=True)}'>"
            f"{html.escape(question.grade_id)}</a> ({question.points:g} points): "
            f"{len(answers)} answers, {waiting} to score</li>"
        )
    index = (
        f"<h1>{html.escape(assignment)}: written answers</h1><ul>{''.join(links)}</ul>"
        f"<p>Fill in <code>{SHEET}</code> (points and an optional comment the learner reads), "
        "then import it with <code>review --import</code>.</p>"
    )
    write_atomic(folder / "index.html", _page(f"{assignment}: written answers", index))
    sheet = io.StringIO(newline="")
    writer = csv.writer(sheet)
    writer.writerow(SHEET_COLUMNS)
    writer.writerows(rows)
    write_atomic(folder / SHEET, sheet.getvalue())
    return folder, total, pending
