# ruff: noqa: E501 (each alternative is one line of code, kept whole so that it reads as code)
"""A class of conv1d submissions written in many honest ways, and a copy to find among them.

Each part of ``conv1d`` has several genuinely different implementations (a double loop, a dot
product per output, a ``while`` loop, a comprehension, fancy indexing, ...). Within one, lines
have alternatives (``len(x)`` or ``x.shape[0]``, ``np.pad`` or ``np.concatenate``), so two
learners who chose the same approach still rarely write the same code. On top of that every
learner names their variables and lays out their code their own way. A *copy* keeps another
learner's choices and changes only names, layout, comments and literals: what a copier does.

Used by ``tests/similarity`` (a small class) and ``bench/similarity_class.py`` (500 learners).
"""

from __future__ import annotations

import copy
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RELEASED = ROOT / "chapters" / "02-conv1d" / "conv1d.ipynb"
STUB = "# YOUR CODE HERE\n    raise NotImplementedError()"

# A body is a list of items: a line (str), or a tuple of alternative lines (one is chosen; an
# alternative may hold several lines separated by "\n", and nested indentation as spaces).
Body = list[str | tuple[str, ...]]

OUTPUT_LENGTH: list[Body] = [
    [("return (n + p - k) // s + 1", "return 1 + (n + p - k) // s")],
    [("o = (n + p - k) // s", "o = (n - k + p) // s"), "return o + 1"],
    [("return int(np.floor((n + p - k) / s)) + 1", "return int((n + p - k) / s) + 1")],
]
SAME_PADDING: list[Body] = [
    [
        ("out = -(-n // s)", "out = (n + s - 1) // s", "out = int(np.ceil(n / s))"),
        ("total = max((out - 1) * s + k - n, 0)", "total = max(0, (out - 1) * s + k - n)"),
        (
            "return total // 2, total - total // 2",
            "before = total // 2\n    return before, total - before",
        ),
    ],
    [
        ("out = int(np.ceil(n / s))", "out = -(-n // s)"),
        "need = (out - 1) * s + k",
        "total = need - n if need > n else 0",
        "before = total // 2",
        "after = total - before",
        "return before, after",
    ],
    [
        (
            "if n % s == 0:\n        total = max(k - s, 0)\n    else:\n        total = max(k - n % s, 0)",
        ),
        ("return total // 2, (total + 1) // 2", "return total // 2, total - total // 2"),
    ],
]
_PREAMBLE: Body = [
    (
        "x = np.asarray(x, dtype=float)",
        "x = np.array(x, dtype=np.float64)",
        "x = np.asarray(x).astype(float)",
    ),
    (
        "w = np.asarray(w, dtype=float)",
        "w = np.array(w, dtype=np.float64)",
        "w = np.asarray(w).astype(float)",
    ),
    ("n, k = len(x), len(w)", "n = x.shape[0]\n    k = w.shape[0]", "n = len(x)\n    k = len(w)"),
    "before, after = padding_pair(n, k, stride, padding)",
    (
        "padded = np.concatenate([np.zeros(before), x, np.zeros(after)])",
        "padded = np.pad(x, (before, after))",
        "padded = np.zeros(n + before + after)\n    padded[before:before + n] = x",
    ),
    ("o = output_length(n, k, before + after, stride)", "o = (len(padded) - k) // stride + 1"),
]
CONV1D_LOOP: list[Body] = [
    _PREAMBLE
    + [
        ("y = np.zeros(o)", "y = np.empty(o)", "y = np.zeros(o, dtype=float)"),
        "for i in range(o):",
        ("    total = 0.0", "    total = 0"),
        "    for j in range(k):",
        (
            "        total += w[j] * padded[i * stride + j]",
            "        total = total + padded[stride * i + j] * w[j]",
        ),
        "    y[i] = total",
        "return y",
    ],
    _PREAMBLE
    + [
        ("y = np.zeros(o)", "y = np.empty(o)"),
        "for i in range(o):",
        ("    start = i * stride", "    start = stride * i"),
        (
            "    y[i] = np.dot(padded[start:start + k], w)",
            "    y[i] = padded[start:start + k] @ w",
            "    y[i] = np.sum(padded[start:start + k] * w)",
        ),
        "return y",
    ],
    _PREAMBLE
    + [
        "values = []",
        "i = 0",
        ("while i * stride + k <= len(padded):", "while len(values) < o:"),
        "    acc = 0.0",
        "    j = 0",
        "    while j < k:",
        "        acc += padded[i * stride + j] * w[j]",
        "        j += 1",
        "    values.append(acc)",
        "    i += 1",
        ("return np.array(values)", "return np.asarray(values, dtype=float)"),
    ],
    _PREAMBLE
    + [
        (
            "return np.array([sum(w[j] * padded[i * stride + j] for j in range(k)) for i in range(o)])",
            "return np.array([np.dot(w, padded[i * stride:i * stride + k]) for i in range(o)])",
        ),
    ],
    _PREAMBLE
    + [
        "y = np.zeros(o)",
        "for j in range(k):",
        (
            "    y += w[j] * padded[j:j + stride * (o - 1) + 1:stride]",
            "    y = y + padded[j:j + (o - 1) * stride + 1:stride] * w[j]",
        ),
        "return y",
    ],
]
IM2COL: list[Body] = [
    [
        ("x = np.asarray(x, dtype=float)", "x = np.array(x, dtype=float)"),
        ("o = (len(x) - k) // stride + 1", "o = (x.shape[0] - k) // stride + 1"),
        (
            "idx = np.arange(o)[:, None] * stride + np.arange(k)[None, :]",
            "idx = stride * np.arange(o).reshape(-1, 1) + np.arange(k).reshape(1, -1)",
        ),
        "return x[idx]",
    ],
    [
        "x = np.asarray(x, dtype=float)",
        "o = (len(x) - k) // stride + 1",
        ("rows = np.zeros((o, k))", "rows = np.empty((o, k))"),
        "for i in range(o):",
        (
            "    rows[i] = x[i * stride:i * stride + k]",
            "    rows[i, :] = x[stride * i:stride * i + k]",
        ),
        "return rows",
    ],
    [
        "x = np.asarray(x, dtype=float)",
        (
            "starts = range(0, len(x) - k + 1, stride)",
            "starts = [i * stride for i in range((len(x) - k) // stride + 1)]",
        ),
        (
            "return np.array([x[s0:s0 + k] for s0 in starts])",
            "return np.stack([x[s0:s0 + k] for s0 in starts])",
        ),
    ],
    [
        "x = np.asarray(x, dtype=float)",
        "o = (len(x) - k) // stride + 1",
        "cols = np.empty((o, k))",
        "for j in range(k):",
        "    cols[:, j] = x[j:j + stride * (o - 1) + 1:stride]",
        "return cols",
    ],
]
CONV1D_IM2COL: list[Body] = [
    [
        ("x = np.asarray(x, dtype=float)", "x = np.array(x, dtype=float)"),
        ("w = np.asarray(w, dtype=float)", "w = np.array(w, dtype=float)"),
        "before, after = padding_pair(len(x), len(w), stride, padding)",
        (
            "padded = np.concatenate([np.zeros(before), x, np.zeros(after)])",
            "padded = np.pad(x, (before, after))",
        ),
        (
            "return im2col_1d(padded, len(w), stride) @ w",
            "return np.dot(im2col_1d(padded, len(w), stride), w)",
        ),
    ],
    [
        "w = np.asarray(w, dtype=float)",
        "x = np.asarray(x, dtype=float)",
        "k = w.shape[0]",
        "pads = padding_pair(x.shape[0], k, stride, padding)",
        "cols = im2col_1d(np.pad(x, pads), k, stride)",
        ("return cols.dot(w)", "return cols @ w", "return (cols * w).sum(axis=1)"),
    ],
]
PARTS = {
    "output-length-solution": [OUTPUT_LENGTH],
    "same-padding-solution": [SAME_PADDING],
    "conv1d-loop-solution": [CONV1D_LOOP],
    "im2col-solution": [IM2COL, CONV1D_IM2COL],  # one cell, two functions
}
LOCALS = ("before", "after", "padded", "o", "y", "i", "j", "total", "out", "idx", "rows",
          "acc", "start", "values", "cols", "need", "starts", "s0", "pads")  # fmt: skip
