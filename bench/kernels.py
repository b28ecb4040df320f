"""The reference kernels against PyTorch's CPU kernels and the machine's SGEMM, in one process.

    .venv/bin/python bench/kernels.py                 # 2 threads for numba, PyTorch and BLAS
    .venv/bin/python bench/kernels.py --threads 1     # the grader's and the chapters' setting
    .venv/bin/python bench/kernels.py --help

Every case (a layer shape, forward or backward) runs ours and PyTorch's on the same float32
arrays: a check that both agree (numba compiles or loads its cache there), then ``--repeat``
timed calls of each, in two rounds of blocks (ours, PyTorch's, ours, PyTorch's; each block
starts with an untimed call) so that both see the same machine state. The table prints
medians and the spread ((max - min) / median); ``ratio`` is PyTorch's time over ours
(>= 0.5: at least half as fast as PyTorch; > 1: faster). The same run measures NumPy's SGEMM
(``n x n`` float32 matmul) so every GFLOP/s figure can be read as a fraction of what this
machine's BLAS does. Results go to ``bench/results/kernels.json`` (chapter 06 reads it).

PyTorch's backward is timed at the kernel, not through autograd:
``aten.convolution_backward`` (dx, dw and db, like ``ref.conv2d_backward``),
``aten.max_pool2d_with_indices_backward`` (with the indices its forward pass saved; ours finds
each window's maximum again from ``x``) and ``aten.avg_pool2d_backward``.

The environment is fixed before NumPy loads: ``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE``
(set on some of these machines, they halve OpenBLAS's speed) are removed, and
``NUMBA_NUM_THREADS``, ``OPENBLAS_NUM_THREADS`` and ``OMP_NUM_THREADS`` are set to
``--threads``; the script re-executes itself when it has to change them.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "kernels.json"
SLOW_BLAS_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
THREAD_VARIABLES = ("NUMBA_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2, help="numba, PyTorch and BLAS threads")
    parser.add_argument("--repeat", type=int, default=20, help="timed calls per kernel")
    parser.add_argument(
        "--runs",
        type=int,
        default=1,
        help="measure every case this many times, one pass over all cases after another; "
        "the table gives the median of the runs' medians and the range of their ratios",
    )
    parser.add_argument("--sgemm-n", type=int, default=4096, help="size of the SGEMM probe")
    parser.add_argument("--only", default="", help="run only cases whose name contains this")
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON file to write")
    parser.add_argument("--no-save", action="store_true", help="print only, write no JSON")
    return parser.parse_args()


def fix_environment(threads: int) -> None:
    """Re-execute this script with the BLAS variables removed and the thread counts set."""
    env = dict(os.environ)
    for name in SLOW_BLAS_VARIABLES:
        env.pop(name, None)
    for name in THREAD_VARIABLES:
        env[name] = str(threads)
    if env != dict(os.environ):
        env["KERNELS_BENCH_REEXEC"] = "1"
        if os.environ.get("KERNELS_BENCH_REEXEC"):
            raise SystemExit("could not fix the environment")
        os.execve(sys.executable, [sys.executable, *sys.argv], env)


ARGS = parse_args()
fix_environment(ARGS.threads)

import numba  # noqa: E402  (after the environment is fixed)
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, str(ROOT))
from autograder import reference as ref  # noqa: E402
from autograder.reference import methods  # noqa: E402


@dataclass
class Case:
    name: str
    op: str
    direction: str
    shape: str
    flops: int
    ours: Callable[[], object]
    torch: Callable[[], object]
    check: Callable[[object, object], None]
    method: str
    is_conv: bool = True


def conv_flops(n, c, f, kernel, out) -> int:
    """Multiply-adds counted as 2 FLOPs: ``2 * N * F * C * KH * KW * OH * OW``."""
    return 2 * n * f * c * int(np.prod(kernel)) * int(np.prod(out))


def close(a, b, what: str, tol: float = 2e-3) -> None:
    """float32 results against PyTorch's, relative to the size of the values."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b.detach().numpy() if hasattr(b, "detach") else b, dtype=np.float64)
    scale = max(np.abs(b).max(), 1e-30)
    err = np.abs(a - b).max() / scale
    if a.shape != b.shape or not err < tol:
        raise AssertionError(f"{what}: ours differs from PyTorch (shape {a.shape}, err {err:.2e})")


