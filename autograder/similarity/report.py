"""The similarity report: ``index.html`` (pairs ranked), one page per listed pair with the
matching regions side by side, ``pairs.csv`` (every pair) and ``pairs.json``.

Learner code is hostile input: every piece of it (and every student id, file and cell name)
goes through :func:`html.escape`, invisible bidirectional-control characters are shown as
``\\u202e`` and the like, and each page carries a Content-Security-Policy that allows no script
at all, so a ``</pre><script>`` in a solution is text on the page. The pages are self-contained
(inline CSS, no external resource).
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..files import write_atomic
from .documents import Document
from .regions import Region
from .scoring import Pair

NOTICE = (
    "A high rank is a reason for a person to look, not evidence of misconduct. Similar code "
    "has innocent causes: a short exercise with one natural solution, code from the book or "
    "the lectures, a study group that discussed an approach, a tutor's hint. The pairs are "
    "ranked by how much of their solution code matches after names, literals and layout are "
    "set aside; the released starter code and code that many learners share are ignored. "
    "Read the matching regions, and talk with the learners, before drawing any conclusion."
)
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; base-uri 'none'"
CSS = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 1.5em; color: #1b1b1b; }
.notice { background: #fff6d6; border: 1px solid #e0c45c; padding: .7em 1em; max-width: 60em; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.sides { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 1em; }
.code { font: 13px/1.35 ui-monospace, monospace; white-space: pre; overflow-x: auto;
        border: 1px solid #ddd; background: #fafafa; margin: 0 0 1em; padding: .3em 0; }
.code span { display: block; padding: 0 .5em; }
.code i { font-style: normal; color: #999; display: inline-block; width: 3.5em; user-select: none; }
.m0 { background: #ffd9d9; } .m1 { background: #d9ecff; } .m2 { background: #dcf5d5; }
.m3 { background: #f3e0ff; } .m4 { background: #ffe9c7; } .m5 { background: #d7f3f3; }
h3 { margin: 1em 0 .3em; font-size: 1em; }
"""
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
COLORS = 6


def _text(value: object) -> str:
    """Any value as HTML text: escaped, with invisible bidi controls made visible."""
    escaped = html.escape(str(value), quote=True)
    return _BIDI.sub(lambda m: f"\\u{ord(m.group()):04x}", escaped)


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<meta http-equiv='Content-Security-Policy' content=\"{CSP}\">"
        "<meta name='referrer' content='no-referrer'>"
        f"<title>{_text(title)}</title><style>{CSS}</style></head><body>\n{body}\n</body></html>\n"
    )


@dataclass(frozen=True)
class Listed:
    """A pair shown in the report: its rank over the whole assignment (1-based; every pair is
    in ``pairs.csv`` in that order), its page and its matching regions."""

    rank: int
    pair: Pair
    page: str
    regions: list[Region]


def pair_page_name(number: int) -> str:
    return f"pairs/{number:04d}.html"


def write_report(
    out: Path,
    assignment: str,
    documents: dict[str, Document],
    pairs: list[Pair],
    listed: list[Listed],
    parameters: dict[str, object],
    by_part: list[Pair] | None = None,
) -> Path:
    """Write every file of the report into ``out``; returns the path of ``index.html``.

    ``pairs``: every pair, best first; ``listed``: the pairs that get a page; ``by_part``: the
    pairs to list by their most similar part (each of them in ``listed``)."""
    (out / "pairs").mkdir(parents=True, exist_ok=True)
    for item in listed:
        a, b = documents[item.pair.a], documents[item.pair.b]
        write_atomic(out / item.page, _pair_page(assignment, item, a, b))
    write_atomic(out / "pairs.csv", _csv(pairs, {i.pair: i.page for i in listed}))
    write_atomic(out / "pairs.json", _json(assignment, documents, listed, parameters))
    index = out / "index.html"
    write_atomic(index, _index(assignment, documents, pairs, listed, parameters, by_part or []))
    return index


