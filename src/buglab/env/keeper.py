"""The lab's side of the keepers (:mod:`buglab.env.reaper`): one per process, at a fork's cost.

A keeper server, started once per lab process on first use, forks a keeper for each command
and hands back its pid and a pidfd; the lab then sends the command to that keeper and reads its
report, with no interpreter started per process. Any number of threads use the one server (a
lock covers each one-byte request and its answer, a fork's time). A server that dies takes no
command with it (keepers answer to the lab, not to the server) and is replaced on the next
request; a request it never answered is sent again, which is safe because a keeper starts
nothing until it has its command. Where there are no pidfds, or servers keep failing, each
command gets its own keeper interpreter, as before the server (about 14 ms a process).

Every keeper holds the read end of the lab's *lifeline*, a pipe whose write end only the lab
holds: when the lab dies, even by ``kill -9``, the pipe reads EOF and every keeper kills its
command's tree at once.
"""

from __future__ import annotations

import atexit
import contextlib
import math
import os
import select
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

SCRIPT = str(Path(__file__).with_name("reaper.py"))
HEADER = 8  # bytes: the length of a command sent to a keeper (as in reaper.py)
ANSWER_BYTES = 32
PATIENCE = 10.0  # seconds a server has to answer before it is taken for dead and replaced
TRIES = 2  # requests to a server (the second one to a new server) before a keeper of its own
GIVE_UP = 3  # servers in a row that died without serving once: this process stops starting them


class Keeper:
    """A running keeper: whether it has exited, a wait, a signal; ``release`` once at the end."""

    pid: int

    def exited(self) -> bool:
        return self.wait(0)

    def wait(self, timeout: float | None) -> bool:
        raise NotImplementedError

    def signal(self, signum: int) -> None:
        raise NotImplementedError

    def release(self) -> None:
        raise NotImplementedError


class _Served(Keeper):
    """Forked by the server; not the lab's child, so watched and signalled through a pidfd."""

    def __init__(self, pid: int, pidfd: int) -> None:
        self.pid = pid
        self.pidfd = pidfd

    def wait(self, timeout: float | None) -> bool:
        poller = select.poll()
        poller.register(self.pidfd, select.POLLIN)
        return bool(poller.poll(None if timeout is None else math.ceil(timeout * 1000)))

    def signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            signal.pidfd_send_signal(self.pidfd, signum)

    def release(self) -> None:
        os.close(self.pidfd)


