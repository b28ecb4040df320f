"""Adversarial grading: broken, hostile and slow submissions in one class, graded together.

Every kind below is one submission (one student folder) of the conv1d assignment (15 points:
output length 1+1, same padding 1+2, loop 2+3, im2col 2+3). Each asserts the exact score and
status it must get, and two honest students graded in the same run (``honest-full``, 15/15, and
``honest-partial``, a wrong stride in the loop, 10/15) must keep their grades whatever the others
do. The kinds here are new; those already in tests/test_grade.py (empty file, invalid JSON,
``os._exit``, ``sys.exit``, hangs, syntax errors, ``input()``, printing 10^7 characters, edited
tests, patched checks and ``AssertionError``) and tests/test_sandbox.py (reading hidden folders,
the network from a cell, fork bombs in a cell) are not repeated.

One module-scoped grading run (2 workers, 8 s per cell, 2 GiB per submission) grades them all;
a few kinds that need their own folder layout run in a second, small class.
"""

from __future__ import annotations

import copy
import csv
import json
import os
import socket
import time
from pathlib import Path

import pytest
from notebook_helpers import ROOT, edit_cell, load, save, source_path

from autograder import sandbox
from autograder.grade import grade_assignment

pytestmark = pytest.mark.slow

RELEASED = ROOT / "chapters" / "02-conv1d" / "conv1d.ipynb"
LOOP, IM2COL, SAME, OUTLEN = (
    "conv1d-loop-solution",
    "im2col-solution",
    "same-padding-solution",
    "output-length-solution",
)
CELL_TIMEOUT = 8
MEMORY_MB = 2048


def src() -> dict:
    nb = load(source_path("conv1d"))
    for cell in nb["cells"]:
        if isinstance(cell["source"], list):
            cell["source"] = "".join(cell["source"])
    return nb


def wrong_stride(nb: dict) -> dict:
    return edit_cell(nb, LOOP, lambda s: s.replace("i * stride + j", "i + j"))


def append(nb: dict, gid: str, code: str) -> dict:
    """``code`` added at the end of cell ``gid`` (after its definitions ran)."""
    return edit_cell(nb, gid, lambda s: s + "\n\n" + code)


def prepend(nb: dict, gid: str, code: str) -> dict:
    return edit_cell(nb, gid, lambda s: code + "\n" + s)


def cell_index(nb: dict, gid: str) -> int:
    for index, cell in enumerate(nb["cells"]):
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == gid:
            return index
    raise KeyError(gid)


def stride_if(condition: str) -> callable:
    """A loop that is right only when ``condition`` (evaluated in the learner's process) holds:
    an attack that worked would show up as 15 instead of 10."""
    return lambda s: s.replace("i * stride + j", f"(i * stride if {condition} else i) + j")


