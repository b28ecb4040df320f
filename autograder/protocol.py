"""The one home of how a notebook's process talks to the grader: variable names and frames.

A cell runner (:mod:`autograder.execution.runner`) and the grader exchange *frames* over two
pipes: the grader sends the job and then one cell at a time; the runner sends back, on the
*report channel*, one ``outcome`` frame per cell and, in between, the ``record`` frames that the
checks of a test cell make (:mod:`autograder.checks`). A frame is::

    b"AGR1" + len(header) as 4 bytes (big-endian) + header (JSON, UTF-8)
            + header["nbytes"] bytes of payload (an array's raw data; absent when 0)

The learner's code runs in that process and can write to the report channel too, so the grader
reads it as untrusted input (:class:`FrameReader`): bounded header and payload sizes, numeric
dtypes only, and a corrupt stream ends the run instead of being guessed at. Nothing the learner
writes can claim a pass: a record only ever carries the learner's own answer.

Record headers (``"t": "record"``)::

    {"kind": "array", "call": ..., "config": ..., "rtol": ..., "atol": ..., "weight": 1,
     "dtype": "<f8", "shape": [2, 3]}                      + the array's bytes (C order)
    {"kind": "value", "call": ..., "config": ..., "weight": 1, "value": PLAIN}
    {"kind": "no-loops", "function": NAME, "weight": 1}
    {"kind": "result", "call": ..., "passed": bool, "message": TEXT}   (``check``'s own runs)

``PLAIN`` is a JSON-safe scalar or tuple (see :func:`to_plain`).
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

# --- environment variables of a notebook's process ------------------------------------------
MODE_VARIABLE = "AUTOGRADER_MODE"  # "expect", "answer" or "check"; unset in a plain Jupyter
SEED_VARIABLE = "AUTOGRADER_SEED"
CHANNEL_VARIABLE = "AUTOGRADER_CHANNEL_FD"  # file descriptor of the report channel

EXPECT, ANSWER, CHECK = "expect", "answer", "check"
MODES = (EXPECT, ANSWER, CHECK)

# --- frames -----------------------------------------------------------------------------------
MAGIC = b"AGR1"
MAX_HEADER_BYTES = 1 << 20
MAX_PAYLOAD_BYTES = 64 << 20  # one array: 64 MiB
NUMERIC_KINDS = frozenset("biufc")  # bool, int, uint, float, complex


class ChannelError(ValueError):
    """The report channel holds something that is not a frame (written by code in the cell)."""


@dataclass
class Frame:
    header: dict
    payload: bytes = b""

    @property
    def type(self) -> str:
        return str(self.header.get("t", ""))


def encode(header: dict, payload: bytes | memoryview = b"") -> bytes:
    """One frame; ``header["nbytes"]`` is set from the payload."""
    header = {**header, "nbytes": len(payload)}
    text = json.dumps(header, separators=(",", ":"), allow_nan=True).encode()
    return MAGIC + struct.pack(">I", len(text)) + text + bytes(payload)


def write_frame(fd: int, header: dict, payload: bytes | memoryview = b"") -> None:
    """Write one frame to ``fd`` completely (a pipe may take it in pieces)."""
    data = memoryview(encode(header, payload))
    while data:
        written = os.write(fd, data)
        data = data[written:]


class FrameReader:
    """Turns the bytes of a channel into frames, refusing anything out of bounds.

    ``feed`` returns the frames completed by the new bytes. A payload is collected in a
    bytearray only up to :data:`MAX_PAYLOAD_BYTES`; ``on_payload`` (if given) receives each
    payload instead of the frame holding it, so a caller can spool large answers to disk.
    """

    def __init__(self, max_payload: int = MAX_PAYLOAD_BYTES) -> None:
        self.buffer = bytearray()
        self.max_payload = max_payload

    def feed(self, data: bytes) -> list[Frame]:
        self.buffer += data
        frames = []
        while True:
            frame = self._next()
            if frame is None:
                return frames
            frames.append(frame)

    def _next(self) -> Frame | None:
        if len(self.buffer) < 8:
            if self.buffer and not MAGIC.startswith(bytes(self.buffer[:4])):
                raise ChannelError("bytes that are not a frame")
            return None
        if self.buffer[:4] != MAGIC:
            raise ChannelError("bytes that are not a frame")
        (length,) = struct.unpack(">I", self.buffer[4:8])
        if length > MAX_HEADER_BYTES:
            raise ChannelError(f"a frame header of {length} bytes")
        if len(self.buffer) < 8 + length:
            return None
        try:
            header = json.loads(bytes(self.buffer[8 : 8 + length]))
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise ChannelError("a frame header that is not JSON") from None
        if not isinstance(header, dict):
            raise ChannelError("a frame header that is not an object")
        size = header.get("nbytes", 0)
        if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= self.max_payload:
            raise ChannelError(f"a payload of {size!r} bytes")
        end = 8 + length + size
        if len(self.buffer) < end:
            return None
        payload = bytes(self.buffer[8 + length : end])
        del self.buffer[:end]
        return Frame(header, payload)


# --- plain values ---------------------------------------------------------------------------


def to_plain(value: Any, depth: int = 0) -> dict:
    """A JSON-safe copy of a scalar or tuple result, or a marker of its type."""
    if isinstance(value, bool | np.bool_):
        return {"type": "bool", "value": bool(value)}
    if isinstance(value, int | np.integer):
        return {"type": "int", "value": int(value)}
    if isinstance(value, float | np.floating):
        return {"type": "float", "value": float(value)}
    if isinstance(value, str):
        return {"type": "str", "value": value[:1000]}
    if isinstance(value, tuple | list) and depth < 4:
        return {
            "type": "tuple" if isinstance(value, tuple) else "list",
            "value": [to_plain(v, depth + 1) for v in value[:100]],
        }
    return {"type": type(value).__name__[:100], "value": None}


class Opaque:
    """A result that cannot be compared (a type the grader does not read), shown by a phrase."""

    def __init__(self, description: str) -> None:
        self.description = description  # a noun phrase: "a list", "an array of dtype <U1"

    def __repr__(self) -> str:
        return self.description

    def __eq__(self, other: object) -> bool:
        return False

    __hash__ = None  # type: ignore[assignment]


def from_plain(data: Any, depth: int = 0) -> Any:
    """The value :func:`to_plain` described (untrusted input: anything odd becomes Opaque)."""
    if not isinstance(data, dict) or "type" not in data or depth > 5:
        return Opaque("an unreadable value")
    kind, value = data["type"], data.get("value")
    if kind in ("tuple", "list") and isinstance(value, list):
        items = [from_plain(v, depth + 1) for v in value[:100]]
        return tuple(items) if kind == "tuple" else items
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    if kind == "float" and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if kind == "bool" and isinstance(value, bool):
        return value
    if kind == "str" and isinstance(value, str):
        return value[:1000]
    return Opaque(a_noun(str(kind)[:100]))


def a_noun(noun: str) -> str:
    """``a list``, ``an int``: the article a type name needs."""
    return f"an {noun}" if noun[:1].lower() in "aeiou" else f"a {noun}"


def array_header(value: np.ndarray) -> dict:
    return {"dtype": value.dtype.str, "shape": list(value.shape)}


def array_from(header: dict, payload: bytes) -> np.ndarray | Opaque:
    """The array a record's header and payload describe, or Opaque saying what it was."""
    try:
        dtype = np.dtype(str(header.get("dtype", "")))
        shape = tuple(int(n) for n in header.get("shape", ()))
    except (TypeError, ValueError):
        return Opaque("an unreadable array")
    if dtype.kind not in NUMERIC_KINDS or dtype.hasobject or len(shape) > 32:
        return Opaque(f"an array of dtype {dtype}")
    if any(n < 0 for n in shape) or int(np.prod(shape, dtype=np.int64)) * dtype.itemsize != len(
        payload
    ):
        return Opaque("an array whose data does not match its shape")
    return np.frombuffer(payload, dtype=dtype).reshape(shape)
