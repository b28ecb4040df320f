"""Plumbing of the chapter "Making convolution fast": repository root, the benchmark file,
its table and figures, the CPU description."""

import json

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from cnnbook.fast_conv import (  # noqa: E402
    CASE_KEYS,
    case_table,
    cpu_description,
    find_repo_root,
    kernel_figure,
    kernel_table,
    load_kernel_results,
    speed_figure,
)


def case(name="ResNet 3x3", direction="forward", ours=30.0, torch=60.0, flops=3_000_000):
    return {
        "name": name,
        "op": "conv2d",
        "direction": direction,
        "shape": "x 2x3x8x8, 4@3x3, stride 1, pad 1",
        "flops": flops,
        "ours_ms": flops / ours / 1e6 if ours else 0.5,
        "torch_ms": flops / torch / 1e6 if torch else 1.0,
        "ours_gflops": ours,
        "torch_gflops": torch,
        "ratio_to_torch": (ours / torch) if ours else 2.0,
        "fraction_of_sgemm": ours / 100 if ours else None,
        "method": "numba im2col + BLAS",
    }


@pytest.fixture
def results():
    return {
        "date": "2026-01-02T03:04:05+00:00",
        "machine": {"cpu": "Test CPU", "cores": 2, "threads": 1, "numpy_blas_env": "unset"},
        "sgemm": {"n": 512, "ms": 2.7, "gflops": 100.0},
        "cases": [
            case(),
            case(direction="backward", ours=25.0, torch=50.0),
            case(name="max pool 2x2", ours=None, torch=None),
        ],
    }


def test_find_repo_root_from_a_chapter_folder(tmp_path):
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "autograder").mkdir()
    chapter = tmp_path / "chapters" / "06-making-conv-fast"
    chapter.mkdir(parents=True)
    assert find_repo_root(chapter) == tmp_path.resolve()


def test_find_repo_root_of_this_repository():
    root = find_repo_root()
    assert (root / "cnnbook" / "fast_conv.py").is_file()


def test_find_repo_root_fails_outside(tmp_path):
    with pytest.raises(FileNotFoundError, match="repository root"):
        find_repo_root(tmp_path)


def test_load_kernel_results_round_trip(tmp_path, results):
    path = tmp_path / "kernels.json"
    path.write_text(json.dumps(results))
    assert load_kernel_results(path) == results


def test_load_kernel_results_missing_file_says_how_to_make_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="bench/kernels.py"):
        load_kernel_results(tmp_path / "kernels.json")


@pytest.mark.parametrize(
    "spoil, message",
    [
        (lambda r: r.pop("sgemm"), "sgemm"),
        (lambda r: r["machine"].pop("cpu"), "machine.cpu"),
        (lambda r: r.pop("date"), "date"),
        (lambda r: r.update(cases=[]), "cases"),
        (lambda r: r["cases"][1].pop("torch_ms"), "case 1 misses torch_ms"),
    ],
)
def test_load_kernel_results_names_the_missing_field(tmp_path, results, spoil, message):
    spoil(results)
    path = tmp_path / "kernels.json"
    path.write_text(json.dumps(results))
    with pytest.raises(ValueError, match=message):
        load_kernel_results(path)


def test_load_kernel_results_rejects_bad_json(tmp_path):
    path = tmp_path / "kernels.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_kernel_results(path)


def test_case_keys_are_the_ones_bench_writes():
    assert "ratio_to_torch" in CASE_KEYS and "fraction_of_sgemm" in CASE_KEYS


def test_kernel_table_has_a_row_per_case_and_dashes_for_pooling(results):
    table = kernel_table(results).splitlines()
    assert len(table) == 2 + len(results["cases"])
    pool_row = table[-1]
    assert pool_row.startswith("| max pool 2x2 |") and "| – |" in pool_row
    assert table[2].endswith("| 30% |")  # ours / SGEMM


def test_case_table_names_each_case_once(results):
    table = case_table(results).splitlines()
    assert len(table) == 2 + len(results["cases"])
    assert table[2].startswith("| ResNet 3x3 | x 2x3x8x8")
    assert table[3].startswith("|  |  | backward |")  # same case, other direction
    assert "numba im2col + BLAS" in table[2]


def test_figures_draw(results):
    fig = kernel_figure(results)
    assert len(fig.axes[0].patches) == 2 * 2  # two convolution cases, two bars each
    plt.close(fig)
    fig = speed_figure(["a", "b"], [0.5, 50.0], {"SGEMM": 100.0}, "t", notes={"a": "x"})
    assert fig.axes[0].get_xscale() == "log"
    plt.close(fig)


def test_cpu_description_reads_the_first_processor(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text(
        "processor\t: 0\nmodel name\t: Test CPU\ncpu MHz\t\t: 2500.000\nflags\t\t: fpu avx2 fma\n\n"
        "processor\t: 1\nmodel name\t: Other\n"
    )
    cpu = cpu_description(info)
    assert cpu == {"model": "Test CPU", "mhz": 2500.0, "flags": {"fpu", "avx2", "fma"}}


def test_cpu_description_without_cpuinfo(tmp_path):
    cpu = cpu_description(tmp_path / "missing")
    assert cpu["mhz"] is None and cpu["flags"] == set()


def test_kernel_table_keeps_three_significant_digits():
    from cnnbook.fast_conv import _three_digits

    assert [_three_digits(v) for v in (0.324, 1.0, 37.645, 153.2)] == [
        "0.324",
        "1.00",
        "37.6",
        "153",
    ]
    assert _three_digits(None) == "–"