def hostile_class(out: Path, port: int) -> dict[str, object]:
    """student id -> notebook (dict), raw text/bytes; built with the paths of this run."""
    s = src()
    secrets = [
        str(ROOT / "solutions" / "conv1d" / "conv1d.ipynb"),
        str(out / ".expectations"),
        str(out / "grades.csv"),
    ]
    with_markdown_test = copy.deepcopy(wrong_stride(s))
    with_markdown_test["cells"][cell_index(s, "conv1d-loop")]["cell_type"] = "markdown"
    for key in ("outputs", "execution_count"):
        with_markdown_test["cells"][cell_index(s, "conv1d-loop")].pop(key, None)
    with_markdown_solution = copy.deepcopy(s)
    with_markdown_solution["cells"][cell_index(s, OUTLEN)]["cell_type"] = "markdown"
    dup = copy.deepcopy(s)
    bad_copy = copy.deepcopy(wrong_stride(s)["cells"][cell_index(s, LOOP)])
    dup["cells"].insert(cell_index(s, LOOP) + 1, bad_copy)
    points = copy.deepcopy(s)
    for cell in points["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("points"):
            cell["metadata"]["nbgrader"]["points"] = 100
    no_tests = copy.deepcopy(s)
    no_tests["cells"] = [
        c for c in s["cells"] if not c["metadata"].get("nbgrader", {}).get("grade")
    ]
    extra = copy.deepcopy(s)
    extra["cells"].insert(
        cell_index(s, LOOP) + 1,
        {
            "cell_type": "code",
            "metadata": {},
            "execution_count": None,
            "outputs": [],
            "source": "def padding_pair(*args):\n    return (0, 0)\n\n"
            "def conv1d_loop(x, w, stride=1, padding=0):\n    return np.zeros(1)",
        },
    )
    conda = copy.deepcopy(s)
    conda["metadata"]["kernelspec"] = {"name": "conda-env-py", "display_name": "Python [conda]"}
    no_nb_metadata = copy.deepcopy(s)
    del no_nb_metadata["metadata"]
    no_cell_metadata = copy.deepcopy(s)
    for cell in no_cell_metadata["cells"]:
        cell["metadata"] = {}
    cells_dict = copy.deepcopy(s)
    cells_dict["cells"] = {str(i): c for i, c in enumerate(s["cells"])}
    number_source = copy.deepcopy(s)
    number_source["cells"][cell_index(s, SAME)]["source"] = 42
    huge = copy.deepcopy(s)
    huge["cells"][cell_index(s, OUTLEN)]["outputs"] = [
        {"name": "stdout", "output_type": "stream", "text": "x" * 50_000_000}
    ]
    return {
        "honest-full": s,
        "honest-partial": wrong_stride(s),
        # A second cell with the same grade id (a wrong loop) after the right one: the first
        # one is graded and the duplicate is flagged: 15, tampered.
        "duplicated-grade-id": dup,
        # Every test cell claims 100 points: points come from the source: 15/15, tampered.
        "changed-points": points,
        # The loop's public test cell turned into markdown (with a wrong loop): the
        # instructor's test still runs and fails the loop: 10, tampered.
        "test-cell-to-markdown": with_markdown_test,
        # The output-length solution cell turned into markdown: the released stub runs in its
        # place, so output_length is undefined and the loop (which uses it) fails too: 8, tampered.
        "solution-cell-to-markdown": with_markdown_solution,
        # All test cells deleted: the instructor's are used: 15, tampered.
        "deleted-test-cells": no_tests,
        # An extra (ungraded) cell that redefines padding_pair and conv1d_loop wrongly: only
        # solution cells run, so it changes nothing: 15, ok.
        "extra-cell-redefines-helpers": extra,
        # Saved with a conda kernel name: graded with python3 and a note: 15, ok.
        "conda-kernel-name": conda,
        # No notebook-level metadata at all: nothing needed from it: 15, ok.
        "no-notebook-metadata": no_nb_metadata,
        # Cells without nbgrader metadata (code pasted into a fresh notebook): no solution cell
        # can be matched, the stubs run: 0, tampered.
        "no-cell-metadata": no_cell_metadata,
        # 'cells' is an object, not a list: 0, invalid-notebook.
        "cells-not-a-list": json.dumps(cells_dict),
        # nbformat 3 (worksheets, no 'cells'): 0, invalid-notebook with a reason.
        "nbformat-3": json.dumps(
            {"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [{"cells": []}]}
        ),
        # A solution cell whose source is a number, not text: that cell fails to run (the others
        # do): same_padding undefined costs parts 2 and the 'same' cases: 2, ok.
        "source-is-a-number": number_source,
        # A 50 MB notebook (a huge output saved in a cell): outputs are ignored: 15, ok.
        "huge-outputs-50mb": huge,
        # Allocates until the 2 GiB address-space limit inside im2col_1d: MemoryError costs the
        # im2col parts only: 10, memory.
        "memory-hog": edit_cell(
            s,
            IM2COL,
            lambda t: t.replace(
                "    x = np.asarray(x, dtype=float)\n    o = (len(x) - k)",
                "    blocks = []\n    while True:\n        blocks.append(bytearray(64 * 2**20))\n"
                "    x = np.asarray(x, dtype=float)\n    o = (len(x) - k)",
            ),
        ),
        # A segmentation fault in compiled code (here ctypes reading address 0, as numba does
        # with an index out of bounds) inside im2col_1d: the im2col parts crash, the others
        # stand, and the status says crashed, not memory: 10, crashed.
        "segfault": edit_cell(
            s,
            IM2COL,
            lambda t: t.replace(
                "    x = np.asarray(x, dtype=float)\n    o = (len(x) - k)",
                "    import ctypes\n    ctypes.string_at(0)\n"
                "    x = np.asarray(x, dtype=float)\n    o = (len(x) - k)",
            ),
        ),
        # A fork bomb at the top level of a solution cell (after its definitions): the process
        # limit stops it with BlockingIOError, everything forked is killed, the definitions stand:
        # 15, ok.
        "fork-bomb-top-level": append(
            s,
            OUTLEN,
            "import os, time\nkids = []\ntry:\n    while True:\n        pid = os.fork()\n"
            "        if pid == 0:\n            time.sleep(600)\n            os._exit(0)\n"
            "        kids.append(pid)\nexcept OSError:\n    pass",
        ),
        # A process that leaves the process group (setsid) and sleeps: it must not outlive the
        # grading of this submission (checked below): 15, ok.
        "escapes-process-group": append(
            s,
            OUTLEN,
            "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
            "        time.sleep(3600)\n    os._exit(0)",
        ),
        # Tries to overwrite another student's result.json and grades.csv (the output folder is
        # hidden from learners): nothing is written there, and its own grade is 15, ok.
        "writes-other-results": append(
            s,
            OUTLEN,
            "import os\nfor target in "
            + repr([str(out / "honest-full" / "result.json"), str(out / "grades.csv")])
            + ":\n    try:\n        os.makedirs(os.path.dirname(target), exist_ok=True)\n"
            "        open(target, 'w').write('{\"score\": 0}')\n    except OSError:\n        pass",
        ),
        # Reads the source notebook, the expectations and grades.csv, and writes a right loop
        # only if one of them was readable: they are hidden, so the loop stays wrong: 10, ok.
        "reads-instructor-files": edit_cell(
            append(
                s,
                SAME,
                "import os\nLEAKED = False\nfor secret in "
                + repr(secrets)
                + ":\n    try:\n        LEAKED = LEAKED or bool(os.listdir(secret) "
                "if os.path.isdir(secret) else open(secret).read())\n"
                "    except OSError:\n        pass",
            ),
            LOOP,
            stride_if("LEAKED"),
        ),
        # Connects to a TCP port the grader's machine listens on, and writes a right loop only
        # if it got through: there is no network in the sandbox: 10, ok.
        "uses-network": edit_cell(
            append(
                s,
                SAME,
                "import socket\ntry:\n    socket.create_connection(('127.0.0.1', "
                f"{port}), timeout=2).close()\n    NET = True\nexcept OSError:\n    NET = False",
            ),
            LOOP,
            stride_if("NET"),
        ),
        # Kills its parent (the grader's worker) and the parent's process group: not allowed
        # for the sandbox user; the cell fails after its definitions ran: 15, ok.
        "kills-parent": append(
            s,
            IM2COL,
            "import os, signal\ntry:\n    os.killpg(os.getpgid(os.getppid()), signal.SIGKILL)\n"
            "except OSError:\n    pass\nos.kill(os.getppid(), signal.SIGKILL)",
        ),
        # Ignores SIGALRM (the in-process cell timeout) and spins at the top level of the
        # im2col cell: the parent's hard limit kills it; the replay skips that cell, so im2col
        # is undefined: 10, timeout.
        "ignores-alarm": append(
            s,
            IM2COL,
            "import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nwhile True:\n    pass",
        ),
        # A thread that keeps running (and printing) after the notebook ends: the process group
        # is killed at the end: 15, ok.
        "background-thread": append(
            s,
            OUTLEN,
            "import threading, time\ndef _spin():\n    while True:\n        print('.', end='')\n"
            "        time.sleep(0.01)\nthreading.Thread(target=_spin).start()",
        ),
        # time.sleep(1e6) at the top level of a solution cell (a C call): the alarm interrupts
        # it after the definitions ran: 15, timeout.
        "sleeps-in-c": append(s, IM2COL, "import time\ntime.sleep(1e6)"),
        # Patches np.allclose/np.isclose/np.array_equal to always say True, with a wrong loop:
        # the grader compares in its own process: 10, ok.
        "monkeypatches-numpy": prepend(
            wrong_stride(s),
            OUTLEN,
            "import numpy as np\nnp.allclose = np.isclose = np.array_equal = lambda *a, **k: True",
        ),
        # Forges answer files for the loop's test cells (the right shapes, from the public
        # test) before they run, and makes them read-only so the real checks cannot write:
        # the loop's test cells fail: 10, ok.
        "forges-answer-files": append(
            wrong_stride(s),
            OUTLEN,
            "import json, os, numpy as _np\nroot = os.environ.get('AUTOGRADER_RECORD_DIR', '')\n"
            "for cell in "
            + repr([cell_index(s, "conv1d-loop"), cell_index(s, "conv1d-loop-hidden")])
            + ":\n    if not root:\n        break\n    d = os.path.join(root, str(cell))\n"
            "    os.makedirs(d, exist_ok=True)\n    for k in range(200):\n"
            "        _np.save(os.path.join(d, f'{k}.npy'), _np.zeros(4))\n"
            "        json.dump({'kind': 'array', 'type': 'ndarray', 'rtol': 1e9, 'atol': 1e9},\n"
            "                  open(os.path.join(d, f'{k}.json'), 'w'))\n"
            "        os.chmod(os.path.join(d, f'{k}.json'), 0o444)\n    os.chmod(d, 0o555)",
        ),
        # Deletes everything in its scratch folder (records, numba cache) every time the loop
        # is called: the records of the parts checked before are gone, so only the im2col
        # parts (which never call the loop) keep theirs: 5, ok.
        "deletes-scratch": edit_cell(
            s,
            LOOP,
            lambda t: t.replace(
                "    x = np.asarray(x, dtype=float)\n    w = np.asarray(w, dtype=float)\n    n, k",
                "    import os, shutil\n    for name in os.listdir('.'):\n"
                "        shutil.rmtree(name, ignore_errors=True)\n"
                "    x = np.asarray(x, dtype=float)\n    w = np.asarray(w, dtype=float)\n    n, k",
            ),
        ),
        # Writes files into its scratch folder until the disk is full (at most 2 GB, so that a
        # grader without the quota fails this test instead of filling the machine's disk), then
        # carries on: the scratch folder is a 256 MB tmpfs, so only the learner's own disk is
        # full; the im2col tests can no longer record their answers there and fail: 10, ok.
        "fills-disk": append(
            s,
            IM2COL,
            "import os\nchunk = b'x' * (8 << 20)\nwritten = 0\ntry:\n"
            "    for k in range(8):\n        with open(f'fill-{k}', 'wb') as f:\n"
            "            for _ in range(32):\n                f.write(chunk)\n"
            "                written += len(chunk)\nexcept OSError as e:\n"
            "    print('disk full after', written >> 20, 'MB:', e)",
        ),
        # Writes 10^8 bytes to file descriptor 2 directly (past Python's buffers): the output
        # is capped while it streams: 15, ok.
        "floods-stderr-fd": append(
            s, OUTLEN, "import os\nfor _ in range(100):\n    os.write(2, b'e' * 1_000_000)"
        ),
        # Writes garbage and forged outcome lines to the runner's report pipe (its fd is in
        # sys.argv): bad lines are ignored, forged outcomes earn nothing without recorded
        # answers, and the wrong loop still fails: 10, ok.
        "forges-report-pipe": append(
            wrong_stride(s),
            OUTLEN,
            "import os, sys, json\nfd = int(sys.argv[-1])\nos.write(fd, b'not json\\n')\n"
            "os.write(fd, b'[1, 2]\\n')\nos.write(fd, json.dumps({'index': 999, 'status': 'ok'})"
            ".encode() + b'\\n')\nfor i in "
            + repr([cell_index(s, "conv1d-loop"), cell_index(s, "conv1d-loop-hidden")])
            + ":\n    os.write(fd, json.dumps({'index': i, 'status': 'ok'}).encode() + b'\\n')",
        ),
    }


# student id -> (score, status)
EXPECTED = {
    "honest-full": (15, "ok"),
    "honest-partial": (10, "ok"),
    "duplicated-grade-id": (15, "tampered"),
    "changed-points": (15, "tampered"),
    "test-cell-to-markdown": (10, "tampered"),
    "solution-cell-to-markdown": (8, "tampered"),
    "deleted-test-cells": (15, "tampered"),
    "extra-cell-redefines-helpers": (15, "ok"),
    "conda-kernel-name": (15, "ok"),
    "no-notebook-metadata": (15, "ok"),
    "no-cell-metadata": (0, "tampered"),
    "cells-not-a-list": (0, "invalid-notebook"),
    "nbformat-3": (0, "invalid-notebook"),
    "source-is-a-number": (2, "ok"),
    "huge-outputs-50mb": (15, "ok"),
    "memory-hog": (10, "memory"),
    "segfault": (10, "crashed"),
    "fork-bomb-top-level": (15, "ok"),
    "escapes-process-group": (15, "ok"),
    "writes-other-results": (15, "ok"),
    "reads-instructor-files": (10, "ok"),
    "uses-network": (10, "ok"),
    "kills-parent": (15, "ok"),
    "ignores-alarm": (10, "timeout"),
    "background-thread": (15, "ok"),
    "sleeps-in-c": (15, "timeout"),
    "monkeypatches-numpy": (10, "ok"),
    "forges-answer-files": (10, "ok"),
    "deletes-scratch": (5, "ok"),
    "fills-disk": (10, "ok"),
    "floods-stderr-fd": (15, "ok"),
    "forges-report-pipe": (10, "ok"),
}


@pytest.fixture(scope="module")
def listener():
    """A TCP port on the grader's machine that a learner must not reach."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    yield server.getsockname()[1]
    server.close()


@pytest.fixture(scope="module")
def graded(tmp_path_factory, listener):
    assert sandbox.available(), "the adversarial suite needs Linux and root, as CI has"
    base = tmp_path_factory.mktemp("hostile")
    submissions, out = base / "submissions", base / "out"
    for student, nb in hostile_class(out, listener).items():
        save(nb, submissions / student / "conv1d" / "conv1d.ipynb")
    start, ticks = time.monotonic(), _boot_ticks()
    results = grade_assignment(
        "conv1d",
        submissions,
        out,
        workers=2,
        seed=777,
        cell_timeout=CELL_TIMEOUT,
        memory_mb=MEMORY_MB,
    )
    seconds = time.monotonic() - start
    by_student = _Results({r.student_id: r for r in results})
    by_student.started_ticks = ticks
    return by_student, out, seconds


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_attack_gets_exactly_its_grade(graded, student):
    results, _, _ = graded
    result = results[student]
    assert (result.score, result.status) == EXPECTED[student], (result.reason, result.parts)


def test_honest_students_are_unaffected(graded):
    results, out, _ = graded
    assert (results["honest-full"].score, results["honest-full"].status) == (15, "ok")
    assert (results["honest-partial"].score, results["honest-partial"].status) == (10, "ok")
    on_disk = json.loads((out / "honest-full" / "result.json").read_text())
    assert on_disk["score"] == 15 and on_disk["student_id"] == "honest-full"
    with (out / "grades.csv").open(newline="") as handle:
        rows = {r["student_id"]: r for r in csv.DictReader(handle)}
    assert sorted(rows) == sorted(EXPECTED)
    assert (rows["honest-full"]["score"], rows["honest-partial"]["score"]) == ("15", "10")


def test_reasons_name_what_happened(graded):
    results, _, _ = graded
    assert "more than once" in results["duplicated-grade-id"].reason
    assert "points" in results["changed-points"].reason
    assert "changed type" in results["test-cell-to-markdown"].reason
    assert any("conda-env-py" in n for n in results["conda-kernel-name"].notes)
    assert any("not run" in n for n in results["extra-cell-redefines-helpers"].notes)
    assert results["cells-not-a-list"].reason
    assert results["nbformat-3"].reason
    assert "im2col" in results["memory-hog"].reason
    assert "timeout" in results["ignores-alarm"].reason
    assert "segmentation fault" in results["segfault"].reason
    full = [p for p in results["fills-disk"].parts if p.status != "passed"]
    assert [p.grade_id for p in full] == ["im2col", "im2col-hidden"], full
    assert "No space left on device" in full[0].message, full[0].message
    assert "at most 256 MB" in full[0].message  # says which limit the learner hit


def test_nothing_a_learner_started_survives_the_run(graded):
    """Processes of sandbox users that left their process group during this run (reparented to
    init, like the ``escapes-process-group`` daemon) must be dead once grading returns. Other
    people's grading runs on the same machine have live runners, but not reparented ones."""
    results, _, _ = graded
    deadline = time.monotonic() + 15
    while (alive := _escaped_processes(results.started_ticks)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert alive == []


def test_attacks_do_not_make_the_run_slow(graded):
    _, _, seconds = graded
    # The slow kinds are bounded by the per-cell limit (8 s) plus the hard kill (5 s).
    assert seconds < 240, seconds


def _boot_ticks() -> int:
    return int(float(Path("/proc/uptime").read_text().split()[0]) * os.sysconf("SC_CLK_TCK"))


def _escaped_processes(since_ticks: int) -> list[str]:
    first = sandbox.FIRST_UID
    alive = []
    for proc in Path("/proc").iterdir():
        try:
            if not (proc.name.isdigit() and first <= proc.stat().st_uid < first + 4000):
                continue
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            state, ppid, started = fields[0], int(fields[1]), int(fields[19])
            if state != "Z" and ppid == 1 and started >= since_ticks:
                alive.append(f"{proc.name}: {(proc / 'cmdline').read_bytes()[:80]!r}")
        except (OSError, IndexError, ValueError):
            continue
    return alive


class _Results(dict):
    started_ticks = 0


# --- folder layouts: names, several notebooks, symbolic links ------------------------------------

ODD_NAMES = [
    "with space",
    'it\'s "quoted"',
    "plus+(paren)[bracket]\\back",
    "étudiant-学生",
    '=HYPERLINK("evil","y")',
    "-2+3",
    "@SUM(A1)",
]


@pytest.fixture(scope="module")
def layouts(tmp_path_factory):
    base = tmp_path_factory.mktemp("layouts")
    submissions, out = base / "submissions", base / "out"
    s = src()
    save(s, submissions / "honest-full" / "conv1d" / "conv1d.ipynb")
    save(wrong_stride(s), submissions / "honest-partial" / "conv1d" / "conv1d.ipynb")
    # Odd characters in folder names (spaces, quotes, + ( ) [ ] \, unicode, a leading = + - @
    # that spreadsheets read as a formula): graded normally, 15, ok; the CSV neutralises them.
    for name in ODD_NAMES:
        save(s, submissions / name / "conv1d" / "conv1d.ipynb")
    # A misnamed notebook (the only one in the folder): graded, with a note that suggests the
    # right name: 15, ok.
    save(s, submissions / "misnamed" / "conv1d" / "Conv1D (1).ipynb")
    # Two notebooks, one of them named right: the right one is graded: 15, ok.
    save(wrong_stride(s), submissions / "two-one-right" / "conv1d" / "Untitled.ipynb")
    save(s, submissions / "two-one-right" / "conv1d" / "conv1d.ipynb")
    # Two notebooks, equally close to the expected name, neither exact: the grader cannot tell
    # which one to grade and says so: 0, missing.
    save(s, submissions / "two-ambiguous" / "conv1d" / "conv1d-old.ipynb")
    save(wrong_stride(s), submissions / "two-ambiguous" / "conv1d" / "conv1d-new.ipynb")
    # conv1d.ipynb is a symbolic link to /etc/passwd: never followed: 0, invalid-notebook.
    (submissions / "symlink-passwd" / "conv1d").mkdir(parents=True)
    (submissions / "symlink-passwd" / "conv1d" / "conv1d.ipynb").symlink_to("/etc/passwd")
    # conv1d.ipynb is a symbolic link to the instructor's source notebook (full marks if the
    # grader followed it): never followed: 0, invalid-notebook.
    (submissions / "symlink-source" / "conv1d").mkdir(parents=True)
    (submissions / "symlink-source" / "conv1d" / "conv1d.ipynb").symlink_to(source_path("conv1d"))
    # The assignment folder is a symbolic link to another student's: never followed: 0.
    (submissions / "symlink-neighbour").mkdir()
    (submissions / "symlink-neighbour" / "conv1d").symlink_to(
        submissions / "honest-full" / "conv1d"
    )
    results = grade_assignment(
        "conv1d", submissions, out, workers=2, seed=778, cell_timeout=CELL_TIMEOUT
    )
    return {r.student_id: r for r in results}, out


LAYOUT_EXPECTED = {
    "honest-full": (15, "ok"),
    "honest-partial": (10, "ok"),
    **{name: (15, "ok") for name in ODD_NAMES},
    "misnamed": (15, "ok"),
    "two-one-right": (15, "ok"),
    "two-ambiguous": (0, "missing"),
    "symlink-passwd": (0, "invalid-notebook"),
    "symlink-source": (0, "invalid-notebook"),
    "symlink-neighbour": (0, "invalid-notebook"),
}


@pytest.mark.parametrize("student", sorted(LAYOUT_EXPECTED))
def test_each_layout_gets_exactly_its_grade(layouts, student):
    results, _ = layouts
    result = results[student]
    assert (result.score, result.status) == LAYOUT_EXPECTED[student], (result.reason, result.parts)


def test_layout_reasons(layouts):
    results, out = layouts
    assert "rename it to conv1d.ipynb" in results["misnamed"].reason
    assert "could not tell" in results["two-ambiguous"].reason
    for name in ("symlink-passwd", "symlink-source", "symlink-neighbour"):
        assert "link" in results[name].reason, results[name].reason
    assert "root:" not in results["symlink-passwd"].reason


def test_grades_csv_neutralises_formulas_and_keeps_odd_names(layouts):
    _, out = layouts
    with (out / "grades.csv").open(newline="", encoding="utf-8") as handle:
        ids = [row["student_id"] for row in csv.DictReader(handle)]
    assert not [i for i in ids if i[:1] in ("=", "+", "-", "@")]
    assert '\'=HYPERLINK("evil","y")' in ids and "'-2+3" in ids and "'@SUM(A1)" in ids
    for name in ODD_NAMES:
        assert (out / name / "result.json").is_file()
        assert name in ids or "'" + name in ids
