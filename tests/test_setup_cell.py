"""The released notebooks' setup cell, as Colab, Binder or a fresh Jupyter would run it.

A "bare" virtual environment stands for such a runtime: it has the course's dependencies (made
visible from this project's .venv, not downloaded; the kit's `pip install` must then find them
all there) but not the course's package. The kit is served from 127.0.0.1 as the book would
serve it, with pip's index switched off: nothing may come from anywhere else.
"""

from __future__ import annotations

import functools
import http.server
import socket
import subprocess
import sys
import sysconfig
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from notebook_helpers import ROOT, cell_source, load, released_path, save, solved_release

from autograder import kit as kit_setup
from autograder.kit import KIT_FOLDER, URL_VARIABLE
from autograder.release import course_kit_url

SITE_PACKAGES = Path(sysconfig.get_paths()["purelib"])
NOT_A_DEPENDENCY = (
    "__editable__",
    "cnn_from_scratch",
    "_cnn_from_scratch",
    "autograder",
    "cnnbook",
)


def setup_code() -> str:
    cell = load(released_path("conv1d"))["cells"][0]
    assert cell["metadata"]["nbgrader"]["locked"], "the setup cell is locked"
    return cell_source(cell)


def bare_venv(folder: Path) -> Path:
    """A fresh virtual environment (no system site-packages) that sees this project's
    dependencies but not its package; returns its python."""
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(folder / "venv")],
        check=True,
        timeout=120,
    )
    deps = folder / "deps"
    deps.mkdir()
    for entry in SITE_PACKAGES.iterdir():
        if not entry.name.startswith(NOT_A_DEPENDENCY) and entry.suffix != ".pth":
            (deps / entry.name).symlink_to(entry)
    python = folder / "venv" / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(purelib) / "course-dependencies.pth").write_text(f"{deps}\n")
    return python


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """No PYTHONPATH, no project on the path: what a hosted kernel has."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "PIP_NO_INDEX": "1",  # nothing from a package index: only the served kit
        "PIP_RETRIES": "0",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_NO_CACHE_DIR": "1",
    }
    return env | extra


def run(python, args, env, cwd, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(python), *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_setup_cell_does_nothing_where_the_package_is_installed(tmp_path):
    env = clean_env(tmp_path, **{URL_VARIABLE: f"http://127.0.0.1:{free_port()}/none.whl"})
    done = run(sys.executable, ["-c", setup_code()], env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""


def test_the_setup_cell_says_what_to_do_when_the_kit_cannot_be_reached(tmp_path):
    python = bare_venv(tmp_path)
    url = f"http://127.0.0.1:{free_port()}/kit/nowhere.whl"  # nothing listens there
    probe = run(python, ["-c", "import autograder"], clean_env(tmp_path), tmp_path)
    assert "No module named 'autograder'" in probe.stderr
    done = run(python, ["-c", setup_code()], clean_env(tmp_path, **{URL_VARIABLE: url}), tmp_path)
    assert done.returncode == 1
    assert f"Installing the course kit from {url}" in done.stdout
    last = done.stderr.strip().splitlines()
    message = next(line for line in last if line.startswith("RuntimeError"))
    assert f"could not be installed from {url}" in message
    assert f"set {URL_VARIABLE} to the kit's address" in message


def test_the_setup_cell_points_at_the_book(tmp_path):
    """Without the override the cell installs from the book's configured base URL."""
    base = yaml.safe_load((ROOT / "_config.yml").read_text())["html"]["baseurl"]
    url = course_kit_url()
    assert url.startswith(base) and f"/{KIT_FOLDER}/" in url
    assert f'_install_course_kit("{url}")' in setup_code()


