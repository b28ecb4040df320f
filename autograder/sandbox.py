"""Isolating a learner's process while grading (Linux, grader running as root).

``python -m autograder.sandbox SPEC_JSON -- COMMAND...`` is a small launcher that sets up the
isolation and then replaces itself with ``COMMAND`` (the cell runner). It starts as root and:

1. enters new mount, network, IPC and UTS namespaces: the process has no network at all
   (not even loopback) and its mounts are its own;
2. hides what a learner must never read behind empty read-only mounts: the instructor's
   solutions and git history, the submissions folder (other students' work), the output folder
   (grades, feedback, expected values), ``/tmp`` and ``/dev/shm`` (other students' scratch
   folders), and home folders; the Python installation is mounted back read-only when it lives
   in such a folder;
3. mounts its own scratch folder back, writable, at the same path (and each ``binds`` pair
   of the spec: a folder of the scratch mounted at another path, e.g. numba's cache folder of a
   pre-forked runner, see :mod:`autograder.zygote`);
4. sets resource limits (address space, processes, file size, no core dumps) and drops to an
   unprivileged user id of its own (root ignores ``RLIMIT_NPROC``), with no supplementary groups.

The scratch folder itself is a size-limited tmpfs (:func:`scratch_quota`, mounted by the grader
before the launcher starts): a learner who writes until the disk is full fills only that.

When the grader does not run as root on Linux, :func:`available` is False and submissions run
without this isolation (still in their own process group with limits): the report says so.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import resource
import sys
from collections.abc import Iterator
from pathlib import Path

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
O_PATH = 0o10000000
FIRST_UID = 61000  # sandbox user ids: FIRST_UID + slot, never a real account


def available() -> bool:
    """True where the grader can isolate learners (Linux, running as root)."""
    return sys.platform.startswith("linux") and os.geteuid() == 0


def sandbox_uid(slot: int) -> int:
    return FIRST_UID + slot % 4000


_claimed: tuple[int, int] | None = None  # (uid, fd of its lock), held while this process lives
SLOT_LOCKS = Path("/run/autograder-sandbox-uids")


def _forget_claim_in_child() -> None:
    """A forked process (a grading worker) claims a user id of its own: sharing its parent's
    would let one worker's clean-up kill the other's learners."""
    global _claimed
    _claimed = None


os.register_at_fork(after_in_child=_forget_claim_in_child)


def claim_uid() -> int:
    """A sandbox user id no other live grading process on this machine holds.

    Each grading worker (a local process or a Dask worker) keeps an exclusive ``flock`` on one
    slot file for as long as it lives, so two concurrent submissions never share a user id (the
    grader kills every process of that id after each submission).
    """
    global _claimed
    if _claimed is not None:
        return _claimed[0]
    import fcntl

    SLOT_LOCKS.mkdir(mode=0o700, parents=True, exist_ok=True)
    for slot in range(4000):
        fd = os.open(SLOT_LOCKS / f"{slot}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        _claimed = (sandbox_uid(slot), fd)
        return _claimed[0]
    raise RuntimeError("no free sandbox user id: 4000 grading processes hold one each")


def make_spec(
    *,
    scratch: Path,
    hide: list[Path],
    uid: int,
    memory_mb: int | None,
    max_processes: int = 64,
    max_file_mb: int = 512,
    binds: list[tuple[Path, Path]] = (),
) -> dict:
    """What :func:`enter` needs to isolate a process in ``scratch``."""
    project = Path(__file__).resolve().parent.parent
    reveal = {sys.base_prefix, sys.prefix, os.path.realpath(sys.base_prefix), str(project)}
    return {
        "scratch": str(scratch),
        "hide": [str(p) for p in hide],
        "reveal": sorted(reveal),
        "uid": uid,
        "memory_mb": memory_mb,
        "max_processes": max_processes,
        "max_file_mb": max_file_mb,
        "binds": [[str(source), str(target)] for source, target in binds],
    }


def wrap(command: list[str], **spec) -> list[str]:
    """The launcher command line that runs ``command`` isolated (``spec``: see
    :func:`make_spec`)."""
    text = json.dumps(make_spec(**spec))
    return [sys.executable, "-m", "autograder.sandbox", text, "--", *command]


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


MNT_DETACH = 0x2


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


def _hide(libc, path: Path) -> None:
    """Cover ``path`` with an empty read-only tmpfs (a directory) or /dev/null (a file)."""
    if path.is_dir():
        _mount(libc, "tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_RDONLY, "size=4k,mode=755")
    elif path.exists():
        _mount(libc, "/dev/null", path, None, MS_BIND)


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


def enter(spec: dict) -> None:
    """Isolate this process as ``spec`` says (see the module docstring). Needs root."""
    libc = _libc()
    scratch = Path(spec["scratch"])
    reveal = [Path(p) for p in spec["reveal"] if Path(p).is_dir()]
    _check(libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS), "unshare")
    _mount(libc, None, "/", None, MS_REC | MS_PRIVATE)
    # Handles on what gets covered and mounted back, taken in the new namespace (a bind mount
    # from another namespace's mount is refused).
    binds = [(Path(source), Path(target)) for source, target in spec.get("binds", [])]
    keep = {
        p: os.open(p, O_PATH | os.O_DIRECTORY)
        for p in [scratch, *reveal, *(source for source, _ in binds)]
    }
    covered = {Path("/tmp"), Path("/var/tmp"), Path("/dev/shm"), Path("/root"), Path("/home")}
    for path in reveal:
        covered.update(_blocked_ancestors(path))
    shared = {Path("/tmp"), Path("/var/tmp"), Path("/dev/shm")}  # private, writable copies
    for path in sorted(covered, key=lambda p: len(p.parts)):
        if path.is_dir():
            mode = "1777" if path in shared else "755"
            _mount(libc, "tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, f"size=64m,mode={mode}")
    for path in reveal:  # the Python installation and the project, back and read-only
        if any(path == c or c in path.parents for c in covered):
            path.mkdir(parents=True, exist_ok=True)
            _mount(libc, f"/proc/self/fd/{keep[path]}", path, None, MS_BIND | MS_REC)
            _mount(libc, None, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID)
    for path in (Path(p) for p in spec["hide"]):
        _hide(libc, path)
    scratch.mkdir(parents=True, exist_ok=True)
    _mount(libc, f"/proc/self/fd/{keep[scratch]}", scratch, None, MS_BIND)
    for source, target in binds:  # e.g. the learner's copy of the numba cache, writable
        # the source becomes a mount point too: the learner can empty it but not remove it
        # (which would leave the target pointing at a deleted folder)
        _mount(libc, f"/proc/self/fd/{keep[source]}", source, None, MS_BIND)
        target.mkdir(parents=True, exist_ok=True)
        _mount(libc, f"/proc/self/fd/{keep[source]}", target, None, MS_BIND)
    for fd in keep.values():
        os.close(fd)
    if spec.get("memory_mb"):
        limit = int(spec["memory_mb"]) * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    files = int(spec["max_file_mb"]) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (files, files))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    nproc = int(spec["max_processes"])
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
    uid = int(spec["uid"])
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    os.chdir(scratch)


def main(argv: list[str]) -> None:
    if len(argv) < 3 or argv[1] != "--":
        sys.exit("usage: python -m autograder.sandbox SPEC_JSON -- COMMAND...")
    enter(json.loads(argv[0]))
    command = argv[2:]
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
