"""From documents to ranked pairs: the starter and common code are ignored, copies rank high,
different algorithms low, and matches map back to the right lines."""

from __future__ import annotations

from test_normalized_tokens import DISGUISED, ORIGINAL

from autograder.similarity.documents import Cell, Document
from autograder.similarity.index import build_index, common_limit
from autograder.similarity.regions import matching_regions
from autograder.similarity.scoring import rank_pairs
from autograder.similarity.tokens import normalized_tokens

VECTORIZED = """\
def conv1d_loop(x, w, stride=1, padding=0):
    idx = np.arange(o)[:, None] * stride + np.arange(k)[None, :]
    cols = padded[idx]
    return cols @ w
"""
WHILE_LOOP = """\
def conv1d_loop(x, w, stride=1, padding=0):
    out = []
    i = 0
    while i * stride + k <= len(padded):
        out.append(float(np.dot(padded[i * stride:i * stride + k], w)))
        i += 1
    return np.array(out)
"""


def doc(student: str, *sources: str) -> Document:
    cells = [
        Cell("nb.ipynb", f"part-{i}", text, tuple(normalized_tokens(text)))
        for i, text in enumerate(sources)
    ]
    return Document(student, cells)


def own_code(number: int) -> str:
    """Code no one else writes: a chain of calls whose names depend on ``number``."""
    calls = "\n    ".join(f"v = v.step{number}_{j}(v.of{number}_{j})" for j in range(6))
    return f"def mine(v):\n    {calls}\n    return v\n"


def ranked(documents, starter=(), **options):
    index = build_index(documents, starter, **options)
    return index, rank_pairs(index.kept)


def test_a_disguised_copy_ranks_first_and_different_algorithms_score_low():
    documents = [
        doc("original", ORIGINAL),
        doc("copier", DISGUISED),
        doc("vectorized", VECTORIZED),
        doc("while", WHILE_LOOP),
    ]
    _, pairs = ranked(documents)
    assert (pairs[0].a, pairs[0].b, pairs[0].score) == ("copier", "original", 1.0)
    assert all(p.score < 0.3 for p in pairs[1:])


def test_the_released_code_is_ignored():
    helper = (
        "def padding_pair(n, k, stride, padding):\n"
        "    if padding == 'same':\n        return same_padding(n, k, stride)\n"
        "    if isinstance(padding, int):\n        return padding, padding\n"
        "    return tuple(padding)\n"
    )
    starter = (tuple(t.text for t in normalized_tokens(helper)),)
    documents = [doc("a", helper, own_code(1)), doc("b", helper, own_code(2))]
    index, pairs = ranked(documents, starter)
    assert pairs == []
    assert index.kept["a"] and not index.kept["a"] & index.kept["b"]
    _, without_starter = ranked(documents)
    assert without_starter, "the helper alone makes them a pair when it is not the starter"


def test_code_many_learners_share_is_ignored():
    common = ORIGINAL  # the idiom of the exercise, written by the whole class
    documents = [doc(f"s{i}", common, own_code(i)) for i in range(10)]
    documents[3] = doc("s3", common, own_code(3), own_code(99))
    documents[7] = doc("s7", common, own_code(7), own_code(99))
    index, pairs = ranked(documents, fraction=0.1)
    assert index.limit == common_limit(10) == 3
    assert {f.hash for f in index.fingerprints["s0"]} - index.common == index.kept["s0"]
    assert [(p.a, p.b) for p in pairs] == [("s3", "s7")]


def test_matching_regions_map_back_to_the_copied_lines():
    documents = [doc("original", own_code(5) + ORIGINAL), doc("copier", DISGUISED)]
    index = build_index(documents, ())
    shared = index.kept["original"] & index.kept["copier"]
    regions = matching_regions(
        documents[0],
        index.fingerprints["original"],
        documents[1],
        index.fingerprints["copier"],
        shared,
    )
    assert len(regions) == 1
    region = regions[0]
    offset = own_code(5).count("\n")  # ORIGINAL starts after the learner's own code
    # a region spans its first to its last kept fingerprint: it may start or end a line short
    assert offset + 1 <= region.lines_a[0] <= offset + 3
    assert offset + 8 <= region.lines_a[1] <= offset + 9
    assert 1 <= region.lines_b[0] <= 6 and 11 <= region.lines_b[1] <= 12


def test_a_part_copied_alone_is_the_pair_s_most_alike_part():
    from autograder.similarity.scoring import with_best_parts

    # each learner writes four parts of their own; "borrower" took "lender"'s third part
    documents = [doc(f"s{i}", *(own_code(10 * i + part) for part in range(4))) for i in range(6)]
    borrowed = [own_code(10 * 6 + part) for part in range(4)]
    borrowed[2] = documents[1].cells[2].source.replace("v", "value")
    documents.append(doc("borrower", *borrowed))
    index = build_index(documents, ())
    pairs = with_best_parts(rank_pairs(index.kept), index.kept_parts)
    assert [(p.a, p.b) for p in pairs] == [("borrower", "s1")]
    pair = pairs[0]
    assert pair.best_part == "part-2" and pair.best_part_score == 1.0
    assert pair.score < 0.5  # one part of four: low over the whole notebook