@pytest.mark.slow
@pytest.mark.book
def test_offline_like_colab_the_setup_cell_installs_the_kit_and_check_runs(kit, tmp_path):
    """The whole path of a learner on a hosted notebook, offline: a runtime without the
    course's package runs the setup cell, which installs the wheel from the book served on
    127.0.0.1; then `python -m autograder check` runs there, on a fresh download and on a
    solved notebook."""
    started = time.perf_counter()
    requests: list[str] = []

    class Logged(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format, *args):  # noqa: A002 - the base class's name
            requests.append(format % args)

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Logged, directory=str(kit / "book"))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    transcript = []
    try:
        base = yaml.safe_load((ROOT / "_config.yml").read_text())["html"]["baseurl"]
        origin = f"http://127.0.0.1:{server.server_address[1]}/"
        url = course_kit_url().replace(base, origin)  # the book's address, served here
        python = bare_venv(tmp_path)
        env = clean_env(tmp_path, **{URL_VARIABLE: url})
        work = tmp_path / "work"
        served = next((kit / "book" / "_downloads").rglob("conv1d.ipynb"))
        link = origin + served.relative_to(kit / "book").as_posix()
        with urllib.request.urlopen(link, timeout=30) as response:  # as a learner downloads it
            save(response.read(), work / "conv1d.ipynb")
        transcript.append(f"downloaded {link}")
        solved = save(solved_release("conv1d"), work / "solved" / "conv1d.ipynb")

        def step(title, args, cwd):
            done = run(python, args, env, cwd)
            transcript.append(f"$ {title}  (exit {done.returncode})\n{done.stdout}{done.stderr}")
            return done

        before = step("python -c 'import autograder'", ["-c", "import autograder"], work)
        assert before.returncode == 1 and "No module named 'autograder'" in before.stderr
        setup = step("python -c <the notebook's setup cell>", ["-c", setup_code()], work)
        assert setup.returncode == 0, setup.stderr
        assert setup.stdout.strip() == f"Installing the course kit from {url}"
        assert any(f"GET /{KIT_FOLDER}/" in r and " 200 " in r for r in requests), requests
        where = step(
            "python -c 'import autograder; print(autograder.__file__)'",
            ["-c", "import autograder; print(autograder.__file__)"],
            work,
        )
        assert str(python.parent.parent / "lib") in where.stdout, where.stdout
        again = step("python -c <the setup cell, again>", ["-c", setup_code()], work)
        assert again.returncode == 0 and again.stdout == ""
        fresh = step(
            "python -m autograder check conv1d.ipynb",
            ["-m", "autograder", "check", "conv1d.ipynb"],
            work,
        )
        assert fresh.returncode == 1, fresh.stderr
        assert "0 of 4 public parts pass" in fresh.stdout
        done = step(
            "python -m autograder check conv1d.ipynb  (solved)",
            ["-m", "autograder", "check", "conv1d.ipynb"],
            solved.parent,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "all 4 public parts pass" in done.stdout
        assert (solved.parent / ".conv1d.checks.jsonl").is_file()
    finally:
        server.shutdown()
        server.server_close()
    transcript.append(f"served: {', '.join(requests)}")
    transcript.append(f"{time.perf_counter() - started:.1f} s in all")
    print("\n" + "\n".join(transcript))


def test_only_the_requirements_a_runtime_lacks_are_installed(tmp_path, monkeypatch):
    """A hosted runtime keeps its own NumPy, PyTorch...: the setup installs only what is
    missing (at the course's pins), and nothing when nothing is."""
    info = tmp_path / "fake_kit-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: fake-kit\nVersion: 1.0\n"
        "Requires-Dist: numpy==0.0.1\n"  # installed, at another version: kept
        "Requires-Dist: surely-not-installed-here==1.2.3\n"
        "Requires-Dist: also-missing>=2; python_version >= '3'\n"
        'Requires-Dist: pytest==1.0; extra == "test"\n'
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert kit_setup.missing_requirements("fake-kit") == [
        "surely-not-installed-here==1.2.3",
        "also-missing>=2",
    ]
    calls = []
    monkeypatch.setattr(
        kit_setup.subprocess,
        "run",
        lambda args, **kw: (
            calls.append(args) or subprocess.CompletedProcess(args, 1, "", "no index")
        ),
    )
    with pytest.raises(
        RuntimeError, match="pip could not install surely-not-installed-here==1.2.3"
    ):
        kit_setup.install_missing_requirements("fake-kit")
    assert calls[0][-2:] == ["surely-not-installed-here==1.2.3", "also-missing>=2"]
    assert (
        kit_setup.install_missing_requirements("cnn-from-scratch") == []
    )  # this project: complete
