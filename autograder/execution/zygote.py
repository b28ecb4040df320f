"""A pre-forked cell runner: import once per grading worker, ``fork()`` once per submission.

Starting a fresh interpreter for every submission costs more than grading it: the interpreter,
NumPy, IPython and whatever the notebook imports. A *zygote* is one long-lived process per
grading worker that pays this once, then forks a child per run of :func:`.cells.run_cells`.

The child does what the launcher and the runner do, in a process that is already warm: a new
session (its own process group), the isolation of :func:`.sandbox.enter` (namespaces, a
read-only file system, hidden folders, limits, an unprivileged user id), then the cells, one
IPython shell, outcomes reported on a pipe. The zygote only ever sees a request to fork with
three file descriptors (the job pipe, the output pipe and the report pipe); everything else (the
environment, the isolation spec, the cells) is read by the child from the job pipe, so nothing of
one submission stays in the memory the next child inherits.

Safety of ``fork()``: the zygote must stay single-threaded. Importing NumPy with one BLAS thread,
IPython's modules (not a shell: its history thread starts with the shell, in the child), numba
(without running a ``parallel=True`` kernel) and torch (import and an optimizer's construction,
no computation) creates no thread; the zygote checks ``/proc/self/task`` after warming up and
refuses to serve otherwise (the grader then starts a fresh interpreter per submission).

Protocol on the unix socket between the grading worker and its zygote (JSON lines)::

    zygote -> worker   {"ready": true}                          once, after warming up
                       {"ready": false, "why": TEXT}            when it cannot serve
    worker -> zygote   {"fork": true}  + SCM_RIGHTS [job_r, out_w, report_w]
    zygote -> worker   {"pid": PID}
    zygote -> worker   {"exited": WAIT_STATUS}                  when the child dies
    worker -> zygote   {"done": true}                           the worker killed what was left
    zygote -> worker   {"exited": ...} (if not sent yet), then {"reaped": true}

The child is reaped only after ``done``, so its process id (and group id) cannot be reused while
the worker may still signal it.
"""

from __future__ import annotations

import ast
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time

# Imported by every zygote: what the runner, the rule guard and the checks need.
BASE_MODULES = (
    "numpy",
    "autograder.checks",
    "autograder.execution.runner",
    "autograder.execution.sandbox",
    "autograder.rules.guard",
)
# Never imported into a zygote (they may start threads on import).
NEVER_WARM = {"tensorflow", "jax"}


def modules_imported_by(sources: list[str]) -> list[str]:
    """Top-level names of the modules ``import``-ed in ``sources`` (code cells), in order."""
    names: list[str] = []
    for text in sources:
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                # `from package import module` imports a module too (names that are not
                # modules fail to import in the zygote, which skips them)
                found = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            else:
                continue
            for name in found:
                if name not in names and name.split(".")[0] not in NEVER_WARM:
                    names.append(name)
    return names


# --- the zygote process ----------------------------------------------------------------------


def _threads() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 1


def _warm_up(modules: list[str]) -> str:
    """Import ``modules`` and warm what the first cell would pay for; return why forking is
    unsafe, or ""."""
    import importlib

    for name in [*BASE_MODULES, *modules]:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a module the child will fail to import itself
            continue
    import IPython.core.interactiveshell  # noqa: F401 - the class, not a shell (threads)

    _warm_tracebacks()
    if "numba" in sys.modules:
        from numba import njit

        @njit(cache=False)
        def _warm(x):
            return x + 1

        _warm(1)
    if "torch" in sys.modules:
        _warm_torch()
    if _threads() != 1:
        return f"{_threads()} threads after importing {', '.join(modules)}"
    return ""


def _warm_tracebacks() -> None:
    """Format one traceback as the shell does: the first one costs 0.2 s of lazy imports."""
    try:
        from IPython.core import ultratb

        try:
            import numpy as np

            np.zeros(2.5)
        except TypeError:
            ultratb.AutoFormattedTB(mode="Context", theme_name="nocolor").text(*sys.exc_info())
    except Exception:  # noqa: BLE001 - only a warm-up
        pass


def _warm_torch() -> None:
    """Build an optimizer once: the first one costs 1-2 s of lazy imports inside torch. No
    computation (no backward pass, no large op): torch's thread pools stay unstarted."""
    try:
        import torch

        weight = torch.zeros(1, requires_grad=True)
        torch.optim.SGD([weight], lr=0.1)
        torch.optim.Adam([weight], lr=0.1)
    except Exception:  # noqa: BLE001 - only a warm-up
        pass


def _child(fds: list[int]) -> None:
    """In the forked child: become the runner of one job; never returns."""
    code = 70
    try:
        import fcntl

        from . import runner, sandbox

        os.setsid()
        # out of the way of the numbers they move to, whatever numbers they arrived with
        job_r, out_w, report_w = (fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in fds)
        os.dup2(job_r, runner.JOB_FD)
        os.dup2(out_w, 1)
        os.dup2(out_w, 2)
        os.dup2(report_w, runner.REPORT_FD)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.closerange(runner.JOB_FD + 1, 1 << 16)
        jobs = runner._Jobs(runner.JOB_FD)
        spawn = jobs.next()
        os.environ.clear()
        os.environ.update({str(k): str(v) for k, v in spawn["env"].items()})
        if spawn.get("spec"):
            sandbox.enter(spawn["spec"])
        else:
            os.chdir(spawn["workdir"])
        sys.argv = [runner.__file__]
        runner.run_job(jobs, runner.REPORT_FD)
        code = 0
    except BaseException:  # noqa: BLE001 - reported through the exit code and the output
        import traceback

        try:
            traceback.print_exc()
        except BaseException:  # noqa: BLE001
            pass
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:  # noqa: BLE001
            pass
        os._exit(code)


