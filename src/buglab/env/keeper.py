"""The lab's side of the keepers (:mod:`buglab.env.reaper`): one per process, at a fork's cost.

A keeper server, started once per lab process (as a run begins, or by the first command), hands
out keepers it forked ahead; the lab sends its command straight to the keeper and reads the
keeper's report, so no interpreter starts per process. Any number of threads share the one
server (a lock covers each one-byte request and its answer). A server that dies takes no
command with it (keepers answer to the lab, not to the server) and is replaced on the next
request; a request it never answered is sent again, which is safe because a keeper starts
nothing before it has its command. Where there are no pidfds, or servers keep dying before they
serve, each command gets a keeper interpreter of its own (about 14 ms a process).

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
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from buglab.env import reaper

SCRIPT = reaper.__file__
FINAL = b"done\n"  # a keeper's last line: its tree is dead, it only has to exit
PATIENCE = 10.0  # seconds a server has to answer before it is taken for dead and replaced
TRIES = 2  # requests to a server (the second to a new one) before a keeper of its own
GIVE_UP = 3  # servers in a row that died before serving once: no more servers in this process


class Keeper:
    """A running keeper and the channel its report comes on. ``wait`` returns once the keeper
    is finished (its last line read, or it is gone); ``release`` and then ``report`` once."""

    def __init__(
        self,
        pid: int,
        channel: socket.socket,
        pidfd: int | None = None,
        process: subprocess.Popen[bytes] | None = None,
    ) -> None:
        self.pid = pid
        self.channel = channel
        self.pidfd = pidfd  # served: the lab's only safe handle on a process not its child
        self.process = process  # its own interpreter: the lab's child
        self.said = b""
        self.finished = False
        channel.setblocking(False)

    def wait(self, timeout: float | None) -> bool:
        """Whether the keeper is finished, waiting up to ``timeout`` seconds (None: no limit)."""
        poller = select.poll()
        poller.register(self.channel, select.POLLIN)
        if self.pidfd is not None:
            poller.register(self.pidfd, select.POLLIN)
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.finished:
            left = None if deadline is None else math.ceil(1000 * (deadline - time.monotonic()))
            events = poller.poll(None if left is None else max(left, 0))
            if not events:
                return False  # the time is up
            for fd, _ in events:
                if fd == self.pidfd:
                    self.finished = True  # it exited, perhaps killed before its last line
                else:
                    self._take()
        return True

    def _take(self) -> bool:
        """Read what is there (without waiting); whether there was anything, EOF included."""
        try:
            chunk = self.channel.recv(4096)
        except BlockingIOError:
            return False
        except OSError:
            chunk = b""
        self.said += chunk
        self.finished = self.finished or not chunk or self.said.endswith(FINAL)
        return bool(chunk)

    def signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            if self.pidfd is not None:
                signal.pidfd_send_signal(self.pidfd, signum)
            elif self.process is not None:
                self.process.send_signal(signum)

    def release(self) -> None:
        """The pidfd closed, or the keeper process reaped."""
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None
        if self.process is not None:
            self.process.wait()

    def report(self) -> str:
        """Everything the keeper wrote (closes the channel)."""
        with self.channel:
            while self._take():
                pass
        return self.said.decode("utf-8", "replace")


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

    def warm(self) -> None:
        """Start the server now: it gets ready while the lab does its own work, off the first
        command's clock (a start costs about 20 ms, nearly all of it in the server)."""
        lifeline = self.lifeline()
        with self.lock:
            if self.enabled and self.channel is None:
                self._start(lifeline)

    def keeper(self, status_fd: int, out_fd: int) -> tuple[int, int] | None:
        """(pid, pidfd) of a keeper holding ``status_fd`` and ``out_fd``; None if the server
        gave none (a server that did not answer is replaced on the next call)."""
        lifeline = self.lifeline()
        with self.lock:
            if not self.enabled:
                return None
            if self.channel is None and not self._start(lifeline):
                return None
            assert self.channel is not None
            answer, fds = b"", list[int]()
            try:
                socket.send_fds(self.channel, [b"k"], [status_fd, out_fd], socket.MSG_NOSIGNAL)
                answer, fds = self._answer(self.channel)
            except OSError:
                pass
            except BaseException:  # interrupted between request and answer: out of step
                self._stop()
                raise
            if answer[:-1].isdigit() and len(fds) == 1:
                self.served += 1
                self.failures = 0
                return int(answer), fds[0]
            for fd in fds:
                os.close(fd)
            if answer != b"E\n":  # no answer: the server is dead, or as good as dead
                if self.served == 0:
                    self.failures += 1
                    self.enabled = self.failures < GIVE_UP
                self._stop()
            return None

    @staticmethod
    def _answer(channel: socket.socket) -> tuple[bytes, list[int]]:
        answer, fds = b"", list[int]()
        while not answer.endswith(b"\n"):
            chunk, more = reaper.receive(channel, 32, 1)
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
        """Close the server's channel (it exits on EOF) and wait for it: at the lab's exit."""
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
    return len(body).to_bytes(reaper.HEADER, "big") + body


def start(cwd: Path, argv: Sequence[str], env: Mapping[str, str], out_fd: int) -> Keeper:
    """A keeper running ``argv`` in ``cwd`` with its output on ``out_fd``. Raises OSError when
    no keeper can be started at all."""
    command = encode(cwd.absolute(), argv, env)
    for _ in range(TRIES):
        if not SERVER.enabled:
            break
        channel, theirs = socket.socketpair()
        try:
            served = SERVER.keeper(theirs.fileno(), out_fd)
        except BaseException:
            channel.close()
            raise
        finally:
            theirs.close()
        if served is None:
            channel.close()
            continue
        try:
            channel.sendall(command, socket.MSG_NOSIGNAL)
        except OSError:  # it died before it had its command: nothing was started
            os.close(served[1])
            channel.close()
            continue
        return Keeper(served[0], channel, pidfd=served[1])
    channel, theirs = socket.socketpair()
    try:
        process = _spawn("once", (theirs.fileno(), out_fd, SERVER.lifeline()))
    except OSError:
        channel.close()
        raise
    finally:
        theirs.close()
    with contextlib.suppress(OSError):  # a keeper that died at once reports nothing
        channel.sendall(command, socket.MSG_NOSIGNAL)
    return Keeper(process.pid, channel, process=process)
