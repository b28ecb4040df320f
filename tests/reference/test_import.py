"""Importing the reference must stay cheap: the grader's kernels import it for every notebook."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = """
import json, time
import numpy
start = time.perf_counter()
import autograder.reference as ref
elapsed = time.perf_counter() - start

import importlib, pkgutil
from numba.core.registry import CPUDispatcher
kernels = {}
for info in pkgutil.iter_modules(ref.__path__):
    module = importlib.import_module(f"autograder.reference.{info.name}")
    for name, value in vars(module).items():
        if isinstance(value, CPUDispatcher):
            kernels[f"{info.name}.{name}"] = len(value.signatures)
print(json.dumps({"elapsed": elapsed, "kernels": kernels}))
"""


def test_import_is_cheap_and_compiles_nothing():
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=True
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    # Measured about 0.2-0.5 s (mostly importing numba); the bound leaves room for a busy machine.
    assert report["elapsed"] < 3.0, report
    assert len(report["kernels"]) >= 8, report  # the scan found the numba kernels
    compiled = {name: n for name, n in report["kernels"].items() if n}
    assert not compiled, f"kernels compiled at import time: {compiled}"
