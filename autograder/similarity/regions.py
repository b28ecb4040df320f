"""Where two learners' code matches: shared fingerprints mapped back to lines, side by side.

Every shared fingerprint occurs at a token position in each document. Occurrences that follow
one another on both sides (the next one at most ``gap`` tokens further in each, with the two
steps differing by at most ``slack`` tokens: code copied, then lightly edited) form one block;
a block covers tokens ``first .. last + k - 1`` of one cell on each side, which are shown as
line ranges. Blocks are then taken largest first, skipping one that mostly repeats a region
already taken (a fingerprint that occurs twice would otherwise pair each copy with both).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from .documents import Document
from .fingerprints import Fingerprint, K, W

MAX_OCCURRENCES = 20  # per hash and side: a line repeated 100 times is not 10,000 pairs


@dataclass(frozen=True)
class Region:
    """One matching region: a cell and its lines (1-based, inclusive) on each side."""

    cell_a: int  # index into Document.cells
    lines_a: tuple[int, int]
    cell_b: int
    lines_b: tuple[int, int]
    fingerprints: int  # shared fingerprints inside it
    tokens: int  # normalized tokens it spans on side a


def matching_regions(
    doc_a: Document,
    prints_a: list[Fingerprint],
    doc_b: Document,
    prints_b: list[Fingerprint],
    shared: frozenset[int] | set[int],
    k: int = K,
    w: int = W,
) -> list[Region]:
    """The regions of ``doc_a`` and ``doc_b`` that match, in the order of ``doc_a``."""
    gap, slack = 2 * k + w, k
    where_b: dict[int, list[Fingerprint]] = defaultdict(list)
    for f in prints_b:
        if f.hash in shared:
            where_b[f.hash].append(f)
    seen_a: dict[int, int] = defaultdict(int)
    occurrences = []
    for fa in prints_a:
        if fa.hash not in shared or seen_a[fa.hash] >= MAX_OCCURRENCES:
            continue
        seen_a[fa.hash] += 1
        for fb in where_b[fa.hash][:MAX_OCCURRENCES]:
            occurrences.append((fa.cell, fa.position, fb.cell, fb.position))
    occurrences.sort()
    blocks: list[list[tuple[int, int, int, int]]] = []
    for occ in occurrences:
        best, best_skew = None, slack + 1
        for block in blocks:
            ca, pa, cb, pb = block[-1]
            if (ca, cb) != (occ[0], occ[2]):
                continue
            step_a, step_b = occ[1] - pa, occ[3] - pb
            skew = abs(step_a - step_b)
            if 0 < step_a <= gap and 0 < step_b <= gap and skew < best_skew:
                best, best_skew = block, skew
        if best is None:
            blocks.append([occ])
        else:
            best.append(occ)
    blocks.sort(key=lambda b: (-len(b), b[0]))
    taken_a: dict[int, set[int]] = defaultdict(set)
    taken_b: dict[int, set[int]] = defaultdict(set)
    regions = []
    for block in blocks:
        ca, cb = block[0][0], block[0][2]
        span_a = set(range(min(o[1] for o in block), max(o[1] for o in block) + k))
        span_b = set(range(min(o[3] for o in block), max(o[3] for o in block) + k))
        if len(span_a & taken_a[ca]) * 2 > len(span_a) or len(span_b & taken_b[cb]) * 2 > len(
            span_b
        ):
            continue
        taken_a[ca] |= span_a
        taken_b[cb] |= span_b
        regions.append(
            Region(
                ca,
                _lines(doc_a, ca, span_a),
                cb,
                _lines(doc_b, cb, span_b),
                len(block),
                len(span_a),
            )
        )
    regions.sort(key=lambda r: (r.cell_a, r.lines_a, r.cell_b, r.lines_b))
    return regions


def _lines(doc: Document, cell: int, span: set[int]) -> tuple[int, int]:
    tokens = doc.cells[cell].tokens
    first, last = min(span), min(max(span), len(tokens) - 1)
    return tokens[first].line, tokens[last].end_line
