"""The kernels of chapter 07 (``cnnbook.gpu``) in numba's CUDA simulator, against the reference.

No GPU needed: ``NUMBA_ENABLE_CUDASIM=1`` runs every ``@cuda.jit`` kernel on the CPU, one
Python thread per GPU thread. The simulator is slow, so sizes are tiny, but they are chosen
so that blocks do not divide the images (the last block has threads with nothing to do) and
the filter and channel counts do not divide the per-thread blocking.

Besides correctness, the tests pin down what the simulator catches that a GPU would hide (an
out-of-bounds index, reported with the thread and block that made it; a missing barrier,
which gives wrong numbers every time here) and one thing it cannot catch (blocks run one after
another, so races *between* blocks never happen in it).
"""

import os
import re
import sys

# Before numba.cuda is imported. numba may already be loaded by another test module of this
# process (it reads the variable when it loads): reload its configuration so it sees it.
os.environ["NUMBA_ENABLE_CUDASIM"] = "1"
from numba.core import config  # noqa: E402

config.reload_config()

import inspect  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from numba import cuda, float32  # noqa: E402

from autograder import reference as ref  # noqa: E402
from cnnbook import gpu  # noqa: E402

assert gpu.simulated(), "numba.cuda was loaded without the simulator before this module ran"

simulator_settings = settings(
    deadline=None,
    max_examples=6,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)

TIDS = re.compile(r"tid=\[(\d+), (\d+), (\d+)\] ctaid=\[(\d+), (\d+), (\d+)\]")


@pytest.fixture(autouse=True)
def quick_barriers():
    with gpu.quick_barriers():
        yield


def random(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape, dtype=np.float32)


def conv_single(x, k):
    """The reference on one single-channel image and one filter, in float64."""
    return ref.conv2d(x[None, None].astype(np.float64), k[None, None].astype(np.float64))[0, 0]


def assert_close(got, expected, what):
    got = np.asarray(got)
    assert got.dtype == np.float32, f"{what}: dtype {got.dtype}, expected float32"
    assert got.shape == expected.shape, f"{what}: shape {got.shape}, expected {expected.shape}"
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5, err_msg=what)


# --- the simulator itself ----------------------------------------------------------------------


def test_the_simulator_ships_with_the_pinned_numba():
    import numba

    assert numba.__version__ == "0.68.1"
    assert gpu.simulated()
    assert cuda.is_available()  # the simulator always is


def test_quick_barriers_restores_the_switch_interval():
    before = sys.getswitchinterval()
    with gpu.quick_barriers(0.002):
        assert sys.getswitchinterval() == pytest.approx(0.002)
    assert sys.getswitchinterval() == pytest.approx(before, abs=2e-6)  # kept in whole µs


# --- single-channel kernels: naive, 2D blocks, uncoalesced, tiled ------------------------------

SINGLE = {
    "naive": lambda x, k: gpu.conv2d_naive(x, k, threads_per_block=32),
    "blocks2d": lambda x, k: gpu.conv2d_blocks2d(x, k, block=(4, 4)),
    "uncoalesced": lambda x, k: gpu.conv2d_uncoalesced(x, k, block=(4, 4)),
    "tiled": lambda x, k: gpu.conv2d_tiled(x, k, tile=4),
}


@pytest.mark.parametrize("name", SINGLE)
def test_single_channel_kernels_match_the_reference(name):
    # 13 x 11 image, 3 x 3 filter: an 11 x 9 output, covered by none of the blocks exactly.
    x, k = random((13, 11), 0), random((3, 3), 1)
    assert_close(SINGLE[name](x, k).copy_to_host(), conv_single(x, k), name)


def test_the_worked_example_by_hand():
    """The chapter's example: every output of a 3 x 3 all-ones filter is a sum of 9 pixels."""
    x = np.arange(20, dtype=np.float32).reshape(4, 5)
    k = np.ones((3, 3), dtype=np.float32)
    y = gpu.conv2d_naive(x, k, threads_per_block=4).copy_to_host()
    # y[0, 0] = 0+1+2 + 5+6+7 + 10+11+12 = 54; one column right adds 9, one row down 45.
    assert y.tolist() == [[54, 63, 72], [99, 108, 117]]


@given(
    height=st.integers(1, 9),
    width=st.integers(1, 9),
    kh=st.integers(1, 4),
    kw=st.integers(1, 4),
    tile=st.sampled_from([2, 3, 4]),
    seed=st.integers(0, 2**16),
)
@simulator_settings
def test_tiled_kernel_on_random_shapes(height, width, kh, kw, tile, seed):
    kh, kw = min(kh, height), min(kw, width)
    x, k = random((height, width), seed), random((kh, kw), seed + 1)
    got = gpu.conv2d_tiled(x, k, tile=tile).copy_to_host()
    assert_close(got, conv_single(x, k), f"tiled, x {x.shape}, k {k.shape}, tile {tile}")


