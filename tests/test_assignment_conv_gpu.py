"""Grading the conv-gpu assignment: kernels written by hand, graded in numba's CUDA simulator.

Each wrong submission is the instructor's solution with one classic GPU mistake. The simulator
exposes each one on a CPU: an index past the end of an array stops the launch with the thread
(``tid``) and block (``ctaid``) that made it, and a missing barrier gives wrong values. The part
with the mistake is lost, public and hidden tests alike, and nothing else is. A kernel cell that
reaches for a library convolution or the course's reference earns nothing and the status
``forbidden``. A submission's tests take well under 10 s (CPU time, asserted here; wall time
on this shared machine moves with its load).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from notebook_helpers import ROOT, edit_cell, grade_class, load, source_path

# one worker grades the class (the others would grade it again)
pytestmark = pytest.mark.xdist_group("assignment_conv_gpu")

RELEASED = ROOT / "chapters" / "07-conv-gpu" / "conv-gpu.ipynb"
LAUNCH, NAIVE, TILED = "launch-solution", "naive-solution", "tiled-solution"


def replace(old: str, new: str):
    def change(source: str) -> str:
        assert source.count(old) == 1, f"{old!r} is not in the cell exactly once"
        return source.replace(old, new)

    return change


# The naive kernel without its first bounds check: the threads past the last output still
# compute an (n, f, i, j), with n past the last image.
NO_BOUNDS_CHECK = """    t = cuda.grid(1)
    n_images, n_filters, oh, ow = y.shape
    j = t % ow
    i = (t // ow) % oh
    f = (t // (ow * oh)) % n_filters
    n = t // (ow * oh * n_filters)
    channels, height, width = x.shape[1], x.shape[2], x.shape[3]
    acc = float32(0.0)
    for c in range(channels):
        for a in range(w.shape[2]):
            row = i * stride + a - padding
            if 0 <= row < height:
                for bb in range(w.shape[3]):
                    col = j * stride + bb - padding
                    if 0 <= col < width:
                        acc += w[f, c, a, bb] * x[n, c, row, col]
    y[n, f, i, j] = acc + b[f]
"""
NAIVE_BODY = re.compile(r"    ### BEGIN SOLUTION\n.*    ### END SOLUTION", re.S)

# A "kernel" that is PyTorch on the host, dressed up to be launched like one.
TORCH_KERNEL = '''import torch


class conv2d_naive_kernel:  # noqa: N801 - launched like a kernel
    """kernel[grid, block](x, w, b, y, stride, padding), computed by PyTorch on the host."""

    def __getitem__(self, launch):
        return self

    def __call__(self, x, w, b, y, stride, padding):
        t = [torch.from_numpy(a.copy_to_host()) for a in (x, w, b)]
        y.copy_to_device(torch.nn.functional.conv2d(*t, stride=stride, padding=padding).numpy())


conv2d_naive_kernel = conv2d_naive_kernel()
'''

# The tiled "kernel" that hands the work to the course's reference.
REFERENCE_KERNEL = """from autograder import reference as ref


def make_conv2d_tiled_kernel(kh, kw, stride, tile):
    class Launch:
        def __getitem__(self, launch):
            return self

        def __call__(self, x, w, b, y, padding):
            arrays = [a.copy_to_host().astype(float) for a in (x, w, b)]
            y.copy_to_device(ref.conv2d(*arrays, stride=stride, padding=padding)
                             .astype("float32"))

    return Launch()
"""


def conv_gpu_class() -> dict[str, dict]:
    """Submissions for conv-gpu: student id -> notebook."""
    src = load(source_path("conv-gpu"))
    return {
        "full": src,
        "released": load(RELEASED),
        # floor instead of ceiling: the last, partly filled block is never launched.
        "grid-floor": edit_cell(
            src,
            LAUNCH,
            replace(
                "return (n + threads_per_block - 1) // threads_per_block",
                "return n // threads_per_block",
            ),
        ),
        # the threads past the last output are not stopped.
        "no-bounds-check": edit_cell(
            src, NAIVE, lambda s: NAIVE_BODY.sub(lambda _: NO_BOUNDS_CHECK.rstrip("\n"), s)
        ),
        # the input row ignores the stride: every output reads the window of stride 1.
        "naive-forgets-stride": edit_cell(
            src,
            NAIVE,
            lambda s: replace("col = j * stride + bb - padding", "col = j + bb - padding")(
                replace("row = i * stride + a - padding", "row = i + a - padding")(s)
            ),
        ),
        # the padding test only checks the far edge: row -1 wraps around to the last row.
        "naive-negative-index": edit_cell(
            src,
            NAIVE,
            lambda s: replace("if 0 <= col < width:", "if col < width:")(
                replace("if 0 <= row < height:", "if row < height:")(s)
            ),
        ),
        # no barrier at all in the tiled kernel.
        "no-syncthreads": edit_cell(
            src,
            TILED,
            lambda s: replace("            cuda.syncthreads()  # the whole patch is loaded\n", "")(
                replace(
                    "            cuda.syncthreads()  # everyone is done with it before the next"
                    " channel's load\n",
                    "",
                )(s)
            ),
        ),
        # only the barrier after the sums is missing: the next channel's load overwrites the
        # patch while neighbours still read it.
        "no-second-syncthreads": edit_cell(
            src,
            TILED,
            replace(
                "            cuda.syncthreads()  # everyone is done with it before the next"
                " channel's load\n",
                "",
            ),
        ),
        # the chapter's stride-1 patch: tile + k - 1, too small for stride 2.
        "halo-ignores-stride": edit_cell(
            src,
            TILED,
            lambda s: replace("patch_w = (tile - 1) * stride + kw", "patch_w = tile + kw - 1")(
                replace("patch_h = (tile - 1) * stride + kh", "patch_h = tile + kh - 1")(s)
            ),
        ),
        # threads without an output leave before loading their share of the halo.
        "early-return": edit_cell(
            src,
            TILED,
            replace(
                "        acc = float32(0.0)\n",
                "        if row >= y.shape[2] or col >= y.shape[3]:\n"
                "            return\n"
                "        acc = float32(0.0)\n",
            ),
        ),
        # a "kernel" that is PyTorch on the host.
        "naive-calls-torch": edit_cell(src, NAIVE, lambda s: TORCH_KERNEL),
        # a tiled "kernel" that calls the course's reference.
        "tiled-calls-reference": edit_cell(src, TILED, lambda s: REFERENCE_KERNEL),
    }


# student id -> (score, status); conv-gpu is worth 17: launch 1+2, naive 2+4, tiled 3+5.
EXPECTED = {
    "full": (17, "ok"),
    "released": (0, "ok"),
    "grid-floor": (15.21, "ok"),
    "no-bounds-check": (11, "ok"),
    "naive-forgets-stride": (14.2, "ok"),
    "naive-negative-index": (12.2, "ok"),
    "no-syncthreads": (9, "ok"),
    "no-second-syncthreads": (9.75, "ok"),
    "halo-ignores-stride": (9.62, "ok"),
    "early-return": (10.25, "ok"),
    "naive-calls-torch": (11, "forbidden"),
    "tiled-calls-reference": (9, "forbidden"),
}


@pytest.fixture(scope="session")  # once per worker, even if other modules' tests run in between
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("conv-gpu-class")
    return grade_class(base, "conv-gpu", conv_gpu_class(), seed=7)


def message(graded, student: str, part: str) -> str:
    (found,) = [p for p in graded[student].parts if p.grade_id == part]
    return found.message


@pytest.mark.slow
@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_conv_gpu_submission_gets_the_grade_it_deserves(graded, student):
    score, status = EXPECTED[student]
    result = graded[student]
    assert (result.score, result.status) == (score, status), (result.reason, result.parts)


@pytest.mark.slow
def test_out_of_bounds_is_reported_with_thread_and_block(graded):
    text = message(graded, "no-bounds-check", "naive")
    assert text.startswith("IndexError: tid=["), text
    assert re.search(r"tid=\[\d+, 0, 0\] ctaid=\[\d+, 0, 0\]: index \d+ is out of bounds", text)
    assert "in conv2d_naive_kernel[1, 32] on x.shape=(1, 1, 4, 5)" in text
    assert "stride=1, padding=0" in text
    halo = message(graded, "halo-ignores-stride", "tiled")
    assert re.search(r"IndexError: tid=\[\d+, \d+, 0\] ctaid=\[\d+, \d+, \d+\]", halo), halo
    assert "make_conv2d_tiled_kernel(3, 3, 2, 2)" in halo


@pytest.mark.slow
def test_public_messages_name_the_failing_configuration(graded):
    assert "blocks_per_grid(100, 32) returned 3, expected 4" in message(
        graded, "grid-floor", "launch"
    )
    stride = message(graded, "naive-forgets-stride", "naive")
    assert "returned the wrong values" in stride and "stride=2" in stride
    assert "returned the wrong values" in message(graded, "no-syncthreads", "tiled")
    assert "returned the wrong values" in message(graded, "no-second-syncthreads", "tiled")
    assert "returned the wrong values" in message(graded, "early-return", "tiled")
    assert "imports torch" in message(graded, "naive-calls-torch", "naive")
    reference = message(graded, "tiled-calls-reference", "tiled")
    assert "imports autograder" in reference and "calls autograder.reference.conv2d" in reference


# Runs every code cell of a notebook (setup, solutions, public and hidden tests) in a fresh
# process and prints the CPU seconds and wall seconds they took.
RUN_ALL = """
import json, sys, time
nb = json.load(open(sys.argv[1]))
cpu, wall = time.process_time(), time.perf_counter()
namespace = {}
for cell in nb["cells"]:
    if cell["cell_type"] == "code":
        exec(cell["source"], namespace)
print("seconds", time.process_time() - cpu, time.perf_counter() - wall)
"""


@pytest.mark.slow
def test_running_every_test_of_a_submission_takes_under_ten_seconds():
    """The simulated sizes are small: the whole notebook, numba's import and every public and
    hidden test included (their expected values too), takes well under 10 s of CPU. CPU time,
    not wall time: on this shared machine the wall time of the same run was 2-4x its CPU time,
    depending on the load. (While grading, the warm runner has imported numba already.)"""
    done = subprocess.run(
        [sys.executable, "-c", RUN_ALL, str(source_path("conv-gpu"))],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    _, cpu, wall = done.stdout.splitlines()[-1].split()
    assert float(cpu) < 10, (cpu, wall)


# Runs the public test of the tiled kernel RUNS times on a submission's tiled kernel, in a fresh
# process (the simulator on, no grader around it), and prints how many runs passed.
REPEAT = """
import json, sys

nb = json.load(open(sys.argv[1]))
cells = {c["metadata"]["nbgrader"]["grade_id"]: c["source"] for c in nb["cells"]}
namespace = {}
for name in ("setup", "launchers", "tiled-solution"):
    exec(cells[name], namespace)
passed = 0
for _ in range(int(sys.argv[2])):
    try:
        exec(cells["tiled"], namespace)
        passed += 1
    except AssertionError:
        pass
print("passed", passed)
"""


@pytest.mark.slow
@pytest.mark.parametrize("student", ["no-syncthreads", "no-second-syncthreads", "early-return"])
def test_a_broken_barrier_fails_the_public_test_in_every_run(student, tmp_path):
    """The simulator's schedule exposes a missing barrier every time, not now and then (and the
    instructor's kernel, run the same way, passes every time)."""
    runs = 15
    for who, expected in ((student, 0), ("full", runs)):
        path = tmp_path / f"{who}.ipynb"
        path.write_text(json.dumps(conv_gpu_class()[who]), encoding="utf-8")
        done = subprocess.run(
            [sys.executable, "-c", REPEAT, str(path), str(runs)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines()[-1] == f"passed {expected}", (who, done.stdout)


@pytest.mark.slow
def test_check_works_without_a_gpu_on_the_source_and_the_release():
    """``check`` runs the notebook as it is, in a fresh process without the grader's warm
    runner: every public part of the source passes (no false *forbidden*: SciPy, which numba
    loads on its first CPU compilation, builds code with ``exec`` that the rule guard judges by
    the notebook's strictest rule, so the setup cell makes numba load it before any test), and
    the release fails each public part with "not written yet"."""
    from autograder.check import check_notebook
    from autograder.grading.results import PartStatus

    source = check_notebook(source_path("conv-gpu"))
    public = [p for p in source if not p.grade_id.endswith("-hidden")]
    assert [(p.grade_id, p.status) for p in public] == [
        ("launch", PartStatus.PASSED),
        ("naive", PartStatus.PASSED),
        ("tiled", PartStatus.PASSED),
    ], [p.message for p in public]
    assert all(p.status == PartStatus.PASSED for p in source), [p.message for p in source]
    released = check_notebook(RELEASED)
    public = [p for p in released if p.status != PartStatus.HIDDEN]
    assert [p.grade_id for p in public] == ["launch", "naive", "tiled"]
    assert all(p.status == PartStatus.FAILED and "not written yet" in p.message for p in public)
