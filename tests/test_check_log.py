"""The learner's check log: written by every `check`, summarised for the instructor, never
trusted (it is the learner's own file)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

from autograder.check_log import (
    MAX_LOG_BYTES,
    append_check_log,
    log_path,
    read_check_log,
)

T0 = datetime(2026, 11, 19, 10, 2, tzinfo=UTC)


def test_runs_are_appended_and_summarised_per_notebook(tmp_path):
    notebook = tmp_path / "conv1d.ipynb"
    append_check_log(notebook, {"a": "failed", "b": "failed"}, "command line", T0)
    append_check_log(notebook, {"a": "passed", "b": "failed"}, "notebook", T0 + timedelta(hours=1))
    path = append_check_log(notebook, {"b": "passed"}, "notebook", T0 + timedelta(days=2))
    assert path == log_path(notebook) == tmp_path / ".conv1d.checks.jsonl"
    first = json.loads(path.read_text().splitlines()[0])
    assert first == {
        "time": "2026-11-19T10:02:00+00:00",
        "notebook": "conv1d.ipynb",
        "how": "command line",
        "parts": {"a": "failed", "b": "failed"},
        "passed": 0,
        "public": 2,
    }
    append_check_log(tmp_path / "pooling.ipynb", {"p": "passed"}, "notebook", T0)
    summary = read_check_log(tmp_path)
    assert sorted(summary) == ["conv1d.ipynb", "pooling.ipynb"]
    conv = summary["conv1d.ipynb"]
    assert (conv.runs, conv.first, conv.last) == (3, T0, T0 + timedelta(days=2))
    assert (conv.best_passed, conv.last_passed, conv.public, conv.ignored) == (1, 1, 1, 0)
    assert conv.ways == {"command line": 1, "notebook": 2}
    assert conv.describe() == "3 checks, 19 Nov 10:02 to 21 Nov 10:02, last 1/1 public parts"
    assert summary["pooling.ipynb"].runs == 1


def test_runs_after_the_submission_are_left_out(tmp_path):
    notebook = tmp_path / "conv1d.ipynb"
    for hours in (0, 1, 5):
        append_check_log(notebook, {"a": "passed"}, "notebook", T0 + timedelta(hours=hours))
    summary = read_check_log(tmp_path, before=T0 + timedelta(hours=2))["conv1d.ipynb"]
    assert summary.runs == 2 and summary.last == T0 + timedelta(hours=1)


def test_malformed_lines_are_counted_and_skipped(tmp_path):
    good = json.dumps({"time": T0.isoformat(), "parts": {"a": "passed"}, "how": "notebook"})
    lines = [
        good,
        "not json",
        json.dumps({"parts": {}}),  # no time
        json.dumps({"time": "yesterday", "parts": {}}),
        json.dumps({"time": T0.isoformat(), "parts": ["a"]}),
        json.dumps({"time": T0.isoformat(), "parts": {str(i): "passed" for i in range(500)}}),
        json.dumps([1, 2]),
        "[" * 100_000,  # deeper than the parser goes, longer than a line may be
        "",
        json.dumps({"time": "2026-11-19T10:02:00", "parts": {"a": "failed"}, "how": 7}),
    ]
    (tmp_path / ".conv1d.checks.jsonl").write_text("\n".join(lines))
    summary = read_check_log(tmp_path)["conv1d.ipynb"]
    assert (summary.runs, summary.ignored) == (2, 7)
    assert summary.ways == {"notebook": 1, "unknown": 1}  # a naive time is read as UTC


def test_a_log_that_is_a_link_a_pipe_or_a_folder_is_not_followed(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text(json.dumps({"time": T0.isoformat(), "parts": {"a": "passed"}}))
    submission = tmp_path / "submission"
    submission.mkdir()
    (submission / ".linked.checks.jsonl").symlink_to(secret)
    os.mkfifo(submission / ".piped.checks.jsonl")  # reading it must not wait for a writer
    (submission / ".folder.checks.jsonl").mkdir()
    summary = read_check_log(submission)
    for name in ("linked.ipynb", "piped.ipynb", "folder.ipynb"):
        assert (summary[name].runs, summary[name].ignored) == (0, 1), name
    # and check never writes through a link a learner (or anyone) put in its place
    (submission / ".target.checks.jsonl").symlink_to(tmp_path / "elsewhere.txt")
    assert append_check_log(submission / "target.ipynb", {"a": "passed"}, "notebook") is None
    assert not (tmp_path / "elsewhere.txt").exists()


def test_a_huge_log_is_read_up_to_its_limit(tmp_path):
    line = json.dumps({"time": T0.isoformat(), "parts": {"a": "passed"}, "how": "notebook"})
    count = MAX_LOG_BYTES // (len(line) + 1) + 1000
    (tmp_path / ".conv1d.checks.jsonl").write_text((line + "\n") * count)
    summary = read_check_log(tmp_path)["conv1d.ipynb"]
    assert summary.runs == MAX_LOG_BYTES // (len(line) + 1)
    assert summary.ignored == 1  # the rest, cut at the limit


def test_no_folder_no_log_and_a_folder_that_cannot_be_written(tmp_path):
    assert read_check_log(tmp_path / "missing") == {}
    assert read_check_log(tmp_path) == {}
    assert append_check_log(tmp_path / "missing" / "x.ipynb", {"a": "passed"}, "notebook") is None
