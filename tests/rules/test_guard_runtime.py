"""The run-time guard: what the source check cannot see is refused in the learner's process.

Each test runs in a fresh interpreter (the guard patches the process it runs in).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

SETUP = """
import json, os, sys, numpy as np
from autograder.rules.guard import Guard, ForbiddenError, cell_filename
from autograder.rules.catalogue import expand, DEFAULT_FORBID
rule = sorted(expand([*DEFAULT_FORBID, "@library-convolutions"]))
guard = Guard({cell_filename(3): {"index": 3, "grade_id": "part", "forbidden": rule}}, FOLDER)
guard.install()
def learner(code):
    scope = {"np": np}
    exec(compile(code, cell_filename(3), "exec"), scope)
    return scope
def tests(code, scope):
    exec(compile(code, cell_filename(4), "exec"), scope)
"""


def run(tmp_path, body: str) -> dict:
    script = "FOLDER = " + repr(str(tmp_path)) + "\n" + SETUP + textwrap.dedent(body)
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "learner_code, name",
    [
        ("def f(x):\n    return np.convolve(x, x)", "numpy.convolve"),
        ("def f(x):\n    return getattr(np, 'corr' + 'elate')(x, x)", "numpy.correlate"),
        ("def f(x):\n    return np.ma.correlate(x, x)", "numpy.correlate"),
        ("def f(x):\n    import torch\n    return x", "torch"),
        ("def f(x):\n    return __import__('scipy.sig' + 'nal')", "scipy.signal"),
        ("def f(x):\n    import importlib\n    return importlib.import_module('gc')", "importlib"),
        ("def f(x):\n    return np.fft.fft(x)", "numpy.fft.fft"),
    ],
)
def test_learner_code_is_refused_and_the_refusal_recorded(tmp_path, learner_code, name):
    result = run(
        tmp_path,
        f"""
        scope = learner({learner_code!r})
        try:
            scope["f"](np.ones(3))
            refused = False
        except ForbiddenError:
            refused = True
        print(json.dumps({{"refused": refused, "seen": guard.take_violations()}}))
    """,
    )
    assert result["refused"]
    assert result["seen"][0]["name"] == name and result["seen"][0]["grade_id"] == "part"


def test_a_module_written_to_the_learners_folder_is_the_learners_code(tmp_path):
    (tmp_path / "helper.py").write_text(
        "import numpy\ndef corr(a):\n    return numpy.correlate(a, a)\n"
    )
    result = run(
        tmp_path,
        """
        sys.path.insert(0, FOLDER)
        scope = learner("import helper\\ndef f(x):\\n    return helper.corr(x)")
        try:
            scope["f"](np.ones(3))
            refused = False
        except ForbiddenError:
            refused = True
        print(json.dumps({"refused": refused, "seen": guard.take_violations()}))
    """,
    )
    assert result["refused"] and result["seen"][0]["name"] == "numpy.correlate"


def test_tests_and_locked_helpers_may_call_what_the_learner_may_not(tmp_path):
    result = run(
        tmp_path,
        """
        scope = learner("def f(x):\\n    return x + 1")
        tests("y = np.convolve(f(np.ones(2)), np.ones(2))\\nimport json as j2", scope)
        print(json.dumps({"y": scope["y"].tolist(), "seen": guard.take_violations()}))
    """,
    )
    assert result == {"y": [2.0, 4.0, 2.0], "seen": []}


def test_a_caught_refusal_still_counts(tmp_path):
    result = run(
        tmp_path,
        """
        scope = learner(
            "def f(x):\\n    try:\\n        return np.convolve(x, x)\\n"
            "    except Exception:\\n        return x")
        scope["f"](np.ones(3))
        print(json.dumps({"seen": [v["name"] for v in guard.take_violations()]}))
    """,
    )
    assert result["seen"] == ["numpy.convolve"]