def _index(assignment, documents, pairs, listed, parameters, by_part) -> str:
    with_code = sum(1 for d in documents.values() if d.cells)
    pages = {(i.pair.a, i.pair.b): i for i in listed}
    whole = sorted((i for i in listed if i.rank <= parameters["listed"]), key=lambda i: i.rank)
    rows = []
    for item in whole:
        p = item.pair
        rows.append(
            f"<tr><td class='num'>{item.rank}</td><td>{_text(p.a)}</td><td>{_text(p.b)}</td>"
            f"<td class='num'>{p.score:.0%}</td><td class='num'>{p.shared}</td>"
            f"<td class='num'>{p.share_a:.0%}</td><td class='num'>{p.share_b:.0%}</td>"
            f"<td>{_text(p.best_part)} {p.best_part_score:.0%}</td>"
            f"<td><a href='{_text(item.page)}'>side by side</a></td></tr>"
        )
    part_rows = []
    for number, p in enumerate(by_part, 1):
        item = pages[(p.a, p.b)]
        part_rows.append(
            f"<tr><td class='num'>{number}</td><td>{_text(p.a)}</td><td>{_text(p.b)}</td>"
            f"<td>{_text(p.best_part)}</td><td class='num'>{p.best_part_score:.0%}</td>"
            f"<td class='num'>{p.score:.0%} (#{item.rank})</td>"
            f"<td><a href='{_text(item.page)}'>side by side</a></td></tr>"
        )
    problems = [
        f"<tr><td>{_text(d.student)}</td><td>{_text('; '.join(d.problems))}</td></tr>"
        for d in documents.values()
        if d.problems
    ]
    empty = [_text(s) for s, d in documents.items() if not d.problems and not d.cells]
    body = [
        f"<h1>Similarity report: {_text(assignment)}</h1>",
        f"<p class='notice'><strong>Read this first.</strong> {_text(NOTICE)}</p>",
        f"<p>{len(documents)} student folder(s), {with_code} with solution code compared; "
        f"{len(pairs)} pair(s) share code that counts; the {len(whole)} highest are listed "
        "below, then the pairs most alike in one part (every pair is in "
        "<a href='pairs.csv'>pairs.csv</a>).</p>",
        "<p>Score = the mean of the two learners' shares: the fraction of each one's "
        "fingerprints found in the other's (counting at least "
        f"{_text(parameters['min_size'])} fingerprints per learner); 100% in one learner's "
        "column means all of their code is in the other's. A fingerprint is a winnowed hash of "
        f"{_text(parameters['k'])} normalized tokens (names, numbers and strings replaced, "
        "comments, docstrings and layout dropped; any common run of "
        f"{_text(parameters['guaranteed_tokens'])} tokens or more is found). Ignored: every "
        "fingerprint of the released notebook's code, and those of more than "
        f"{_text(parameters['common_limit'])} learners (common code).</p>",
        "<h2>Pairs ranked over the whole assignment</h2>",
        "<table><tr><th>rank</th><th>student</th><th>student</th><th>score</th>"
        "<th>shared</th><th>of first</th><th>of second</th><th>most alike part</th><th></th>"
        "</tr>",
        *rows,
        "</table>",
    ]
    if not listed:
        body.append("<p>No two learners share code that counts.</p>")
    if part_rows:
        body += [
            "<h2>Pairs ranked by their most alike part</h2>",
            "<p>The same score on one solution cell's fingerprints: a learner who took one "
            "part and wrote the rest alone shows here first. A short part that admits few "
            "solutions scores high more easily; read the code.</p>",
            "<table><tr><th>rank</th><th>student</th><th>student</th><th>part</th>"
            "<th>score in it</th><th>whole score (rank)</th><th></th></tr>",
            *part_rows,
            "</table>",
        ]
    if problems:
        body += [
            "<h2>Submissions that could not be read in full</h2>",
            "<p>What could be read was compared; the rest is missing from the comparison.</p>",
            "<table><tr><th>student</th><th>problem</th></tr>",
            *problems,
            "</table>",
        ]
    if empty:
        body.append(
            f"<h2>Nothing to compare</h2><p>No solution cell found for: {', '.join(empty)}.</p>"
        )
    return _page(f"Similarity report: {assignment}", "\n".join(body))


def _code(doc: Document, cell: int, marks: dict[int, int], first: int = 1, last: int = 0) -> str:
    lines = doc.cells[cell].source.splitlines() or [""]
    last = last or len(lines)
    spans = []
    for number in range(first, min(last, len(lines)) + 1):
        mark = marks.get(number)
        css = f" class='m{mark % COLORS}'" if mark is not None else ""
        spans.append(f"<span{css}><i>{number}</i>{_text(lines[number - 1])}</span>")
    return f"<div class='code'>{''.join(spans)}</div>"


def _marks(regions: list[Region], side: str) -> dict[tuple[int, int], int]:
    """(cell, line) -> the number of the first region covering it, on side ``a`` or ``b``."""
    marks: dict[tuple[int, int], int] = {}
    for number, region in enumerate(regions):
        cell = region.cell_a if side == "a" else region.cell_b
        start, end = region.lines_a if side == "a" else region.lines_b
        for line in range(start, end + 1):
            marks.setdefault((cell, line), number)
    return marks


