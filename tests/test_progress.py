"""The progress display writes to the sys.stderr of the moment it is made."""

import io
import sys

from autograder.progress import ProgressBar


def test_the_bar_writes_to_the_current_stderr_not_the_one_at_import(monkeypatch):
    first = io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    ProgressBar()
    first.close()  # as pytest closes a test's capture
    now = io.StringIO()
    monkeypatch.setattr(sys, "stderr", now)
    assert ProgressBar().stream is now
