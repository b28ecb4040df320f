"""The simulator's shared arrays are shared by every thread of a block, whatever the timing."""

from __future__ import annotations

import threading
import types

import numpy as np
import pytest
from numba.cuda.simulator import kernelapi

from autograder import cuda_simulator

THREADS = 4


def _arrays_seen(monkeypatch, module, array_method) -> list[np.ndarray]:
    """THREADS threads ask a block for the same kernel line's shared array, each switched out
    right where it creates one (np.empty waits until all have arrived, or 2 s)."""
    arrived = threading.Barrier(THREADS, timeout=2)

    def slow_empty(shape, dtype):
        try:
            arrived.wait()
        except threading.BrokenBarrierError:
            pass  # the others are held back by a lock: nothing to wait for
        return np.empty(shape, dtype)

    class SlowNumpy(types.SimpleNamespace):
        def __getattr__(self, name):
            return getattr(np, name)

    monkeypatch.setattr(module, "np", SlowNumpy(empty=slow_empty))
    shared = kernelapi.FakeCUDAShared(0)
    seen: list[np.ndarray] = []

    def thread_body():
        seen.append(array_method(shared, (2, 3), np.float32))  # one kernel line

    threads = [threading.Thread(target=thread_body) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return seen


def test_numbas_own_shared_array_is_not_shared_when_threads_switch_at_creation(monkeypatch):
    """The bug this module fixes, shown: each thread gets an array of its own."""
    shared = kernelapi.FakeCUDAShared  # numba's own, even where cnnbook.gpu installed ours
    seen = _arrays_seen(monkeypatch, kernelapi, getattr(shared, "numbas_array", shared.array))
    assert len({id(a) for a in seen}) > 1


def test_the_locked_shared_array_is_one_array_for_every_thread(monkeypatch):
    seen = _arrays_seen(monkeypatch, cuda_simulator, cuda_simulator._shared_array)
    assert len(seen) == THREADS and len({id(a) for a in seen}) == 1


def test_installing_it_replaces_numbas_and_keeps_arrays_apart_by_line():
    before = kernelapi.FakeCUDAShared.array
    try:
        cuda_simulator.share_arrays_safely()
        cuda_simulator.share_arrays_safely()
        shared = kernelapi.FakeCUDAShared(0)
        a = shared.array((2,), np.float32)
        b = shared.array((2,), np.float32)
        assert a is not b and a.dtype == np.float32
        assert [shared.array((3,), np.float64) for _ in range(2)][0] is not None
    finally:
        kernelapi.FakeCUDAShared.array = before


@pytest.mark.parametrize("size", [16, 64])
def test_dynamic_shared_memory_is_the_blocks_one_buffer(size):
    shared = kernelapi.FakeCUDAShared(size)
    a = cuda_simulator._shared_array(shared, 0, np.float32)
    b = cuda_simulator._shared_array(shared, 0, np.float32)
    assert a.size == size // 4 and np.shares_memory(a, b)