def conv_cases(rng) -> list[Case]:
    layers = [
        # name, x shape, w shape, stride, padding, groups
        ("LeNet conv1", (64, 1, 32, 32), (6, 1, 5, 5), 1, 0, 1),
        ("LeNet conv2", (64, 6, 14, 14), (16, 6, 5, 5), 1, 0, 1),
        ("ResNet 3x3", (64, 64, 32, 32), (64, 64, 3, 3), 1, 1, 1),
        ("stride-2 3x3", (32, 32, 56, 56), (64, 32, 3, 3), 2, 1, 1),
        ("1D k=7", (64, 16, 1024), (32, 16, 7), 1, 3, 1),
        ("depthwise 3x3", (64, 32, 56, 56), (32, 1, 3, 3), 1, 1, 32),
    ]
    cases = []
    for name, xs, ws, stride, pad, groups in layers:
        x = rng.standard_normal(xs, dtype=np.float32)
        w = (rng.standard_normal(ws, dtype=np.float32) / np.sqrt(np.prod(ws[1:]))).astype(
            np.float32
        )
        b = rng.standard_normal(ws[0], dtype=np.float32)
        one_d = len(xs) == 3
        if one_d:
            y = ref.conv1d(x, w, b, stride=stride, padding=pad, groups=groups)
        else:
            y = ref.conv2d(x, w, b, stride=stride, padding=pad, groups=groups)
        dy = rng.standard_normal(y.shape, dtype=np.float32)
        tx, tw, tb, tdy = (torch.from_numpy(a) for a in (x, w, b, dy))
        spatial = len(xs) - 2
        flops = conv_flops(xs[0], ws[1], ws[0], ws[2:], y.shape[2:])  # C // groups per filter
        op = "conv1d" if one_d else "conv2d"
        shape = (
            f"x {'x'.join(map(str, xs))}, {ws[0]}@{'x'.join(map(str, ws[2:]))}, "
            f"stride {stride}, pad {pad}" + (f", groups {groups}" if groups > 1 else "")
        )
        g = groups
        if one_d:
            forward = lambda x=x, w=w, b=b, s=stride, p=pad, g=g: ref.conv1d(x, w, b, s, p, 1, g)  # noqa: E731
            torch_forward = lambda tx=tx, tw=tw, tb=tb, s=stride, p=pad, g=g: F.conv1d(  # noqa: E731
                tx, tw, tb, s, p, 1, g
            )
            x4, w4, dy4 = x[:, :, None], w[:, :, None], dy[:, :, None]
            backward = lambda dy4=dy4, x4=x4, w4=w4, s=stride, p=pad, g=g: ref.conv2d_backward(  # noqa: E731
                dy4, x4, w4, (1, s), (0, p), 1, g
            )
        else:
            forward = lambda x=x, w=w, b=b, s=stride, p=pad, g=g: ref.conv2d(x, w, b, s, p, 1, g)  # noqa: E731
            torch_forward = lambda tx=tx, tw=tw, tb=tb, s=stride, p=pad, g=g: F.conv2d(  # noqa: E731
                tx, tw, tb, s, p, 1, g
            )
            backward = lambda dy=dy, x=x, w=w, s=stride, p=pad, g=g: ref.conv2d_backward(  # noqa: E731
                dy, x, w, s, p, 1, g
            )

        def torch_backward(tdy=tdy, tx=tx, tw=tw, s=stride, p=pad, spatial=spatial, g=g):
            return torch.ops.aten.convolution_backward(
                tdy,
                tx,
                tw,
                [tw.shape[0]],
                [s] * spatial,
                [p] * spatial,
                [1] * spatial,
                False,
                [0] * spatial,
                g,
                [True, True, True],
            )

        def check_backward(ours, theirs, one_d=one_d, name=name):
            dx, dw, db = ours
            if one_d:
                dx, dw = dx[:, :, 0], dw[:, :, 0]
            for a, t, what in zip((dx, dw, db), theirs, ("dx", "dw", "db"), strict=True):
                close(a, t, f"{name} backward {what}")

        geometry = (xs, ws, stride, pad, groups)
        cases.append(
            Case(
                name,
                op,
                "forward",
                shape,
                flops,
                forward,
                torch_forward,
                lambda o, t, n=name: close(o, t, f"{n} forward"),
                methods.conv_forward_method(*geometry),
            )
        )
        cases.append(
            Case(
                name,
                op,
                "backward",
                shape,
                2 * flops,
                backward,
                torch_backward,
                check_backward,
                methods.conv_backward_method(*geometry),
            )
        )
    return cases


