"""Isolation of a learner's process while grading: what it must not see, reach or exhaust."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from autograder.execution import sandbox
from autograder.execution.cells import Isolation, WarmRunners, run_cells
from autograder.execution.users import FIRST_UID, SandboxUser
from autograder.layout import PROJECT_ROOT as REPO_ROOT
from autograder.layout import REFERENCE_DIR, SOLUTIONS_DIR


@pytest.fixture(scope="module")
def user():
    """A user id of this test module's own (never one a concurrent grading worker holds)."""
    held = SandboxUser()
    yield held
    held.release()


@pytest.fixture(scope="module", params=["zygote", "launcher"])
def isolated(request, tmp_path_factory, user):
    """The same cells isolated both ways: forked from a warm zygote (what grading uses) and
    through the launcher in a fresh interpreter (the fallback)."""
    assert sandbox.available(), "these tests need Linux and root, as CI has"
    secret_dir = tmp_path_factory.mktemp("instructor")
    (secret_dir / "grades.csv").write_text("alice,15\n")
    scratch = tmp_path_factory.mktemp("scratch")
    UID = user.uid
    neighbour = tmp_path_factory.mktemp("other-student")
    # a world-writable folder of the host outside /tmp (like /run/lock): read-only inside
    open_dir = Path("/opt") / f"autograder-test-{os.getpid()}"
    open_dir.mkdir(exist_ok=True)
    open_dir.chmod(0o1777)
    request.addfinalizer(lambda: __import__("shutil").rmtree(open_dir, ignore_errors=True))
    (neighbour / "answer.txt").write_text("42")
    cells = {
        "uid": f"import os\nassert os.getuid() == {UID} and os.getgid() == {UID}",
        "solutions": f"open({str(SOLUTIONS_DIR / 'conv1d' / 'conv1d.ipynb')!r}).read()",
        "solutions-listing": f"assert os.listdir({str(SOLUTIONS_DIR)!r}) == []",
        "git": f"open({str(REPO_ROOT / '.git' / 'HEAD')!r}).read()",
        "instructor": f"open({str(secret_dir / 'grades.csv')!r}).read()",
        "neighbour": f"open({str(neighbour / 'answer.txt')!r}).read()",
        "network": "import socket\nsocket.create_connection(('127.0.0.1', 22), timeout=1)",
        "project-readonly": f"open({str(REPO_ROOT / 'README.md')!r}, 'a')",
        "home": "open('/root/.bashrc').read()",
        "own-scratch": "open('mine.txt', 'w').write('ok')\nassert open('mine.txt').read() == 'ok'",
        "imports": "import numpy as np\nfrom autograder.checks import check_array",
        "hidden-module": "from autograder.reference import conv2d",
        "pid-namespace": "assert os.getpid() == 1\n"
        "assert sorted(int(p) for p in os.listdir('/proc') if p.isdigit()) == [1]",
        "read-only-host": "open('/run/lock/planted.txt', 'w').write('x')",
        "read-only-world-writable": "import errno\ntry:\n"
        f"    open({str(open_dir / 'planted.txt')!r}, 'w').write('x')\n"
        "except OSError as e:\n    assert e.errno == errno.EROFS, e\n"
        "else:\n    raise AssertionError('wrote to the host')",
        "private-tmp": "open('/tmp/planted.txt', 'w').write('x')\n"
        "assert open('/tmp/planted.txt').read() == 'x'",
        "no-new-privs": "assert 'NoNewPrivs:\\t1' in open('/proc/self/status').read()",
        "own-session": "assert os.getsid(0) == os.getpid() == os.getpgid(0)",
        "no-grader-sockets": "assert not [f for f in os.listdir('/proc/self/fd')\n"
        "    if os.path.exists(f'/proc/self/fd/{f}')\n"
        "    and os.readlink(f'/proc/self/fd/{f}').startswith('socket:')]",
        "fork-bomb": "import subprocess\n"
        "ps = [subprocess.Popen(['sleep', '30']) for _ in range(200)]",
        "after": "x = 1",
    }
    names = list(cells)
    runners = WarmRunners()
    result = run_cells(
        list(enumerate(cells.values())),
        scratch,
        cell_timeout=20,
        isolation=Isolation(
            hide=(SOLUTIONS_DIR, REPO_ROOT / ".git", secret_dir, REFERENCE_DIR),
            user=user,
            max_processes=32,
            warm=("numpy",),
            use_zygote=request.param == "zygote",
        ),
        runners=runners,
    )
    if request.param == "zygote":  # it started (single-threaded) and served, no fallback
        assert runners.current is not None and runners.current.alive()
    runners.close()
    return {name: result.outcomes[i] for i, name in enumerate(names)}, scratch, result, user.uid


