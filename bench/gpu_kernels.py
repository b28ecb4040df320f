"""The GPU chapter's kernels (``cnnbook.gpu``) against cuDNN, on one NVIDIA GPU, in one process.

    python bench/gpu_kernels.py               # a machine with an NVIDIA GPU, numba's CUDA
                                              # target and PyTorch built with CUDA
    python bench/gpu_kernels.py --simulate    # numba's CUDA simulator, tiny shapes: proves
                                              # the script runs without a GPU; times nothing
    python bench/gpu_kernels.py --help

Runs exactly the kernels chapter 07 teaches (imported from ``cnnbook.gpu``, not copied) on the
benchmark shapes of ``bench/kernels.py`` that they can compute (stride 1; the stride-2 layer is
listed as skipped) plus a large single-channel image for the single-channel kernels, and
PyTorch's ``torch.nn.functional.conv2d`` / ``max_pool2d`` / ``convolution_backward`` (cuDNN)
on the same arrays. Every result, ours and cuDNN's, is checked against ``autograder.reference``
(on the CPU) before it is timed; the weight gradients are also checked for giving the same bits
in every run.

cuDNN runs twice: in float32 (``torch.backends.cudnn.allow_tf32 = False``: the same arithmetic
as ours, the comparison that counts) and with TF32 allowed (PyTorch's default for
convolutions: tensor cores, 10-bit mantissas). ``cudnn.benchmark`` is on, so cuDNN picks its
fastest algorithm for each shape.

Timing: wall clock around enough back-to-back calls to take ``--min-ms`` milliseconds, with the
device synchronised before and after (so launch overhead counts, as it does for a user); each
implementation is timed in ``--rounds`` rounds, alternating with the others, and the median is
reported with the spread (max - min) / median. The first call of every kernel compiles it and is
never timed.

Writes ``bench/results/gpu-kernels-<gpu>.json`` (e.g. ``gpu-kernels-nvidia-h200.json``), which
chapter 07 shows when it exists: per implementation, milliseconds, GFLOP/s, GB/s of the
minimum memory traffic, the fraction of float32 cuDNN's speed and the fraction of the GPU's
float32 peak (from a spec sheet for GPUs listed in ``SPEC_SHEETS``, else computed from the
device's attributes, and labelled as such). ``--simulate`` writes nothing unless ``--out`` is
given, and marks its file ``"simulated": true`` (the chapter ignores such files).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--simulate", action="store_true", help="numba's CUDA simulator")
    parser.add_argument("--only", default="", help="run only cases whose name contains this")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per implementation")
    parser.add_argument("--min-ms", type=float, default=20.0, help="length of one timed round")
    parser.add_argument("--out", type=Path, help="JSON file (default: bench/results/...)")
    parser.add_argument("--no-save", action="store_true", help="print only, write no JSON")
    return parser.parse_args()


ARGS = parse_args()
if ARGS.simulate:
    os.environ["NUMBA_ENABLE_CUDASIM"] = "1"  # before numba is imported

import numba  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from numba import cuda  # noqa: E402

sys.path.insert(0, str(ROOT))
from autograder import reference as ref  # noqa: E402
from cnnbook import gpu  # noqa: E402

# Published float32 (non-tensor-core) peaks and memory bandwidths, by the exact device name
# CUDA reports. Spec-sheet numbers, not measurements.
SPEC_SHEETS = {
    "NVIDIA H200": {
        "fp32_tflops": 67.0,
        "bandwidth_tb_s": 4.8,
        "source": "NVIDIA H200 Tensor Core GPU datasheet, H200 SXM: FP32 67 TFLOPS, "
        "GPU memory bandwidth 4.8 TB/s",
    },
    "NVIDIA H100 80GB HBM3": {
        "fp32_tflops": 67.0,
        "bandwidth_tb_s": 3.35,
        "source": "NVIDIA H100 Tensor Core GPU datasheet, H100 SXM: FP32 67 TFLOPS, "
        "GPU memory bandwidth 3.35 TB/s",
    },
}
# float32 lanes per streaming multiprocessor, by compute capability (CUDA C++ Programming
# Guide, arithmetic instruction throughput): for a peak computed from the device's attributes.
FP32_LANES_PER_SM = {(7, 0): 64, (7, 5): 64, (8, 0): 64, (8, 6): 128, (8, 9): 128, (9, 0): 128}

SIM = ARGS.simulate
TORCH_DEVICE = "cpu" if SIM else "cuda"


def synchronize() -> None:
    if not SIM:
        cuda.synchronize()
        torch.cuda.synchronize()


def on_host(result) -> np.ndarray:
    if isinstance(result, torch.Tensor):
        return result.detach().cpu().numpy()
    if isinstance(result, np.ndarray):
        return result
    return result.copy_to_host()


@dataclass
class Impl:
    label: str
    run: Callable[[], object]
    baseline: bool = False  # cuDNN / PyTorch
    tf32: bool = False  # run with TF32 allowed
    kernel: Callable | None = None  # the numba kernel, for its resource usage
    samples: list[float] = field(default_factory=list)
    repeatable: bool | None = None  # same bits in every run (checked for the weight gradient)


@dataclass
class Case:
    name: str
    shape: str
    flops: int
    bytes_min: int  # read every input once, write every output once
    expected: Callable[[], np.ndarray]  # autograder.reference on the CPU
    impls: list[Impl]
    tolerance: float = 1e-3
    check_repeatable: bool = False


def conv_flops(n, c, f, kh, kw, oh, ow) -> int:
    return 2 * n * f * c * kh * kw * oh * ow


def tensor(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(a).to(TORCH_DEVICE)


def cudnn(label: str, fn: Callable[[], object], tf32: bool = False) -> Impl:
    name = f"{label} (PyTorch CPU, simulate mode)" if SIM else label
    return Impl(name + (", TF32" if tf32 else ""), fn, baseline=True, tf32=tf32)


def single_channel_case(rng, size: int, k: int) -> Case:
    """One image, one filter, valid: the four teaching kernels and the blocked one."""
    x = rng.standard_normal((size, size), dtype=np.float32)
    w = rng.standard_normal((k, k), dtype=np.float32) / np.float32(k)
    xd, wd = gpu.to_device(x), gpu.to_device(w)
    x4, w4 = gpu.to_device(x[None, None]), gpu.to_device(w[None, None])
    tx, tw = tensor(x[None, None]), tensor(w[None, None])
    o = size - k + 1
    small = SIM  # tiny blocks in the simulator
    threads = 16 if small else 128
    b2 = (4, 4) if small else (16, 16)
    b2w = (8, 2) if small else (32, 8)
    tile = 4 if small else 16
    tile_big = 8 if small else 32
    impls = [
        Impl(f"naive, {threads} threads/block", lambda: gpu.conv2d_naive(xd, wd, threads)),
        Impl(f"2D blocks {b2[0]}x{b2[1]}", lambda: gpu.conv2d_blocks2d(xd, wd, b2)),
        Impl(f"2D blocks {b2w[0]}x{b2w[1]}", lambda: gpu.conv2d_blocks2d(xd, wd, b2w)),
        Impl(f"uncoalesced {b2[0]}x{b2[1]}", lambda: gpu.conv2d_uncoalesced(xd, wd, b2)),
        Impl(
            f"tiled {tile}x{tile}",
            lambda: gpu.conv2d_tiled(xd, wd, tile),
            kernel=gpu.make_tiled_conv2d_kernel(k, k, tile),
        ),
        Impl(
            f"tiled {tile_big}x{tile_big}",
            lambda: gpu.conv2d_tiled(xd, wd, tile_big),
            kernel=gpu.make_tiled_conv2d_kernel(k, k, tile_big),
        ),
        Impl(
            f"blocked 1 filter {b2w[0]}x{b2w[1]}",
            lambda: gpu.conv2d_blocked(x4, w4, 1, 1, 1, b2w)[0, 0],
            kernel=gpu.make_blocked_conv2d_kernel(k, k, 1, 1, 1, b2w),
        ),
        cudnn("cuDNN float32", lambda: F.conv2d(tx, tw)[0, 0]),
    ]

    def expected():
        return ref.conv2d(x[None, None], w[None, None])[0, 0]

    return Case(
        f"image {k}x{k}",
        f"x 1x1x{size}x{size}, 1@{k}x{k}, valid",
        conv_flops(1, 1, 1, k, k, o, o),
        4 * (size * size + k * k + o * o),
        expected,
        impls,
        tolerance=1e-4,
    )


def layer_case(rng, name, xs, ws, pad, configs) -> Case:
    """A layer (N, C, H, W) * (F, C, KH, KW), stride 1: the blocked kernel in several shapes."""
    pad_h, pad_w = (pad, pad) if isinstance(pad, int) else pad
    x = rng.standard_normal(xs, dtype=np.float32)
    w = (rng.standard_normal(ws, dtype=np.float32) / np.float32(math.sqrt(np.prod(ws[1:])))).astype(
        np.float32
    )
    n, c, h, wd = xs
    f, _, kh, kw = ws
    oh, ow = h + 2 * pad_h - kh + 1, wd + 2 * pad_w - kw + 1
    xd, wdev = gpu.to_device(x), gpu.to_device(w)
    x_padded = gpu.pad_images(xd, (pad_h, pad_w))
    out = cuda.device_array((n, f, oh, ow), dtype=np.float32)
    tx, tw = tensor(x), tensor(w)
    impls = []
    for fb, rb, cb, block in configs:
        label = (
            f"blocked {fb} filters x {rb} rows/thread, {cb} channels/step, {block[0]}x{block[1]}"
        )

        def run(fb=fb, rb=rb, cb=cb, block=block):
            return gpu.conv2d_blocked(x_padded, wdev, fb, rb, cb, block, out=out)

        kernel = gpu.make_blocked_conv2d_kernel(kh, kw, fb, rb, cb, block)
        impls.append(Impl(label, run, kernel=kernel))
    if pad_h or pad_w:
        fb, rb, cb, block = configs[-1]

        def padded_and_run():
            gpu.pad_images(xd, (pad_h, pad_w), out=x_padded)
            return gpu.conv2d_blocked(x_padded, wdev, fb, rb, cb, block, out=out)

        impls.append(Impl("pad_images + the last blocked kernel above", padded_and_run))
    conv = lambda: F.conv2d(tx, tw, padding=(pad_h, pad_w))  # noqa: E731
    impls.append(cudnn("cuDNN float32", conv))
    if not SIM:
        impls.append(cudnn("cuDNN", conv, tf32=True))

    def expected():
        return ref.conv2d(x, w, padding=(pad_h, pad_w))

    shape = f"x {'x'.join(map(str, xs))}, {f}@{kh}x{kw}, stride 1, pad {pad}"
    return Case(
        name,
        shape,
        conv_flops(n, c, f, kh, kw, oh, ow),
        4 * (x.size + w.size + n * f * oh * ow),
        expected,
        impls,
    )


def pool_case(rng, xs, size, blocks) -> Case:
    x = rng.standard_normal(xs, dtype=np.float32)
    xd, tx = gpu.to_device(x), tensor(x)
    impls = [
        Impl(f"max_pool2d {b[0]}x{b[1]}x{b[2]}", lambda b=b: gpu.max_pool2d(xd, size, b))
        for b in blocks
    ]
    impls.append(cudnn("PyTorch max_pool2d", lambda: F.max_pool2d(tx, size)))
    n, c, h, w = xs
    outputs = n * c * (h // size) * (w // size)
    return Case(
        f"max pool {size}x{size}",
        f"x {'x'.join(map(str, xs))}, {size}x{size} stride {size}",
        outputs * size * size,  # comparisons, counted like FLOPs
        4 * (x.size + outputs),
        lambda: ref.max_pool2d(x, size),
        impls,
        tolerance=0.0,
    )


def dw_case(rng, name, xs, ws, pad, configs) -> Case:
    x = rng.standard_normal(xs, dtype=np.float32)
    w = rng.standard_normal(ws, dtype=np.float32)
    n, c, h, wd = xs
    f, _, kh, kw = ws
    oh, ow = h + 2 * pad - kh + 1, wd + 2 * pad - kw + 1
    dy = rng.standard_normal((n, f, oh, ow), dtype=np.float32)
    x_padded = gpu.pad_images(gpu.to_device(x), pad)
    dyd = gpu.to_device(dy)
    tx, tw, tdy = tensor(x), tensor(w), tensor(dy)
    impls = []
    for threads, chunk in configs:
        impls.append(
            Impl(
                f"dW atomics, {threads} threads, chunk {chunk}",
                lambda t=threads, ch=chunk: gpu.conv2d_dw_atomic(dyd, x_padded, kh, kw, t, ch),
                kernel=gpu.make_dw_block_sums_kernel(kh, kw, threads, True),
            )
        )
        impls.append(
            Impl(
                f"dW two passes, {threads} threads, chunk {chunk}",
                lambda t=threads, ch=chunk: gpu.conv2d_dw_two_pass(dyd, x_padded, kh, kw, t, ch),
                kernel=gpu.make_dw_block_sums_kernel(kh, kw, threads, False),
            )
        )

    def torch_dw():
        return torch.ops.aten.convolution_backward(
            tdy, tx, tw, [f], [1, 1], [pad, pad], [1, 1], False, [0, 0], 1, [False, True, False]
        )[1]

    impls.append(cudnn("cuDNN float32 weight gradient", torch_dw))

    def expected():
        return ref.conv2d_backward(dy, x, w, padding=pad)[1]

    return Case(
        name,
        f"x {'x'.join(map(str, xs))}, {f}@{kh}x{kw}, stride 1, pad {pad}",
        conv_flops(n, c, f, kh, kw, oh, ow),
        4 * (x.size + dy.size + w.size),
        expected,
        impls,
        check_repeatable=True,
    )


def cases(rng) -> tuple[list[Case], list[dict]]:
    skipped = [
        {
            "case": "stride-2 3x3",
            "shape": "x 32x32x56x56, 64@3x3, stride 2, pad 1",
            "reason": "the chapter's kernels are stride 1 (stride is the assignment's part)",
        }
    ]
    if SIM:
        return [
            single_channel_case(rng, 12, 3),
            layer_case(
                rng,
                "ResNet 3x3",
                (2, 3, 6, 5),
                (4, 3, 3, 3),
                1,
                [(2, 1, 2, (4, 4)), (4, 2, 2, (4, 2))],
            ),
            layer_case(rng, "1D k=7", (2, 2, 1, 12), (3, 2, 1, 7), (0, 3), [(2, 1, 2, (8, 1))]),
            pool_case(rng, (2, 2, 6, 6), 2, [(4, 4, 1)]),
            dw_case(rng, "ResNet 3x3 dW", (2, 2, 4, 4), (2, 2, 3, 3), 1, [(8, 16)]),
        ], skipped
    resnet = [
        (4, 1, 8, (16, 16)),
        (8, 1, 8, (16, 16)),
        (8, 2, 8, (32, 8)),
        (8, 4, 8, (32, 4)),
        (16, 2, 8, (32, 4)),
        (16, 4, 8, (32, 4)),
    ]
    return [
        single_channel_case(rng, 4096, 3),
        single_channel_case(rng, 4096, 5),
        layer_case(rng, "LeNet conv1", (64, 1, 32, 32), (6, 1, 5, 5), 0, [(6, 1, 1, (32, 8))]),
        layer_case(
            rng,
            "LeNet conv2",
            (64, 6, 14, 14),
            (16, 6, 5, 5),
            0,
            [(8, 1, 6, (16, 8)), (16, 2, 6, (16, 8))],
        ),
        layer_case(rng, "ResNet 3x3", (64, 64, 32, 32), (64, 64, 3, 3), 1, resnet),
        layer_case(
            rng,
            "1D k=7",
            (64, 16, 1, 1024),
            (32, 16, 1, 7),
            (0, 3),
            [(8, 1, 8, (128, 1)), (16, 1, 8, (128, 1)), (32, 1, 16, (64, 1))],
        ),
        pool_case(rng, (64, 64, 32, 32), 2, [(16, 16, 1), (32, 8, 1), (16, 16, 4)]),
        dw_case(
            rng, "ResNet 3x3 dW", (64, 64, 32, 32), (64, 64, 3, 3), 1, [(256, 2048), (256, 8192)]
        ),
    ], skipped


def time_rounds(case: Case) -> None:
    """Every implementation: check once, then ``--rounds`` timed rounds, alternating."""
    expected = case.expected()
    for impl in case.impls:
        torch.backends.cudnn.allow_tf32 = impl.tf32
        with torch.no_grad():
            got = on_host(impl.run())  # compiles numba kernels; never timed
        synchronize()
        scale = max(float(np.abs(expected).max()), 1e-30)
        err = float(np.abs(got.astype(np.float64) - expected).max()) / scale
        tolerance = 2e-2 if impl.tf32 else case.tolerance
        if got.shape != expected.shape or not err <= tolerance:
            raise AssertionError(
                f"{case.name}: {impl.label} is wrong (shape {got.shape}, relative error {err:.2e})"
            )
        if case.check_repeatable:
            with torch.no_grad():
                impl.repeatable = all(np.array_equal(on_host(impl.run()), got) for _ in range(3))
    calls = {}
    for impl in case.impls:  # how many calls make one round of --min-ms
        torch.backends.cudnn.allow_tf32 = impl.tf32
        synchronize()
        start = time.perf_counter()
        impl.run()
        synchronize()
        once = time.perf_counter() - start
        calls[impl.label] = max(1, min(1000, int(ARGS.min_ms / 1e3 / max(once, 1e-7))))
        if SIM:
            calls[impl.label] = 1
    for _ in range(ARGS.rounds):
        for impl in case.impls:
            torch.backends.cudnn.allow_tf32 = impl.tf32
            n = calls[impl.label]
            with torch.no_grad():
                synchronize()
                start = time.perf_counter()
                for _ in range(n):
                    impl.run()
                synchronize()
            impl.samples.append((time.perf_counter() - start) / n * 1e3)
    torch.backends.cudnn.allow_tf32 = False


def resources(kernel) -> dict | None:
    """Registers per thread and shared memory per block of a compiled kernel (GPU only)."""
    if SIM or kernel is None:
        return None
    try:
        return {
            "registers_per_thread": kernel.get_regs_per_thread(),
            "shared_bytes_per_block": kernel.get_shared_mem_per_block(),
            "local_bytes_per_thread": kernel.get_local_mem_per_thread(),
        }
    except Exception as error:  # an API that moved between numba and numba-cuda versions
        return {"unavailable": repr(error)}


def describe_gpu() -> dict:
    if SIM:
        return {"name": "numba CUDA simulator (no GPU)", "slug": "simulator"}
    dev = cuda.get_current_device()
    name = dev.name.decode() if isinstance(dev.name, bytes) else str(dev.name)
    slug = "-".join(name.lower().replace("_", " ").split())
    return {
        "name": name,
        "slug": slug,
        "compute_capability": list(dev.compute_capability),
        "multiprocessors": dev.MULTIPROCESSOR_COUNT,
        "max_clock_mhz": dev.CLOCK_RATE / 1e3,
        "memory_clock_mhz": dev.MEMORY_CLOCK_RATE / 1e3,
        "memory_bus_bits": dev.GLOBAL_MEMORY_BUS_WIDTH,
        "torch_name": torch.cuda.get_device_name(),
    }


def peak_of(info: dict) -> dict | None:
    if SIM:
        return None
    if info["name"] in SPEC_SHEETS:
        return dict(SPEC_SHEETS[info["name"]])
    lanes = FP32_LANES_PER_SM.get(tuple(info["compute_capability"]))
    if lanes is None:
        return None
    return {
        "fp32_tflops": info["multiprocessors"] * lanes * 2 * info["max_clock_mhz"] * 1e6 / 1e12,
        "bandwidth_tb_s": info["memory_clock_mhz"] * 1e6 * 2 * info["memory_bus_bits"] / 8 / 1e12,
        "source": f"computed from the device's attributes: multiprocessors x {lanes} float32 "
        "lanes x 2 FLOP x max clock; memory clock x 2 x bus width",
    }


def versions() -> dict:
    found = {"numpy": np.__version__, "numba": numba.__version__, "torch": torch.__version__}
    try:
        from importlib.metadata import version

        found["numba-cuda"] = version("numba-cuda")
    except Exception:
        found["numba-cuda"] = None
    if not SIM:
        found["cuda (torch)"] = torch.version.cuda
        found["cudnn"] = torch.backends.cudnn.version()
    return found


def main() -> None:
    if SIM:
        assert gpu.simulated(), "NUMBA_ENABLE_CUDASIM did not take effect"
    elif not (cuda.is_available() and torch.cuda.is_available()):
        raise SystemExit("no CUDA GPU for numba and PyTorch here; try --simulate")
    torch.backends.cudnn.benchmark = True
    info = describe_gpu()
    peak = peak_of(info)
    print(f"{info['name']}; peak: {peak}")
    rng = np.random.default_rng(0)
    chosen, skipped = cases(rng)
    chosen = [c for c in chosen if ARGS.only in c.name]
    rows = []
    header = f"{'case':<14} {'implementation':<62} {'ms':>16} {'GFLOP/s':>9} {'x cuDNN':>7}"
    print(header)
    print("-" * len(header))
    with gpu.quick_barriers() if SIM else contextlib.nullcontext():
        for case in chosen:
            time_rounds(case)
            base = next(i for i in case.impls if i.baseline and not i.tf32)
            base_ms = statistics.median(base.samples)
            for impl in case.impls:
                ms = statistics.median(impl.samples)
                gflops = case.flops / ms / 1e6
                row = {
                    "case": case.name,
                    "shape": case.shape,
                    "implementation": impl.label,
                    "baseline": impl.baseline,
                    "tf32": impl.tf32,
                    "ms": round(ms, 5),
                    "ms_range": [round(min(impl.samples), 5), round(max(impl.samples), 5)],
                    "flops": case.flops,
                    "bytes_min": case.bytes_min,
                    "gflops": round(gflops, 2),
                    "gb_s": round(case.bytes_min / ms / 1e6, 2),
                    "fraction_of_cudnn_fp32": round(base_ms / ms, 4),
                    "fraction_of_peak_fp32": None
                    if peak is None
                    else round(gflops / (peak["fp32_tflops"] * 1e3), 4),
                    "fraction_of_bandwidth": None
                    if peak is None
                    else round(case.bytes_min / ms / 1e6 / (peak["bandwidth_tb_s"] * 1e3), 4),
                    "resources": resources(impl.kernel),
                }
                if case.check_repeatable:
                    row["bitwise_repeatable"] = impl.repeatable
                rows.append(row)
                spread = (max(impl.samples) - min(impl.samples)) / ms
                print(
                    f"{case.name:<14} {impl.label:<62} {ms:9.4f} ({spread:4.0%}) {gflops:9.1f} "
                    f"{base_ms / ms:7.2f}",
                    flush=True,
                )
    result = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": "python bench/gpu_kernels.py " + " ".join(sys.argv[1:]),
        "simulated": SIM,
        "gpu": info,
        "peak": peak,
        "versions": versions(),
        "timing": f"wall clock, device synchronised, calls per round chosen to last "
        f"{ARGS.min_ms} ms, median of {ARGS.rounds} alternating rounds; float32 everywhere "
        "except the rows marked tf32",
        "rows": rows,
        "skipped": skipped,
    }
    if SIM:
        print(
            "simulate mode: the kernels ran and matched the reference; the times are not GPU times"
        )
    out = ARGS.out
    if out is None and not SIM:
        out = RESULTS / f"gpu-kernels-{info['slug']}.json"
    if out is not None and not ARGS.no_save:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=1) + "\n")
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
