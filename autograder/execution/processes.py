"""The processes that run cells: a subprocess or a child forked by a warm runner, their pipes,
and a reader that caps what they print."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from . import sandbox, zygote


class CappedReader(threading.Thread):
    """Drains a pipe, keeping at most ``cap`` bytes so a flood of prints cannot exhaust memory."""

    def __init__(self, stream, cap: int) -> None:
        super().__init__(daemon=True)
        self.stream, self.cap, self.chunks, self.size, self.dropped = stream, cap, [], 0, 0

    def run(self) -> None:
        while chunk := self.stream.read1(65536):
            if self.size < self.cap:
                keep = chunk[: self.cap - self.size]
                self.chunks.append(keep)
                self.size += len(keep)
                self.dropped += len(chunk) - len(keep)
            else:
                self.dropped += len(chunk)

    def text(self) -> str:
        text = b"".join(self.chunks).decode("utf-8", "replace")
        if self.dropped:
            text += f"\n[... {self.dropped} more bytes of output were dropped]\n"
        return text


class Child:
    """The process running one attempt: a subprocess, or a child forked by the zygote."""

    def __init__(self, process: subprocess.Popen | None, pid: int, forked=None) -> None:
        self.process, self.pid, self.forked = process, pid, forked

    def exit_code(self, timeout: float) -> int | None:
        """The exit code (negative: killed by that signal) if it ends within ``timeout``."""
        if self.forked is None:
            try:
                return self.process.wait(timeout=max(timeout, 0.0))
            except subprocess.TimeoutExpired:
                return None
        status = self.forked.exit_status(timeout)
        return None if status is None else os.waitstatus_to_exitcode(status)

    def kill(self, runners) -> None:
        """SIGKILL its whole process group; reap it."""
        for kill in (os.killpg, os.kill):  # the group exists once the child ran setsid()
            try:
                kill(self.pid, signal.SIGKILL)
                break
            except (ProcessLookupError, PermissionError):
                continue
        if self.forked is None:
            self.process.wait()
            return
        try:
            self.forked.finish()
        except (zygote.ZygoteError, OSError):
            if runners is not None:
                runners.close()  # the next run starts a new one


def pipes():
    job_r, job_w = os.pipe()
    out_r, out_w = os.pipe()
    report_r, report_w = os.pipe()
    fcntl.fcntl(job_w, fcntl.F_SETFL, fcntl.fcntl(job_w, fcntl.F_GETFL) | os.O_NONBLOCK)
    return (job_r, job_w), (out_r, out_w), (report_r, report_w)


def start_forked(forked: zygote.Zygote):
    """A child of the zygote; it reads its environment and spec from the job pipe."""
    (job_r, job_w), (out_r, out_w), (report_r, report_w) = pipes()
    try:
        pid = forked.fork(job_r, out_w, report_w)
    except BaseException:
        for fd in (job_w, out_r, report_r):
            os.close(fd)
        raise
    finally:
        for fd in (job_r, out_w, report_w):
            os.close(fd)
    return Child(None, pid, forked), os.fdopen(out_r, "rb"), report_r, job_w


def start_process(workdir, memory_mb, env, isolation):
    """A fresh interpreter running the runner (isolated by the launcher when ``isolation``)."""
    (job_r, job_w), (out_r, out_w), (report_r, report_w) = pipes()
    command = [sys.executable, "-m", "autograder.execution.runner", str(job_r), str(report_w)]
    preexec = _limits(memory_mb)
    if isolation is not None:
        command = sandbox.wrap(
            command,
            scratch=Path(workdir),
            hide=list(isolation.hide),
            uid=isolation.user.uid,
            memory_mb=memory_mb,
            max_processes=isolation.max_processes,
        )
        preexec = _limits(None)  # the launcher sets every limit itself
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=out_w,
        stderr=out_w,
        cwd=workdir,
        env=env,
        pass_fds=(job_r, report_w),
        start_new_session=True,
        preexec_fn=preexec,
    )
    for fd in (job_r, out_w, report_w):
        os.close(fd)
    return Child(process, process.pid), os.fdopen(out_r, "rb"), report_r, job_w


def _limits(memory_mb: int | None):
    import resource

    def apply() -> None:
        if memory_mb:
            limit = memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply
