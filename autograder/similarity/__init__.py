"""``similarity``: which learners' solution code is alike enough for a person to compare.

Read bottom-up: :mod:`.tokens` (normalized tokens) → :mod:`.fingerprints` (k-grams, winnowing)
→ :mod:`.documents` (solution cells of each submission, the released code) → :mod:`.index`
(starter and common fingerprints ignored) → :mod:`.scoring` (pairs from an inverted index) →
:mod:`.regions` (matches back to lines) → :mod:`.report` (HTML, CSV, JSON).

The report ranks pairs for a human to look at; it accuses no one (see ``report.NOTICE``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .documents import load_assignment, load_documents
from .fingerprints import K, W
from .index import COMMON_FRACTION, build_index
from .regions import matching_regions
from .report import Listed, pair_page_name, write_report
from .scoring import MIN_SHARED, MIN_SIZE, Pair, rank_pairs

LISTED_PAIRS = 100

__all__ = ["SimilarityReport", "similarity_report"]


@dataclass(frozen=True)
class SimilarityReport:
    """What a run found: every pair (best first), the learners with problems, the report."""

    pairs: list[Pair]
    students: int
    problems: dict[str, list[str]]
    index_html: Path


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
    ``listed``: how many of the best pairs get a page. Raises ``ValueError`` for an unknown
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
    spec = load_assignment(assignment)
    documents = {d.student: d for d in load_documents(spec, submissions)}
    index = build_index(list(documents.values()), spec.starter, common, k, w)
    pairs = rank_pairs(index.kept, MIN_SHARED, MIN_SIZE)
    shown = []
    for rank, pair in enumerate(pairs[:listed], 1):
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
        shown.append(Listed(rank, pair, pair_page_name(rank), regions))
    _remove_stale_pages(out, len(shown))
    parameters = {
        "k": k,
        "w": w,
        "guaranteed_tokens": k + w - 1,
        "common_fraction": common,
        "common_limit": index.limit,
        "min_size": MIN_SIZE,
        "min_shared": MIN_SHARED,
    }
    page = write_report(out, assignment, documents, pairs, shown, parameters)
    problems = {s: d.problems for s, d in documents.items() if d.problems}
    return SimilarityReport(pairs, len(documents), problems, page)


def _remove_stale_pages(out: Path, keep: int) -> None:
    """Pair pages of an earlier run beyond the ones this run writes."""
    folder = out / "pairs"
    if not folder.is_dir():
        return
    for page in folder.iterdir():
        match = re.fullmatch(r"(\d{4,})\.html", page.name)
        if match and int(match.group(1)) > keep:
            page.unlink()
