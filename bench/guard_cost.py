"""What enforcing the parts' rules costs per submission: the source check and the run-time guard.

Runs the instructor's source notebook of an assignment, spliced as a learner's submission would
be, through the grader's runner (sandboxed from a warm runner when run as root, as grading is),
alternately with and without the run-time guard, and times the source check on its own. Prints
medians and writes ``bench/results/guard-cost.json``.

    .venv/bin/python bench/guard_cost.py                 # conv1d, 7 runs each
    .venv/bin/python bench/guard_cost.py --assignment pooling --repeat 11
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder.execution import sandbox  # noqa: E402
from autograder.execution.cells import Isolation, WarmRunners, run_cells  # noqa: E402
from autograder.execution.users import SandboxUser  # noqa: E402
from autograder.grading.sources import load_source  # noqa: E402
from autograder.grading.splicing import splice  # noqa: E402
from autograder.grading.student import guard_config, static_violations  # noqa: E402
from autograder.notebooks import source_notebooks  # noqa: E402
from autograder.protocol import ANSWER, MODE_VARIABLE, SEED_VARIABLE  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", default="conv1d")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    prepared = load_source(source_notebooks(args.assignment)[0])
    spliced = splice(prepared, prepared.source)
    user = SandboxUser() if sandbox.available() else None
    runners = WarmRunners()
    times: dict[str, list[float]] = {"guard": [], "no guard": []}
    for attempt in range(args.repeat + 1):  # the first round warms the runner up
        for label in ("guard", "no guard"):
            with tempfile.TemporaryDirectory() as scratch:
                isolation = (
                    Isolation(hide=prepared.hidden, user=user, warm=prepared.warm) if user else None
                )
                start = time.perf_counter()
                run = run_cells(
                    spliced.cells,
                    Path(scratch),
                    env={SEED_VARIABLE: "1", MODE_VARIABLE: ANSWER},
                    isolation=isolation,
                    runners=runners,
                    guard=guard_config(prepared, Path(scratch)) if label == "guard" else None,
                )
                seconds = time.perf_counter() - start
                assert all(o.status == "ok" for o in run.outcomes.values()), run.output[-2000:]
            if attempt:
                times[label].append(seconds)
    runners.close()
    static = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        static_violations(prepared, spliced)
        static.append(time.perf_counter() - start)
    result = {
        "assignment": args.assignment,
        "isolated": user is not None,
        "machine": platform.processor() or platform.machine(),
        "repeat": args.repeat,
        "run_with_guard_s": statistics.median(times["guard"]),
        "run_without_guard_s": statistics.median(times["no guard"]),
        "guard_s": statistics.median(times["guard"]) - statistics.median(times["no guard"]),
        "source_check_s": statistics.median(static),
        "spread_with_guard_s": [min(times["guard"]), max(times["guard"])],
        "spread_without_guard_s": [min(times["no guard"]), max(times["no guard"])],
    }
    print(json.dumps(result, indent=1))
    out = ROOT / "bench" / "results" / "guard-cost.json"
    out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
