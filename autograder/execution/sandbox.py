"""Isolating a learner's process while grading (Linux, grader running as root).

:func:`enter` turns the calling process (a child of the grader's warm runner, or the launcher
``python -m autograder.execution.sandbox SPEC -- COMMAND...``) into the parent of the isolated
process, which is then:

1. in new mount, network, IPC, UTS and PID namespaces: no network at all, mounts of its own,
   and it is process 1 of a namespace of its own (it sees no other process; when it ends,
   everything it started ends with it); ``/proc`` is mounted for that namespace;
2. on a file system that is read-only everywhere except its own scratch folder and private,
   size-limited ``/tmp``, ``/var/tmp`` and ``/dev/shm`` (every other writable place of the host,
   ``/run/lock`` included, is read-only for it, so nothing it writes outlives it);
3. blind to what a learner must never read: the instructor's solutions and git history, the
   submissions (other students' work), the output folder (grades, feedback, expected values),
   home folders, the host's ``/tmp``, and the modules its part may not use (the spec's
   ``hide`` list: an empty read-only folder over a folder, ``/dev/null`` over a file); the
   Python installation and the project are mounted back read-only when they live in a hidden
   folder;
4. limited (address space, processes, file size, no core dumps), with ``no_new_privs`` set, and
   running as an unprivileged user id of its own without supplementary groups (root ignores
   ``RLIMIT_NPROC``).

The scratch folder itself is a size-limited tmpfs mounted by the grader (:func:`scratch_quota`):
a learner who writes until the disk is full fills only that.

When the grader does not run as root on Linux, :func:`available` is False and submissions run
without this isolation (still in their own process group with limits): the feedback says so.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import resource
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

from ..layout import PROJECT_ROOT

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
MNT_DETACH = 0x2
PR_SET_NO_NEW_PRIVS = 38
O_PATH = 0o10000000
MOUNT_OPTIONS = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC}
PRIVATE_WRITABLE = ("/tmp", "/var/tmp", "/dev/shm")
COVERED = ("/tmp", "/var/tmp", "/dev/shm", "/root", "/home", "/run")


def available() -> bool:
    """True where the grader can isolate learners (Linux, running as root)."""
    return sys.platform.startswith("linux") and os.geteuid() == 0


def make_spec(
    *,
    scratch: Path,
    hide: list[Path],
    uid: int,
    memory_mb: int | None,
    max_processes: int = 64,
    max_file_mb: int = 512,
) -> dict:
    """What :func:`enter` needs to isolate a process in ``scratch``."""
    return {
        "scratch": str(scratch),
        "hide": [str(p) for p in hide],
        "reveal": sorted(needed_paths()),
        "uid": uid,
        "memory_mb": memory_mb,
        "max_processes": max_processes,
        "max_file_mb": max_file_mb,
    }


def needed_paths() -> set[str]:
    """The real (symbolic links resolved) folders the learner's Python needs to read: its
    installation, its package folders (``site-packages``, wherever a symbolic link puts them)
    and the project. Not the grader's working folder, which may hold anything."""
    project = PROJECT_ROOT
    prefixes = {sys.base_prefix, sys.prefix, sys.exec_prefix, str(project)}
    paths = set(prefixes)
    configured = set(os.environ.get("PYTHONPATH", "").split(os.pathsep)) - {""}
    for entry in sys.path:
        real = os.path.realpath(entry) if entry else ""
        if entry and (
            any(os.path.abspath(entry).startswith(p) for p in prefixes)
            or any(part in real for part in ("site-packages", "dist-packages"))
            or entry in configured
        ):
            paths.add(entry)
    found = set()
    for path in paths:
        real = os.path.realpath(path)
        if os.path.isdir(real):
            found.add(real)
    return found


def wrap(command: list[str], **spec) -> list[str]:
    """The launcher command line that runs ``command`` isolated (see :func:`make_spec`)."""
    text = json.dumps(make_spec(**spec))
    return [sys.executable, "-m", "autograder.execution.sandbox", text, "--", *command]


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [
        ctypes.c_char_p,
        ctypes.c_char_p,
        ctypes.c_char_p,
        ctypes.c_ulong,
        ctypes.c_char_p,
    ]
    return libc


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"sandbox: {what}: {os.strerror(errno)}")


def _mount(libc, source, target, fstype, flags, data=None) -> None:
    _check(
        libc.mount(
            source and source.encode(),
            str(target).encode(),
            fstype and fstype.encode(),
            flags,
            data and data.encode(),
        ),
        f"mount {target}",
    )


@contextlib.contextmanager
def scratch_quota(scratch: Path, size_mb: int) -> Iterator[str]:
    """Mount an empty tmpfs of ``size_mb`` MB over the (empty) folder ``scratch`` while the block
    runs, so that everything written there, by the grader or the learner, counts against it.

    Yields "" when it mounted one, else why not (not root on Linux, or the mount was refused,
    e.g. in a container without CAP_SYS_ADMIN): grading goes on without the quota. The tmpfs is
    unmounted (lazily, in case a straggler still holds a file) and its contents freed when the
    block ends, whatever happens in it.
    """
    if not available():
        yield "not running as root on Linux"
        return
    if not scratch.is_dir() or any(scratch.iterdir()):
        raise ValueError(f"scratch_quota needs an empty folder, got {scratch}")
    libc = _libc()
    try:
        size = f"size={int(size_mb)}m,mode=700"
        _mount(libc, "tmpfs", scratch, "tmpfs", MS_NOSUID | MS_NODEV, size)
    except OSError as error:
        yield str(error)
        return
    try:
        yield ""
    finally:
        _check(libc.umount2(str(scratch).encode(), MNT_DETACH), f"umount {scratch}")


