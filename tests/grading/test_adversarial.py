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

from autograder.execution import sandbox
from autograder.execution.users import FIRST_UID
from autograder.grading import grade_assignment

# one worker grades the class (the others would grade it again)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("adversarial")]

RELEASED = ROOT / "chapters" / "02-conv1d" / "conv1d.ipynb"
LOOP, IM2COL, SAME, OUTLEN = (
    "conv1d-loop-solution",
    "im2col-solution",
    "same-padding-solution",
    "output-length-solution",
)
CELL_TIMEOUT = 8
MEMORY_MB = 2048
IM2COL_BODY = "    idx = np.arange(o)[:, None] * stride + np.arange(k)[None, :]\n    return x[idx]"
LOOP_BODY = "    x = np.asarray(x, dtype=float)\n    w = np.asarray(w, dtype=float)\n    n, k"
# Writable places of the host (besides the scratch folder) a learner could plant a message in.
PLANT_FOLDERS = [
    Path("/run/lock"),
    Path("/dev/shm"),
    Path("/var/tmp"),
    Path("/tmp"),
    Path("/opt") / "autograder-adversarial-open",
]


def src() -> dict:
    nb = load(source_path("conv1d"))
    for cell in nb["cells"]:
        if isinstance(cell["source"], list):
            cell["source"] = "".join(cell["source"])
    return nb


