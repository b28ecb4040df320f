"""How the reference uses threads, and that a second process starts fast (numba's disk cache)."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import threading

import numba
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from autograder import reference as ref

threads = importlib.import_module("autograder.reference._threads")


@pytest.mark.parametrize("n, parts", [(10, 3), (2, 5), (7, 1), (0, 2)])
def test_split_covers_the_range_in_order(n, parts):
    ranges = threads.split(n, parts)
    assert [i for start, stop in ranges for i in range(start, stop)] == list(range(n))
    assert len(ranges) == max(1, min(parts, n))


def test_run_split_uses_numbas_thread_count(monkeypatch):
    monkeypatch.setattr(threads, "num_threads", lambda: 3)
    seen = []
    together = threading.Barrier(3, timeout=30)  # passes only if the three run at once

    def work(start, stop):
        seen.append(threading.get_ident())
        together.wait()
        return (start, stop)

    assert threads.run_split(work, 9) == [(0, 3), (3, 6), (6, 9)]
    assert len(set(seen)) == 3
    together = threading.Barrier(1)
    assert threads.run_split(work, 9, min_per_thread=5) == [(0, 9)]  # too little for 2 threads


def test_results_do_not_depend_on_the_thread_count(monkeypatch):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 3, 9, 9))
    w = rng.standard_normal((4, 3, 3, 3))
    monkeypatch.setattr(threads, "num_threads", lambda: 1)
    y1 = ref.conv2d(x, w, padding=1)
    grads1 = ref.conv2d_backward(y1, x, w, padding=1)
    monkeypatch.setattr(threads, "num_threads", lambda: 4)
    monkeypatch.setattr(threads, "MIN_THREAD_MACS", 0)
    y4 = ref.conv2d(x, w, padding=1)
    grads4 = ref.conv2d_backward(y1, x, w, padding=1)
    # Equal up to rounding: the GEMMs see other chunk widths, dw is summed in parts.
    for a, b in zip((y1, *grads1), (y4, *grads4), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    expected = F.conv2d(torch.tensor(x), torch.tensor(w), padding=1).numpy()
    np.testing.assert_allclose(y4, expected, rtol=1e-10, atol=1e-10)


def test_follows_numba_one_thread_setting():
    script = (
        "import numba; numba.set_num_threads(1)\n"
        "from autograder.reference import _threads\n"
        "print(_threads.num_threads())\n"
    )
    env = {**os.environ, "NUMBA_NUM_THREADS": "2"}
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == "1"
    assert numba.config.NUMBA_NUM_THREADS >= 1


COLD_START = """
import json, time
start = time.perf_counter()
import numpy as np
from autograder import reference as ref
x = np.ones((2, 3, 8, 8), np.float32)
w = np.ones((4, 3, 3, 3), np.float32)
y = ref.conv2d(x, w, padding=1)
ref.conv2d_backward(y, x, w, padding=1)
ref.conv1d(x[:, :, 0], w[:, :, 0], padding=1)
ref.conv2d(np.ones((8, 6, 8, 8), np.float32), np.ones((4, 6, 3, 3), np.float32))  # interleaved
ref.conv2d_backward(y[:, :3], x, w[:3, :1], padding=1, groups=3)  # depthwise
ref.conv2d(x, w[:3, :1], padding=1, groups=3)
ref.max_pool2d_backward(ref.max_pool2d(x, 2), x, 2)
ref.avg_pool2d_backward(ref.avg_pool2d(x, 2), x, 2)
import sys
from numba.core.registry import CPUDispatcher
dispatchers = {id(d): d for name, module in list(sys.modules.items())
               if name.startswith("autograder.reference") for d in vars(module).values()
               if isinstance(d, CPUDispatcher)}.values()
print(json.dumps({"seconds": time.perf_counter() - start,
                  "hits": sum(sum(d.stats.cache_hits.values()) for d in dispatchers),
                  "misses": sum(sum(d.stats.cache_misses.values()) for d in dispatchers)}))
"""


def _cold_start() -> dict:
    out = subprocess.run(
        [sys.executable, "-c", COLD_START], capture_output=True, text=True, timeout=300, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_second_process_loads_the_compiled_kernels_from_disk():
    """Counted, not timed (a timing depends on the machine's load): a second process finds
    every kernel it calls in numba's cache and compiles none."""
    _cold_start()  # compiles whatever is not cached yet (slow once)
    second = _cold_start()
    assert second["misses"] == 0 and second["hits"] > 0, second


def test_one_thread_setting_starts_no_thread():
    # The grader forks its sandboxes from a process that must stay single-threaded.
    script = (
        "import os, numpy as np\n"
        "from autograder import reference as ref\n"
        "x = np.ones((4, 3, 16, 16)); w = np.ones((8, 3, 3, 3))\n"
        "y = ref.conv2d(x, w, padding=1); ref.conv2d_backward(y, x, w, padding=1)\n"
        "ref.conv2d(x[:, :1], w[:, :1], padding=1)\n"
        "ref.conv2d(np.ones((16, 6, 9, 9)), np.ones((4, 6, 3, 3)))\n"
        "ref.conv2d_backward(y[:, :3], x, w[:3, :1], padding=1, groups=3)\n"
        "ref.max_pool2d_backward(y[:, :, ::2, ::2], y, 2)\n"
        "print(len(os.listdir('/proc/self/task')))\n"
    )
    env = {**os.environ, "NUMBA_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == "1"
