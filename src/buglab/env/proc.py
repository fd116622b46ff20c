"""Starting and stopping processes: argv lists, a deadline, a capped log, no survivors.

Every process runs under a keeper (:mod:`buglab.env.reaper`; the lab's side, a keeper server
that forks them, is :mod:`buglab.env.keeper`), a child subreaper that kills every descendant
when the command ends: daemons that left the process group with ``setsid``, re-parented ones,
and those that ``execve`` with an empty environment. As a second net, the process runs in its
own session and carries a random marker in its environment, so that what is left of its group
or carries the marker is killed too.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import selectors
import shutil
import signal
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from buglab.env.keeper import SERVER as KEEPERS
from buglab.env.keeper import Keeper
from buglab.env.keeper import start as start_keeper
from buglab.files import naming, open_log

MARKER = "BUGLAB_PROCESS_TOKEN"
HEAD_BYTES = 2 * 1024 * 1024  # kept at the start of a log
TAIL_BYTES = 512 * 1024  # kept at the end once the head is full
GRACE = 0.3  # seconds to drain output held open by a straggler after the main process exits
KEEPER_EXIT = 15.0  # seconds the keeper has to kill its tree when asked, before it is killed


@dataclass(frozen=True)
class Finished:
    returncode: int | None  # None: never started, or killed at the deadline / on cancel
    timed_out: bool
    cancelled: bool
    output: str  # what was kept: the head, and the tail when the output was too long
    seconds: float
    start_error: str = ""


class _Capture:
    """Keeps the head of the output in the log and a rolling tail; drops the middle."""

    def __init__(self, sink: Path) -> None:
        self.path = sink
        self.sink = open_log(sink)
        self.head = bytearray()
        self.tail: deque[bytes] = deque()
        self.tail_size = 0
        self.dropped = 0

    def feed(self, chunk: bytes) -> None:
        room = HEAD_BYTES - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            with naming(self.path):
                self.sink.write(chunk[:room])
            chunk = chunk[room:]
        if chunk:
            self.tail.append(chunk)
            self.tail_size += len(chunk)
            while self.tail_size - len(self.tail[0]) >= TAIL_BYTES:
                gone = self.tail.popleft()
                self.tail_size -= len(gone)
                self.dropped += len(gone)

    def close(self) -> str:
        note = b""
        if self.dropped:
            note = f"\n[buglab: {self.dropped} bytes of output dropped here]\n".encode()
        tail = b"".join(self.tail)
        with naming(self.path):
            try:
                self.sink.write(note + tail)
            finally:
                self.sink.close()
        return (bytes(self.head) + note + tail).decode("utf-8", errors="replace")


def shown_argv(argv: Sequence[str]) -> str:
    """A command line for a log: an argument too long to read (a whole script) is summarised."""
    return " ".join(arg if len(arg) <= 200 else f"<{len(arg)} characters>" for arg in argv)


def warm_up() -> None:
    """Have the keeper server start now, in the background, for a run that will start
    processes: the first one then does not wait for it."""
    KEEPERS.warm()


def run(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float,
    log: Path,
    cancel: threading.Event | None = None,
) -> Finished:
    """Run ``argv``, appending its output to ``log``; never leaves a process behind."""
    token = secrets.token_hex(12)
    start = time.monotonic()
    unstartable = _unstartable(argv, cwd, env)
    if unstartable:
        return _not_started(unstartable, log, start)
    out_r, out_w = os.pipe()
    try:
        keeper = start_keeper(Path(cwd), argv, {**env, MARKER: token}, out_w)
    except OSError as exc:
        os.close(out_r)
        return _not_started(f"could not start {argv[0]!r}: {exc.strerror or exc}", log, start)
    except BaseException:
        os.close(out_r)
        raise
    finally:
        os.close(out_w)
    capture = _Capture(log)
    timed_out = cancelled = False
    try:
        timed_out, cancelled = _pump(keeper, out_r, capture, start + timeout, cancel)
    finally:
        _stop_keeper(keeper)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(keeper.pid, signal.SIGKILL)  # what is left of the command's group
        keeper.release()
        said = keeper.report()
        if "status " not in said:  # the keeper was killed before it could kill its tree
            kill_tree(keeper.pid, token)
        os.close(out_r)
        output = capture.close()
    returncode, start_error = _keeper_said(said)
    if start_error:
        with log.open("a", encoding="utf-8") as sink:
            sink.write(start_error + "\n")
        return Finished(None, False, False, start_error, time.monotonic() - start, start_error)
    if timed_out or cancelled:
        returncode = None
    return Finished(returncode, timed_out, cancelled, output, time.monotonic() - start)


def _unstartable(argv: Sequence[str], cwd: Path, env: Mapping[str, str]) -> str:
    """Why ``argv`` cannot start, found before a keeper is started for it ("" if it can)."""
    if not argv:
        return "could not start an empty command"
    program = argv[0]
    if os.sep in program:
        found = program if Path(cwd, program).is_file() else None
    else:
        found = shutil.which(program, path=env.get("PATH", os.defpath))
    return "" if found else f"could not start {program!r}: No such file or directory"


def _not_started(message: str, log: Path, start: float) -> Finished:
    with log.open("a", encoding="utf-8") as sink:
        sink.write(message + "\n")
    return Finished(None, False, False, message, time.monotonic() - start, message)


def _stop_keeper(keeper: Keeper) -> None:
    """Ask a keeper still running (a deadline or a cancel) to kill its tree and exit."""
    if keeper.wait(0):
        return
    keeper.signal(signal.SIGTERM)
    if not keeper.wait(KEEPER_EXIT):
        keeper.signal(signal.SIGKILL)
        keeper.wait(None)


def _keeper_said(said: str) -> tuple[int | None, str]:
    """The command's exit status (negative: killed by that signal) or why it did not start."""
    for line in said.splitlines():
        word, _, rest = line.partition(" ")
        if word == "start-error":
            return None, rest
        if word == "status":
            return os.waitstatus_to_exitcode(int(rest)), ""
    return None, ""  # the keeper itself was killed: the command's status is not known


