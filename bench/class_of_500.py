"""Grade a class of 500 conv2d submissions, honest and broken, and print the wall-clock time.

Run from the repository root (see bench/README.md)::

    .venv/bin/python bench/class_of_500.py [--students 500] [--workers 2] [--seed 4321]

The class is deterministic: 80% honest submissions (the instructor's source, each made unique
by a comment naming its student so that no cache can share work between them), 15% with one
realistic mistake (six kinds, in turn: a forgotten bias, the stride ignored, a float output
shape, loops where a matrix product is asked for, images and channels mixed up, FLOPs counted
as multiply-adds), and 5% that break the grader's way: a crash (``os._exit``), an exception at
the top of a cell, the untouched release, a file that is not a notebook, and two that loop
forever (each pays the cell time limit, ``--timeout``). It runs ``python -m autograder grade
conv2d`` once, as a subprocess, and prints the wall-clock time, the time per submission, and
the scores by kind (the honest ones must all earn full marks). Results go to
``bench/results/class_of_500.json``.
"""

from __future__ import annotations

import argparse
import collections
import copy
import csv
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "solutions" / "conv2d" / "conv2d.ipynb"
# the student version, in the chapter folder the source names
RELEASED = ROOT / json.loads(SOURCE.read_text())["metadata"]["autograder"]["chapter"] / SOURCE.name
RESULTS = ROOT / "bench" / "results" / "class_of_500.json"

LOOP, SHAPE, ONE, COST = (
    "conv2d-loop-solution",
    "output-shape-solution",
    "conv1x1-solution",
    "cost-solution",
)


def load(path: Path) -> dict:
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if isinstance(cell["source"], list):
            cell["source"] = "".join(cell["source"])
    return nb


