"""Every process the lab starts runs under this keeper, so that nothing it started outlives it.

Run by the lab's own interpreter (stdlib only, Python 3.9+) as ``python -I -S reaper.py FD
ARGV...``. It makes itself a *child subreaper* (``prctl(PR_SET_CHILD_SUBREAPER)``): a process
of the tree whose parent exits is re-parented to the keeper, not to init, so a daemon that
forks, calls ``setsid()`` and ``execve``s with an empty environment is still its descendant.
When the command exits, or the lab asks (SIGTERM), or the lab itself dies (the parent-death
signal), the keeper kills every descendant, reaps them, and writes the command's wait status
to FD. A command that cannot be started is reported on FD as ``start-error``.
"""

from __future__ import annotations

import _signal as signal  # signal without enum: this keeper starts before every process
import ctypes
import os
import sys
import time

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
KILL_FOR = 10.0  # seconds to keep killing a tree that keeps forking


class Stop(Exception):
    pass


def _stop(signum: int, frame: object) -> None:
    raise Stop


def _children_by_parent() -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != b"Z":
            found.setdefault(int(fields[1]), []).append(int(name))
    return found


def _descendants(root: int) -> list[int]:
    tree = _children_by_parent()
    found, todo = [], list(tree.get(root, []))
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(tree.get(pid, []))
    return found


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def kill_everything() -> None:
    """SIGKILL every descendant until none is left (orphans of the killed come back to us)."""
    try:
        if os.waitpid(-1, os.WNOHANG)[0] == 0:
            pass  # a child still runs: look for the whole tree
    except ChildProcessError:
        return  # no child at all: as a subreaper, no descendant either
    me = os.getpid()
    deadline = time.monotonic() + KILL_FOR
    while time.monotonic() < deadline:
        left = _descendants(me)
        if not left:
            _reap()
            return
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        _reap()
        time.sleep(0.005)


def main() -> int:
    status_fd, argv = int(sys.argv[1]), sys.argv[2:]
    os.set_inheritable(status_fd, False)  # the command never holds the keeper's report
    libc = ctypes.CDLL(None, use_errno=True)
    parent = os.getppid()
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, _stop)
    report = os.fdopen(status_fd, "w")
    status = None
    try:
        if os.getppid() != parent:  # the lab died before the parent-death signal was set
            return 1
        errors_r, errors_w = os.pipe()
        child = os.fork()
        if child == 0:
            _exec(argv, errors_r, errors_w)
        os.close(errors_w)
        with os.fdopen(errors_r, "rb") as errors:
            failure = errors.read().decode("utf-8", "replace")
        if failure:
            report.write(f"start-error {failure}\n")
        while status is None:
            pid, wait_status = os.waitpid(-1, 0)
            if pid == child:
                status = wait_status
    except Stop:
        pass
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
        kill_everything()
    if status is not None:
        report.write(f"status {status}\n")
    report.close()
    return 0


def _exec(argv: list[str], errors_r: int, errors_w: int) -> None:
    """In the forked child: the lab's default signals back, then the command (its failure to
    start goes back through ``errors_w``, which closes by itself on a successful exec)."""
    try:
        os.close(errors_r)
        os.set_inheritable(errors_w, False)
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, signal.SIG_DFL)
        os.execvp(argv[0], argv)
    except OSError as exc:
        os.write(errors_w, f"could not start {argv[0]!r}: {exc.strerror or exc}".encode())
    finally:
        os._exit(127)


if __name__ == "__main__":
    sys.exit(main())