@pytest.mark.parametrize(
    "name",
    [
        "uid",
        "solutions-listing",
        "own-scratch",
        "imports",
        "own-session",
        "pid-namespace",
        "private-tmp",
        "no-new-privs",
        "read-only-world-writable",
        "no-grader-sockets",
        "after",
    ],
)
def test_what_a_learner_may_do(isolated, name):
    outcomes, _, result, _ = isolated
    assert outcomes[name].status == "ok", (outcomes[name], result.output[-2000:])


@pytest.mark.parametrize(
    "name, ename",
    [
        ("solutions", "FileNotFoundError"),
        ("git", "FileNotFoundError"),
        ("instructor", "FileNotFoundError"),
        ("neighbour", "FileNotFoundError"),
        ("home", "FileNotFoundError"),
        ("network", "OSError"),
        ("project-readonly", "PermissionError"),
        ("hidden-module", "ImportError"),
        ("read-only-host", "FileNotFoundError"),
        ("fork-bomb", "BlockingIOError"),
    ],
)
def test_what_a_learner_cannot_do(isolated, name, ename):
    outcomes, _, _, _ = isolated
    assert (outcomes[name].status, outcomes[name].ename) == ("error", ename), outcomes[name]


def test_the_scratch_folder_belongs_to_the_sandbox_user(isolated):
    _, scratch, _, uid = isolated
    assert (scratch / "mine.txt").read_text() == "ok"
    assert os.stat(scratch / "mine.txt").st_uid == uid


def test_everything_the_learner_started_is_killed(isolated):
    uid = isolated[3]
    deadline = time.monotonic() + 10
    while _alive_as(uid) and time.monotonic() < deadline:
        time.sleep(0.2)  # SIGKILLed processes linger until they are reaped
    assert _alive_as(uid) == []


def _alive_as(uid: int) -> list[str]:
    alive = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and proc.stat().st_uid == uid:
                state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if state != "Z":
                    alive.append(proc.name)
        except OSError:
            continue
    return alive


def test_concurrent_grading_processes_never_share_a_sandbox_user():
    import subprocess
    import sys

    script = "from autograder.execution.users import SandboxUser; import time; "
    script += "print(SandboxUser().uid, flush=True); "
    script += "time.sleep(3)"
    workers = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    uids = [int(w.stdout.readline()) for w in workers]
    for w in workers:
        w.wait()
    assert len(set(uids)) == 3 and all(u >= FIRST_UID for u in uids)


def test_a_forked_grading_worker_claims_its_own_sandbox_user(user):
    """A grading worker forked from a process that holds a user id (the command line, a test
    session) must not share it: one worker's clean-up would kill the other's learners. The
    worker's own Worker object claims a new one."""
    from autograder.grading.workers import this_worker

    this_worker()  # this process's
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        os.write(write, str(this_worker().user.uid).encode())
        os._exit(0)
    os.close(write)
    child_uid = int(os.read(read, 100))
    os.close(read)
    os.waitpid(pid, 0)
    assert child_uid not in (user.uid, this_worker().user.uid) and child_uid >= FIRST_UID


def test_scratch_quota_caps_what_can_be_written_and_leaves_nothing(tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with sandbox.scratch_quota(scratch, 4) as why_not:
        assert why_not == ""
        assert os.statvfs(scratch).f_blocks * os.statvfs(scratch).f_frsize == 4 << 20
        with pytest.raises(OSError, match="No space left on device"):
            with (scratch / "big").open("wb") as handle:
                for _ in range(8):
                    handle.write(b"x" * (1 << 20))
                    handle.flush()
    assert scratch.is_dir() and list(scratch.iterdir()) == []  # the tmpfs and its file are gone
    assert not os.path.ismount(scratch)
    (scratch / "left-over").write_text("x")
    with pytest.raises(ValueError, match="empty folder"):
        with sandbox.scratch_quota(scratch, 4):
            pass


def test_scratch_quota_that_cannot_mount_says_why_and_lets_grading_go_on(tmp_path, monkeypatch):
    def refuse(*args):
        raise OSError(1, "sandbox: mount: Operation not permitted")

    monkeypatch.setattr(sandbox, "_mount", refuse)
    with sandbox.scratch_quota(tmp_path, 4) as why_not:
        (tmp_path / "written").write_text("still works")
    assert "Operation not permitted" in why_not
