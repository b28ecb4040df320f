"""Ranking pairs of learners by the fingerprints they share, through an inverted index.

For learners ``a`` and ``b`` with kept fingerprint sets ``F_a`` and ``F_b``
(:mod:`autograder.similarity.index`):

    shared  = |F_a ∩ F_b|
    share_a = shared / max(|F_a|, MIN_SIZE)      (how much of a's code is found in b's)
    share_b = shared / max(|F_b|, MIN_SIZE)
    score   = (share_a + share_b) / 2

``score`` is 1.0 when the two documents match entirely, and at least 0.5 when one learner's
whole code is inside the other's (a learner who copied the parts they handed in), while two
learners who both wrote the idioms of the exercise and little else score low. ``MIN_SIZE``
keeps a document of a handful of fingerprints (a learner who wrote three lines) from scoring
high on a coincidence. Pairs are ranked by score, then by ``shared``.

Only pairs that share at least ``MIN_SHARED`` fingerprints are listed. They are counted from an
inverted index (hash -> the learners that have it), so the work is the sum over hashes of
``m * (m - 1) / 2`` for ``m`` learners per hash (``m`` is at most the common limit), never all
``n * (n - 1) / 2`` pairs compared in full: a class of 500 takes a fraction of a second.

A learner may copy one part and write the others alone; over the whole notebook such a pair
scores no higher than two learners who wrote the same idioms everywhere. Each pair therefore
also gets its **best part**: the same score computed on one solution cell's fingerprints
(grade id by grade id, fingerprints that count for the whole class only), the highest of them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from itertools import combinations

MIN_SIZE = 10
MIN_SHARED = 2


@dataclass(frozen=True)
class Pair:
    """Two learners (``a < b``), how much they share and their score."""

    a: str
    b: str
    shared: int
    size_a: int
    size_b: int
    score: float
    best_part: str = ""  # grade id of the solution cell where the pair is most alike
    best_part_score: float = 0.0

    @property
    def share_a(self) -> float:
        """The fraction of ``a``'s fingerprints found in ``b``'s."""
        return self.shared / self.size_a if self.size_a else 0.0

    @property
    def share_b(self) -> float:
        """The fraction of ``b``'s fingerprints found in ``a``'s."""
        return self.shared / self.size_b if self.size_b else 0.0


def rank_pairs(
    kept: dict[str, frozenset[int]], min_shared: int = MIN_SHARED, min_size: int = MIN_SIZE
) -> list[Pair]:
    """Every pair sharing at least ``min_shared`` fingerprints, best first."""
    students = sorted(kept)
    postings: dict[int, list[int]] = defaultdict(list)
    for number, student in enumerate(students):
        for value in kept[student]:
            postings[value].append(number)
    counts: Counter[tuple[int, int]] = Counter()
    for holders in postings.values():
        if len(holders) > 1:
            counts.update(combinations(holders, 2))  # holders are in increasing order
    pairs = []
    for (i, j), shared in counts.items():
        if shared < min_shared:
            continue
        a, b = students[i], students[j]
        size_a, size_b = len(kept[a]), len(kept[b])
        score = (shared / max(size_a, min_size) + shared / max(size_b, min_size)) / 2
        pairs.append(Pair(a, b, shared, size_a, size_b, score))
    pairs.sort(key=lambda p: (-p.score, -p.shared, p.a, p.b))
    return pairs


def with_best_parts(
    pairs: list[Pair],
    kept_parts: dict[str, dict[str, frozenset[int]]],
    min_shared: int = MIN_SHARED,
    min_size: int = MIN_SIZE,
) -> list[Pair]:
    """``pairs`` (same order) with their best part: for every grade id, the score of the pair
    on that cell's kept fingerprints alone (``kept_parts``: student -> grade id -> hashes)."""
    best: dict[tuple[str, str], tuple[float, str]] = {}
    part_ids = sorted({gid for parts in kept_parts.values() for gid in parts})
    for gid in part_ids:
        one_part = {s: parts.get(gid, frozenset()) for s, parts in kept_parts.items()}
        for pair in rank_pairs(one_part, min_shared, min_size):
            key = (pair.a, pair.b)
            if pair.score > best.get(key, (0.0, ""))[0]:
                best[key] = (pair.score, gid)
    found = []
    for pair in pairs:
        score, gid = best.get((pair.a, pair.b), (0.0, ""))
        found.append(replace(pair, best_part=gid, best_part_score=score))
    return found