def pool_cases(rng) -> list[Case]:
    xs, k = (64, 64, 32, 32), 2
    x = rng.standard_normal(xs, dtype=np.float32)
    tx = torch.from_numpy(x)
    out = (xs[0], xs[1], xs[2] // k, xs[3] // k)
    dy = rng.standard_normal(out, dtype=np.float32)
    tdy = torch.from_numpy(dy)
    _, indices = F.max_pool2d(tx, k, return_indices=True)
    shape = f"x {'x'.join(map(str, xs))}, {k}x{k} stride {k}"
    work = int(np.prod(out)) * k * k  # window elements read (no multiply-adds)

    def check(what):
        return lambda o, t: close(o, t, what, tol=1e-6)

    return [
        Case(
            "max pool 2x2",
            "max_pool2d",
            "forward",
            shape,
            work,
            lambda: ref.max_pool2d(x, k),
            lambda: F.max_pool2d(tx, k),
            check("max pool forward"),
            methods.pool_method("max", "forward"),
            False,
        ),
        Case(
            "max pool 2x2",
            "max_pool2d",
            "backward",
            shape,
            work,
            lambda: ref.max_pool2d_backward(dy, x, k),
            lambda: torch.ops.aten.max_pool2d_with_indices_backward(
                tdy, tx, [k, k], [k, k], [0, 0], [1, 1], False, indices
            ),
            check("max pool backward"),
            methods.pool_method("max", "backward"),
            False,
        ),
        Case(
            "avg pool 2x2",
            "avg_pool2d",
            "forward",
            shape,
            work,
            lambda: ref.avg_pool2d(x, k),
            lambda: F.avg_pool2d(tx, k),
            check("avg pool forward"),
            methods.pool_method("avg", "forward"),
            False,
        ),
        Case(
            "avg pool 2x2",
            "avg_pool2d",
            "backward",
            shape,
            work,
            lambda: ref.avg_pool2d_backward(dy, x, k),
            lambda: torch.ops.aten.avg_pool2d_backward(
                tdy, tx, [k, k], [k, k], [0, 0], False, True, None
            ),
            check("avg pool backward"),
            methods.pool_method("avg", "backward"),
            False,
        ),
    ]


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1e3


def measure(case: Case, repeat: int, rounds: int = 2) -> dict:
    """Check, then time ours and PyTorch's in alternating blocks; medians and spreads in ms.

    Each block starts with an untimed call and then times ``repeat // rounds`` back-to-back
    calls. Blocks rather than alternating single calls: PyTorch's OpenMP threads keep spinning
    for a while after each call and would take a core from whatever runs next (measured here:
    our stride-2 layer 15.6 ms right after a PyTorch call, 8.3 ms back to back).
    """
    ours, theirs = [], []
    per_block = max(1, repeat // rounds)
    with torch.no_grad():
        case.check(case.ours(), case.torch())
        for _ in range(rounds):
            for fn, times in ((case.ours, ours), (case.torch, theirs)):
                fn()
                times.extend(timed(fn) for _ in range(per_block))
    return {
        "ours_ms": statistics.median(ours),
        "torch_ms": statistics.median(theirs),
        "ours_ms_min": min(ours),
        "ours_ms_max": max(ours),
        "torch_ms_min": min(theirs),
        "torch_ms_max": max(theirs),
    }


def sgemm(n: int, repeat: int = 5) -> dict:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    c = np.empty((n, n), dtype=np.float32)
    np.matmul(a, b, out=c)
    times = [timed(lambda: np.matmul(a, b, out=c)) for _ in range(repeat)]
    ms = statistics.median(times)
    return {
        "n": n,
        "ms": ms,
        "gflops": 2 * n**3 / ms / 1e6,
        "ms_min": min(times),
        "ms_max": max(times),
    }


def row_of(case: Case, runs: list[dict], probe: dict) -> dict:
    """One case's JSON row from its runs: medians of the runs' medians, the extremes of every
    call, and each run's ratio (PyTorch's median over ours)."""
    ours_ms = statistics.median(m["ours_ms"] for m in runs)
    torch_ms = statistics.median(m["torch_ms"] for m in runs)
    ours_gf = case.flops / ours_ms / 1e6 if case.is_conv else None
    torch_gf = case.flops / torch_ms / 1e6 if case.is_conv else None
    return {
        "name": case.name,
        "op": case.op,
        "direction": case.direction,
        "shape": case.shape,
        "flops": case.flops,
        "ours_ms": round(ours_ms, 4),
        "torch_ms": round(torch_ms, 4),
        "ours_gflops": None if ours_gf is None else round(ours_gf, 2),
        "torch_gflops": None if torch_gf is None else round(torch_gf, 2),
        "ratio_to_torch": round(torch_ms / ours_ms, 3),
        "fraction_of_sgemm": None if ours_gf is None else round(ours_gf / probe["gflops"], 3),
        "method": case.method,
        "ours_ms_range": [
            round(min(m["ours_ms_min"] for m in runs), 4),
            round(max(m["ours_ms_max"] for m in runs), 4),
        ],
        "torch_ms_range": [
            round(min(m["torch_ms_min"] for m in runs), 4),
            round(max(m["torch_ms_max"] for m in runs), 4),
        ],
        "ratio_per_run": [round(m["torch_ms"] / m["ours_ms"], 3) for m in runs],
    }


def print_row(case: Case, row: dict) -> None:
    """One line of the table: times with their spread, GFLOP/s, ratio, method."""

    def spread(lo: float, hi: float, med: float) -> str:
        return f"{med:7.3f} ({(hi - lo) / med:4.0%})"

    def gf(value: float | None) -> str:
        return "-" if value is None else f"{value:.0f}"

    ratios = row["ratio_per_run"]
    ratio_range = f"  ({min(ratios):.2f}-{max(ratios):.2f})" if len(ratios) > 1 else ""
    frac = "-" if row["fraction_of_sgemm"] is None else f"{row['fraction_of_sgemm']:.2f}"
    print(
        f"{case.name:<14} {case.direction:<8} "
        f"{spread(*row['ours_ms_range'], row['ours_ms']):>16} "
        f"{spread(*row['torch_ms_range'], row['torch_ms']):>16} "
        f"{gf(row['ours_gflops']):>9} {gf(row['torch_gflops']):>10} "
        f"{row['ratio_to_torch']:>6.2f} {frac:>6}  {case.method}{ratio_range}",
        flush=True,
    )


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    threads = ARGS.threads
    torch.set_num_threads(threads)
    numba.set_num_threads(threads)
    load_before = os.getloadavg()
    print(f"threads {threads} (numba, torch, BLAS); load average {load_before}")
    probe = sgemm(ARGS.sgemm_n)
    print(
        f"SGEMM {probe['n']}^3: {probe['ms']:.1f} ms, {probe['gflops']:.0f} GFLOP/s "
        f"(spread {probe['ms_min']:.1f}-{probe['ms_max']:.1f} ms)"
    )
    rng = np.random.default_rng(0)
    cases = [c for c in conv_cases(rng) + pool_cases(rng) if ARGS.only in c.name]
    header = (
        f"{'case':<14} {'dir':<8} {'ours ms':>16} {'torch ms':>16} {'ours GF/s':>9} "
        f"{'torch GF/s':>10} {'ratio':>6} {'SGEMM':>6}  method"
    )
    measured: list[list[dict]] = [[] for _ in cases]
    loads = []
    for run in range(ARGS.runs):
        if ARGS.runs > 1:
            loads.append(os.getloadavg())
            print(f"run {run + 1} of {ARGS.runs}, load average {loads[-1]}")
        print(header)
        print("-" * len(header))
        for case, runs in zip(cases, measured, strict=True):
            runs.append(measure(case, ARGS.repeat))
            print_row(case, row_of(case, runs[-1:], probe))
    rows = [row_of(case, runs, probe) for case, runs in zip(cases, measured, strict=True)]
    if ARGS.runs > 1:
        print(f"\nmedians of {ARGS.runs} runs; ratio range = lowest and highest run's ratio")
        print(header + "  (ratio range)")
        print("-" * len(header))
        for case, row in zip(cases, rows, strict=True):
            print_row(case, row)
    load_after = os.getloadavg()
    print(
        f"load average after {load_after}; (spread) = (max - min) / median over "
        f"{ARGS.repeat * ARGS.runs} calls"
    )
    blas_env = ", ".join(
        [f"{name} unset" for name in SLOW_BLAS_VARIABLES]
        + [f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}"]
    )
    result = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpu": cpu_name(),
            "cores": os.cpu_count(),
            "threads": threads,
            "numpy_blas_env": blas_env,
        },
        "load_average": {"before": list(load_before), "after": list(load_after)},
        "versions": {
            "numpy": np.__version__,
            "numba": numba.__version__,
            "torch": torch.__version__,
        },
        "repeat": ARGS.repeat,
        "runs": ARGS.runs,
        "load_average_per_run": [list(load) for load in loads],
        "sgemm": {k: round(v, 3) if isinstance(v, float) else v for k, v in probe.items()},
        "cases": rows,
    }
    if not ARGS.no_save:
        ARGS.out.parent.mkdir(parents=True, exist_ok=True)
        ARGS.out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"saved {ARGS.out.relative_to(ROOT) if ARGS.out.is_relative_to(ROOT) else ARGS.out}")


if __name__ == "__main__":
    main()
