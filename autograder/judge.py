"""The grader's side of every check: compare a learner's recorded results with the expectations.

Two recordings of the same test cells (see :mod:`autograder.checks`): the *expectations*, made
by the instructor's solutions in a process where no learner code ran, and the *answers*, made in
the learner's process. A recording is a folder per cell (named by the cell's index) holding
``records.jsonl`` (one JSON object per check, numbered by ``n``) and ``arrays.npy`` (the arrays,
one ``.npy`` record after another, at the ``offset`` its line gives). Answers are untrusted
input: they are read with ``allow_pickle=False``, size-capped, and checked for type and shape
before any comparison.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .checks import (
    ARRAYS_FILE,
    RECORDS_FILE,
    array_problem,
    format_failure,
    loop_problem,
    value_problem,
)

MAX_ANSWER_BYTES = 64 * 1024 * 1024  # per recorded array


@dataclass
class Record:
    kind: str  # array, value or no-loops
    meta: dict
    array: np.ndarray | None = None


def _from_plain(data: Any) -> Any:
    if not isinstance(data, dict) or "type" not in data:
        return _Opaque("unreadable")
    kind, value = data["type"], data.get("value")
    if kind in ("tuple", "list") and isinstance(value, list):
        items = [_from_plain(v) for v in value]
        return tuple(items) if kind == "tuple" else items
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    if kind == "float" and isinstance(value, int | float):
        return float(value)
    if kind == "bool" and isinstance(value, bool):
        return value
    if kind == "str" and isinstance(value, str):
        return value
    return _Opaque(str(kind))


class _Opaque:
    """A result that was neither a number nor a tuple, shown by its type name only."""

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<a {self.type_name}>"

    def __eq__(self, other: object) -> bool:
        return False

    __hash__ = None  # type: ignore[assignment]


MAX_RECORD_LINE = 200_000


def read_records(folder: Path, trusted: bool, limit: int | None = None) -> list[Record]:
    """The records of one cell in order; stops at the first missing number (a line whose
    ``n`` is not the next one: the learner's code deleted or rewrote the files)."""
    records: list[Record] = []
    try:
        lines = (folder / RECORDS_FILE).open("rb")
    except OSError:
        return records
    try:
        arrays = (folder / ARRAYS_FILE).open("rb")
    except OSError:
        arrays = None
    with lines:
        while limit is None or len(records) < limit:
            line = lines.readline(MAX_RECORD_LINE)
            if not line.endswith(b"\n"):
                break  # the end, or a line too long for an honest record
            try:
                meta = json.loads(line)
            except (ValueError, UnicodeDecodeError, RecursionError):
                break
            if not isinstance(meta, dict) or meta.get("n") != len(records):
                break
            array = None
            if meta.get("type") == "ndarray" and arrays is not None:
                array = _read_array(arrays, meta.get("offset"), trusted)
            records.append(Record(str(meta.get("kind")), meta, array))
    if arrays is not None:
        arrays.close()
    return records


def _read_array(handle, offset: Any, trusted: bool) -> np.ndarray | None:
    """The ``.npy`` record at ``offset`` of ``handle`` (no pickles; untrusted ones at most
    :data:`MAX_ANSWER_BYTES`), or None if there is no readable array there."""
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        return None
    try:
        handle.seek(offset)
        version = np.lib.format.read_magic(handle)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(handle)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(handle)
        else:
            return None
        if not trusted and int(np.prod(shape, dtype=np.int64)) * dtype.itemsize > MAX_ANSWER_BYTES:
            return None
        handle.seek(offset)
        return np.lib.format.read_array(handle, allow_pickle=False)
    except (ValueError, OSError, EOFError, TypeError, OverflowError):
        return None


def judge_records(
    expected: list[Record], answers: list[Record], solution_source: str
) -> str | None:
    """The first failure message, or None when every answer matches its expectation."""
    for position, want in enumerate(expected):
        call, config = want.meta.get("call", "your function"), want.meta.get("config", "")
        if want.kind == "no-loops":
            problem = loop_problem(solution_source, want.meta.get("function", ""))
            if problem:
                return problem
            continue
        if position >= len(answers) or answers[position].kind != want.kind:
            return format_failure(
                call, "was not checked: the test stopped before reaching it", config
            )
        got = answers[position]
        if want.kind == "array":
            if want.array is None:
                return f"grader error: no expected array for {call}"
            if got.array is not None:
                actual: Any = got.array
            else:
                actual = _Opaque(str(got.meta.get("type", "nothing readable")))
            problem = array_problem(
                actual,
                want.array,
                float(want.meta.get("rtol", 1e-6)),
                float(want.meta.get("atol", 1e-8)),
            )
            if isinstance(actual, _Opaque):
                problem = (
                    f"returned a {actual.type_name}, expected a NumPy array",
                    "hint: build the result with np.zeros(...) or np.array(...)",
                )
        else:
            problem = value_problem(
                _from_plain(got.meta.get("value")), _from_plain(want.meta.get("value"))
            )
        if problem:
            return format_failure(call, problem[0], config, problem[1])
    return None