def test_a_kernel_larger_than_the_image_is_refused():
    with pytest.raises(ValueError, match="larger than the image"):
        gpu.conv2d_naive(random((2, 5), 0), random((3, 3), 1))


# --- what the simulator catches ----------------------------------------------------------------


@cuda.jit
def naive_without_bounds_check(x, k, y):
    """conv2d_naive_kernel with its `if t < oh * ow` left out: a bug."""
    t = cuda.grid(1)
    ow = y.shape[1]
    i = t // ow
    j = t % ow
    acc = float32(0.0)
    for a in range(k.shape[0]):
        for b in range(k.shape[1]):
            acc += k[a, b] * x[i + a, j + b]
    y[i, j] = acc


def test_an_out_of_bounds_index_names_the_thread_and_the_block():
    x, k = random((13, 11), 0), random((3, 3), 1)
    y = np.zeros((11, 9), dtype=np.float32)  # 99 outputs; 4 blocks of 32 threads = 128 threads
    with pytest.raises(IndexError) as caught:
        naive_without_bounds_check[4, 32](x, k, y)
    message = str(caught.value)
    found = TIDS.search(message)
    assert found, f"no thread and block index in {message!r}"
    tx, _, _, bx, _, _ = map(int, found.groups())
    # The thread it names really is one of the 29 with no output, in the last block.
    assert bx * 32 + tx >= 99, message
    assert "out of bounds" in message


@cuda.jit
def halo_load_without_edge_check(x, y):
    """The load phase of a 4 x 4 tile with a 3 x 3 filter's halo, without the edge check."""
    patch = cuda.shared.array((6, 6), float32)
    tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
    row0, col0 = cuda.blockIdx.y * 4, cuda.blockIdx.x * 4
    for r in range(ty, 6, 4):
        for c in range(tx, 6, 4):
            patch[r, c] = x[row0 + r, col0 + c]  # past the edge in the last blocks
    cuda.syncthreads()
    if row0 + ty < y.shape[0] and col0 + tx < y.shape[1]:
        y[row0 + ty, col0 + tx] = patch[ty, tx]


def test_a_halo_load_past_the_edge_is_caught():
    # 7 x 7 image: output 5 x 5, 2 x 2 blocks of 4 x 4; the last blocks' halos reach row 9.
    x = random((7, 7), 0)
    y = np.zeros((5, 5), dtype=np.float32)
    with pytest.raises(IndexError) as caught:
        halo_load_without_edge_check[(2, 2), (4, 4)](x, y)
    found = TIDS.search(str(caught.value))
    assert found, str(caught.value)
    tx, ty, _, bx, by, _ = map(int, found.groups())
    assert bx == 1 or by == 1, "the first block's halo is inside the image"


@pytest.mark.parametrize("seed", range(3))
def test_a_missing_barrier_gives_wrong_numbers(seed):
    """Without cuda.syncthreads() threads read the shared tile before their neighbours wrote it.

    In the simulator each thread runs as far as it can before the next one starts, so the
    first threads of every block read stale or unset values: a majority of outputs is wrong,
    every time (in a hundred runs while writing this test, at least 49 of 56 outputs were).
    """
    x, k = random((9, 10), seed), random((3, 3), seed + 1)
    expected = conv_single(x, k)
    broken = gpu.conv2d_tiled(x, k, tile=4, barrier=False).copy_to_host()
    wrong = np.abs(broken - expected) > 1e-4
    assert wrong.sum() > expected.size // 2, f"only {wrong.sum()} of {expected.size} wrong"
    fixed = gpu.conv2d_tiled(x, k, tile=4, barrier=True).copy_to_host()
    assert_close(fixed, expected, "tiled with its barrier")


@cuda.jit
def read_before_the_first_row(x, out):
    out[0] = x[-1, 0]  # a halo load at row -1, had the image been padded on the fly


def test_a_negative_index_wraps_around_unreported():
    """What the simulator cannot catch: -1 is the last row, as in NumPy; no error."""
    x = random((3, 2), 0)
    out = np.zeros(1, dtype=np.float32)
    read_before_the_first_row[1, 1](x, out)
    assert out[0] == x[2, 0]


@cuda.jit
def count_blocks_without_atomics(counter):
    if cuda.threadIdx.x == 0:
        counter[0] += 1  # a read-modify-write race between blocks on a GPU


def test_blocks_run_one_after_another_so_races_between_blocks_never_happen():
    """What the simulator cannot catch: a missing atomic between blocks gives the right sum."""
    counter = np.zeros(1, dtype=np.int64)
    count_blocks_without_atomics[50, 4](counter)
    assert counter[0] == 50


