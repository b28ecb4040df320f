"""Unprivileged user ids for learners' processes, one per live grading process."""

from __future__ import annotations

import fcntl
import os
import signal
from pathlib import Path

FIRST_UID = 61000  # sandbox user ids: FIRST_UID + slot, never a real account
SLOTS = 4000
SLOT_LOCKS = Path("/run/autograder-sandbox-uids")


class SandboxUser:
    """A user id no other live grading process on this machine holds, for as long as this
    object lives (an exclusive ``flock`` on one slot file), so two concurrent submissions never
    share a user id: after each submission every process of that id is killed.

    A grading worker (a local process or a Dask worker) makes one when it starts and keeps it.
    """

    def __init__(self) -> None:
        SLOT_LOCKS.mkdir(mode=0o700, parents=True, exist_ok=True)
        for slot in range(SLOTS):
            fd = os.open(SLOT_LOCKS / f"{slot}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            self.uid, self._fd, self._owner = FIRST_UID + slot, fd, os.getpid()
            return
        raise RuntimeError(f"no free sandbox user id: {SLOTS} grading processes hold one each")

    def kill_all(self) -> None:
        """SIGKILL every process of this user id: what left the process group (``setsid``, a
        double fork) must not outlive the submission."""
        pid = os.fork()
        if pid == 0:  # only system calls here: the parent may have threads
            try:
                os.setgroups([])
                os.setgid(self.uid)
                os.setuid(self.uid)
                os.kill(-1, signal.SIGKILL)  # every process this uid may signal, except this one
            except BaseException:  # noqa: BLE001
                pass
            os._exit(0)
        os.waitpid(pid, 0)

    def release(self) -> None:
        if os.getpid() == self._owner and self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
