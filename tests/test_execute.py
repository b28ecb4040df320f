"""The cell runner: every way a cell can fail is recorded, and the other cells still run."""

from __future__ import annotations

import pytest

from autograder.execute import run_cells


def outcomes(cells, tmp_path, **kwargs):
    result = run_cells(list(enumerate(cells)), tmp_path, **kwargs)
    return [result.outcomes[i].status for i in range(len(cells))], result


def test_errors_are_recorded_and_later_cells_run(tmp_path):
    statuses, result = outcomes(
        ["x = 1", "1 / 0", "assert x == 1", "%time y = x + 1", "y"], tmp_path
    )
    assert statuses == ["ok", "error", "ok", "ok", "ok"]
    assert result.outcomes[1].ename == "ZeroDivisionError"


def test_a_hanging_cell_times_out_and_the_rest_is_replayed(tmp_path):
    statuses, result = outcomes(
        ["x = 1", "while True: pass", "assert x == 1"], tmp_path, cell_timeout=1
    )
    assert statuses == ["ok", "timeout", "ok"]


def test_a_cell_that_ignores_the_alarm_is_killed(tmp_path):
    cell = (
        "import time\nwhile True:\n    try:\n        time.sleep(10)\n"
        "    except BaseException:\n        pass"
    )
    statuses, result = outcomes(["x = 1", cell, "assert x == 1"], tmp_path, cell_timeout=1)
    assert statuses == ["ok", "timeout", "ok"]
    assert result.restarts == 1


def test_a_process_exit_is_a_crash_and_later_cells_survive(tmp_path):
    statuses, result = outcomes(["x = 1", "import os; os._exit(7)", "assert x == 1"], tmp_path)
    assert statuses == ["ok", "crashed", "ok"]
    assert "exited with code 7" in result.outcomes[1].evalue


@pytest.mark.parametrize(
    "cell, ename", [("import sys; sys.exit(0)", "SystemExit"), ("input('name? ')", "EOFError")]
)
def test_exit_and_input_do_not_stop_the_run(tmp_path, cell, ename):
    statuses, result = outcomes([cell, "z = 3"], tmp_path)
    assert statuses == ["error", "ok"] and result.outcomes[0].ename == ename


def test_output_is_capped(tmp_path):
    statuses, result = outcomes(["for _ in range(100):\n    print('y' * 100_000)", "1"], tmp_path)
    assert statuses == ["ok", "ok"]
    assert len(result.output) < 300_000 and "bytes of output were dropped" in result.output


def test_memory_limit(tmp_path):
    statuses, result = outcomes(
        ["import numpy as np", "a = np.ones(2_000_000_000)", "b = 1"], tmp_path, memory_mb=1500
    )
    assert statuses == ["ok", "error", "ok"] and result.outcomes[1].ename == "MemoryError"


def test_the_notebook_budget_stops_everything(tmp_path):
    cells = ["import time", "time.sleep(0.8)", "time.sleep(0.8)", "time.sleep(0.8)", "x = 1"]
    statuses, result = outcomes(cells, tmp_path, cell_timeout=5, total_timeout=1.5)
    assert result.budget_exhausted
    assert statuses[0] == "ok" and statuses[-1] == "not-run" and "timeout" in statuses


def test_the_seed_and_thread_limits_reach_the_cells(tmp_path):
    statuses, _ = outcomes(
        [
            "import os",
            "assert os.environ['AUTOGRADER_SEED'] == '42'",
            "assert os.environ['OMP_NUM_THREADS'] == '1'",
        ],
        tmp_path,
        env={"AUTOGRADER_SEED": "42"},
    )
    assert statuses == ["ok", "ok", "ok"]