# --- the layer kernel: channels and filters ----------------------------------------------------


@pytest.mark.parametrize(
    "filters_per_thread, rows_per_thread, channels_per_step, block",
    [(1, 1, 1, (4, 4)), (2, 2, 2, (4, 2)), (4, 3, 2, (2, 4)), (8, 1, 8, (4, 4))],
)
def test_blocked_kernel_matches_the_reference(
    filters_per_thread, rows_per_thread, channels_per_step, block
):
    # 5 filters and 3 channels: neither is a multiple of every blocking above.
    x, w = random((2, 3, 5, 6), 0), random((5, 3, 3, 3), 1)
    expected = ref.conv2d(x.astype(np.float64), w.astype(np.float64), padding=1)
    x_padded = gpu.pad_images(x, 1, block=(4, 4, 1))
    got = gpu.conv2d_blocked(
        x_padded,
        w,
        filters_per_thread=filters_per_thread,
        rows_per_thread=rows_per_thread,
        channels_per_step=channels_per_step,
        block=block,
    ).copy_to_host()
    assert_close(got, expected, f"blocked {filters_per_thread, rows_per_thread}")


@pytest.mark.parametrize("pad, pairs", [(2, ((2, 2), (2, 2))), ((0, 3), ((0, 0), (3, 3)))])
def test_pad_images_matches_numpy(pad, pairs):
    x = random((2, 3, 4, 5), 0)
    got = gpu.pad_images(x, pad, block=(4, 4, 2)).copy_to_host()
    np.testing.assert_array_equal(got, np.pad(x, ((0, 0), (0, 0), *pairs)))


def test_blocked_kernel_without_padding_and_a_wide_kernel():
    x, w = random((1, 2, 4, 9), 2), random((3, 2, 2, 5), 3)
    expected = ref.conv2d(x.astype(np.float64), w.astype(np.float64))
    got = gpu.conv2d_blocked(x, w, 2, 2, 1, block=(4, 2)).copy_to_host()
    assert_close(got, expected, "blocked 2x5")


def test_blocked_kernel_refuses_mismatched_channels():
    with pytest.raises(ValueError, match="channels"):
        gpu.conv2d_blocked(random((1, 2, 4, 4), 0), random((1, 3, 3, 3), 1))


# --- pooling and the weight gradient -----------------------------------------------------------


@pytest.mark.parametrize("shape, size", [((2, 3, 6, 6), 2), ((1, 2, 7, 5), 2), ((1, 1, 9, 7), 3)])
def test_max_pool_matches_the_reference(shape, size):
    x = random(shape, 0)
    got = gpu.max_pool2d(x, size, block=(4, 4, 1)).copy_to_host()
    np.testing.assert_array_equal(got, ref.max_pool2d(x, size))


@pytest.mark.parametrize("method", ["atomic", "two_pass"])
@pytest.mark.parametrize("threads, chunk", [(8, 8), (4, 7), (16, None)])
def test_weight_gradient_matches_the_reference(method, threads, chunk):
    x, w = random((2, 2, 4, 5), 0), random((3, 2, 3, 3), 1)
    y = ref.conv2d(x, w, padding=1)
    dy = random(y.shape, 2)
    _, expected, _ = ref.conv2d_backward(
        dy.astype(np.float64), x.astype(np.float64), w.astype(np.float64), padding=1
    )
    x_padded = gpu.pad_images(x, 1, block=(4, 4, 1))
    run = gpu.conv2d_dw_atomic if method == "atomic" else gpu.conv2d_dw_two_pass
    got = run(dy, x_padded, 3, 3, threads=threads, chunk=chunk).copy_to_host()
    assert_close(got, expected, f"dW {method}, threads {threads}, chunk {chunk}")


def test_weight_gradient_needs_a_power_of_two_threads():
    with pytest.raises(ValueError, match="power of two"):
        gpu.make_dw_block_sums_kernel(3, 3, threads=12)


def test_weight_gradient_checks_the_shapes():
    with pytest.raises(ValueError, match="does not fit"):
        gpu.conv2d_dw_two_pass(random((1, 2, 3, 3), 0), random((1, 2, 6, 6), 1), 3, 3)


# --- no answer key -----------------------------------------------------------------------------


def test_no_kernel_takes_a_stride_or_a_padding():
    """The assignment conv-gpu asks for kernels with stride and padding: none lives here."""
    for name in gpu.__all__:
        obj = getattr(gpu, name)
        function = getattr(obj, "py_func", obj)
        if not callable(function):
            continue
        parameters = set(inspect.signature(function).parameters)
        assert not parameters & {"stride", "padding"}, f"{name}: {parameters}"
