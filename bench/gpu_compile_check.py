"""Compile every kernel of ``cnnbook.gpu`` for a real GPU, on a machine without one.

The simulator runs kernels as Python, so it accepts code that numba's CUDA compiler would
refuse (a call it cannot type, a shared array of unknown size) and says nothing about float64
arithmetic or register spills. This script compiles each kernel to PTX with numba's real CUDA
target, which needs NVIDIA's NVVM library but no GPU and no driver, and reports per kernel
whether the PTX has float64 instructions or local memory (spilled arrays). With ``--ptxas``
it also assembles the PTX and prints registers per thread and shared memory per block.

NVVM and ptxas come in a wheel from PyPI (not a dependency of the course)::

    pip download --no-deps --only-binary=:all: "nvidia-cuda-nvcc-cu12==12.6.*" -d /tmp/nvcc
    python -m zipfile -e /tmp/nvcc/*.whl /tmp/nvcc/x && chmod +x /tmp/nvcc/x/nvidia/cuda_nvcc/bin/*
    CUDA_HOME=/tmp/nvcc/x/nvidia/cuda_nvcc .venv/bin/python bench/gpu_compile_check.py \\
        --ptxas /tmp/nvcc/x/nvidia/cuda_nvcc/bin/ptxas

Exits 1 if a kernel fails to compile or has float64 instructions or local memory.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cc", default="9.0", help="compute capability (default 9.0: H100/H200)")
    parser.add_argument("--ptxas", help="path of ptxas, for registers and shared memory")
    return parser.parse_args()


def assemble(ptxas: str, ptx: str, cc: tuple[int, int]) -> subprocess.CompletedProcess:
    with tempfile.NamedTemporaryFile("w", suffix=".ptx", delete=False) as handle:
        handle.write(ptx)
    try:
        return subprocess.run(
            [ptxas, f"-arch=sm_{cc[0]}{cc[1]}", "-v", handle.name, "-o", os.devnull],
            capture_output=True,
            text=True,
        )
    finally:
        os.unlink(handle.name)


def main() -> int:
    args = parse_args()
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        raise SystemExit("unset NUMBA_ENABLE_CUDASIM: this compiles for a real GPU")
    sys.path.insert(0, str(ROOT))
    from numba import cuda, types

    from cnnbook import gpu

    cc = tuple(int(part) for part in args.cc.split("."))
    a2, a4, a5 = (types.Array(types.float32, n, "C") for n in (2, 4, 5))
    i64 = types.int64
    kernels = {
        "conv2d_naive_kernel": (gpu.conv2d_naive_kernel, (a2, a2, a2)),
        "conv2d_blocks2d_kernel": (gpu.conv2d_blocks2d_kernel, (a2, a2, a2)),
        "conv2d_uncoalesced_kernel": (gpu.conv2d_uncoalesced_kernel, (a2, a2, a2)),
        "tiled 3x3, tile 16": (gpu.make_tiled_conv2d_kernel(3, 3, 16), (a2, a2, a2)),
        "tiled 5x5, tile 32": (gpu.make_tiled_conv2d_kernel(5, 5, 32), (a2, a2, a2)),
        "pad_images_kernel": (gpu.pad_images_kernel, (a4, a4, i64, i64)),
        "blocked 3x3, 8 filters x 1 row": (
            gpu.make_blocked_conv2d_kernel(3, 3, 8, 1, 8, (16, 16)),
            (a4, a4, a4),
        ),
        "blocked 3x3, 8 filters x 4 rows": (
            gpu.make_blocked_conv2d_kernel(3, 3, 8, 4, 8, (32, 4)),
            (a4, a4, a4),
        ),
        "blocked 3x3, 16 filters x 4 rows": (
            gpu.make_blocked_conv2d_kernel(3, 3, 16, 4, 8, (32, 4)),
            (a4, a4, a4),
        ),
        "max_pool2d_kernel": (gpu.max_pool2d_kernel, (a4, a4, i64)),
        "dW block sums, atomics": (
            gpu.make_dw_block_sums_kernel(3, 3, 256, True),
            (a4, a4, a4, i64),
        ),
        "dW block sums, pass 1": (
            gpu.make_dw_block_sums_kernel(3, 3, 256, False),
            (a4, a4, a5, i64),
        ),
        "sum_partials_kernel": (gpu.sum_partials_kernel, (a5, a4)),
    }
    failed = False
    for name, (kernel, signature) in kernels.items():
        try:
            ptx, _ = cuda.compile_ptx(kernel.py_func, signature, cc=cc)
        except Exception as error:
            print(f"{name:<34} FAILED to compile: {error}")
            failed = True
            continue
        f64 = len(re.findall(r"\.f64\b", ptx))
        local = len(re.findall(r"\.local\b", ptx))
        line = f"{name:<34} ok, float64 instructions: {f64}, local memory: {local}"
        failed |= bool(f64 or local)
        if args.ptxas:
            run = assemble(args.ptxas, ptx, cc)
            # NVVM may label its PTX with a newer ISA version than this ptxas knows, though
            # it uses nothing newer: relabel it with the version ptxas names, once.
            newest = re.search(r"current version is '([\d.]+)'", run.stderr)
            if run.returncode and newest:
                version = f".version {newest.group(1)}"
                ptx = re.sub(r"^\.version \S+", version, ptx, count=1, flags=re.M)
                run = assemble(args.ptxas, ptx, cc)
            used = re.search(r"Used (\d+) registers", run.stderr)
            shared = re.search(r"(\d+) bytes smem", run.stderr)
            spills = re.search(r"(\d+) bytes spill stores", run.stderr)
            if run.returncode or not used:
                line += f"; ptxas failed: {run.stderr.strip()[-300:]}"
                failed = True
            else:
                line += f"; {used.group(1)} registers"
                line += f", {shared.group(1) if shared else 0} bytes shared"
                line += f", {spills.group(1) if spills else '?'} bytes spilled"
        print(line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
