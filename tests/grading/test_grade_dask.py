"""`grade --scheduler`: the same jobs on a real Dask cluster (started on loopback here)."""

from __future__ import annotations

import pytest
from distributed import LocalCluster
from notebook_helpers import ROOT, edit_cell, load, save, source_path

from autograder.grading import grade_assignment, workers


@pytest.mark.slow
def test_grading_through_a_local_dask_cluster(tmp_path):
    src = load(source_path("conv1d"))
    subs = tmp_path / "subs"
    save(src, subs / "full" / "conv1d" / "conv1d.ipynb")
    save(
        load(ROOT / "chapters" / "02-conv1d" / "conv1d.ipynb"),
        subs / "released" / "conv1d" / "conv1d.ipynb",
    )
    save(
        edit_cell(src, "im2col-solution", lambda s: "import os\nos._exit(1)\n" + s),
        subs / "crash" / "conv1d" / "conv1d.ipynb",
    )
    save(b"{", subs / "broken" / "conv1d" / "conv1d.ipynb")
    with LocalCluster(
        n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None, processes=True
    ) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        results = grade_assignment(
            "conv1d", subs, tmp_path / "out", seed=3, scheduler=cluster.scheduler_address
        )
    got = {r.student_id: (r.score, r.status) for r in results}
    assert got == {
        "full": (15, "ok"),
        "released": (0, "ok"),
        "crash": (10, "crashed"),
        "broken": (0, "invalid-notebook"),
    }
    assert (tmp_path / "out" / "grades.csv").read_text().count("\n") == 5


def test_an_unreachable_scheduler_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(workers, "SCHEDULER_TIMEOUT_S", 3)
    save(load(source_path("conv1d")), tmp_path / "subs" / "a" / "conv1d" / "conv1d.ipynb")
    with pytest.raises(ValueError, match="could not reach the Dask scheduler"):
        grade_assignment(
            "conv1d", tmp_path / "subs", tmp_path / "out", scheduler="tcp://127.0.0.1:9"
        )