def edit(nb: dict, gid: str, old: str, new: str) -> dict:
    nb = copy.deepcopy(nb)
    for cell in nb["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == gid:
            if old not in cell["source"]:
                raise SystemExit(f"{SOURCE}: the cell {gid!r} no longer holds {old!r}")
            cell["source"] = cell["source"].replace(old, new)
            return nb
    raise SystemExit(f"{SOURCE}: no cell {gid!r}")


WRONG = {
    "forgets-bias": (LOOP, "            if b is not None:\n", "            if False:\n"),
    "wrong-stride": (
        LOOP,
        "xp[n, :, i * sh : i * sh + kh, j * sw : j * sw + kw]",
        "xp[n, :, i : i + kh, j : j + kw]",
    ),
    "true-division": (SHAPE, "int((h + 2 * ph - kh) // sh", "((h + 2 * ph - kh) / sh"),
    "conv1x1-loops": (
        ONE,
        "    columns = x.transpose(1, 0, 2, 3).reshape(c, n * h * wd)\n"
        "    y = (m @ columns).reshape(m.shape[0], n, h, wd).transpose(1, 0, 2, 3)\n",
        "    y = np.zeros((n, m.shape[0], h, wd))\n"
        "    for i in range(h):\n"
        "        for j in range(wd):\n"
        "            y[:, :, i, j] = x[:, :, i, j] @ m.T\n",
    ),
    "conv1x1-no-transpose": (
        ONE,
        "x.transpose(1, 0, 2, 3).reshape(c, n * h * wd)",
        "x.reshape(c, n * h * wd)",
    ),
    "flops-are-macs": (COST, "int(2 * c_in", "int(c_in"),
}
HOSTILE = {
    "crash": (
        LOOP,
        "    ### BEGIN SOLUTION\n",
        "    ### BEGIN SOLUTION\n    import os\n    os._exit(3)\n",
    ),
    "raises-at-top": (SHAPE, "def ", "raise RuntimeError('not done')\n\ndef "),
    "loops-forever": (
        ONE,
        "    ### BEGIN SOLUTION\n",
        "    ### BEGIN SOLUTION\n    while True:\n        pass\n",
    ),
}


def unique(nb: dict, student: str) -> dict:
    """``nb`` with a comment naming ``student`` at the top of its first solution cell."""
    nb = copy.deepcopy(nb)
    for cell in nb["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            cell["source"] = f"# {student}\n" + cell["source"]
            return nb
    return nb


def build_class(folder: Path, students: int) -> dict[str, str]:
    """Write the submissions under ``folder``; return student id -> kind."""
    source, released = load(SOURCE), load(RELEASED)
    kinds: dict[str, str] = {}
    n_broken = max(6, students * 5 // 100)
    n_wrong = students * 15 // 100
    hostile = ["crash", "raises-at-top", "release", "not-a-notebook", "loops-forever"]
    hostile += ["loops-forever"] if n_broken > 5 else []
    hostile += ["crash", "raises-at-top", "release", "not-a-notebook"] * n_broken
    hostile = hostile[:n_broken]
    wrong = [list(WRONG)[i % len(WRONG)] for i in range(n_wrong)]
    plan = hostile + wrong + ["honest"] * (students - len(hostile) - len(wrong))
    for number, kind in enumerate(plan):
        student = f"s{number:04d}"
        kinds[student] = kind
        path = folder / student / "conv2d" / "conv2d.ipynb"
        path.parent.mkdir(parents=True)
        if kind == "not-a-notebook":
            path.write_text('{"cells": [', encoding="utf-8")
            continue
        if kind == "honest":
            nb = source
        elif kind == "release":
            nb = released
        elif kind in WRONG:
            nb = edit(source, *WRONG[kind])
        else:
            nb = edit(source, *HOSTILE[kind])
        path.write_text(json.dumps(unique(nb, student)), encoding="utf-8")
    return kinds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=4321)
    parser.add_argument("--timeout", type=int, default=10, help="seconds one cell may run")
    parser.add_argument("--no-save", action="store_true", help="print, do not write the JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="class-of-500-") as scratch:
        submissions, out = Path(scratch) / "submissions", Path(scratch) / "out"
        kinds = build_class(submissions, args.students)
        command = [
            sys.executable,
            "-m",
            "autograder",
            "grade",
            "conv2d",
            "--submissions",
            str(submissions),
            "--out",
            str(out),
            "--workers",
            str(args.workers),
            "--seed",
            str(args.seed),
            "--timeout",
            str(args.timeout),
        ]
        start = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if done.returncode != 0 or not (out / "grades.csv").exists():
            raise SystemExit(f"grading failed ({done.returncode}):\n{done.stderr[-3000:]}")
        with (out / "grades.csv").open(newline="", encoding="utf-8") as handle:
            rows = {row["student_id"].lstrip("'"): row for row in csv.DictReader(handle)}
        shutil.rmtree(submissions)
    by_kind: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for student, kind in kinds.items():
        row = rows[student]
        by_kind[kind][f"{float(row['score']):g}/{float(row['max_score']):g} {row['status']}"] += 1
    honest = [rows[s] for s, k in kinds.items() if k == "honest"]
    full = sum(float(r["score"]) == float(r["max_score"]) for r in honest)
    print(
        f"{len(kinds)} submissions graded in {wall:.1f} s on {args.workers} workers "
        f"({wall / len(kinds) * 1000:.0f} ms per submission)"
    )
    print(f"honest submissions with full marks: {full} of {len(honest)}")
    for kind, counts in sorted(by_kind.items()):
        print(f"  {kind:<22} {dict(counts)}")
    if full != len(honest):
        raise SystemExit("an honest submission lost points")
    record = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count()},
        "command": " ".join(["bench/class_of_500.py", *sys.argv[1:]]),
        "students": len(kinds),
        "workers": args.workers,
        "cell_timeout_s": args.timeout,
        "wall_s": round(wall, 1),
        "ms_per_submission": round(wall / len(kinds) * 1000),
        "scores_by_kind": {k: dict(v) for k, v in sorted(by_kind.items())},
    }
    if not args.no_save:
        RESULTS.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
