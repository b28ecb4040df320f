"""Winnowing keeps what its guarantee promises: every long enough common run is found."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.similarity.fingerprints import K, W, fingerprint_cells, kgram_hashes, winnow


@settings(deadline=None)  # a shared machine's pauses are no failure
@given(st.lists(st.integers(0, 5), min_size=0, max_size=60), st.integers(1, 6))
def test_every_window_of_w_hashes_holds_a_kept_one(hashes, w):
    kept = {position for _, position in winnow(hashes, w)}
    assert all(kept & set(range(s, s + w)) for s in range(len(hashes) - w + 1))
    assert bool(kept) == bool(hashes)


TOKENS = st.lists(st.sampled_from("V N S ( ) [ ] = + * for in range : return".split()))


@settings(max_examples=200, deadline=None)
@given(TOKENS, TOKENS, st.lists(st.sampled_from("V N ( ) = +".split()), min_size=K + W - 1))
def test_a_common_run_of_k_plus_w_minus_1_tokens_shares_a_fingerprint(left, right, common):
    a = fingerprint_cells([left + common + right])
    b = fingerprint_cells([right + ["#"] + common + left])
    assert {f.hash for f in a} & {f.hash for f in b}


def test_hashes_are_stable_and_a_run_shorter_than_k_has_none():
    tokens = "V = V . zeros ( V )".split()
    assert kgram_hashes(tokens[: K - 1]) == []
    assert kgram_hashes(tokens) == kgram_hashes(list(tokens))
    assert len(kgram_hashes(tokens)) == len(tokens) - K + 1
    assert kgram_hashes(tokens)[0] == 1590805810880035035  # the same on every machine and run