def _pair_page(assignment: str, item: Listed, a: Document, b: Document) -> str:
    p = item.pair
    marks_a, marks_b = _marks(item.regions, "a"), _marks(item.regions, "b")
    body = [
        "<p><a href='../index.html'>all pairs</a></p>",
        f"<h1>#{item.rank}: {_text(p.a)} and {_text(p.b)}</h1>",
        f"<p class='notice'>{_text(NOTICE)}</p>",
        f"<p>Score {p.score:.0%} (rank {item.rank} over the whole assignment): {p.shared} "
        f"shared fingerprint(s); {p.share_a:.0%} of {_text(p.a)}'s ({p.size_a}) and "
        f"{p.share_b:.0%} of {_text(p.b)}'s ({p.size_b}). Most alike part: "
        f"{_text(p.best_part or 'none')} ({p.best_part_score:.0%}).</p>",
        "<h2>Matching regions, side by side</h2>",
        "<p>A region runs from the first to the last fingerprint the two share that counts "
        "(not the released code, not code common in the class); identical lines around it "
        "may be starter or common code, which the score ignores.</p>",
    ]
    for number, r in enumerate(item.regions):
        cell_a, cell_b = a.cells[r.cell_a], b.cells[r.cell_b]
        only_a = {line: number for line in range(r.lines_a[0], r.lines_a[1] + 1)}
        only_b = {line: number for line in range(r.lines_b[0], r.lines_b[1] + 1)}
        body += [
            f"<div class='sides region' id='region-{number + 1}'><div>",
            f"<h3>Region {number + 1}: {_text(p.a)}, {_text(cell_a.label)}, lines "
            f"{r.lines_a[0]}-{r.lines_a[1]}</h3>",
            _code(a, r.cell_a, only_a, *r.lines_a),
            "</div><div>",
            f"<h3>{_text(p.b)}, {_text(cell_b.label)}, lines {r.lines_b[0]}-{r.lines_b[1]}</h3>",
            _code(b, r.cell_b, only_b, *r.lines_b),
            "</div></div>",
        ]
    if not item.regions:
        body.append("<p>The shared fingerprints form no region (scattered short matches).</p>")
    body.append("<h2>Solution cells in full</h2><div class='sides'>")
    for doc, marks in ((a, marks_a), (b, marks_b)):
        body.append(f"<div><h3>{_text(doc.student)}</h3>")
        for index, cell in enumerate(doc.cells):
            own = {line: m for (c, line), m in marks.items() if c == index}
            body += [f"<h3>{_text(cell.label)}</h3>", _code(doc, index, own)]
        body.append("</div>")
    body.append("</div>")
    return _page(f"{assignment} #{item.rank}: {p.a} and {p.b}", "\n".join(body))


def _csv(pairs: list[Pair], pages: dict[Pair, str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        ["rank", "student_a", "student_b", "score", "shared", "fingerprints_a", "fingerprints_b"]
        + ["best_part", "best_part_score", "page"]
    )
    for rank, p in enumerate(pairs, 1):
        writer.writerow(
            [rank, p.a, p.b, f"{p.score:.4f}", p.shared, p.size_a, p.size_b]
            + [p.best_part, f"{p.best_part_score:.4f}", pages.get(p, "")]
        )
    return buffer.getvalue()


def _json(assignment, documents, listed, parameters) -> str:
    def region(r: Region, a: Document, b: Document) -> dict:
        return {
            "cell_a": a.cells[r.cell_a].label,
            "lines_a": list(r.lines_a),
            "cell_b": b.cells[r.cell_b].label,
            "lines_b": list(r.lines_b),
            "fingerprints": r.fingerprints,
            "tokens": r.tokens,
        }

    data = {
        "assignment": assignment,
        "notice": NOTICE,
        "parameters": parameters,
        "students": [
            {"student_id": d.student, "cells": [c.label for c in d.cells], "problems": d.problems}
            for d in documents.values()
        ],
        "pairs": [
            {
                "rank": item.rank,
                "student_a": item.pair.a,
                "student_b": item.pair.b,
                "score": round(item.pair.score, 4),
                "shared": item.pair.shared,
                "fingerprints_a": item.pair.size_a,
                "fingerprints_b": item.pair.size_b,
                "best_part": item.pair.best_part,
                "best_part_score": round(item.pair.best_part_score, 4),
                "page": item.page,
                "regions": [
                    region(r, documents[item.pair.a], documents[item.pair.b]) for r in item.regions
                ],
            }
            for item in listed
        ],
    }
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"
