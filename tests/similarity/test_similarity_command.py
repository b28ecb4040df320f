"""``python -m autograder similarity``, end to end, on a class of conv1d submissions."""

from __future__ import annotations

import csv
import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conv1d_variants import RELEASED, copy_of, learner_using, notebook
from notebook_helpers import ROOT, load, save

from autograder.similarity import similarity_report
from autograder.similarity.report import NOTICE

HOSTILE = "</pre></div><script>alert('x')</script><img src=x onerror=alert(1)>"


def write_class(folder: Path, extra: dict[str, object] | None = None) -> None:
    """Six learners who each wrote every part their own way, and ``copier``, who took
    ``honest-2``'s notebook and renamed, reformatted and recommented it."""
    rng = random.Random(7)
    released = load(RELEASED)
    learners = {f"honest-{i}": learner_using(i, rng) for i in range(6)}
    learners["copier"] = copy_of(learners["honest-2"], rng)
    for student, learner in learners.items():
        save(notebook(learner, released), folder / student / "conv1d" / "conv1d.ipynb")
    for student, content in (extra or {}).items():
        save(content, folder / student / "conv1d" / "conv1d.ipynb")


def run_command(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "autograder", "similarity", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


@pytest.mark.slow
def test_the_planted_copy_ranks_first_in_the_report(tmp_path):
    write_class(tmp_path / "submitted")
    done = run_command(
        "conv1d", "--submissions", str(tmp_path / "submitted"), "--out", str(tmp_path / "report")
    )
    assert done.returncode == 0, done.stderr
    assert "compared 7 student folder(s)" in done.stdout
    report = tmp_path / "report"
    rows = list(csv.DictReader((report / "pairs.csv").open(encoding="utf-8")))
    assert {rows[0]["student_a"], rows[0]["student_b"]} == {"copier", "honest-2"}
    assert float(rows[0]["score"]) > 0.9
    assert all(float(r["score"]) < 0.5 for r in rows[1:]), rows
    index = (report / "index.html").read_text(encoding="utf-8")
    assert "not evidence of misconduct" in index and "pairs/0001.html" in index
    assert "Pairs ranked by their most alike part" in index
    page = (report / "pairs" / "0001.html").read_text(encoding="utf-8")
    assert "Matching regions, side by side" in page
    assert page.count("class='sides region'") >= 2  # several regions, each side by side
    data = json.loads((report / "pairs.json").read_text(encoding="utf-8"))
    first = data["pairs"][0]
    cells = {r["cell_a"] for r in first["regions"]}
    assert "conv1d-loop-solution" in cells and "im2col-solution" in cells
    assert all(r["lines_a"][0] <= r["lines_a"][1] for r in first["regions"])


def test_bad_submissions_are_reported_and_the_others_still_compared(tmp_path):
    submitted = tmp_path / "submitted"
    write_class(
        submitted,
        {"not-json": '{"cells": [', "empty": b"", "json-list": "[1, 2]"},
    )
    (submitted / "no-assignment-folder" / "other").mkdir(parents=True)
    huge = load(submitted / "honest-4" / "conv1d" / "conv1d.ipynb")
    for cell in huge["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "output-length-solution":
            cell["source"] += "\n" + "y = x + 1\n" * 100_000
    save(huge, submitted / "huge" / "conv1d" / "conv1d.ipynb")
    (submitted / "linked").symlink_to(submitted / "honest-0")
    wrong_name = submitted / "misnamed" / "conv1d"
    wrong_name.mkdir(parents=True)
    (submitted / "honest-3" / "conv1d" / "conv1d.ipynb").rename(wrong_name / "my conv1d.ipynb")
    report = similarity_report("conv1d", submitted, tmp_path / "report")
    assert {p for p in report.problems} == {
        "not-json",
        "empty",
        "json-list",
        "no-assignment-folder",
        "linked",
        "honest-3",  # its notebook moved away: missing
        "misnamed",  # read anyway, with a note
        "huge",  # a cell of a million characters: its beginning is compared
    }
    assert "no notebook conv1d.ipynb" in report.problems["honest-3"][0]
    assert "rename it to conv1d.ipynb" in report.problems["misnamed"][0]
    assert "its first 200,000 were compared" in report.problems["huge"][0]
    assert {report.pairs[0].a, report.pairs[0].b} == {"copier", "honest-2"}
    assert "misnamed" in {p.a for p in report.pairs} | {p.b for p in report.pairs}
    index = report.index_html.read_text(encoding="utf-8")
    assert "could not be read in full" in index
    assert "not valid notebook JSON" in index and "symbolic link" in index


def test_hostile_code_and_ids_are_text_in_the_report(tmp_path):
    submitted = tmp_path / "submitted"
    write_class(submitted)
    for student in ("copier", "honest-2"):
        path = submitted / student / "conv1d" / "conv1d.ipynb"
        nb = load(path)
        for cell in nb["cells"]:
            if cell["metadata"].get("nbgrader", {}).get("grade_id") == "conv1d-loop-solution":
                cell["source"] += f"\n\nHOSTILE = {HOSTILE!r}  # {HOSTILE}\n\u202ehidden = 1\n"
        save(nb, path)
    evil = submitted / "<script>alert(2)<"
    (submitted / "copier").rename(evil)
    report = similarity_report("conv1d", submitted, tmp_path / "report")
    assert "<script>alert(2)<" in {report.pairs[0].a, report.pairs[0].b}
    pages = [report.index_html, *sorted((tmp_path / "report" / "pairs").glob("*.html"))]
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"<\s*(script|img|iframe)", text, re.IGNORECASE), page.name
        assert "Content-Security-Policy" in text and "default-src 'none'" in text
        assert "\u202e" not in text
    first = (tmp_path / "report" / "pairs" / "0001.html").read_text(encoding="utf-8")
    assert "&lt;/pre&gt;&lt;/div&gt;&lt;script&gt;" in first and "\\u202e" in first
    assert NOTICE.split(".")[0] in first


def test_unknown_assignment_and_bad_folders_are_errors_with_a_reason(tmp_path):
    (tmp_path / "submitted").mkdir()
    done = run_command(
        "no-such", "--submissions", str(tmp_path / "submitted"), "--out", str(tmp_path / "o")
    )
    assert done.returncode == 2 and "unknown assignment" in done.stderr
    done = run_command(
        "conv1d", "--submissions", str(tmp_path / "absent"), "--out", str(tmp_path / "o")
    )
    assert done.returncode == 2 and "is not a folder" in done.stderr
    done = run_command("conv1d", "--submissions", str(tmp_path), "--out", str(tmp_path / "o"))
    assert done.returncode == 2 and "must not be inside" in done.stderr


def test_the_generated_class_is_python_that_differs_from_learner_to_learner(tmp_path):
    import ast

    from conv1d_variants import write_class as write_many

    ids = write_many(tmp_path, 60, seed=3, planted=("s0001", "s0002"))
    loops = set()
    for student in ids:
        nb = load(tmp_path / student / "conv1d" / "conv1d.ipynb")
        for cell in nb["cells"]:
            if cell["metadata"].get("nbgrader", {}).get("solution"):
                ast.parse(cell["source"])
                if cell["metadata"]["nbgrader"]["grade_id"] == "conv1d-loop-solution":
                    loops.add(cell["source"])
    assert len(loops) == 60  # every learner's loop is their own text


def test_options_choose_the_common_fraction_and_the_pairs_with_a_page(tmp_path):
    write_class(tmp_path / "submitted")
    out = tmp_path / "report"
    done = run_command(
        "conv1d", "--submissions", str(tmp_path / "submitted"), "--out", str(out), "--common", "0"
    )
    assert done.returncode == 2 and "--common 0.0 must be a fraction" in done.stderr
    report = similarity_report("conv1d", tmp_path / "submitted", out, listed=1)
    first = {report.pairs[0].a, report.pairs[0].b}
    pages = sorted(p.name for p in (out / "pairs").glob("*.html"))
    assert first == {"copier", "honest-2"} and 1 <= len(pages) <= 2  # best overall, best part
    report = similarity_report("conv1d", tmp_path / "submitted", out, listed=1, common=1.0)
    assert {report.pairs[0].a, report.pairs[0].b} == first
