"""Plumbing for the chapter "Making convolution fast" (not the lesson itself).

* :func:`find_repo_root`: the repository's root folder from wherever a page runs (the book
  executes a page in its own chapter folder);
* :func:`load_kernel_results`: ``bench/results/kernels.json``, written by
  ``python bench/kernels.py``, read and checked;
* :func:`kernel_table`, :func:`case_table` and :func:`kernel_figure`: that file as Markdown
  tables (the measurements; what each case is) and a plot;
* :func:`speed_figure`: GFLOP/s of several implementations on a log scale, with the
  machine's SGEMM rate as a line;
* :func:`cpu_description`: the processor's name, reported clock and vector extensions.

Every number the chapter shows is measured by its own code or read from that JSON file;
nothing here invents one.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

KERNELS_JSON = Path("bench") / "results" / "kernels.json"
CASE_KEYS = (
    "name",
    "op",
    "direction",
    "shape",
    "flops",
    "ours_ms",
    "torch_ms",
    "ours_gflops",
    "torch_gflops",
    "ratio_to_torch",
    "fraction_of_sgemm",
    "method",
)


def find_repo_root(start: str | Path | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: the working folder) that holds
    ``pyproject.toml`` and the ``autograder`` package.

    Raises:
        FileNotFoundError: when no such folder exists up to the file system's root.
    """
    here = Path.cwd() if start is None else Path(start)
    here = here.resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "autograder").is_dir():
            return folder
    raise FileNotFoundError(f"no repository root (pyproject.toml + autograder/) above {here}")


def load_kernel_results(path: str | Path) -> dict:
    """Read the JSON written by ``bench/kernels.py`` and check the fields the chapter uses.

    Returns the parsed dictionary: ``date``, ``machine`` (``cpu``, ``cores``, ``threads``,
    ``numpy_blas_env``), ``sgemm`` (``n``, ``ms``, ``gflops``) and ``cases``, a list of dicts
    with the keys in :data:`CASE_KEYS` (``ours_gflops`` and ``torch_gflops`` are ``None`` for
    pooling, which does no multiply-adds).

    Raises:
        FileNotFoundError: the file does not exist (run ``python bench/kernels.py``).
        ValueError: the file is not JSON or a field is missing; the message names it.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} does not exist: run `python bench/kernels.py` to measure the kernels"
        )
    try:
        results = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from error
    if not isinstance(results, dict):
        raise ValueError(f"{path}: expected a JSON object at the top level")
    for key, fields in (("machine", ("cpu", "cores", "threads")), ("sgemm", ("n", "ms", "gflops"))):
        if not isinstance(results.get(key), dict):
            raise ValueError(f"{path}: missing object '{key}'")
        for field in fields:
            if field not in results[key]:
                raise ValueError(f"{path}: missing '{key}.{field}'")
    if "date" not in results:
        raise ValueError(f"{path}: missing 'date'")
    cases = results.get("cases")
    if not isinstance(cases, list) or not cases:
        raise ValueError(f"{path}: 'cases' must be a non-empty list")
    for i, case in enumerate(cases):
        missing = [key for key in CASE_KEYS if key not in case]
        if missing:
            raise ValueError(f"{path}: case {i} misses {', '.join(missing)}")
    return results


def _number(value: float | None, fmt: str) -> str:
    return "–" if value is None else format(value, fmt)


def _three_digits(value: float | None) -> str:
    """Three significant digits with trailing zeros kept (0.324, 1.00, 37.6, 153); "–" for None."""
    if value is None:
        return "–"
    return format(
        value, ".3f" if value < 1 else ".2f" if value < 10 else ".1f" if value < 100 else ".0f"
    )


def kernel_table(results: dict) -> str:
    """The measurements as a Markdown table: case, direction, times, ratio, GFLOP/s."""
    lines = [
        "| case | direction | ours (ms) | PyTorch (ms) | PyTorch time / ours "
        "| ours (GFLOP/s) | PyTorch (GFLOP/s) | ours / SGEMM |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for case in results["cases"]:
        lines.append(
            f"| {case['name']} | {case['direction']} "
            f"| {_three_digits(case['ours_ms'])} | {_three_digits(case['torch_ms'])} "
            f"| {_number(case['ratio_to_torch'], '.2f')} "
            f"| {_three_digits(case['ours_gflops'])} "
            f"| {_three_digits(case['torch_gflops'])} "
            f"| {_number(case['fraction_of_sgemm'], '.0%')} |"
        )
    return "\n".join(lines)


def case_table(results: dict) -> str:
    """What each case of the measurements is, as a Markdown table: case, shape, and how our
    kernel computes it, one line per direction (forward, backward)."""
    lines = ["| case | shape | direction | our method |", "| --- | --- | --- | --- |"]
    previous = None
    for case in results["cases"]:
        same = case["name"] == previous
        name, shape = ("", "") if same else (case["name"], case["shape"])
        lines.append(f"| {name} | {shape} | {case['direction']} | {case['method']} |")
        previous = case["name"]
    return "\n".join(lines)


def speed_figure(
    names: list[str],
    gflops: list[float],
    limits: dict[str, float],
    title: str,
    notes: dict[str, str] | None = None,
):
    """Horizontal bars of GFLOP/s (log scale), one per implementation, top to bottom, with a
    dashed vertical line per entry of ``limits`` (e.g. ``{"SGEMM, 1 thread": 103.0}``).
    ``notes`` adds a text after a bar's value (e.g. ``"extrapolated"``)."""
    import matplotlib.pyplot as plt

    notes = notes or {}
    fig, ax = plt.subplots(figsize=(8.5, 0.5 * len(names) + 1.6), facecolor="white")
    ax.set_facecolor("white")
    y = np.arange(len(names))
    ax.barh(y, gflops, color="tab:blue")
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.set_xscale("log")
    styles = ["--", ":", "-."]
    colors = ["tab:red", "tab:orange", "tab:green"]
    for i, (label, value) in enumerate(limits.items()):
        ax.axvline(
            value, color=colors[i % 3], linestyle=styles[i % 3], label=f"{label}: {value:.0f}"
        )
    for i, (name, value) in enumerate(zip(names, gflops, strict=True)):
        text = f"{value:.3g}" + (f" ({notes[name]})" if name in notes else "")
        ax.text(
            value * 1.15,
            i,
            text,
            va="center",
            fontsize=9,
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 1},
        )
    top = max([*gflops, *limits.values()])
    ax.set_xlim(min(gflops) / 2, top * 12)
    ax.set_xlabel("GFLOP/s (log scale; 1 multiply-add = 2 FLOP)")
    ax.set_title(title)
    ax.legend(loc="upper right", fontsize=9, framealpha=1)
    fig.tight_layout()
    return fig


