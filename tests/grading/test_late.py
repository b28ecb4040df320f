"""Late work: policies, timestamps, extensions (fast unit tests; the end-to-end run is in
tests/grading/test_instructor_term.py)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta, timezone

import pytest

from autograder.grading.late import (
    LatePolicy,
    LateRules,
    parse_datetime,
    read_extensions,
    read_timestamp,
)
from autograder.grading.results import Lateness, PartResult, PartStatus, StudentResult

DUE = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "text, hours, percent",
    [
        ("none", 5, 0),
        ("zero", 0.01, 100),
        ("zero", 0, 0),
        ("linear:10%/h", 1.5, 15),
        ("linear:10%/h,max:50%", 7, 50),
        ("LINEAR: 24%/d, max:30%", 12, 12),
        ("linear:2.5%/h,max:100%", 2, 5),
    ],
)
def test_policies_take_the_right_share(text, hours, percent):
    assert LatePolicy.parse(text).penalty_percent(hours) == pytest.approx(percent)


@pytest.mark.parametrize(
    "text",
    ["", "half", "linear", "linear:10%", "linear:10/h", "linear:0%/h", "linear:5%/h,max:150%"],
)
def test_a_bad_policy_says_what_is_expected(text):
    with pytest.raises(ValueError, match="late policy|rate must be"):
        LatePolicy.parse(text)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2026-12-01 17:04:05.123456 UTC", datetime(2026, 12, 1, 17, 4, 5, 123456, UTC)),
        ("2026-12-01T18:04:05+01:00", datetime(2026, 12, 1, 17, 4, 5, tzinfo=UTC)),
        ("2026-12-01T17:04:05Z", datetime(2026, 12, 1, 17, 4, 5, tzinfo=UTC)),
        ("2026-12-01 17:04:05 GMT\n", datetime(2026, 12, 1, 17, 4, 5, tzinfo=UTC)),
    ],
)
def test_timestamps_in_nbgraders_format_and_iso(text, expected):
    assert parse_datetime(text) == expected


@pytest.mark.parametrize(
    "text, message",
    [("yesterday", "not a date-time"), ("2026-12-01 17:04:05", "no time zone")],
)
def test_a_bad_date_time_is_refused_with_the_reason(text, message):
    with pytest.raises(ValueError, match=message):
        parse_datetime(text, "--due")


def _folder(tmp_path, content: str | bytes | None):
    folder = tmp_path / "ana" / "conv1d"
    folder.mkdir(parents=True)
    if isinstance(content, bytes):
        (folder / "timestamp.txt").write_bytes(content)
    elif content is not None:
        (folder / "timestamp.txt").write_text(content)
    return folder


@pytest.mark.parametrize(
    "content, note",
    [
        (None, "no timestamp.txt in the submission"),
        ("", "timestamp.txt is empty"),
        ("tomorrow-ish", "is not a date-time"),
        (b"\xff\xfe", "is not text"),
        ("2026-12-01 17:04:05", "has no time zone"),
        ("x" * 5000, "longer than a timestamp"),
    ],
)
def test_a_missing_or_malformed_timestamp_is_a_note_and_no_penalty(tmp_path, content, note):
    rules = LateRules(DUE, LatePolicy.parse("zero"))
    late = rules.lateness("ana", _folder(tmp_path, content))
    assert late.penalty_percent == 0 and late.submitted == ""
    assert note in late.note and "no penalty" in late.note


def test_a_timestamp_that_is_a_link_or_a_folder_is_not_followed(tmp_path):
    folder = _folder(tmp_path, None)
    secret = tmp_path / "secret"
    secret.write_text("2026-12-01 17:04:05 UTC")
    os.symlink(secret, folder / "timestamp.txt")
    assert read_timestamp(folder) == (
        None,
        "timestamp.txt could not be read (Too many levels of symbolic links)",
    )
    other = _folder(tmp_path / "b", None)
    (other / "timestamp.txt").mkdir()
    assert read_timestamp(other)[0] is None


def test_lateness_hours_penalty_and_extension(tmp_path):
    folder = _folder(tmp_path, "2026-12-01 19:30:00.5 UTC")
    rules = LateRules(DUE, LatePolicy.parse("linear:10%/h,max:50%"))
    late = rules.lateness("ana", folder)
    assert (late.hours, late.penalty_percent) == (2.51, 25.1)
    assert "2.51 h after the due time: 25.1% off" in late.note
    extended = LateRules(DUE, rules.policy, {"ana": DUE + timedelta(hours=3)})
    on_time = extended.lateness("ana", folder)
    assert (on_time.hours, on_time.penalty_percent) == (0, 0)
    assert "on time (extended to 2026-12-01T20:00:00+00:00)" in on_time.note
    paris = timezone(timedelta(hours=1))
    # 19:30:00.5 UTC is half a second after 20:30 at +01:00: late is late
    assert (
        LateRules(datetime(2026, 12, 1, 20, 30, tzinfo=paris)).lateness("ana", folder).hours == 0.01
    )
    assert LateRules(datetime(2026, 12, 1, 20, 31, tzinfo=paris)).lateness("ana", folder).hours == 0


def test_a_policy_without_a_due_time_is_refused():
    with pytest.raises(ValueError, match="needs --due"):
        LateRules(None, LatePolicy.parse("zero"))


def test_the_penalty_is_a_share_of_the_points_earned():
    r = StudentResult("ana", "conv1d", max_score=10)
    r.parts = [PartResult("a.ipynb", "p", 10, 8, False, PartStatus.PASSED, "")]
    r.conclude([])
    r.late = Lateness("2026-12-01T17:00:00+00:00", "x", 2, 25, "late")
    r.rescore()
    assert (r.raw_score, r.score, r.penalty) == (8, 6, 2)
    again = StudentResult.from_json(r.to_json())
    assert again.late == r.late and again.score == 6


def test_extensions_by_due_time_or_hours(tmp_path):
    path = tmp_path / "ext.csv"
    path.write_text("student_id,due,hours\nana,2026-12-03T17:00:00+00:00,\nbo,,48\n")
    found = read_extensions(path, DUE)
    assert found == {"ana": DUE + timedelta(days=2), "bo": DUE + timedelta(days=2)}


@pytest.mark.parametrize(
    "text, message",
    [
        ("name,when\nana,1\n", "expected a header student_id,due or student_id,hours"),
        ("student_id,hours\nana,two\n", "line 2: hours 'two' is not a number"),
        ("student_id,hours\nana,1\nana,2\n", "line 3: ana has a second extension"),
        ("student_id,due\nana,2026-12-03\n", "line 2: due '2026-12-03' has no time zone"),
        ("student_id,due\n,2026-12-03T00:00Z\nbo,\n", "line 2: no student_id\n  line 3: bo has"),
    ],
)
def test_bad_extensions_name_every_bad_line(tmp_path, text, message):
    path = tmp_path / "ext.csv"
    path.write_text(text)
    with pytest.raises(ValueError) as error:
        read_extensions(path, DUE)
    assert message in str(error.value)


def test_hours_without_a_due_time_are_refused(tmp_path):
    path = tmp_path / "ext.csv"
    path.write_text("student_id,hours\nana,24\n")
    with pytest.raises(ValueError, match="hours need --due"):
        read_extensions(path, None)


def test_grade_refuses_bad_extensions_before_grading_anyone(tmp_path, capsys):
    from autograder.__main__ import main

    (tmp_path / "subs" / "ana" / "conv1d").mkdir(parents=True)
    bad = tmp_path / "ext.csv"
    bad.write_text("student_id,hours\nana,soon\n")
    argv = ["grade", "conv1d", "--submissions", str(tmp_path / "subs"), "--out"]
    argv += [str(tmp_path / "out"), "--due", "2026-12-01T17:00Z", "--extensions", str(bad)]
    assert main(argv) == 2
    assert "line 2: hours 'soon' is not a number" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    with pytest.raises(SystemExit):
        main([*argv[:-4], "--late-policy", "linear:5%"])
    assert "is not one of: none, zero or linear:P%/h" in capsys.readouterr().err