def _pump(
    keeper: Keeper,
    fd: int,
    capture: _Capture,
    deadline: float,
    cancel: threading.Event | None,
) -> tuple[bool, bool]:
    """Copy output until EOF, the deadline, or a cancel; returns (timed_out, cancelled)."""
    exited_at: float | None = None
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            now = time.monotonic()
            if cancel is not None and cancel.is_set():
                return False, True
            if now >= deadline:
                return True, False
            if exited_at is None and keeper.wait(0):
                exited_at = now
            if exited_at is not None and now - exited_at > GRACE:
                return False, False  # a straggler holds the pipe; kill_tree ends it
            wait = min(deadline - now, 0.25) if exited_at is None else GRACE / 3
            if selector.select(wait):
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    break
                capture.feed(chunk)
    while True:  # EOF: every writer closed; the process may still be running
        if cancel is not None and cancel.is_set():
            return False, True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return True, False
        if keeper.wait(min(remaining, 0.25)):
            return False, False


def kill_tree(pid: int, token: str) -> None:
    """Kill the process group, then anything else carrying this run's marker, and wait (up to
    a few seconds) until none is left: a SIGKILL is delivered asynchronously."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5.0
    while True:
        survivors = _marked(token)
        if not survivors or time.monotonic() > deadline:
            return
        for other in survivors:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(other, signal.SIGKILL)
        time.sleep(0.01)


def _marked(token: str) -> list[int]:
    """Live (not zombie) processes whose environment carries the marker."""
    needle = f"{MARKER}={token}".encode()
    found: list[int] = []
    if not Path("/proc").is_dir():
        return found
    me = os.getpid()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            with open(f"/proc/{entry.name}/environ", "rb") as handle:  # noqa: PTH123
                if needle not in handle.read():
                    continue
            with open(f"/proc/{entry.name}/stat", "rb") as handle:  # noqa: PTH123
                if handle.read().rsplit(b")", 1)[-1].split()[0] == b"Z":
                    continue
        except (OSError, IndexError):
            continue
        found.append(int(entry.name))
    return found
