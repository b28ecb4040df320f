"""Normalized tokens: what a copier changes cosmetically disappears, what the code does stays."""

from __future__ import annotations

from autograder.similarity.tokens import normalized_tokens


def texts(source: str) -> list[str]:
    return [t.text for t in normalized_tokens(source)]


ORIGINAL = '''\
def conv1d_loop(x, w, stride=1, padding=0):
    """Docstring."""
    y = np.zeros(o)
    for i in range(o):
        total = 0.0
        for j in range(k):
            total += w[j] * padded[i * stride + j]
        y[i] = total
    return y
'''
DISGUISED = '''\
def conv1d_loop(x, w, stride=1, padding=0):
    """Another docstring, longer,
    over two lines."""
    # my own accumulator
    result = np.zeros(o,)

    for position in range(o):   # outputs
        acc = 0
        for t in range(k):
            acc += w[t]*padded[position*stride+t]
        result[position] = acc
    return result
'''


def test_names_literals_comments_layout_and_docstrings_are_normalized_away():
    assert texts(DISGUISED) == texts(ORIGINAL)


def test_keywords_builtins_and_attribute_names_stay():
    assert texts("y = np.zeros(len(x))\nfor i in range(3): pass") == [
        *"V = V . zeros ( len ( V ) )".split(),
        *"for V in range ( N ) : pass".split(),
    ]


def test_a_different_computation_gives_different_tokens():
    assert texts("y = x @ w") != texts("y = x * w")


def test_tokens_remember_their_lines():
    tokens = normalized_tokens("a = 1\n\n# note\nb = 'x'\n")
    assert [(t.text, t.line) for t in tokens] == [
        ("V", 1),
        ("=", 1),
        ("N", 1),
        ("V", 4),
        ("=", 4),
        ("S", 4),
    ]


def test_broken_code_still_gives_tokens_and_never_raises():
    unclosed = texts("out = -(-n // s\nreturn out")
    assert unclosed[:4] == ["V", "=", "-", "("] and "return" in unclosed
    bad_dedent = normalized_tokens("def f():\n        a = 1\n    b = 2\nc = '''open")
    assert [t.line for t in bad_dedent if t.text == "S"] == [4]
    for hostile in ("\x00\x01", "'''", "%timeit f()\n!pip install x", "\\", "$$$", ""):
        normalized_tokens(hostile)
