"""``similarity``: which learners' solution code is alike enough for a person to compare.

Read bottom-up: :mod:`.tokens` (normalized tokens) → :mod:`.fingerprints` (k-grams, winnowing)
→ :mod:`.documents` (solution cells of each submission, the released code) → :mod:`.index`
(starter and common fingerprints ignored) → :mod:`.scoring` (pairs from an inverted index) →
:mod:`.regions` (matches back to lines) → :mod:`.report` (HTML, CSV, JSON).

The report ranks pairs for a human to look at; it accuses no one (see ``report.NOTICE``).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from .documents import load_assignment, load_documents
from .fingerprints import K, W
from .index import COMMON_FRACTION, build_index
from .regions import matching_regions
from .report import Listed, pair_page_name, write_report
from .scoring import MIN_SHARED, MIN_SIZE, Pair, rank_pairs, with_best_parts

LISTED_PAIRS = 100

__all__ = ["SimilarityReport", "similarity_report"]


@dataclass(frozen=True)
class SimilarityReport:
    """What a run found: every pair (best first), the learners with problems, the report."""

    pairs: list[Pair]
    students: int
    problems: dict[str, list[str]]
    index_html: Path
    seconds: dict[str, float] = field(default_factory=dict)  # phase -> wall time


def similarity_report(
    assignment: str,
    submissions: Path,
    out: Path,
    *,
    common: float = COMMON_FRACTION,
    listed: int = LISTED_PAIRS,
    k: int = K,
    w: int = W,
) -> SimilarityReport:
    """Compare the solution cells of every ``submissions/<student>/<assignment>/`` pairwise and
    write the report into ``out`` (``index.html``, ``pairs/NNNN.html``, ``pairs.csv``,
    ``pairs.json``). ``common``: the fraction of learners above which shared code is ignored;
    ``listed``: how many of the best pairs, over the whole assignment and by their most alike
    part, are listed with a page. Raises ``ValueError`` for an unknown
    assignment or unusable folders; never for a learner's bad submission."""
    if not submissions.is_dir():
        raise ValueError(
            f"--submissions {submissions} is not a folder; expected "
            "DIR/<student>/<assignment>/<notebook>.ipynb"
        )
    if not 0 < common <= 1:
        raise ValueError(f"--common {common} must be a fraction in (0, 1]")
    submissions, out = submissions.resolve(), out.resolve()
    if out == submissions or submissions in out.parents:
        raise ValueError(f"--out {out} must not be inside --submissions {submissions}")
    seconds, start = {}, time.perf_counter()

    def phase(name: str) -> None:
        nonlocal start
        seconds[name] = round(time.perf_counter() - start, 4)
        start = time.perf_counter()

    spec = load_assignment(assignment)
    documents = {d.student: d for d in load_documents(spec, submissions)}
    phase("read_and_tokenize")
    index = build_index(list(documents.values()), spec.starter, common, k, w)
    phase("fingerprint_and_index")
    pairs = rank_pairs(index.kept, MIN_SHARED, MIN_SIZE)
    phase("rank_pairs")
    pairs = with_best_parts(pairs, index.kept_parts, MIN_SHARED, MIN_SIZE)
    phase("best_parts")
    rank_of = {(p.a, p.b): rank for rank, p in enumerate(pairs, 1)}
    by_part = sorted(pairs, key=lambda p: (-p.best_part_score, -p.score, p.a, p.b))
    by_part = [p for p in by_part[:listed] if p.best_part_score > 0]
    chosen = sorted({(p.a, p.b) for p in pairs[:listed] + by_part}, key=rank_of.__getitem__)
    shown = []
    for number, key in enumerate(chosen, 1):
        rank = rank_of[key]
        pair = pairs[rank - 1]
        shared = index.kept[pair.a] & index.kept[pair.b]
        regions = matching_regions(
            documents[pair.a],
            index.fingerprints[pair.a],
            documents[pair.b],
            index.fingerprints[pair.b],
            shared,
            k,
            w,
        )
        shown.append(Listed(rank, pair, pair_page_name(number), regions))
    _remove_stale_pages(out, len(shown))
    parameters = {
        "k": k,
        "w": w,
        "guaranteed_tokens": k + w - 1,
        "common_fraction": common,
        "common_limit": index.limit,
        "min_size": MIN_SIZE,
        "min_shared": MIN_SHARED,
        "listed": listed,
    }
    page = write_report(out, assignment, documents, pairs, shown, parameters, by_part)
    phase("regions_and_report")
    problems = {s: d.problems for s, d in documents.items() if d.problems}
    return SimilarityReport(pairs, len(documents), problems, page, seconds)


def _remove_stale_pages(out: Path, keep: int) -> None:
    """Pair pages of an earlier run beyond the ones this run writes."""
    folder = out / "pairs"
    if not folder.is_dir():
        return
    for page in folder.iterdir():
        match = re.fullmatch(r"(\d{4,})\.html", page.name)
        if match and int(match.group(1)) > keep:
            page.unlink()