class _Own(Keeper):
    """A keeper in its own interpreter, the lab's child."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.pid = process.pid
        self.process = process

    def wait(self, timeout: float | None) -> bool:
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    def signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signum)

    def release(self) -> None:
        self.process.wait()


def _pidfds_work() -> bool:
    needed = (hasattr(os, "pidfd_open"), hasattr(signal, "pidfd_send_signal"))
    if not all(needed) or not hasattr(socket, "send_fds"):
        return False
    try:
        os.close(os.pidfd_open(os.getpid()))
    except OSError:
        return False
    return True


def _spawn(mode: str, fds: Sequence[int]) -> subprocess.Popen[bytes]:
    """The keeper script in a fresh interpreter, in its own session, holding only ``fds``."""
    return subprocess.Popen(
        [sys.executable, "-I", "-S", SCRIPT, mode, *map(str, fds)],
        pass_fds=tuple(fds),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        cwd="/",
        env={},
    )


class Server:
    """The lab process's keeper server, started on first use, replaced when it dies."""

    def __init__(self) -> None:
        self.enabled = _pidfds_work()
        self.failures = 0  # servers in a row that died before serving once
        self._reset()
        os.register_at_fork(after_in_child=self._forget)
        atexit.register(self.stop)

    def _reset(self) -> None:
        self.lock = threading.Lock()
        self.channel: socket.socket | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.served = 0
        self._lifeline: tuple[int, int] | None = None

    def _forget(self) -> None:
        """In a forked child: the parent's server and lifeline are not this process's."""
        if self.channel is not None:
            self.channel.close()
        if self._lifeline is not None:
            for fd in self._lifeline:
                os.close(fd)
        _ABANDONED.append(self.process)  # the parent's child: not to be waited for here
        self._reset()

    @property
    def pid(self) -> int | None:
        """The running server's pid (None before the first request or after a failure)."""
        return self.process.pid if self.process is not None else None

    def lifeline(self) -> int:
        """The read end of the pipe only this process writes to (created once)."""
        with self.lock:
            if self._lifeline is None:
                self._lifeline = os.pipe()
            return self._lifeline[0]

    def keeper(self, status_fd: int, out_fd: int) -> Keeper | None:
        """A keeper forked by the server, holding ``status_fd`` and ``out_fd``; None if the
        server could not give one (a dead server is then replaced on the next call)."""
        lifeline = self.lifeline()
        with self.lock:
            if not self.enabled:
                return None
            if self.channel is None and not self._start(lifeline):
                return None
            assert self.channel is not None
            answer, fds = b"", []
            try:
                socket.send_fds(self.channel, [b"k"], [status_fd, out_fd])
                answer, fds = self._answer(self.channel)
            except OSError:
                pass
            if answer[:-1].isdigit() and len(fds) == 1:
                self.served += 1
                self.failures = 0
                return _Served(int(answer), fds[0])
            for fd in fds:
                os.close(fd)
            if answer != b"E\n":  # no answer: the server is dead, or as good as dead
                if self.served == 0:
                    self.failures += 1
                    self.enabled = self.failures < GIVE_UP
                self._stop()
            return None

    def _answer(self, channel: socket.socket) -> tuple[bytes, list[int]]:
        answer, fds = b"", []
        while not answer.endswith(b"\n"):
            chunk, more, _, _ = socket.recv_fds(
                channel, ANSWER_BYTES, 1, socket.MSG_CMSG_CLOEXEC
            )
            fds += more
            if not chunk:
                break
            answer += chunk
        return answer, fds

    def _start(self, lifeline: int) -> bool:
        ours, theirs = socket.socketpair()
        try:
            self.process = _spawn("serve", (theirs.fileno(), lifeline))
        except OSError:
            ours.close()
            return False
        finally:
            theirs.close()
        ours.settimeout(PATIENCE)
        self.channel, self.served = ours, 0
        return True

    def _stop(self) -> None:
        if self.channel is not None:
            self.channel.close()
            self.channel = None
        if self.process is not None:
            if self.process.poll() is None:  # alive but not answering: its keepers go on
                self.process.kill()
            self.process.wait()
            self.process = None

    def stop(self) -> None:
        """Close the server's channel (it exits on EOF) and wait for it; at the lab's exit."""
        with self.lock:
            if self.channel is not None:
                self.channel.close()
                self.channel = None
            if self.process is not None:
                try:
                    self.process.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
                self.process = None


_ABANDONED: list[subprocess.Popen[bytes] | None] = []
SERVER = Server()


def encode(cwd: Path, argv: Sequence[str], env: Mapping[str, str]) -> bytes:
    """The command as a keeper reads it (:func:`buglab.env.reaper.read_request`)."""
    if any("=" in name or not name for name in env):
        raise ValueError("illegal environment variable name")
    fields = [os.fsencode(cwd), str(len(argv)).encode(), *map(os.fsencode, argv)]
    fields += [os.fsencode(name) + b"=" + os.fsencode(value) for name, value in env.items()]
    if any(b"\0" in field for field in fields):
        raise ValueError("embedded null byte")
    body = b"\0".join(fields)
    return len(body).to_bytes(HEADER, "big") + body


def start(
    cwd: Path, argv: Sequence[str], env: Mapping[str, str], out_fd: int
) -> tuple[Keeper, socket.socket]:
    """A keeper running ``argv`` with its output on ``out_fd``, and the channel its report comes
    on. Raises OSError when no keeper can be started at all."""
    command = encode(cwd.absolute(), argv, env)
    for _ in range(TRIES):
        status, theirs = socket.socketpair()
        try:
            keeper = SERVER.keeper(theirs.fileno(), out_fd)
        finally:
            theirs.close()
        if keeper is not None:
            try:
                status.sendall(command)
            except OSError:  # it died before it had its command: nothing was started
                keeper.release()
            else:
                return keeper, status
        status.close()
        if not SERVER.enabled:
            break
    status, theirs = socket.socketpair()
    try:
        process = _spawn("once", (theirs.fileno(), out_fd, SERVER.lifeline()))
    except OSError:
        status.close()
        raise
    finally:
        theirs.close()
    with contextlib.suppress(OSError):  # a keeper that died at once reports nothing
        status.sendall(command)
    return _Own(process), status


def report(status: socket.socket) -> str:
    """What a keeper that has exited wrote on its channel (closes the channel)."""
    chunks = []
    with status:
        status.setblocking(False)
        while True:
            try:
                chunk = status.recv(4096)
            except OSError:  # nothing more, and a writer (a server's copy) still open
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace")
