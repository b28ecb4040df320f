"""Grade the same 40 conv1d submissions with plain ``nbgrader autograde`` and with our grader.

Run from the repository root (see bench/README.md)::

    .venv/bin/python bench/grader_vs_nbgrader.py [--runs 3] [--timeout 10] [--seed 12345]

The script writes a deterministic class of 40 submissions into a temporary folder (20 correct
ones in several styles, 10 with a wrong part, 5 that crash or hang, 5 empty or invalid), sets up
a throwaway nbgrader course next to it (``source/conv1d/conv1d.ipynb`` = our source notebook,
``nbgrader generate_assignment``, ``submitted/<student>/conv1d/conv1d.ipynb``) and then, for each
run, times

- ``nbgrader autograde conv1d`` (sequential, per-cell timeout ``--timeout``), and
- ``python -m autograder grade conv1d --workers 2 --timeout ...`` (same per-cell timeout),

both as subprocesses of this script, from the same venv, with the same seed for the hidden tests
(``AUTOGRADER_SEED`` reaches nbgrader's kernels through the environment). It prints both
wall-clock times, per-submission times, the ratio, the per-student scores (which must be
identical on the honest submissions) and a table of the differences on the broken ones, and
saves everything to ``bench/results/grader_vs_nbgrader.json``.
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "solutions" / "conv1d" / "conv1d.ipynb"
RELEASED = ROOT / "chapters" / "02-conv1d" / "conv1d.ipynb"
PYTHON = sys.executable
NBGRADER = str(Path(PYTHON).with_name("nbgrader"))
RESULTS = ROOT / "bench" / "results" / "grader_vs_nbgrader.json"
# nbgrader runs `alembic` from PATH: put the venv's bin folder first
VENV_ENV = {**os.environ, "PATH": f"{Path(PYTHON).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


# --- the class ---------------------------------------------------------------------------------


def _load(path: Path) -> dict:
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if isinstance(cell["source"], list):
            cell["source"] = "".join(cell["source"])
    return nb


def _edit(nb: dict, gid: str, change) -> dict:
    nb = copy.deepcopy(nb)
    for cell in nb["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == gid:
            before = cell["source"]
            cell["source"] = change(before)
            assert cell["source"] != before, f"edit of {gid} changed nothing"
            return nb
    raise KeyError(gid)


def _replace(gid: str, old: str, new: str):
    def change(nb: dict) -> dict:
        return _edit(nb, gid, lambda s: _must_replace(s, old, new))

    return change


def _must_replace(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new)


LOOP = "conv1d-loop-solution"
IM2COL = "im2col-solution"
SAME = "same-padding-solution"
OUTLEN = "output-length-solution"

# Correct in different styles (all must earn 15/15 with both graders).
CORRECT_STYLES = {
    "as-is": lambda nb: nb,
    "np-pad": _replace(
        LOOP,
        "padded = np.concatenate([np.zeros(before), x, np.zeros(after)])",
        "padded = np.pad(x, (before, after))",
    ),
    # (sliding_window_view would be a library's windows: conv1d's rules forbid stride_tricks)
    "outer-sum-index": _replace(
        IM2COL,
        "    idx = np.arange(o)[:, None] * stride + np.arange(k)[None, :]\n    return x[idx]",
        "    return x[np.add.outer(stride * np.arange(o), np.arange(k))]",
    ),
    "dot-product-loop": _replace(
        LOOP,
        "        total = 0.0\n        for j in range(k):\n            total += w[j] * "
        "padded[i * stride + j]\n        y[i] = total",
        "        y[i] = padded[i * stride:i * stride + k] @ w",
    ),
    "chatty": lambda nb: _edit(nb, OUTLEN, lambda s: "print('hello from my solution')\n" + s),
}

# One part (or more) wrong, deterministically: the same score with any seed and either grader.
WRONG = {
    "wrong-stride": _replace(LOOP, "i * stride + j", "i + j"),
    "float-output-length": _replace(OUTLEN, "(n + p - k) // s + 1", "(n + p - k) / s + 1"),
    "same-pad-extra-before": _replace(
        SAME, "total // 2, total - total // 2", "total - total // 2, total // 2"
    ),
    "im2col-ignores-stride": _replace(
        IM2COL,
        "np.arange(o)[:, None] * stride + np.arange(k)[None, :]",
        "np.arange(o)[:, None] + np.arange(k)[None, :]",
    ),
    "im2col-with-loop": _replace(
        IM2COL,
        "    idx = np.arange(o)[:, None] * stride + np.arange(k)[None, :]\n    return x[idx]",
        "    return np.array([x[i * stride:i * stride + k] for i in range(o)])",
    ),
    "untouched-release": None,  # the released notebook as it is
    "only-parts-1-2": "partial",
    "loop-returns-list": _replace(LOOP, "    return y\n", "    return list(y)\n"),
    "output-length-off-by-one": _replace(OUTLEN, "(n + p - k) // s + 1", "(n + p - k) // s + 2"),
    "same-pad-negative": _replace(SAME, "max((out - 1) * s + k - n, 0)", "(out - 1) * s + k - n"),
}

# The process dies or hangs (status differs between graders: the point of ours).
BROKEN = {
    "os-exit-in-loop": _replace(
        LOOP,
        "    n, k = len(x), len(w)",
        "    import os\n    os._exit(3)\n    n, k = len(x), len(w)",
    ),
    "infinite-loop-im2col": _replace(
        IM2COL, "    o = (len(x) - k) // stride + 1", "    while True:\n        pass"
    ),
    "segfault-in-same-cell": lambda nb: _edit(
        nb, SAME, lambda s: s + "\n\nimport ctypes\nctypes.string_at(0)\n"
    ),
    "sleeps-forever-top-level": lambda nb: _edit(
        nb, IM2COL, lambda s: s + "\n\nimport time\ntime.sleep(10**6)\n"
    ),
    "sigkill-self-in-im2col": _replace(
        IM2COL,
        "    o = (len(x) - k) // stride + 1",
        "    import os, signal\n    os.kill(os.getpid(), signal.SIGKILL)\n"
        "    o = (len(x) - k) // stride + 1",
    ),
}

# Not a usable notebook at the expected path.
INVALID = {
    "empty-file": b"",
    "truncated-json": "TRUNCATED",
    "json-list": "[1, 2, 3]",
    "cells-not-a-list": "CELLS-DICT",
    "misnamed-notebook": "MISNAMED",
}


def build_class(folder: Path) -> dict[str, str]:
    """Write the 40 submissions under ``folder``; return student id -> kind."""
    source, released = _load(SOURCE), _load(RELEASED)
    kinds: dict[str, str] = {}

    def put(student: str, kind: str, content, name: str = "conv1d.ipynb") -> None:
        path = folder / student / "conv1d" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_text(json.dumps(content, indent=1), encoding="utf-8")
        kinds[student] = kind

    styles = list(CORRECT_STYLES.items())
    for number in range(20):
        style, make = styles[number % len(styles)]
        nb = _edit(make(source), OUTLEN, lambda s, n=number: f"# student {n}\n" + s)
        put(f"correct-{number:02d}-{style}", "correct", nb)
    for name, make in WRONG.items():
        if make is None:
            nb = released
        elif make == "partial":
            nb = copy.deepcopy(released)
            keep = {OUTLEN, SAME}
            solved = {
                c["metadata"]["nbgrader"]["grade_id"]: c["source"]
                for c in source["cells"]
                if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") in keep
            }
            for cell in nb["cells"]:  # (the release has the course's setup and check cells too)
                gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                if gid in keep:
                    cell["source"] = solved[gid]
        else:
            nb = make(source)
        put(f"wrong-{name}", "wrong", nb)
    for name, make in BROKEN.items():
        put(f"broken-{name}", "broken", make(source))
    for name, content in INVALID.items():
        if content == "TRUNCATED":
            content = json.dumps(source)[:5000]
        elif content == "CELLS-DICT":
            bad = copy.deepcopy(source)
            bad["cells"] = {str(i): c for i, c in enumerate(bad["cells"])}
            content = json.dumps(bad)
        if content == "MISNAMED":
            put(f"invalid-{name}", "invalid", source, name="conv1d (1).ipynb")
        else:
            put(f"invalid-{name}", "invalid", content)
    assert len(kinds) == 40, len(kinds)
    return kinds


# --- the two graders ---------------------------------------------------------------------------

NBGRADER_CONFIG = """\
c = get_config()
c.CourseDirectory.root = {root!r}
c.CourseDirectory.course_id = "bench"
c.CourseDirectory.db_url = "sqlite:///{root}/gradebook.db"
c.Execute.timeout = {timeout}
c.Application.log_format = "%(created).3f [%(name)s | %(levelname)s] %(message)s"
"""


def setup_nbgrader(course: Path, submissions: Path, timeout: int) -> float:
    """A throwaway nbgrader course with our source notebook; returns generate_assignment's time."""
    if course.exists():
        shutil.rmtree(course)
    (course / "source" / "conv1d").mkdir(parents=True)
    shutil.copy(SOURCE, course / "source" / "conv1d" / "conv1d.ipynb")
    (course / "nbgrader_config.py").write_text(
        NBGRADER_CONFIG.format(root=str(course), timeout=timeout)
    )
    shutil.copytree(submissions, course / "submitted")
    start = time.perf_counter()
    subprocess.run(
        [NBGRADER, "db", "assignment", "add", "conv1d"],
        cwd=course,
        check=True,
        capture_output=True,
        env=VENV_ENV,
    )
    done = subprocess.run(
        [NBGRADER, "generate_assignment", "conv1d", "--force"],
        cwd=course,
        capture_output=True,
        text=True,
        env=VENV_ENV,
    )
    if done.returncode != 0:
        raise SystemExit(f"nbgrader generate_assignment failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - start


def run_nbgrader(course: Path, seed: int, env: dict) -> dict:
    """``nbgrader autograde conv1d`` on the whole class; scores from its gradebook."""
    db = course / "gradebook.db"
    if (course / "autograded").exists():
        shutil.rmtree(course / "autograded")
    start = time.perf_counter()
    done = subprocess.run(
        [NBGRADER, "autograde", "conv1d", "--force"],
        cwd=course,
        capture_output=True,
        text=True,
        env={**env, "AUTOGRADER_SEED": str(seed)},
    )
    wall = time.perf_counter() - start
    log = done.stderr + done.stdout
    # per-student time: from "Creating/updating student with ID 'x'" to the next one
    starts = [
        (float(m.group(1)), m.group(2))
        for m in re.finditer(
            r"^(\d+\.\d+) .*Creating/updating student with ID '([^']*)'", log, re.M
        )
    ]
    stamps = [float(m) for m in re.findall(r"^(\d+\.\d+) ", log, re.M)]
    ends = [t for t, _ in starts[1:]] + [stamps[-1] if stamps else start]
    per_student = {s: round(end - t, 2) for (t, s), end in zip(starts, ends, strict=True)}
    errors = {}
    for match in re.finditer(
        r"There was an error processing assignment: .*?submitted/([^/]+)/conv1d", log
    ):
        errors[match.group(1)] = "error"
    from nbgrader.api import Gradebook, MissingEntry  # noqa: PLC0415 (only for this part)

    scores = {}
    with Gradebook(f"sqlite:///{db}", "bench") as gb:
        for student in sorted(p.name for p in (course / "submitted").iterdir()):
            try:
                sub = gb.find_submission("conv1d", student)
                nb = sub.notebooks[0] if sub.notebooks else None
                failed = [
                    g.name for g in (nb.grades if nb else []) if (g.score or 0) < (g.max_score or 0)
                ]
                scores[student] = {
                    "score": float(sub.score),
                    "max_score": float(sub.max_score),
                    "failed_parts": failed,
                    "needs_manual_grade": bool(sub.needs_manual_grade),
                }
            except MissingEntry:
                scores[student] = {"score": None, "max_score": None, "failed_parts": []}
            if student in errors:
                scores[student]["error"] = True
    return {
        "wall_s": round(wall, 2),
        "returncode": done.returncode,
        "per_student_s": per_student,
        "scores": scores,
        "log_tail": log[-2000:],
    }


def run_ours(submissions: Path, out: Path, seed: int, timeout: int, workers: int, env: dict):
    if out.exists():
        shutil.rmtree(out)
    start = time.perf_counter()
    done = subprocess.run(
        [
            PYTHON,
            "-m",
            "autograder",
            "grade",
            "conv1d",
            "--submissions",
            str(submissions),
            "--out",
            str(out),
            "--workers",
            str(workers),
            "--seed",
            str(seed),
            "--timeout",
            str(timeout),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
    )
    wall = time.perf_counter() - start
    if done.returncode not in (0, 1) or not (out / "grades.csv").exists():
        raise SystemExit(f"our grader failed ({done.returncode}):\n{done.stderr[-3000:]}")
    with (out / "grades.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    scores, per_student = {}, {}
    for row in rows:
        student = row["student_id"].lstrip("'")
        result = json.loads((out / student / "result.json").read_text(encoding="utf-8"))
        scores[student] = {
            "score": float(row["score"]),
            "max_score": float(row["max_score"]),
            "status": row["status"],
            "failed_parts": [p["grade_id"] for p in result["parts"] if p["earned"] < p["points"]],
        }
        per_student[student] = float(row["seconds"])
    return {"wall_s": round(wall, 2), "per_student_s": per_student, "scores": scores}


def loadavg() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


# --- report ------------------------------------------------------------------------------------


def _mean(values) -> float:
    values = list(values)
    return round(statistics.fmean(values), 2) if values else 0.0


def compare(kinds: dict[str, str], nbg: dict, ours: dict) -> dict:
    honest_same, honest_diff, broken = [], [], []
    for student, kind in sorted(kinds.items()):
        a, b = nbg["scores"].get(student, {}), ours["scores"][student]
        row = {
            "student": student,
            "kind": kind,
            "nbgrader": a.get("score"),
            "ours": b["score"],
            "ours_status": b["status"],
            "nbgrader_failed": a.get("failed_parts", []),
            "ours_failed": b["failed_parts"],
            "nbgrader_error": bool(a.get("error")),
        }
        if kind in ("correct", "wrong"):
            (honest_same if a.get("score") == b["score"] else honest_diff).append(row)
        else:
            broken.append(row)
    return {"honest_identical": honest_same, "honest_different": honest_diff, "broken": broken}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1, help="how many times to time both graders")
    parser.add_argument("--timeout", type=int, default=10, help="per-cell timeout for both")
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    env = {k: v for k, v in VENV_ENV.items() if not k.startswith("AUTOGRADER_")}
    env["PYTHONWARNINGS"] = "ignore"  # nbgrader scores 0 for any stderr in a test cell
    base = Path(tempfile.mkdtemp(prefix="bench-grader-"))
    try:
        submissions = base / "submissions"
        kinds = build_class(submissions)
        course = base / "course"
        generate_s = setup_nbgrader(course, submissions, args.timeout)
        runs = []
        for run in range(args.runs):
            load_before = loadavg()
            nbg = run_nbgrader(course, args.seed, env)
            load_mid = loadavg()
            ours = run_ours(submissions, base / "out", args.seed, args.timeout, args.workers, env)
            runs.append(
                {
                    "run": run + 1,
                    "loadavg_before": load_before,
                    "loadavg_between": load_mid,
                    "loadavg_after": loadavg(),
                    "nbgrader": nbg,
                    "ours": ours,
                    "ratio": round(nbg["wall_s"] / ours["wall_s"], 2),
                }
            )
            print(
                f"run {run + 1}: nbgrader {nbg['wall_s']:.1f} s, ours {ours['wall_s']:.1f} s, "
                f"ratio {runs[-1]['ratio']:.2f}x (load {load_before[0]} -> {loadavg()[0]})",
                flush=True,
            )
        last = runs[-1]
        comparison = compare(kinds, last["nbgrader"], last["ours"])
        by_kind = {}
        for who in ("nbgrader", "ours"):
            times = last[who]["per_student_s"]
            by_kind[who] = {
                kind: _mean(times.get(s, 0.0) for s, k in kinds.items() if k == kind)
                for kind in ("correct", "wrong", "broken", "invalid")
            }
        ratios = [r["ratio"] for r in runs]
        summary = {
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
            "settings": {
                "submissions": len(kinds),
                "per_cell_timeout_s": args.timeout,
                "workers": args.workers,
                "seed": args.seed,
                "nbgrader_generate_assignment_s": round(generate_s, 2),
            },
            "wall_s": {
                "nbgrader": [r["nbgrader"]["wall_s"] for r in runs],
                "ours": [r["ours"]["wall_s"] for r in runs],
            },
            "ratio": {
                "runs": ratios,
                "min": min(ratios),
                "max": max(ratios),
                "median": statistics.median(ratios),
            },
            "mean_seconds_per_submission_by_kind": by_kind,
            "comparison": comparison,
            "runs": runs,
        }
        print()
        print(f"40 submissions, per-cell timeout {args.timeout} s, {os.cpu_count()} cores")
        for r in runs:
            print(
                f"  run {r['run']}: nbgrader {r['nbgrader']['wall_s']:7.1f} s "
                f"({r['nbgrader']['wall_s'] / 40:.2f} s/submission)   ours "
                f"{r['ours']['wall_s']:6.1f} s ({r['ours']['wall_s'] / 40:.2f} s/submission, "
                f"{args.workers} workers)   ratio {r['ratio']:.2f}x   load "
                f"{r['loadavg_before'][0]}/{r['loadavg_between'][0]}/{r['loadavg_after'][0]}"
            )
        print(
            f"  ratio min/median/max: {min(ratios)} / {statistics.median(ratios)} / {max(ratios)}"
        )
        print("  mean seconds per submission (in its worker), last run:")
        for who, kinds_s in by_kind.items():
            print(f"    {who:9s} " + "  ".join(f"{k} {v:.2f}" for k, v in kinds_s.items()))
        same, diff = comparison["honest_identical"], comparison["honest_different"]
        print(f"\nhonest submissions (correct + wrong): {len(same)} identical, {len(diff)} differ")
        for row in diff:
            print(f"  DIFFERENT {row['student']}: nbgrader {row['nbgrader']} ours {row['ours']}")
        print("\nbroken and invalid submissions (score / 15):")
        print(f"  {'student':36s} {'nbgrader':>9s} {'ours':>5s}  ours status")
        for row in comparison["broken"]:
            nb_score = "error" if row["nbgrader"] is None else f"{row['nbgrader']:g}"
            if row["nbgrader_error"]:
                nb_score += "*"
            print(f"  {row['student']:36s} {nb_score:>9s} {row['ours']:5g}  {row['ours_status']}")
        print("  (* nbgrader reported an error for this submission)")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
        print(
            f"\nsaved {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}"
        )
        if diff:
            sys.exit(1)
    finally:
        if args.keep:
            print(f"kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
