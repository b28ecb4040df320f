"""Learner code as a stream of normalized tokens, each remembering the lines it came from.

Copying with cosmetic changes leaves the normalized stream unchanged:

- every identifier becomes ``V``, except keywords, builtins (``range``, ``len``) and attribute
  names after a dot (``np.zeros`` reads ``V . zeros``: the API a solution calls is its
  substance, the names of its variables are not);
- every number becomes ``N`` and every string ``S``;
- comments, blank lines, indentation, line breaks and docstrings (a string that is a statement
  of its own) are dropped, and so is a trailing comma before a closing bracket.

Python's :mod:`tokenize` reads the code; where it gives up (an unclosed bracket, a bad dedent:
learners hand in broken code), the rest of the cell is read by a simple regular expression, so
any text gives tokens and nothing raises.
"""

from __future__ import annotations

import builtins
import io
import keyword
import re
import tokenize
from dataclasses import dataclass

IDENTIFIER = "V"
NUMBER = "N"
STRING = "S"
KEPT_NAMES = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | frozenset(dir(builtins))
_SKIPPED = {
    tokenize.COMMENT,
    tokenize.NL,
    tokenize.NEWLINE,
    tokenize.INDENT,
    tokenize.DEDENT,
    tokenize.ENCODING,
    tokenize.ENDMARKER,
}
_STATEMENT_START = {tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, None}
_CLOSING = {")", "]", "}"}
_FSTRING = tuple(
    getattr(tokenize, name)
    for name in ("FSTRING_START", "FSTRING_MIDDLE", "FSTRING_END")
    if hasattr(tokenize, name)  # Python 3.12 splits f-strings into parts
)
# The fallback lexer: strings (triple-quoted first), comments, names, numbers, operators.
_FALLBACK = re.compile(
    r"""(?P<string>[rbuf]{0,2}(?:'''[\s\S]*?(?:'''|$)|\"\"\"[\s\S]*?(?:\"\"\"|$)"""
    r"""|'[^'\n]*'?|"[^"\n]*"?))"""
    r"|(?P<comment>\#[^\n]*)"
    r"|(?P<name>[^\W\d]\w*)"
    r"|(?P<number>\d[\w.]*|\.\d[\w.]*)"
    r"|(?P<op>\*\*=?|//=?|>>=?|<<=?|->|:=|[-+*/%@&|^=<>!]=|[^\s\w])",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Token:
    """One normalized token: its text and the lines (1-based, in its cell) it spans."""

    text: str
    line: int
    end_line: int


def normalized_tokens(source: str) -> list[Token]:
    """The normalized tokens of ``source`` (see the module's docstring); never raises."""
    raw: list[tuple[int, str, int, int]] = []  # (type, text, first line, last line)
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            raw.append((tok.type, tok.string, tok.start[0], tok.end[0]))
    except (tokenize.TokenError, SyntaxError):
        done = max((end for *_, end in raw), default=0)
        rest = "".join(source.splitlines(keepends=True)[done:])
        raw.extend(_fallback(rest, offset=done))
    return _normalize(raw)


def _fallback(text: str, offset: int) -> list[tuple[int, str, int, int]]:
    """Tokens of code that :mod:`tokenize` cannot read, by regular expression."""
    found = []
    for match in _FALLBACK.finditer(text):
        kind = match.lastgroup
        line = offset + text.count("\n", 0, match.start()) + 1
        end = line + match.group().count("\n")
        if kind == "comment":
            continue
        kind_type = {
            "string": tokenize.STRING,
            "name": tokenize.NAME,
            "number": tokenize.NUMBER,
        }.get(kind or "", tokenize.OP)
        found.append((kind_type, match.group(), line, end))
    return found


def _normalize(raw: list[tuple[int, str, int, int]]) -> list[Token]:
    tokens: list[Token] = []
    previous_type: int | None = None  # the last token that matters for statements
    previous_text = ""
    in_fstring = 0
    for index, (kind, text, line, end) in enumerate(raw):
        if kind in _FSTRING:
            if kind == _FSTRING[0]:
                in_fstring += 1
                if in_fstring == 1:
                    tokens.append(Token(STRING, line, end))
            elif kind == _FSTRING[-1]:
                in_fstring = max(in_fstring - 1, 0)
                tokens[-1] = Token(STRING, tokens[-1].line, end)
            continue
        if in_fstring:  # names and operators inside an f-string's braces
            continue
        if kind in _SKIPPED:
            if kind in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
                previous_type = kind
            continue
        if kind == tokenize.ERRORTOKEN and not text.strip():
            continue
        if kind == tokenize.STRING and previous_type in _STATEMENT_START:
            if _next_type(raw, index) in (tokenize.NEWLINE, tokenize.ENDMARKER, None):
                previous_type = tokenize.STRING
                continue  # a docstring, or a string as a statement of its own
        if kind == tokenize.NAME:
            if text in KEPT_NAMES or previous_text == ".":
                normal = text
            else:
                normal = IDENTIFIER
        elif kind == tokenize.NUMBER:
            normal = NUMBER
        elif kind == tokenize.STRING:
            normal = STRING
        else:
            normal = text
        if normal in _CLOSING and tokens and tokens[-1].text == ",":
            tokens.pop()
        if normal == STRING and tokens and tokens[-1].text == STRING and previous_text != ",":
            tokens[-1] = Token(STRING, tokens[-1].line, end)  # "a" "b": one string
        else:
            tokens.append(Token(normal, line, end))
        previous_type, previous_text = kind, text
    return tokens


def _next_type(raw: list[tuple[int, str, int, int]], index: int) -> int | None:
    """The type of the next token after ``index`` that is not a comment or a blank line."""
    for later in range(index + 1, len(raw)):
        if raw[later][0] not in (tokenize.COMMENT, tokenize.NL):
            return raw[later][0]
    return None
