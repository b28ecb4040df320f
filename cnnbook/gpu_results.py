"""Plumbing for the chapter "Convolution on a GPU" (not the lesson itself).

* :func:`load_gpu_results`: every ``bench/results/gpu-kernels-*.json`` written by
  ``python bench/gpu_kernels.py`` on a real GPU, read and checked (files written in the
  simulator, ``"simulated": true``, are not GPU measurements and are left out);
* :func:`gpu_results_table`: one such file as a Markdown table;
* :func:`roofline_figure`: the roofline of a GPU (peak and bandwidth given as parameters) with
  points placed on it.

Nothing here measures or invents a number: the tables and figures show what a results file or
the page's own code hands them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

GPU_RESULTS_GLOB = "gpu-kernels-*.json"
ROW_KEYS = (
    "case",
    "shape",
    "implementation",
    "baseline",
    "tf32",
    "ms",
    "gflops",
    "gb_s",
    "fraction_of_cudnn_fp32",
    "fraction_of_peak_fp32",
)


def load_gpu_results(folder: str | Path) -> list[dict]:
    """The GPU results files in ``folder`` (``bench/results``), oldest name first.

    Each is the dictionary ``bench/gpu_kernels.py`` wrote: ``date``, ``command``, ``gpu``
    (``name`` ...), ``peak`` (``fp32_tflops``, ``bandwidth_tb_s``, ``source``, or ``None``),
    ``versions`` and ``rows`` (dicts with the keys in :data:`ROW_KEYS`).

    Raises:
        ValueError: a file is not JSON or misses a field; the message names the file and field.
    """
    found = []
    for path in sorted(Path(folder).glob(GPU_RESULTS_GLOB)):
        try:
            result = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            raise ValueError(f"{path} is not valid JSON: {error}") from error
        if not isinstance(result, dict):
            raise ValueError(f"{path}: expected a JSON object at the top level")
        if result.get("simulated", False):
            continue
        for key in ("date", "command", "gpu", "peak", "versions", "rows"):
            if key not in result:
                raise ValueError(f"{path}: missing '{key}'")
        if not isinstance(result["gpu"], dict) or "name" not in result["gpu"]:
            raise ValueError(f"{path}: missing 'gpu.name'")
        if not isinstance(result["rows"], list) or not result["rows"]:
            raise ValueError(f"{path}: 'rows' must be a non-empty list")
        for i, row in enumerate(result["rows"]):
            missing = [key for key in ROW_KEYS if key not in row]
            if missing:
                raise ValueError(f"{path}: row {i} misses {', '.join(missing)}")
        result["file"] = path.name
        found.append(result)
    return found


def _three_digits(value: float | None) -> str:
    if value is None:
        return "–"
    return format(
        value, ".3f" if value < 1 else ".2f" if value < 10 else ".1f" if value < 100 else ".0f"
    )


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}" if value >= 0.01 else f"{value:.1%}"


def gpu_results_table(result: dict) -> str:
    """One results file as a Markdown table, one line per implementation and case."""
    lines = [
        "| case | implementation | ms | GFLOP/s | GB/s | of cuDNN float32 | of float32 peak |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    previous = None
    for row in result["rows"]:
        case = "" if row["case"] == previous else row["case"]
        previous = row["case"]
        lines.append(
            f"| {case} | {row['implementation']} | {_three_digits(row['ms'])} "
            f"| {_three_digits(row['gflops'])} | {_three_digits(row['gb_s'])} "
            f"| {_percent(row['fraction_of_cudnn_fp32'])} "
            f"| {_percent(row['fraction_of_peak_fp32'])} |"
        )
    return "\n".join(lines)


def roofline_figure(
    peak_flops: float,
    bandwidth: float,
    points: dict[str, tuple[float, float | None]],
    title: str,
):
    """Attainable FLOP/s = min(peak, intensity x bandwidth) on log-log axes.

    ``points`` maps a label to ``(intensity in FLOP/byte, FLOP/s or None)``: with ``None`` the
    point sits on the roof (the best its intensity allows); with a number, at that rate.
    """
    import matplotlib.pyplot as plt

    intensities = np.logspace(-2, 3, 200)
    roof = np.minimum(peak_flops, intensities * bandwidth)
    fig, ax = plt.subplots(figsize=(7.5, 4.5), facecolor="white")
    ax.set_facecolor("white")
    ax.loglog(
        intensities, roof / 1e12, color="black", label="roof: min(peak, intensity × bandwidth)"
    )
    ridge = peak_flops / bandwidth
    ax.axvline(ridge, color="grey", linestyle=":", label=f"ridge: {ridge:.3g} FLOP/byte")
    markers = iter("osD^vP*X")
    for label, (intensity, rate) in points.items():
        y = min(peak_flops, intensity * bandwidth) if rate is None else rate
        ax.plot(intensity, y / 1e12, next(markers), markersize=8, label=label)
    ax.set_xlabel("arithmetic intensity (FLOP per byte of memory traffic, log scale)")
    ax.set_ylabel("attainable TFLOP/s (log scale)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, framealpha=1, loc="lower right")
    fig.tight_layout()
    return fig
