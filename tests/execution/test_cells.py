"""The cell runner: every way a cell can fail is recorded, and the other cells still run."""

from __future__ import annotations

import pytest

from autograder.execution.cells import run_cells
from autograder.execution.outcomes import Cause


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
    assert result.outcomes[1].cause == Cause.EXITED
    assert "exited with code 7" in result.outcomes[1].message


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
    # more sleeping than the budget, whatever the machine's load makes the start-up cost
    cells = ["import time", *["time.sleep(1)"] * 8, "x = 1"]
    statuses, result = outcomes(cells, tmp_path, cell_timeout=5, total_timeout=4)
    assert result.budget_exhausted
    stopped = statuses.index("timeout")
    assert set(statuses[:stopped]) <= {"ok"} and set(statuses[stopped + 1 :]) == {"not-run"}
    assert result.outcomes[stopped].cause == Cause.BUDGET


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


def test_a_cell_receives_nothing_of_the_cells_after_it(tmp_path):
    """The runner gets one cell at a time: code in a cell cannot read a later (hidden) test."""
    cells = [
        "import gc\nseen = [o for o in gc.get_objects() if isinstance(o, str) and 'SECRET' in o]",
        "assert not [s for s in seen if 'TOKEN' in s], seen",
        "x = 'SECRET' + 'TOKEN'",
    ]
    statuses, result = outcomes(cells, tmp_path)
    assert statuses == ["ok", "ok", "ok"], result.outcomes


def test_bytes_written_to_the_report_channel_end_the_run_not_the_grader(tmp_path):
    """The learner's code can write to the report channel: garbage there is a crash of that
    cell (with its cause), and the cells after it run again in a fresh process."""
    cells = [
        "x = 1",
        "import os\nos.write(int(os.environ['AUTOGRADER_CHANNEL_FD']), b'junk')",
        "assert x == 1",
    ]
    statuses, result = outcomes(cells, tmp_path, env={"AUTOGRADER_MODE": "check"})
    assert statuses == ["ok", "crashed", "ok"]
    assert result.outcomes[1].cause == Cause.CHANNEL


def test_a_forged_outcome_is_a_crash_of_that_cell(tmp_path):
    """An outcome frame for another cell than the one running is refused."""
    forge = (
        "import os\nfrom autograder.protocol import write_frame\n"
        "write_frame(int(os.environ['AUTOGRADER_CHANNEL_FD']), "
        "{'t': 'outcome', 'index': 2, 'status': 'ok'})"
    )
    statuses, result = outcomes(
        ["x = 1", forge, "assert x == 2"], tmp_path, env={"AUTOGRADER_MODE": "check"}
    )
    assert statuses == ["ok", "crashed", "error"]
    assert result.outcomes[1].cause == Cause.CHANNEL


def test_a_forgotten_cell_cannot_be_read_back_from_the_line_cache(tmp_path):
    read_back = (
        "import linecache\n"
        "text = ''.join(''.join(v[2]) for k, v in list(linecache.cache.items()) if '<cell' in k)\n"
        "assert 'kept = 2' in text, 'the public cell is still there'\n"
        "assert 'sec' + 'ret = 1' not in text, 'the forgotten cell is gone'"
    )
    statuses, result = outcomes(["secret = 1", "kept = 2", read_back], tmp_path, forget={0})
    assert statuses == ["ok", "ok", "ok"], result.outcomes[2].message
    statuses, result = outcomes(["secret = 1", "kept = 2", read_back], tmp_path)
    assert statuses == ["ok", "ok", "error"]  # without forget, it can
