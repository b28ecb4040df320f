"""Feedback never quotes the hidden tests, whole lines or lines cut short."""

from __future__ import annotations

from autograder.grading.scoring import REDACTED, redact

HIDDEN = frozenset(
    {
        "check_array(lambda: conv1d_loop(x, w, stride=stride, padding=padding),",
        "k, stride = int(rng.integers(1, 8)), int(rng.integers(1, 5))",
    }
)


def test_a_whole_hidden_line_is_removed_wherever_it_appears():
    text = "raised ValueError: k, stride = int(rng.integers(1, 8)), int(rng.integers(1, 5))!"
    assert redact(text, HIDDEN) == f"raised ValueError: {REDACTED}!"


def test_a_hidden_line_cut_short_by_truncation_is_removed():
    text = "ValueError: look\n    check_array(lambda: conv1d_loop(x, w, str"
    assert redact(text, HIDDEN) == f"ValueError: look\n    {REDACTED}"


def test_the_learners_own_text_stays_even_where_a_hidden_line_contains_it():
    for text in ["conv1d_loop(x, w)", "my own message about strides\nconv1d_loop(x, w, stride"]:
        assert redact(text, HIDDEN) == text
        assert redact(text, frozenset()) == text