NAMES = ("res", "result", "out_arr", "ys", "t", "m", "pos", "q", "r", "ii", "jj", "left",
         "right", "pad_l", "pad_r", "lo", "hi", "tot", "value", "v", "count", "length", "n_out",
         "num_out", "windows", "patches", "mat", "index", "ind", "ix", "grid", "offsets", "xp",
         "x_pad", "xpad", "padded_x", "summ", "running", "step", "begin", "end", "a", "b", "c",
         "first", "last", "buf", "arr", "data", "tmp", "temp", "z", "u", "col_mat", "win")  # fmt: skip
COMMENTS = ("# pad the input", "# loop over outputs", "# TODO check", "# compute", "# done",
            "# sliding window", "# see chapter 2", "# output size", "# accumulate")  # fmt: skip


@dataclass(frozen=True)
class Learner:
    """A learner's choices (an implementation and its alternatives, per function) and style."""

    choices: tuple[tuple[int, tuple[int, ...]], ...]  # per function: (implementation, picks)
    names: tuple[tuple[str, str], ...]  # local -> the learner's name for it
    seed: int  # layout: spacing, comments, blank lines
    quirks: tuple[int, ...] = ()  # per function, the learner's habits (extra checks, ...)


def _functions() -> list[tuple[str, list[Body]]]:
    return [(gid, pool) for gid, pools in PARTS.items() for pool in pools]


def random_learner(rng: random.Random) -> Learner:
    choices = []
    for _, pool in _functions():
        which = rng.randrange(len(pool))
        picks = tuple(rng.randrange(len(item)) for item in pool[which] if isinstance(item, tuple))
        choices.append((which, picks))
    quirks = tuple(rng.randrange(2**31) for _ in choices)
    return Learner(tuple(choices), _random_names(rng), rng.randrange(2**31), quirks)


def learner_using(number: int, rng: random.Random) -> Learner:
    """A learner who takes implementation ``number`` (modulo the pool's size) of every
    function: learners with different numbers write every part differently."""
    choices = []
    for _, pool in _functions():
        which = number % len(pool)
        picks = tuple(rng.randrange(len(item)) for item in pool[which] if isinstance(item, tuple))
        choices.append((which, picks))
    return Learner(tuple(choices), _random_names(rng), rng.randrange(2**31))


def copy_of(learner: Learner, rng: random.Random) -> Learner:
    """The same code under other names, other layout, other comments."""
    return Learner(learner.choices, _random_names(rng), rng.randrange(2**31), learner.quirks)


def partial_copy(learner: Learner, own: Learner, functions: set[int]) -> Learner:
    """``own``'s notebook with the code of ``learner``'s ``functions`` (indexes into the
    notebook's functions: 2 is ``conv1d_loop``), in ``own``'s names and layout."""
    choices = tuple(
        learner.choices[i] if i in functions else own.choices[i] for i in range(len(own.choices))
    )
    quirks = tuple(
        learner.quirks[i] if i in functions and learner.quirks else q
        for i, q in enumerate(own.quirks)
    )
    return Learner(choices, own.names, own.seed, quirks)


def _random_names(rng: random.Random) -> tuple[tuple[str, str], ...]:
    if rng.random() < 0.3:
        return ()  # keeps the names of the course
    chosen = rng.sample(NAMES, len(LOCALS))
    return tuple((old, new) for old, new in zip(LOCALS, chosen, strict=True) if rng.random() < 0.7)


def _body(function: int, which: int, picks: tuple[int, ...], learner: Learner) -> str:
    pool = _functions()[function][1]
    items, lines, pick = pool[which], [], iter(picks)
    for item in items:
        chosen = item[next(pick)] if isinstance(item, tuple) else item
        lines += chosen.split("\n    ")  # one line each; nested ones keep their extra indent
    if learner.quirks:
        lines = _quirks(function, lines, random.Random(learner.quirks[function]))
    text = "\n    ".join(lines)
    for old, new in learner.names:
        text = re.sub(rf"(?<![\w.]){re.escape(old)}(?!\w)", new, text)
    return _layout(text, random.Random(learner.seed * 31 + function))