def kernel_figure(results: dict):
    """Ours against PyTorch in GFLOP/s for every convolution case of ``results`` (pooling
    has no multiply-adds and is left out), with the SGEMM rate of the same run as a line."""
    import matplotlib.pyplot as plt

    cases = [c for c in results["cases"] if c["ours_gflops"] is not None]
    labels = [f"{c['name']}\n{c['direction']}" for c in cases]
    ours = [c["ours_gflops"] for c in cases]
    theirs = [c["torch_gflops"] for c in cases]
    sgemm = results["sgemm"]["gflops"]
    fig, ax = plt.subplots(figsize=(10, 4.2), facecolor="white")
    ax.set_facecolor("white")
    x = np.arange(len(cases))
    ax.bar(x - 0.2, ours, width=0.4, label="ours (autograder.reference)", color="tab:blue")
    ax.bar(x + 0.2, theirs, width=0.4, label="PyTorch", color="tab:orange")
    ax.axhline(
        sgemm,
        color="tab:red",
        linestyle="--",
        label=f"NumPy SGEMM {results['sgemm']['n']}³: {sgemm:.0f}",
    )
    ax.set_xticks(x, labels, fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("GFLOP/s (log scale)")
    machine = results["machine"]
    ax.set_title(
        f"bench/kernels.py, {results['date'][:10]}: {machine['cpu']}, "
        f"{machine['threads']} thread(s)"
    )
    ax.legend(fontsize=9, framealpha=1)
    fig.tight_layout()
    return fig


def cpu_description(cpuinfo: str | Path = "/proc/cpuinfo") -> dict:
    """``{"model": ..., "mhz": float | None, "flags": set[str]}`` for the first processor listed
    in ``cpuinfo`` (Linux). On other systems (no such file): the platform's name, no clock,
    no flags."""
    import platform

    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return {"model": platform.processor() or platform.machine(), "mhz": None, "flags": set()}
    info: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if info:
                break
            continue
        key, _, value = line.partition(":")
        info.setdefault(key.strip(), value.strip())
    mhz = info.get("cpu MHz")
    return {
        "model": info.get("model name", platform.machine()),
        "mhz": float(mhz) if mhz else None,
        "flags": set(info.get("flags", "").split()),
    }
