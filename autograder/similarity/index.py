"""Which fingerprints count: not the released code, not code that many learners share.

A fingerprint is **ignored** when

- its k-gram occurs anywhere in the released notebook's code (the stubs' signatures, helper
  cells everyone was given): every k-gram of the release, not only the winnowed ones;
- or it is *common*: more than ``limit = max(MIN_COMMON, floor(fraction * n))`` of the ``n``
  learners with code have it (``fraction`` 0.1 by default). Code that a tenth of a class writes
  alike is the idiom the exercise calls for (``np.zeros(o)``, ``(n + p - k) // s + 1``), not a
  sign that two of them worked together. ``MIN_COMMON`` keeps a small class's pairs and trios
  visible: in a class of 20, three learners with the same code are still compared.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from .documents import Document
from .fingerprints import Fingerprint, K, W, all_hashes, fingerprint_cells

COMMON_FRACTION = 0.1
MIN_COMMON = 3


def common_limit(n: int, fraction: float = COMMON_FRACTION) -> int:
    """The most learners a fingerprint may be shared by and still count:
    ``max(MIN_COMMON, floor(fraction * n))``."""
    return max(MIN_COMMON, math.floor(fraction * n))


@dataclass(frozen=True)
class ClassIndex:
    """Every learner's winnowed fingerprints, and the hashes that count for each."""

    fingerprints: dict[str, list[Fingerprint]]  # student -> all winnowed fingerprints
    kept: dict[str, frozenset[int]]  # student -> hashes that count (distinct)
    kept_parts: dict[str, dict[str, frozenset[int]]]  # student -> grade id -> hashes that count
    starter: frozenset[int]  # every k-gram hash of the released code
    common: frozenset[int]  # hashes more than `limit` learners have
    limit: int


def build_index(
    documents: list[Document],
    starter_cells: tuple[tuple[str, ...], ...],
    fraction: float = COMMON_FRACTION,
    k: int = K,
    w: int = W,
) -> ClassIndex:
    """Fingerprint every document, then drop the starter's and the common fingerprints."""
    starter = frozenset(all_hashes(starter_cells, k))
    fingerprints = {
        doc.student: fingerprint_cells([[t.text for t in c.tokens] for c in doc.cells], k, w)
        for doc in documents
    }
    own = {s: {f.hash for f in prints} - starter for s, prints in fingerprints.items()}
    with_code = sum(1 for hashes in own.values() if hashes)
    limit = common_limit(with_code, fraction)
    counts = Counter(h for hashes in own.values() for h in hashes)
    common = frozenset(h for h, count in counts.items() if count > limit)
    kept = {s: frozenset(hashes - common) for s, hashes in own.items()}
    kept_parts: dict[str, dict[str, frozenset[int]]] = {}
    for doc in documents:
        parts: dict[str, set[int]] = {}
        for f in fingerprints[doc.student]:
            if f.hash in kept[doc.student]:
                parts.setdefault(doc.cells[f.cell].grade_id, set()).add(f.hash)
        kept_parts[doc.student] = {gid: frozenset(h) for gid, h in parts.items()}
    return ClassIndex(fingerprints, kept, kept_parts, starter, common, limit)