def _send(sock: socket.socket, message: dict) -> None:
    sock.sendall(json.dumps(message).encode() + b"\n")


def serve(sock: socket.socket, modules: list[str]) -> None:
    why = _warm_up(modules)
    _send(sock, {"ready": not why, "why": why})
    if why:
        return
    buffer = b""
    while True:
        message, fds, _, _ = socket.recv_fds(sock, 4096, 3)
        if not message:
            return  # the worker is gone
        buffer += message
        if b"\n" not in buffer:
            for fd in fds:
                os.close(fd)
            continue
        line, buffer = buffer.split(b"\n", 1)
        if len(fds) != 3 or not json.loads(line).get("fork"):
            for fd in fds:
                os.close(fd)
            return  # a protocol error: stop rather than guess
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            sock.close()
            _child(fds)
        for fd in fds:
            os.close(fd)
        _send(sock, {"pid": pid})
        if not _watch(sock, pid):
            return


def _watch(sock: socket.socket, pid: int) -> bool:
    """Report the child's exit, reap it once the worker says ``done``; False if the worker is
    gone (the child is killed and reaped then)."""
    pidfd = os.pidfd_open(pid)
    sent = False
    buffer = b""
    try:
        while True:
            ready, _, _ = select.select([sock, pidfd] if not sent else [sock], [], [])
            if pidfd in ready and not sent:
                info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
                _send(sock, {"exited": _wait_status(info)})
                sent = True
            if sock in ready:
                chunk = sock.recv(4096)
                if not chunk:
                    _kill(pid)
                    os.waitpid(pid, 0)
                    return False
                buffer += chunk
                if b"\n" in buffer:
                    _, status = os.waitpid(pid, 0)  # the worker killed the group already
                    if not sent:
                        _send(sock, {"exited": status})
                    _send(sock, {"reaped": True})
                    return True
    finally:
        os.close(pidfd)


def _wait_status(info) -> int:
    """``os.waitid``'s result as a ``waitpid`` status (what ``os.waitstatus_to_exitcode`` reads)."""
    if info.si_code == os.CLD_EXITED:
        return (info.si_status & 0xFF) << 8
    return info.si_status & 0x7F


def _kill(pid: int) -> None:
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
        except OSError:
            pass


def main(argv: list[str]) -> None:
    sock = socket.socket(fileno=int(argv[0]))
    modules = json.loads(argv[1]) if len(argv) > 1 else []
    serve(sock, modules)


# --- the worker's side -----------------------------------------------------------------------


class ZygoteError(RuntimeError):
    """The zygote could not start or stopped answering: run without it."""


class Zygote:
    """The grading worker's handle on its zygote (one job at a time)."""

    def __init__(self, env: dict[str, str], modules: list[str], start_timeout: float = 120.0):
        self.env, self.modules = env, modules
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock, self.buffer = ours, b""
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "autograder.execution.zygote",
                str(theirs.fileno()),
                json.dumps(modules),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            env=env,
            cwd="/",
            pass_fds=(theirs.fileno(),),
            start_new_session=True,
        )
        theirs.close()
        self.pid: int | None = None
        self.status: int | None = None
        hello = self._receive(time.monotonic() + start_timeout)
        if not hello or not hello.get("ready"):
            self.close()
            raise ZygoteError((hello or {}).get("why") or "the zygote did not start")

    def alive(self) -> bool:
        return self.process.poll() is None

    def fork(self, job_r: int, out_w: int, report_w: int) -> int:
        """Start a child reading its job from ``job_r``; return its process id."""
        try:
            socket.send_fds(self.sock, [b'{"fork": true}\n'], [job_r, out_w, report_w])
            reply = self._receive(time.monotonic() + 30)
        except OSError as error:
            raise ZygoteError(f"the zygote stopped answering ({error})") from None
        if not reply or "pid" not in reply:
            raise ZygoteError("the zygote stopped answering")
        self.pid, self.status = int(reply["pid"]), None
        return self.pid

    def exit_status(self, timeout: float) -> int | None:
        """The child's wait status if it exits within ``timeout`` seconds, else None."""
        if self.status is None:
            reply = self._receive(time.monotonic() + max(timeout, 0.0))
            if reply and "exited" in reply:
                self.status = int(reply["exited"])
        return self.status

    def finish(self) -> int | None:
        """After the worker killed the child's group: let the zygote reap it; its status."""
        self.sock.sendall(b'{"done": true}\n')
        deadline = time.monotonic() + 30
        while True:
            reply = self._receive(deadline)
            if reply is None:
                raise ZygoteError("the zygote did not reap its child")
            if "exited" in reply and self.status is None:
                self.status = int(reply["exited"])
            if reply.get("reaped"):
                self.pid = None
                return self.status

    def _receive(self, deadline: float) -> dict | None:
        while b"\n" not in self.buffer:
            wait = deadline - time.monotonic()
            if wait <= 0:
                return None
            ready, _, _ = select.select([self.sock], [], [], wait)
            if not ready:
                return None
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def close(self) -> None:
        """Stop the zygote: it exits when its socket closes (killed if it does not within a
        second)."""
        try:
            self.sock.close()
        finally:
            try:
                self.process.wait(timeout=1)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


if __name__ == "__main__":
    main(sys.argv[1:])