def _mount_points() -> list[tuple[str, int]]:
    """Every mount point of this namespace with its per-mount flags, parents first."""
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        point = fields[4].encode().decode("unicode_escape")
        flags = 0
        for option in fields[5].split(","):
            flags |= MOUNT_OPTIONS.get(option, 0)
        points.append((point, flags))
    return sorted(points, key=lambda p: p[0].count("/"))


def _read_only_everywhere(libc) -> None:
    for point, flags in _mount_points():
        try:
            _mount(libc, None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | flags)
        except OSError:
            continue  # e.g. a mount under /proc that cannot be remounted; never writable to it


def _hide(libc, path: Path) -> None:
    """Cover ``path`` with an empty read-only tmpfs (a directory) or /dev/null (a file)."""
    if path.is_dir():
        _mount(libc, "tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_RDONLY, "size=4k,mode=755")
    elif path.exists():
        _mount(libc, "/dev/null", path, None, MS_BIND)
        _mount(libc, None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY)


def _blocked_ancestors(path: Path) -> list[Path]:
    """Ancestors of ``path`` that other users cannot traverse (e.g. a 0700 home folder)."""
    blocked = []
    for parent in reversed(path.parents):
        try:
            if not os.stat(parent).st_mode & 0o001:
                blocked.append(parent)
        except OSError:
            break
    return blocked


def _become_init_of_new_namespace() -> None:
    """Fork; the parent waits for the child (process 1 of the new PID namespace) and ends as
    it ended (same exit code, or killed by the same signal). Returns in the child."""
    pid = os.fork()
    if pid == 0:
        return
    for fd in range(0, 1024):
        with contextlib.suppress(OSError):
            os.close(fd)
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        signal.signal(number, signal.SIG_DFL)
        os.kill(os.getpid(), number)
    os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


def enter(spec: dict) -> None:
    """Isolate as ``spec`` says (see the module docstring). Needs root. Returns in the isolated
    process; the calling process stays outside, waits for it and never returns."""
    libc = _libc()
    scratch = Path(spec["scratch"])
    reveal = [Path(p) for p in spec["reveal"] if Path(p).is_dir()]
    flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWPID
    _check(libc.unshare(flags), "unshare")
    _become_init_of_new_namespace()
    os.setsid()  # its own session and process group, led by itself (process 1 of its namespace)
    _mount(libc, None, "/", None, MS_REC | MS_PRIVATE)
    # Handles on what gets covered and mounted back, taken before anything is covered.
    keep = {p: os.open(p, O_PATH | os.O_DIRECTORY) for p in [scratch, *reveal]}
    _read_only_everywhere(libc)
    _mount(libc, "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    covered = {Path(p) for p in COVERED}
    for path in reveal:
        covered.update(_blocked_ancestors(path))
    covered = sorted((p for p in covered if p.is_dir()), key=lambda p: len(p.parts))
    for path in covered:  # writable while the mount points inside are made
        mode = "size=64m,mode=1777" if str(path) in PRIVATE_WRITABLE else "size=64k,mode=755"
        _mount(libc, "tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, mode)
    for path in reveal:  # the Python installation and the project, back and read-only
        if any(path == c or c in path.parents for c in covered):
            path.mkdir(parents=True, exist_ok=True)
            _mount(libc, f"/proc/self/fd/{keep[path]}", path, None, MS_BIND | MS_REC)
            _mount(libc, None, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID)
    scratch.mkdir(parents=True, exist_ok=True)
    _mount(libc, f"/proc/self/fd/{keep[scratch]}", scratch, None, MS_BIND)
    _mount(libc, None, scratch, None, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV)
    for path in covered:
        if str(path) not in PRIVATE_WRITABLE:
            _mount(libc, None, path, None, MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_RDONLY)
    for path in (Path(p) for p in spec["hide"]):
        _hide(libc, path)
    for fd in keep.values():
        os.close(fd)
    _limit_and_drop(spec)
    os.chdir(scratch)


def _limit_and_drop(spec: dict) -> None:
    if spec.get("memory_mb"):
        limit = int(spec["memory_mb"]) * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    files = int(spec["max_file_mb"]) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (files, files))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    nproc = int(spec["max_processes"])
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
    _check(_libc().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")
    uid = int(spec["uid"])
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


def main(argv: list[str]) -> None:
    if len(argv) < 3 or argv[1] != "--":
        sys.exit("usage: python -m autograder.execution.sandbox SPEC_JSON -- COMMAND...")
    enter(json.loads(argv[0]))
    command = argv[2:]
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
