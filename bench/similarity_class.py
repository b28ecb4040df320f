"""Time ``python -m autograder similarity`` on a class of 500 conv1d submissions.

Run from the repository root (see bench/README.md)::

    .venv/bin/python bench/similarity_class.py [--students 500] [--runs 1] [--seed 0]

The class (``tests/conv1d_variants.py``): every learner picks, for each of the notebook's five
functions, one of several genuinely different implementations and, line by line, one of its
alternatives, then names their variables and lays out their code their own way (spacing,
comments, blank lines); one learner hands in a copy of another's notebook with other names,
layout and comments, and another copied a third one's ``conv1d_loop`` (one part of five) into
their own notebook. The script writes the class into a temporary folder, runs the command as
a subprocess (what an instructor runs, start-up included) ``--runs`` times, and prints the wall
time and the CPU time it used (user + system: what a machine shared with other jobs distorts
least), the planted pairs' ranks and scores and the best other pair's score. It then repeats the
work in this process, phase by phase, for a breakdown. Saves
``bench/results/similarity-class.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from conv1d_variants import write_class  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "similarity-class.json"


def planted_rank(report: Path, pair: set[str], column: str = "score") -> tuple[int, float, float]:
    """(rank of the planted pair by ``column``, its value, the best value of any other pair);
    ``column`` is ``score`` (the whole assignment) or ``best_part_score`` (ties: by score)."""
    rows = list(csv.DictReader((report / "pairs.csv").open(encoding="utf-8")))
    rows.sort(key=lambda r: (-float(r[column]), -float(r["score"]), r["student_a"], r["student_b"]))
    rank, score, other = 0, 0.0, 0.0
    for number, row in enumerate(rows, 1):
        if {row["student_a"], row["student_b"]} == pair:
            rank, score = number, float(row[column])
        else:
            other = max(other, float(row[column]))
    return rank, score, other


def phases(submissions: Path, out: Path) -> dict[str, float]:
    """The command's work in this process, timed phase by phase (seconds)."""
    from autograder.similarity import similarity_report

    report = similarity_report("conv1d", submissions, out)
    return {**report.seconds, "pairs": len(report.pairs)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=500)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args()
    original, copier = f"s{args.students // 4:04d}", f"s{args.students - 7:04d}"
    source, borrower = f"s{args.students // 2:04d}", f"s{args.students // 3:04d}"
    with tempfile.TemporaryDirectory(prefix="similarity-bench-") as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        write_class(
            folder / "submitted", args.students, args.seed, (original, copier), (source, borrower)
        )
        generated = time.perf_counter() - start
        print(f"wrote {args.students} submissions in {generated:.1f} s ({os.cpu_count()} cores)")
        walls, cpus, load_before = [], [], os.getloadavg()[0]
        for run in range(args.runs):
            out = folder / f"report-{run}"
            start = time.perf_counter()
            used = resource.getrusage(resource.RUSAGE_CHILDREN)
            done = subprocess.run(
                [sys.executable, "-m", "autograder", "similarity", "conv1d"]
                + ["--submissions", str(folder / "submitted"), "--out", str(out)],
                cwd=ROOT,
                capture_output=True,
                text=True,
            )
            walls.append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(after.ru_utime + after.ru_stime - used.ru_utime - used.ru_stime)
            if done.returncode != 0:
                print(done.stdout, done.stderr, file=sys.stderr)
                return 1
            print(
                f"run {run + 1}: {walls[-1]:.2f} s wall, {cpus[-1]:.2f} s CPU "
                f"({done.stdout.strip()})"
            )
        rank, score, other = planted_rank(folder / "report-0", {original, copier})
        print(
            f"planted copy {original} ~ {copier}: rank {rank}, score {score:.3f}; "
            f"best pair besides it {other:.3f}"
        )
        part_rank, part_score, _ = planted_rank(folder / "report-0", {source, borrower})
        by_part, in_part, _ = planted_rank(
            folder / "report-0", {source, borrower}, "best_part_score"
        )
        print(
            f"partial copy {source} ~ {borrower} (conv1d_loop only): rank {part_rank}, "
            f"score {part_score:.3f}; by most alike part: rank {by_part} ({in_part:.3f})"
        )
        breakdown = phases(folder / "submitted", folder / "report-inprocess")
        print("in-process phases (s):", {k: round(v, 3) for k, v in breakdown.items()})
    summary = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_1min_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        },
        "settings": {"students": args.students, "seed": args.seed, "runs": args.runs},
        "generate_s": round(generated, 2),
        "wall_s": [round(w, 2) for w in walls],
        "wall_median_s": round(statistics.median(walls), 2),
        "cpu_s": [round(c, 2) for c in cpus],
        "cpu_median_s": round(statistics.median(cpus), 2),
        "planted_pair": {
            "students": [original, copier],
            "rank": rank,
            "score": score,
            "best_other_score": other,
        },
        "partial_copy": {
            "students": [source, borrower],
            "copied": "conv1d_loop",
            "rank": part_rank,
            "score": part_score,
            "rank_by_most_alike_part": by_part,
            "most_alike_part_score": in_part,
        },
        "phases_in_process_s": {k: round(v, 3) for k, v in breakdown.items()},
    }
    if not args.no_save:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
        print(f"saved {args.out}")
    return 0 if rank == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
