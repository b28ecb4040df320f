"""Plumbing of the chapter "Convolution on a GPU": the GPU results files, their table, the
roofline figure."""

import json

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from cnnbook.gpu_results import (  # noqa: E402
    ROW_KEYS,
    gpu_results_table,
    load_gpu_results,
    roofline_figure,
)


def row(case="ResNet 3x3", implementation="blocked", baseline=False, ms=0.5):
    return {
        "case": case,
        "shape": "x 64x64x32x32, 64@3x3, stride 1, pad 1",
        "implementation": implementation,
        "baseline": baseline,
        "tf32": False,
        "ms": ms,
        "gflops": 4832.0 / ms,
        "gb_s": 67.4 / ms,
        "fraction_of_cudnn_fp32": 0.25 / ms,
        "fraction_of_peak_fp32": 0.0721 / ms,
    }


def result(simulated=False):
    return {
        "date": "2027-01-02T03:04:05+00:00",
        "command": "python bench/gpu_kernels.py",
        "simulated": simulated,
        "gpu": {"name": "Test GPU", "slug": "test-gpu"},
        "peak": {"fp32_tflops": 67.0, "bandwidth_tb_s": 4.8, "source": "a spec sheet"},
        "versions": {"numba": "0.68.1"},
        "rows": [row(), row(implementation="cuDNN float32", baseline=True, ms=0.25)],
    }


def test_no_files_means_no_results(tmp_path):
    assert load_gpu_results(tmp_path) == []


def test_results_are_read_and_simulated_ones_left_out(tmp_path):
    (tmp_path / "gpu-kernels-test-gpu.json").write_text(json.dumps(result()))
    (tmp_path / "gpu-kernels-simulator.json").write_text(json.dumps(result(simulated=True)))
    (tmp_path / "kernels.json").write_text("{}")  # the CPU benchmark: another file
    found = load_gpu_results(tmp_path)
    assert [r["file"] for r in found] == ["gpu-kernels-test-gpu.json"]
    assert found[0]["gpu"]["name"] == "Test GPU"


@pytest.mark.parametrize("missing", ["date", "gpu", "peak", "rows"])
def test_a_missing_field_is_named(tmp_path, missing):
    broken = result()
    del broken[missing]
    (tmp_path / "gpu-kernels-x.json").write_text(json.dumps(broken))
    with pytest.raises(ValueError, match=f"'{missing}'"):
        load_gpu_results(tmp_path)


def test_a_row_missing_a_key_is_named(tmp_path):
    broken = result()
    del broken["rows"][1]["ms"]
    (tmp_path / "gpu-kernels-x.json").write_text(json.dumps(broken))
    with pytest.raises(ValueError, match="row 1 misses ms"):
        load_gpu_results(tmp_path)


def test_not_json_is_reported(tmp_path):
    (tmp_path / "gpu-kernels-x.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_gpu_results(tmp_path)


def test_table_has_one_line_per_row_and_the_case_once():
    table = gpu_results_table(result())
    lines = table.splitlines()
    assert len(lines) == 2 + 2
    assert lines[2].startswith("| ResNet 3x3 | blocked | 0.500 | 9664 |")
    assert lines[2].endswith("| 50% | 14% |")
    assert lines[3].startswith("|  | cuDNN float32 | 0.250 |")
    assert set(ROW_KEYS) <= set(row())


def test_roofline_figure_puts_points_on_the_roof():
    fig = roofline_figure(67e12, 4.8e12, {"low": (0.25, None), "high": (143.0, 30e12)}, "t")
    ax = fig.axes[0]
    assert "log" in ax.get_xlabel()
    lines = {line.get_label(): line for line in ax.get_lines()}
    low = lines["low"].get_ydata()[0]
    assert low == pytest.approx(0.25 * 4.8e12 / 1e12)  # on the sloped roof, in TFLOP/s
    assert lines["high"].get_ydata()[0] == pytest.approx(30.0)  # measured rate, as given
    plt.close(fig)