# Statements some learners add (per function: the scalar helpers, then the array functions).
_SCALAR_CHECKS = (
    "assert s >= 1",
    "s = int(s)",
    "n, k = int(n), int(k)",
    "if s < 1:\n        raise ValueError('stride must be at least 1')",
    "assert k <= n + s * n",
)
_ARRAY_CHECKS = (
    "assert stride >= 1, 'stride must be positive'",
    "if stride < 1:\n        raise ValueError(f'bad stride {stride}')",
    "stride = int(stride)",
    "x = np.ravel(x)",
    "assert x.ndim == 1",
    "if len(x) == 0:\n        return np.zeros(0)",
    "x = x.copy()",
    "print(x.shape)",
)
# Rewrites that change tokens, not meaning: (regular expression, replacement).
_REWRITES = (
    (r"\bi \* stride\b", "stride * i"),
    (r"\brange\(o\)", "range(0, o)"),
    (r"\blen\(x\)", "x.size"),
    (r"dtype=float\b", "dtype=np.float64"),
    (r"np\.zeros\(o\)", "np.zeros(shape=o)"),
    (r"^(\s*)([\w\[\]]+) \+= (.+)$", r"\1\2 = \2 + \3"),
    (r"\(n \+ p - k\)", "(n - k + p)"),
)


def _quirks(function: int, lines: list[str], rng: random.Random) -> list[str]:
    """The learner's habits: a few extra statements in places of their choosing, a different
    last line, rewrites of expressions (always the same for one learner)."""
    lines = list(lines)
    pool = _SCALAR_CHECKS if function < 2 else _ARRAY_CHECKS
    for statement in pool:
        if rng.random() < 0.25:
            top = [
                i
                for i, line in enumerate(lines)
                if not line.startswith((" ", "else", "elif", "except", "finally"))
            ]
            at = rng.choice(top)
            lines[at:at] = statement.split("\n    ")
    last = lines[-1]
    if last.startswith("return ") and "," not in last and rng.random() < 0.3:
        lines[-1:] = [f"result = {last[len('return ') :]}", "return result"]
    for old, new in _REWRITES:
        if rng.random() < 0.3:
            lines = [re.sub(old, new, line) for line in lines]
    return lines


def _layout(body: str, rng: random.Random) -> str:
    """The same code laid out differently: spacing around operators, comments, blank lines."""
    tight, out = rng.random() < 0.4, []
    for line in body.split("\n    "):
        if tight:
            line = re.sub(r" (\+|-|\*|//|/|@|==|<=) ", r"\1", line)
        if rng.random() < 0.15:
            indent = line[: len(line) - len(line.lstrip())]
            out.append(indent + rng.choice(COMMENTS))
        if rng.random() < 0.15:
            line += "  " + rng.choice(COMMENTS)
        out.append(line)
        if rng.random() < 0.1:
            out.append("")
    return "\n    ".join(out)


def solution_cells(learner: Learner, released: dict) -> dict[str, str]:
    """grade id -> the learner's cell: the released stub with their bodies in place of it."""
    stubs = {
        c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"])
        for c in released["cells"]
        if c.get("metadata", {}).get("nbgrader", {}).get("solution")
    }
    cells = dict(stubs)
    for function, (gid, _) in enumerate(_functions()):
        which, picks = learner.choices[function]
        assert STUB in cells[gid], gid
        cells[gid] = cells[gid].replace(STUB, _body(function, which, picks, learner), 1)
    return cells


def notebook(learner: Learner, released: dict) -> dict:
    """The released notebook with the learner's solution cells."""
    nb = copy.deepcopy(released)
    cells = solution_cells(learner, released)
    for cell in nb["cells"]:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in cells:
            cell["source"] = cells[gid]
    return nb


def write_class(
    folder: Path,
    students: int,
    seed: int = 0,
    planted: tuple[str, str] = ("", ""),
    partial: tuple[str, str] = ("", ""),
) -> list[str]:
    """Write ``students`` learners ``s0000 ...`` into ``folder/<id>/conv1d/conv1d.ipynb``; when
    ``planted`` names two ids, the second is a copy of the first; when ``partial`` does, the
    second copied the first one's ``conv1d_loop`` only. Returns the ids."""
    rng = random.Random(seed)
    released = json.loads(RELEASED.read_text(encoding="utf-8"))
    learners = {f"s{i:04d}": random_learner(rng) for i in range(students)}
    original, copied = planted
    if original:
        learners[copied] = copy_of(learners[original], rng)
    original, copied = partial
    if original:
        learners[copied] = partial_copy(learners[original], learners[copied], {2})
    for student, learner in learners.items():
        path = folder / student / "conv1d" / "conv1d.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(notebook(learner, released)), encoding="utf-8")
    return sorted(learners)
