"""Fingerprints of a token stream: hashed k-grams, winnowed (Schleimer, Wilkerson and Aiken,
"Winnowing: local algorithms for document fingerprinting", SIGMOD 2003; the method of MOSS).

A k-gram is ``k`` consecutive normalized tokens. Its hash is a Karp-Rabin rolling hash of the
tokens' stable 61-bit ids, ``h = sum_i id(t_i) * B**(k - 1 - i) mod (2**61 - 1)``. Winnowing
keeps, in every window of ``w`` consecutive k-gram hashes, the smallest (the rightmost one on a
tie), each position once. This gives the two guarantees the report relies on:

- a run of at least ``t = w + k - 1`` identical normalized tokens in two documents is always
  found: both keep at least one identical fingerprint inside it;
- a run shorter than ``k`` tokens is never a match (noise such as ``V = V + N`` is too short).

A document keeps about ``2 / (w + 1)`` of its k-grams. Hashes are stable across processes and
machines (no salted ``hash()``), so a report is the same every time it is made.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

K = 8  # tokens per k-gram: the shortest run that can count as a match
W = 4  # winnowing window: runs of K + W - 1 = 11 tokens or more are always found
MODULUS = (1 << 61) - 1
BASE = 1_000_003


@functools.lru_cache(maxsize=65536)
def token_id(text: str) -> int:
    """A stable 61-bit id of a token's text (the first 8 bytes of its BLAKE2b digest)."""
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % MODULUS


def kgram_hashes(texts: Sequence[str], k: int = K) -> list[int]:
    """The rolling hash of every k-gram of ``texts``: ``len(texts) - k + 1`` values (none when
    the stream is shorter than ``k``); value ``i`` covers tokens ``i .. i + k - 1``."""
    if len(texts) < k:
        return []
    ids = [token_id(t) for t in texts]
    top = pow(BASE, k - 1, MODULUS)  # weight of the token leaving the window
    h = 0
    for value in ids[:k]:
        h = (h * BASE + value) % MODULUS
    hashes = [h]
    for i in range(k, len(ids)):
        h = ((h - ids[i - k] * top) * BASE + ids[i]) % MODULUS
        hashes.append(h)
    return hashes


def winnow(hashes: Sequence[int], w: int = W) -> list[tuple[int, int]]:
    """The fingerprints ``(hash, position)`` that winnowing keeps, in order of position.

    With fewer than ``w`` hashes the whole sequence is one window (its minimum is kept).
    """
    if not hashes:
        return []
    if len(hashes) <= w:
        position = min(range(len(hashes)), key=lambda i: (hashes[i], -i))
        return [(hashes[position], position)]
    chosen: list[tuple[int, int]] = []
    last = -1
    for start in range(len(hashes) - w + 1):
        window = range(start, start + w)
        position = min(window, key=lambda i: (hashes[i], -i))  # rightmost minimum
        if position != last:
            chosen.append((hashes[position], position))
            last = position
    return chosen


@dataclass(frozen=True)
class Fingerprint:
    """One kept k-gram: its hash, the cell it is in (an index into the document's cells) and
    the position of its first token in that cell's token list."""

    hash: int
    cell: int
    position: int


def fingerprint_cells(cells: Sequence[Sequence[str]], k: int = K, w: int = W) -> list[Fingerprint]:
    """The winnowed fingerprints of a document made of several cells' token texts; k-grams
    never span two cells (they are separate pieces of code)."""
    found = []
    for index, texts in enumerate(cells):
        for value, position in winnow(kgram_hashes(texts, k), w):
            found.append(Fingerprint(value, index, position))
    return found


def all_hashes(cells: Sequence[Sequence[str]], k: int = K) -> set[int]:
    """Every k-gram hash of the cells, not winnowed (for code to ignore, such as the starter)."""
    return {value for texts in cells for value in kgram_hashes(texts, k)}