def load_released() -> dict:
    nb = load(RELEASED)
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
        # instructor's test still runs and fails the loop: 12.05, tampered.
        "test-cell-to-markdown": with_markdown_test,
        # The output-length solution cell turned into markdown: the released stub runs in its
        # place; the loop is graded with a correct output_length (a mistake is charged once, in
        # its own part): 13, tampered.
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
        # do): same_padding is undefined, which costs its own part only (the later parts are
        # graded with a correct one): 12, ok.
        "source-is-a-number": number_source,
        # A 50 MB notebook (a huge output saved in a cell): outputs are ignored: 15, ok.
        "huge-outputs-50mb": huge,
        # Asks for 8 GiB at once inside im2col_1d, far past the 2 GiB address-space limit: the
        # MemoryError is immediate whatever the machine's load (an allocation loop could reach the
        # time limit first on a busy machine) and costs the im2col parts only: 10, memory.
        "memory-hog": edit_cell(
            s,
            IM2COL,
            lambda t: t.replace(
                "    x = np.asarray(x, dtype=float)\n    o = (len(x) - k)",
                "    blocks = [bytearray(8 * 2**30)]\n"
                "    x = np.asarray(x, dtype=float)\n    o = (len(x) - k)",
            ),
        ),
        # A segmentation fault in compiled code (a numba kernel writing far out of bounds, as a
        # wrong index does) inside im2col_1d: the im2col parts crash, the others stand, and the
        # status says crashed, not memory: 10, crashed.
        "segfault": edit_cell(
            s,
            IM2COL,
            lambda t: (
                "from numba import njit\n\n\n@njit\ndef _poke(a):\n"
                "    a[100_000_000_000] = 1.0\n\n\n"
                + t.replace(
                    "    x = np.asarray(x, dtype=float)\n    o = (len(x) - k)",
                    "    _poke(np.zeros(1))\n"
                    "    x = np.asarray(x, dtype=float)\n    o = (len(x) - k)",
                )
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
        # only if one of them was readable: they are hidden, so the loop stays wrong: 12.05, ok.
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
        # if it got through: there is no network in the sandbox: 12.05, ok.
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
        # the grader compares in its own process (the loop fails), and changing a library's
        # functions breaks the output-length part's rule: 10.05, forbidden.
        "monkeypatches-numpy": prepend(
            wrong_stride(s),
            OUTLEN,
            "import numpy as np\nnp.allclose = np.isclose = np.array_equal = lambda *a, **k: True",
        ),
        # Forges answer files for the loop's test cells (the right shapes, from the public
        # test) before they run, and makes them read-only so the real checks cannot write:
        # the loop's test cells fail: 10, ok.
        # Writes answer frames of its own on the report channel from inside the (wrong) loop,
        # hundreds of them, claiming generous tolerances: a frame only ever carries the learner's
        # own value, and extra ones misalign the rest: the loop parts fail: 10, ok.
        "forges-answer-frames": edit_cell(
            wrong_stride(s),
            LOOP,
            lambda t: t.replace(
                "    x = np.asarray(x, dtype=float)\n    w = np.asarray(w, dtype=float)\n    n, k",
                "    import os\n    from autograder.protocol import write_frame as _w\n"
                "    for _ in range(50):\n"
                "        _w(int(os.environ.get('AUTOGRADER_CHANNEL_FD', '3')), {'t': 'record', "
                "'kind': 'array', 'rtol': 1e9, 'atol': 1e9, 'passed': True}, b'')\n"
                "    x = np.asarray(x, dtype=float)\n    w = np.asarray(w, dtype=float)\n    n, k",
            ),
        ),
        # Deletes everything in its scratch folder every time the loop is called: the answers
        # never live there (they travel on the report channel), so nothing is lost: 15, ok.
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
        # im2col_1d writes files into its scratch folder until the disk is full (at most 2 GB,
        # so that a grader without the quota fails this test instead of filling the machine's
        # disk): the scratch folder is a 256 MB tmpfs, so only the learner's own disk is full,
        # their im2col parts fail with "No space left on device" and the feedback names the
        # limit: 10, ok.
        "fills-disk": edit_cell(
            s,
            IM2COL,
            lambda t: t.replace(
                "    x = np.asarray(x, dtype=float)\n    o = (len(x) - k)",
                "    import os\n    chunk = b'x' * (8 << 20)\n"
                "    for n in range(8):\n        with open(f'fill-{n}', 'wb') as f:\n"
                "            for _ in range(32):\n                f.write(chunk)\n"
                "    x = np.asarray(x, dtype=float)\n    o = (len(x) - k)",
            ),
        ),
        # Writes 10^8 bytes to file descriptor 2 directly (past Python's buffers): the output
        # is capped while it streams: 15, ok.
        "floods-stderr-fd": append(
            s, OUTLEN, "import os\nfor _ in range(100):\n    os.write(2, b'e' * 1_000_000)"
        ),
        # Writes garbage and forged outcome lines to the report channel from a solution cell:
        # bytes that are not frames end that process (the cell crashed, with the cause named);
        # the cells are replayed without it, so output_length is undefined: only the same-padding
        # and im2col parts stand: 10.05, crashed.
        "forges-report-pipe": append(
            wrong_stride(s),
            OUTLEN,
            "import os, sys, json\nfd = int(os.environ.get('AUTOGRADER_CHANNEL_FD', '3'))\n"
            "os.write(fd, b'not json\\n')\n"
            "os.write(fd, b'[1, 2]\\n')\nos.write(fd, json.dumps({'index': 999, 'status': 'ok'})"
            ".encode() + b'\\n')\nfor i in "
            + repr([cell_index(s, "conv1d-loop"), cell_index(s, "conv1d-loop-hidden")])
            + ":\n    os.write(fd, json.dumps({'index': i, 'status': 'ok'}).encode() + b'\\n')",
        ),
        # --- answers through what the part forbids (each: the parts of that cell earn 0) -----
        "via-reference": edit_cell(
            s,
            LOOP,
            lambda t: t.replace(
                LOOP_BODY,
                "    from autograder import reference as ref\n"
                "    return ref.conv1d(x[None, None], w[None, None], stride=stride,\n"
                "                      padding=padding_pair(len(x), len(w), stride, padding))"
                "[0, 0]\n" + LOOP_BODY,
            ),
        ),
        "via-torch": edit_cell(
            s,
            LOOP,
            lambda t: t.replace(
                LOOP_BODY,
                "    import torch\n"
                "    before, after = padding_pair(len(x), len(w), stride, padding)\n"
                "    t = torch.nn.functional.pad(torch.tensor(np.asarray(x, float))[None, None],\n"
                "                                (before, after))\n"
                "    return torch.nn.functional.conv1d("
                "t, torch.tensor(np.asarray(w, float))[None, None],"
                "\n                                      stride=stride)[0, 0].numpy()\n"
                + LOOP_BODY,
            ),
        ),
        "via-numpy-correlate": edit_cell(
            s,
            LOOP,
            lambda t: t.replace(
                LOOP_BODY,
                "    before, after = padding_pair(len(x), len(w), stride, padding)\n"
                "    return np.correlate(np.pad(x, (before, after)), w, 'valid')[::stride]\n"
                + LOOP_BODY,
            ),
        ),
        "via-scipy-signal": edit_cell(
            s,
            LOOP,
            lambda t: t.replace(
                LOOP_BODY,
                "    from scipy import signal\n"
                "    before, after = padding_pair(len(x), len(w), stride, padding)\n"
                "    return signal.correlate(np.pad(x, (before, after)), w, 'valid')[::stride]\n"
                + LOOP_BODY,
            ),
        ),
        "via-dunder-import": edit_cell(
            s,
            LOOP,
            lambda t: t.replace(
                LOOP_BODY,
                "    signal = __import__('scipy.signal', fromlist=['correlate'])\n"
                "    before, after = padding_pair(len(x), len(w), stride, padding)\n"
                "    return signal.correlate(np.pad(x, (before, after)), w, 'valid')[::stride]\n"
                + LOOP_BODY,
            ),
        ),
        "via-importlib": edit_cell(
            s,
            LOOP,
            lambda t: t.replace(
                LOOP_BODY,
                "    import importlib\n    signal = importlib.import_module('scipy.signal')\n"
                "    before, after = padding_pair(len(x), len(w), stride, padding)\n"
                "    return signal.correlate(np.pad(x, (before, after)), w, 'valid')[::stride]\n"
                + LOOP_BODY,
            ),
        ),
        "via-name-built-at-run-time": edit_cell(
            s,
            LOOP,
            lambda t: t.replace(
                LOOP_BODY,
                "    correlate = getattr(np, 'corr' + 'elate')\n"
                "    before, after = padding_pair(len(x), len(w), stride, padding)\n"
                "    return correlate(np.pad(x, (before, after)), w, 'valid')[::stride]\n"
                + LOOP_BODY,
            ),
        ),
        "via-exec-of-a-built-string": edit_cell(
            s,
            LOOP,
            lambda t: t.replace(
                LOOP_BODY,
                "    scope = {}\n    exec('import scipy.sig' + 'nal as s', scope)\n"
                "    before, after = padding_pair(len(x), len(w), stride, padding)\n"
                "    return scope['s'].correlate(np.pad(x, (before, after)), w, 'valid')"
                "[::stride]\n" + LOOP_BODY,
            ),
        ),
        "via-course-answer-key": edit_cell(
            s,
            LOOP,
            lambda t: t.replace(LOOP_BODY, "    from cnnbook import fast_conv\n" + LOOP_BODY),
        ),
        # A helper module written to the scratch folder and imported: the source check sees
        # only `import helper`; the run-time guard refuses np.correlate called from that file.
        "via-module-on-disk": edit_cell(
            s,
            LOOP,
            lambda t: (
                "with open('helper.py', 'w') as f:\n    f.write('import numpy\\n"
                "def corr(a, b):\\n    return numpy.correlate(a, b, \\'valid\\')\\n')\n"
                "import helper\n\n\n"
                + t.replace(
                    LOOP_BODY,
                    "    before, after = padding_pair(len(x), len(w), stride, padding)\n"
                    "    return helper.corr(np.pad(x, (before, after)), w)[::stride]\n" + LOOP_BODY,
                )
            ),
        ),
        # A library function that correlates on the learner's behalf (np.ma.correlate calls
        # np.correlate), which the source check does not know: refused at run time.
        "via-library-helper": edit_cell(
            s,
            LOOP,
            lambda t: t.replace(
                LOOP_BODY,
                "    before, after = padding_pair(len(x), len(w), stride, padding)\n"
                "    return np.asarray(np.ma.correlate(np.pad(x, (before, after)), w, 'valid'))"
                "[::stride]\n" + LOOP_BODY,
            ),
        ),
        # The untouched release plus an IPython input transformer that wraps every later cell in
        # try/except, and a search for the grader's expectations (attack 1 of the red team):
        # nothing reachable holds them, and a swallowed exception is an unchecked answer: 0.
        "swallows-exceptions": prepend(
            load_released(),
            OUTLEN,
            "def _wrap(lines):\n    return ['try:\\n'] + ['    ' + l for l in lines] + "
            "['\\nexcept BaseException:\\n    pass\\n']\n"
            "get_ipython().input_transformers_post.append(_wrap)\n"
            "import os\nfor pid in os.listdir('/proc'):\n    try:\n"
            "        if b'--out' in open(f'/proc/{pid}/cmdline', 'rb').read():\n"
            "            raise SystemExit('found the grader')\n"
            "    except (OSError, ValueError):\n        pass\n",
        ),
        # Patches the checks to record what they are given as expected: the expected values
        # are not there (a lambda removed from the learner's run), and importing the checks is
        # forbidden: 0.
        "records-expected-values": prepend(
            load_released(),
            OUTLEN,
            "import autograder.checks as c\n_orig = c.check_array\n"
            "c.check_array = lambda a, e=None, **k: _orig(e() if callable(e) else e, **k)\n",
        ),
        # Named pipes where an answers file could be expected: the grader reads no file of the
        # learner's, so nothing blocks: 15, ok.
        "makes-fifos": append(
            s,
            OUTLEN,
            "import os\nfor name in ['records.jsonl', 'arrays.npy', 'payload.bin', '.answers']:\n"
            "    try:\n        os.mkfifo(name)\n    except OSError:\n        pass\n"
            "os.makedirs('.answers/3', exist_ok=True)\n"
            "for name in ['records.jsonl', 'arrays.npy']:\n    try:\n"
            "        os.mkfifo('.answers/3/' + name)\n    except OSError:\n        pass",
        ),
        # Floods the report channel with large answers inside the (wrong) loop (a 4 MiB array,
        # 33 times, past the 128 MiB a cell may send): they are spooled to the grader's disk and
        # cut, and only cost its own (wrong) loop parts: 10.8, ok.
        "floods-answers": edit_cell(
            wrong_stride(s),
            LOOP,
            lambda t: (
                "_FLOODED = []\n\n\n"
                + t.replace(
                    LOOP_BODY,
                    "    import os, json, struct\n"
                    "    head = json.dumps({'t': 'record', 'kind': 'array', 'dtype': '<f8',\n"
                    "                       'shape': [1 << 19], 'nbytes': 8 << 19}).encode()\n"
                    "    frame = b'AGR1' + struct.pack('>I', len(head)) + head + bytes(8 << 19)\n"
                    "    for _ in range(0 if _FLOODED else 33):\n"
                    "        os.write(int(os.environ.get('AUTOGRADER_CHANNEL_FD', '3')), frame)\n"
                    "    _FLOODED.append(1)\n" + LOOP_BODY,
                )
            ),
        ),
        # Plants messages in every writable place it can find (a world-writable folder of the
        # host, /run/lock, /dev/shm, /var/tmp, /tmp): 15, ok. `reads-planted` (graded in the same
        # run) writes a right loop only if it finds one: nothing outlives a learner's run, so its
        # loop stays wrong: 12.05, ok.
        "plants-messages": append(
            s,
            OUTLEN,
            "import os\nfor folder in " + repr([str(p) for p in PLANT_FOLDERS]) + ":\n"
            "    try:\n        open(os.path.join(folder, 'planted-by-a-learner'), 'w')"
            ".write('x' * 1000)\n    except OSError:\n        pass",
        ),
        "reads-planted": edit_cell(
            append(
                s,
                SAME,
                "import os\nPLANTED = any(os.path.exists(os.path.join(f, "
                "'planted-by-a-learner')) for f in " + repr([str(p) for p in PLANT_FOLDERS]) + ")",
            ),
            LOOP,
            stride_if("PLANTED"),
        ),
        # Lists the machine's processes (a grader's command line names the output folder): it
        # sees only itself (a PID namespace), and writes a right loop only if it sees more: 12.05.
        "lists-processes": edit_cell(
            append(
                s,
                SAME,
                "import os\nOTHERS = len([p for p in os.listdir('/proc') if p.isdigit()]) > 1",
            ),
            LOOP,
            stride_if("OTHERS"),
        ),
        # The no-loops rule: a loop-free decoy `def im2col_1d` after the real (looped) one, and a
        # loop moved into a helper: both caught, the im2col parts fail: 10, ok.
        "loop-decoy": edit_cell(
            s,
            IM2COL,
            lambda t: (
                t.replace(
                    IM2COL_BODY,
                    "    return np.array([x[i * stride:i * stride + k] for i in range(o)])",
                )
                + "\n\n\nif False:\n    def im2col_1d(x, k, stride=1):\n        return x\n"
            ),
        ),
        "loop-in-helper": edit_cell(
            s,
            IM2COL,
            lambda t: (
                "def _rows(x, k, stride, o):\n"
                "    return np.array([x[i * stride:i * stride + k] for i in range(o)])\n\n\n"
                + t.replace(
                    IM2COL_BODY,
                    "    return _rows(x, k, stride, o)",
                )
            ),
        ),
        # Raises, in a public test, every cell's source it can find in its process's line cache:
        # the hidden tests that already ran are gone from it, and the feedback would redact
        # them (checked below): 10, ok.
        "leaks-hidden-tests": edit_cell(
            s,
            LOOP,
            lambda t: t.replace(
                LOOP_BODY,
                "    import linecache\n"
                "    raise ValueError('\\n'.join(''.join(v[2]) for k, v in "
                "linecache.cache.items() if k.startswith('<cell')))\n" + LOOP_BODY,
            ),
        ),
        # Answers of a dtype the grader cannot compare with numbers: a failed check, not a
        # grader error: 10, ok.
        "timedelta-answers": edit_cell(
            s,
            LOOP,
            lambda t: t.replace("    return y\n", "    return y.astype('timedelta64[s]')\n"),
        ),
        # Honest code with allowed tools (np.pad, broadcasting, np.add.outer, einsum): 15, ok.
        "honest-allowed-tools": edit_cell(
            edit_cell(
                s,
                LOOP,
                lambda t: t.replace(
                    "    padded = np.concatenate([np.zeros(before), x, np.zeros(after)])",
                    "    padded = np.pad(x, (before, after))",
                ),
            ),
            IM2COL,
            lambda t: t.replace(
                "    idx = np.arange(o)[:, None] * stride + np.arange(k)[None, :]",
                "    idx = np.add.outer(np.arange(o) * stride, np.arange(k))",
            ).replace(
                "    return im2col_1d(padded, len(w), stride) @ w",
                "    return np.einsum('ok,k->o', im2col_1d(padded, len(w), stride), w)",
            ),
        ),
    }


# student id -> (score, status). A wrong stride (the loop of most attacks) keeps the share of
# the stride-1 checks: 12.05 at seed 777; an attack earns nothing in the parts it breaks.
EXPECTED = {
    "honest-full": (15, "ok"),
    "honest-partial": (12.05, "ok"),
    "duplicated-grade-id": (15, "tampered"),
    "changed-points": (15, "tampered"),
    "test-cell-to-markdown": (12.05, "tampered"),
    "solution-cell-to-markdown": (13, "tampered"),
    "deleted-test-cells": (15, "tampered"),
    "extra-cell-redefines-helpers": (15, "ok"),
    "conda-kernel-name": (15, "ok"),
    "no-notebook-metadata": (15, "ok"),
    "no-cell-metadata": (0, "tampered"),
    "cells-not-a-list": (0, "invalid-notebook"),
    "nbformat-3": (0, "invalid-notebook"),
    "source-is-a-number": (12, "ok"),
    "huge-outputs-50mb": (15, "ok"),
    "memory-hog": (10, "memory"),
    "segfault": (10, "crashed"),
    "fork-bomb-top-level": (15, "ok"),
    "escapes-process-group": (15, "ok"),
    "writes-other-results": (15, "ok"),
    "reads-instructor-files": (12.05, "ok"),
    "uses-network": (12.05, "ok"),
    "kills-parent": (15, "ok"),
    "ignores-alarm": (10, "timeout"),
    "background-thread": (15, "ok"),
    "sleeps-in-c": (15, "timeout"),
    "monkeypatches-numpy": (10.05, "forbidden"),
    "forges-answer-frames": (10, "forbidden"),
    "deletes-scratch": (15, "ok"),
    "fills-disk": (10, "ok"),
    "floods-stderr-fd": (15, "ok"),
    "forges-report-pipe": (10.05, "crashed"),
    "via-reference": (10, "forbidden"),
    "via-torch": (10, "forbidden"),
    "via-numpy-correlate": (10, "forbidden"),
    "via-scipy-signal": (10, "forbidden"),
    "via-dunder-import": (10, "forbidden"),
    "via-importlib": (10, "forbidden"),
    "via-name-built-at-run-time": (10, "forbidden"),
    "via-exec-of-a-built-string": (10, "forbidden"),
    "via-course-answer-key": (10, "forbidden"),
    "via-module-on-disk": (10, "forbidden"),
    "via-library-helper": (10, "forbidden"),
    "swallows-exceptions": (0, "forbidden"),
    "records-expected-values": (0, "forbidden"),
    "makes-fifos": (15, "ok"),
    "floods-answers": (10.8, "ok"),
    "plants-messages": (15, "ok"),
    "reads-planted": (12.05, "ok"),
    "lists-processes": (12.05, "ok"),
    "loop-decoy": (10, "ok"),
    "loop-in-helper": (10, "ok"),
    "leaks-hidden-tests": (10, "ok"),
    "timedelta-answers": (10, "ok"),
    "honest-allowed-tools": (15, "ok"),
}


@pytest.fixture(scope="session")  # once per worker, even if other modules' tests run in between
def listener():
    """A TCP port on the grader's machine that a learner must not reach."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    yield server.getsockname()[1]
    server.close()


@pytest.fixture(scope="session")  # once per worker, even if other modules' tests run in between
def graded(tmp_path_factory, listener):
    assert sandbox.available(), "the adversarial suite needs Linux and root, as CI has"
    base = tmp_path_factory.mktemp("hostile")
    submissions, out = base / "submissions", base / "out"
    PLANT_FOLDERS[-1].mkdir(exist_ok=True)
    PLANT_FOLDERS[-1].chmod(0o1777)
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
    assert (results["honest-partial"].score, results["honest-partial"].status) == (12.05, "ok")
    on_disk = json.loads((out / "honest-full" / "result.json").read_text())
    assert on_disk["score"] == 15 and on_disk["student_id"] == "honest-full"
    with (out / "grades.csv").open(newline="") as handle:
        rows = {r["student_id"]: r for r in csv.DictReader(handle)}
    assert sorted(rows) == sorted(EXPECTED)
    assert (rows["honest-full"]["score"], rows["honest-partial"]["score"]) == ("15", "12.05")


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


def test_nothing_planted_outlives_the_run(graded):
    """No message a learner wrote outside its scratch folder reaches the host."""
    planted = [p for folder in PLANT_FOLDERS if (p := folder / "planted-by-a-learner").exists()]
    assert planted == []


def test_feedback_never_shows_hidden_test_code(graded):
    """`leaks-hidden-tests` raised the source of the hidden tests it found in its process."""
    _, out, _ = graded
    hidden = [c["source"] for c in src()["cells"] if "BEGIN HIDDEN TESTS" in c["source"]]
    secret = {
        line.strip()
        for text in hidden
        for line in text.splitlines()
        if len(line.strip()) >= 16 and not line.strip().startswith("#") and "import" not in line
    }
    for student in EXPECTED:
        page = (out / student / "feedback.html").read_text()
        assert not [line for line in secret if line in page], student
    # it did read the line cache (a public cell's text is there); the hidden tests had left it
    leaked = (out / "leaks-hidden-tests" / "feedback.html").read_text()
    assert "def output_length(" in leaked


def test_forbidden_calls_are_named_with_their_line(graded):
    results, _, _ = graded
    reason = results["via-torch"].reason
    assert "conv1d-loop: line" in reason and "torch" in reason and "may not use" in reason
    assert "np.correlate" in results["via-module-on-disk"].reason or (
        "numpy.correlate" in results["via-module-on-disk"].reason
    )
    assert "built at run time" in results["via-name-built-at-run-time"].reason
    assert "numpy.correlate" in results["via-library-helper"].reason


def test_attacks_do_not_make_the_run_slow(graded):
    _, _, seconds = graded
    # The slow kinds are bounded by the per-cell limit (8 s) plus the hard kill (5 s).
    assert seconds < 240, seconds


def _boot_ticks() -> int:
    return int(float(Path("/proc/uptime").read_text().split()[0]) * os.sysconf("SC_CLK_TCK"))


def _escaped_processes(since_ticks: int) -> list[str]:
    first = FIRST_UID
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


@pytest.fixture(scope="session")  # once per worker, even if other modules' tests run in between
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
    # A student folder that is itself a symbolic link to another student's: never followed: 0.
    (submissions / "student-folder-link").symlink_to(submissions / "honest-full")
    # A student folder named like the grader's own output: refused with a reason, and every
    # other row is still written: 0, invalid-notebook.
    save(s, submissions / "grades.csv" / "conv1d" / "conv1d.ipynb")
    # JSON nested 50,000 levels deep, and 1.5 million (empty) cells: refused before they cost
    # the grader its stack or gigabytes of memory: 0, invalid-notebook. (A 66 MB notebook of
    # such cells is refused for its size already.)
    save("[" * 50_000 + "]" * 50_000, submissions / "nested-json" / "conv1d" / "conv1d.ipynb")
    million = '{"cells": [' + ",".join(["{}"] * 1_500_000) + '], "metadata": {}, "nbformat": 4}'
    save(million, submissions / "million-cells" / "conv1d" / "conv1d.ipynb")
    results = grade_assignment(
        "conv1d", submissions, out, workers=2, seed=778, cell_timeout=CELL_TIMEOUT
    )
    return {r.student_id: r for r in results}, out


LAYOUT_EXPECTED = {
    "honest-full": (15, "ok"),
    "honest-partial": (11.85, "ok"),
    **{name: (15, "ok") for name in ODD_NAMES},
    "misnamed": (15, "ok"),
    "two-one-right": (15, "ok"),
    "two-ambiguous": (0, "missing"),
    "symlink-passwd": (0, "invalid-notebook"),
    "symlink-source": (0, "invalid-notebook"),
    "symlink-neighbour": (0, "invalid-notebook"),
    "student-folder-link": (0, "invalid-notebook"),
    "grades.csv": (0, "invalid-notebook"),
    "nested-json": (0, "invalid-notebook"),
    "million-cells": (0, "invalid-notebook"),
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
    for name in ("symlink-passwd", "symlink-source", "symlink-neighbour", "student-folder-link"):
        assert "link" in results[name].reason, results[name].reason
    assert "reserved" in results["grades.csv"].reason
    assert "nested too deeply" in results["nested-json"].reason
    assert "JSON objects" in results["million-cells"].reason
    assert (out / "grades.csv").is_file()
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


def test_a_relative_output_folder_works(tmp_path, monkeypatch):
    """`grade --out graded` from another working folder: paths are resolved once, before the
    expectation run and the workers change folders."""
    save(src(), tmp_path / "subs" / "a" / "conv1d" / "conv1d.ipynb")
    monkeypatch.chdir(tmp_path)
    results = grade_assignment("conv1d", Path("subs"), Path("graded"), workers=1, seed=3)
    assert [(r.score, r.status) for r in results] == [(15, "ok")]
    assert (tmp_path / "graded" / "grades.csv").is_file()
