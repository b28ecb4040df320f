"""Where the checks' records of a run are kept: headers in memory, payloads in one file.

One :class:`RecordStore` per run: the instructor's expectation run (saved to the output folder,
read by every grading worker) and each learner's answers (a private temporary folder of the
grading worker, never the learner's scratch folder: the grader never opens a file the learner
could have replaced). Answers are untrusted: the store keeps at most :data:`MAX_ANSWER_BYTES` of
payload and :data:`MAX_HEADER_BYTES` of headers per run, :data:`MAX_CELL_BYTES` of payload and
:data:`MAX_RECORDS_PER_CELL` records per cell; a cell that sent more is marked as overflowing and
its checks beyond the cut fail.
"""

from __future__ import annotations

import json
import mmap
import os
from dataclasses import dataclass
from pathlib import Path

MAX_ANSWER_BYTES = 512 << 20  # payload of one learner's run (spooled to the grader's disk)
MAX_CELL_BYTES = 128 << 20  # ... of one cell: a flood in one part costs that part only
MAX_HEADER_BYTES = 32 << 20  # headers of one learner's run, kept in memory
MAX_RECORDS_PER_CELL = 5000
MAX_VALUE_TEXT = 64 << 10  # a scalar or tuple answer, as JSON
INDEX_FILE = "records.jsonl"
PAYLOAD_FILE = "payload.bin"
KEPT_FIELDS = (
    "kind",
    "call",
    "config",
    "rtol",
    "atol",
    "weight",
    "dtype",
    "shape",
    "type",
    "value",
    "function",
    "passed",
    "message",
    "raised",  # the learner's exception inside a check's lambda: that check fails
    "where",
    "not_written",  # ... and it was the stub's `raise NotImplementedError()`
    "kinds",  # the kinds of input a check tests: hidden feedback names them
    "rule",  # a rule of the part (check_value(..., rule=True)): earns no share
)


@dataclass
class Record:
    kind: str
    header: dict
    offset: int = 0
    nbytes: int = 0


class RecordStore:
    """The records of one run by notebook cell index (a ``Recorder`` of
    :mod:`autograder.execution.cells`)."""

    def __init__(self, folder: Path, trusted: bool) -> None:
        self.folder, self.trusted = folder, trusted
        folder.mkdir(parents=True, exist_ok=True)
        self.cells: dict[int, list[Record]] = {}
        self.overflow: set[int] = set()
        self._pending: list[Record] = []
        self._cell: int | None = None
        self._payload_bytes = self._header_bytes = self._cell_bytes = 0
        self._file = (folder / PAYLOAD_FILE).open("wb")  # a store always starts empty
        self._map: mmap.mmap | None = None

    # --- the Recorder protocol ----------------------------------------------------------------

    def start(self, index: int) -> None:
        self._cell, self._pending, self._cell_bytes = index, [], 0

    def add(self, header: dict, payload: bytes) -> None:
        if self._cell is None or self._cell in self.overflow:
            return
        kept = {k: header[k] for k in KEPT_FIELDS if k in header}
        if not self.trusted:
            kept = _bounded(kept)
            size = len(json.dumps(kept))
            if (
                len(self._pending) >= MAX_RECORDS_PER_CELL
                or self._cell_bytes + len(payload) > MAX_CELL_BYTES
                or self._payload_bytes + len(payload) > MAX_ANSWER_BYTES
                or self._header_bytes + size > MAX_HEADER_BYTES
            ):
                self.overflow.add(self._cell)
                return
            self._header_bytes += size
        offset = self._file.tell()
        if payload:
            self._file.write(payload)
            self._payload_bytes += len(payload)
            self._cell_bytes += len(payload)
        self._pending.append(Record(str(kept.get("kind", "")), kept, offset, len(payload)))

    def finish(self, index: int, keep: bool) -> None:
        if keep and index == self._cell:
            self.cells[index] = self._pending
        self._cell, self._pending = None, []

    # --- reading ------------------------------------------------------------------------------

    def records(self, index: int) -> list[Record]:
        return self.cells.get(index, [])

    def payload(self, record: Record) -> bytes:
        if not record.nbytes:
            return b""
        if self._file.writable():
            self._file.flush()
        if self._map is None or len(self._map) < record.offset + record.nbytes:
            if self._map is not None:
                self._map.close()
            with (self.folder / PAYLOAD_FILE).open("rb") as handle:
                self._map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        return self._map[record.offset : record.offset + record.nbytes]

    def save(self) -> None:
        """Write the index next to the payloads (for :meth:`load` in another process)."""
        self._file.flush()
        os.fsync(self._file.fileno())
        lines = [
            json.dumps({"cell": cell, "header": r.header, "offset": r.offset, "nbytes": r.nbytes})
            for cell, records in sorted(self.cells.items())
            for r in records
        ]
        (self.folder / INDEX_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> RecordStore:
        """The trusted records :meth:`save` wrote into ``folder``."""
        store = cls.__new__(cls)
        store.folder, store.trusted, store.overflow = folder, True, set()
        store.cells, store._map = {}, None
        store._file = (folder / PAYLOAD_FILE).open("rb")
        for line in (folder / INDEX_FILE).read_text(encoding="utf-8").splitlines():
            if line.strip():
                data = json.loads(line)
                record = Record(
                    str(data["header"].get("kind", "")),
                    data["header"],
                    data["offset"],
                    data["nbytes"],
                )
                store.cells.setdefault(int(data["cell"]), []).append(record)
        return store

    def close(self) -> None:
        if self._map is not None:
            self._map.close()
            self._map = None
        self._file.close()


def _bounded(header: dict) -> dict:
    """An untrusted header cut to sizes no honest check exceeds."""
    out = {}
    for key, value in header.items():
        if key == "value":
            out[key] = value if len(json.dumps(value)) <= MAX_VALUE_TEXT else {"type": "huge"}
        elif isinstance(value, str):
            out[key] = value[:2000]
        elif key == "kinds" and isinstance(value, dict):
            out[key] = {str(k)[:100]: str(v)[:300] for k, v in list(value.items())[:8]}
        elif key == "shape" and isinstance(value, list):
            out[key] = value[:32]
        elif isinstance(value, int | float | bool) or value is None:
            out[key] = value
    return out
