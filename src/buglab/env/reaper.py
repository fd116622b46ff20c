"""Every process the lab starts runs under a keeper, so that nothing it started outlives it.

A keeper makes itself a *child subreaper* (``prctl(PR_SET_CHILD_SUBREAPER)``): a process of the
tree whose parent exits is re-parented to the keeper, not to init, so a daemon that forks, calls
``setsid()`` and ``execve``s with an empty environment is still its descendant. When the command
exits, or the lab asks (SIGTERM), or the lab dies (its *lifeline*, a pipe only the lab writes
to, reads EOF), the keeper kills every descendant, reaps them, and writes the command's wait
status on its status channel (``start-error ...`` when the command could not be started), then
``done``. The command itself (cwd, argv, environment) comes on that channel: a keeper that reads
EOF there starts nothing, so the lab may retry any request that failed before it sent it.

Run by the lab's own interpreter (stdlib only, Python 3.9+) in one of two ways:

- ``python -I -S reaper.py serve SOCKET LIFELINE``: the keeper server, one per lab process,
  single-threaded. It keeps one keeper forked ahead (a *spare*, already a session leader and a
  subreaper); for each request (one byte, with the write ends of the status channel and of the
  output pipe as ``SCM_RIGHTS``) it hands the spare those channels, answers with the spare's
  pid and a pidfd (through which the lab watches and signals it with no pid-reuse race), and
  forks the next spare. A keeper costs a fork of this small process, off the request's path,
  where a fresh interpreter per command cost ten times more; the command itself starts by
  vfork (``subprocess``). A keeper does not depend on its server: a server that dies takes no
  command with it.
- ``python -I -S reaper.py once STATUS OUTPUT LIFELINE``: this interpreter is the keeper, the
  lab's fallback when it cannot have a server (no pidfds, or servers that keep failing).
"""

from __future__ import annotations

import _signal as signal  # signal without enum: a fallback keeper starts before every process
import ctypes
import os
import select
import sys
import time

TYPE_CHECKING = False  # typing is not imported either, for the same reason
if TYPE_CHECKING:
    import socket
    import subprocess
    from types import ModuleType

    Request = tuple[str, list[str], dict[str, str]]

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
KILL_FOR = 10.0  # seconds to keep killing a tree that keeps forking
HEADER = 8  # bytes: the length of a command, big-endian
FD_BYTES = 4  # a file descriptor in SCM_RIGHTS (a C int)
STOPPING = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
#: back to their defaults in a command started by fork (Python ignores SIGPIPE and SIGXFSZ)
RESTORED = (*STOPPING, signal.SIGCHLD, signal.SIGPIPE, signal.SIGXFSZ)

#: in a server and its keepers: commands start by vfork (``subprocess``), not by a fork
_subprocess: ModuleType | None = None


class Stop(Exception):
    pass


def _stop(signum: int, frame: object) -> None:
    raise Stop


def _woken(signum: int, frame: object) -> None:
    """SIGCHLD: its only work is the byte the interpreter writes on the wakeup fd."""


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


def _read_exactly(fd: int, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = os.read(fd, size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def read_request(fd: int) -> Request | None:
    """(cwd, argv, environment) from the lab, or None when it gave up before sending them.
    NUL-separated: the cwd, the number of arguments, the arguments, ``NAME=VALUE``s."""
    header = _read_exactly(fd, HEADER)
    body = _read_exactly(fd, int.from_bytes(header, "big")) if header else None
    if body is None:
        return None
    fields = [os.fsdecode(field) for field in body.split(b"\0")]
    count = int(fields[1])
    pairs = (pair.partition("=") for pair in fields[2 + count :] if pair)
    return fields[0], fields[2 : 2 + count], {name: value for name, _, value in pairs}


def prepare(libc: ctypes.CDLL) -> int:
    """Make this process a keeper (its own session, a subreaper, stopped by SIGTERM, woken by
    SIGCHLD); returns the read end of the wakeup pipe. Raises Stop when asked to stop."""
    for signum in STOPPING:
        signal.signal(signum, _stop)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
    signal.signal(signal.SIGCHLD, _woken)
    if os.getsid(0) != os.getpid():
        os.setsid()
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    return wake_r


def keep(status_fd: int, out_fd: int, lifeline_fd: int, wake_r: int) -> None:
    """One command from its start to its last descendant's death, then its report, which ends
    with ``done`` (the lab need not wait for this process to be torn down)."""
    lines = []
    try:
        request = read_request(status_fd)
        if request is None:
            return  # nothing was started
        command, failure = _start(request, out_fd)
        if failure:
            lines.append(f"start-error {failure}")
        if command is not None:
            status = _wait(command.pid, lifeline_fd, wake_r)
            if status is not None:
                command.returncode = os.waitstatus_to_exitcode(status)
                lines.append(f"status {status}")
    except Stop:
        pass
    finally:
        for signum in STOPPING:
            signal.signal(signum, signal.SIG_IGN)
        kill_everything()
    try:
        os.write(status_fd, "".join(f"{line}\n" for line in [*lines, "done"]).encode())
    except OSError:
        pass  # the lab is gone


def _start(request: Request, out_fd: int) -> tuple[subprocess.Popen[bytes] | Forked | None, str]:
    """The command started in its folder, stdin from /dev/null, stdout and stderr on the output
    pipe, default signals, no other file descriptor, in the keeper's session; or why not."""
    cwd, argv, env = request
    try:
        if _subprocess is None:
            return _fork_exec(request, out_fd), ""
        null = _subprocess.DEVNULL
        return _subprocess.Popen(
            argv, cwd=cwd, env=env, stdin=null, stdout=out_fd, stderr=out_fd
        ), ""
    except OSError as exc:
        return None, f"could not start {argv[0]!r}: {exc.strerror or exc}"
    except (ValueError, TypeError) as exc:  # an argument that cannot be passed on
        return None, f"could not start {argv[0]!r}: {exc}"
    finally:
        os.close(out_fd)  # the output's end comes when the command's tree closes it


class Forked:
    """A command started by ``_fork_exec``: what ``keep`` needs of a ``subprocess.Popen``."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None


def _fork_exec(request: Request, out_fd: int) -> Forked:
    """``subprocess``'s work by hand, where importing it would cost more than a fork (a
    fallback keeper); the child's failure to start comes back as an OSError."""
    cwd, argv, env = request
    errors_r, errors_w = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(errors_r)
        os.close(errors_w)
        raise
    if pid == 0:
        try:
            os.close(errors_r)
            signal.set_wakeup_fd(-1)
            for signum in RESTORED:
                signal.signal(signum, signal.SIG_DFL)
            os.chdir(cwd)
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
            os.dup2(out_fd, 1)
            os.dup2(out_fd, 2)
            os.execvpe(argv[0], argv, env)
        except OSError as exc:
            os.write(errors_w, f"{exc.errno or 0} {exc.strerror or exc}".encode())
        finally:
            os._exit(127)
    os.close(errors_w)
    with os.fdopen(errors_r, "rb") as errors:
        failure = errors.read().decode("utf-8", "replace")
    if failure:
        os.waitpid(pid, 0)
        number, _, text = failure.partition(" ")
        raise OSError(int(number), text)
    return Forked(pid)


def _wait(child: int, lifeline_fd: int, wake_r: int) -> int | None:
    """The command's wait status, reaping orphans as they come; None if the lab died first."""
    poller = select.poll()
    poller.register(lifeline_fd, select.POLLIN)
    poller.register(wake_r, select.POLLIN)
    while True:
        while True:
            pid, wait_status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            if pid == child:
                return wait_status
        for fd, _ in poller.poll():
            if fd == lifeline_fd:
                return None  # the lab is gone: nobody to report to, everything to kill
            os.read(wake_r, 512)


def receive(channel: socket.socket, size: int, most: int) -> tuple[bytes, list[int]]:
    """Bytes and the file descriptors that came with them, close-on-exec from the start
    (``socket.recv_fds`` drops its flags before Python 3.12)."""
    import socket

    space = socket.CMSG_SPACE(most * FD_BYTES)
    message, extra, _, _ = channel.recvmsg(size, space, socket.MSG_CMSG_CLOEXEC)
    fds = []
    for level, kind, data in extra:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            whole = len(data) - len(data) % FD_BYTES
            fds += [
                int.from_bytes(data[at : at + FD_BYTES], sys.byteorder)
                for at in range(0, whole, FD_BYTES)
            ]
    return message, fds


def serve(socket_fd: int, lifeline_fd: int) -> None:
    """Hand a keeper to each request until the lab closes its end (or dies). The keeper was
    forked ahead, while the lab had other work: a request waits for a fork only when requests
    come faster than forks."""
    global _subprocess
    import socket
    import subprocess

    _subprocess = subprocess
    os.set_inheritable(lifeline_fd, False)
    libc = ctypes.CDLL(None, use_errno=True)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # keepers are reaped by the kernel
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    lab = socket.socket(fileno=socket_fd)
    spare = None
    while True:
        if spare is None:
            spare = _fork_spare(lab, lifeline_fd, libc)
        try:
            message, fds = receive(lab, 1, 2)
        except OSError:
            return
        if not message:
            return  # the lab is gone
        answer, pidfd = b"E\n", None
        if len(fds) == 2 and spare is not None:
            pid, pidfd, channel = spare
            spare = None
            try:
                socket.send_fds(channel, [b"k"], fds)
                answer = f"{pid}\n".encode()
            except OSError:  # the spare died: this request gets none, the next one a new spare
                os.close(pidfd)
                pidfd = None
            channel.close()
        for fd in fds:
            os.close(fd)
        try:
            socket.send_fds(lab, [answer], [pidfd] if pidfd is not None else [])
        except OSError:
            return
        finally:
            if pidfd is not None:
                os.close(pidfd)


def _fork_spare(
    lab: socket.socket, lifeline_fd: int, libc: ctypes.CDLL
) -> tuple[int, int, socket.socket] | None:
    """A keeper waiting for its channels: (its pid, a pidfd, the socket they go through)."""
    import socket

    ours, theirs = socket.socketpair()
    try:
        pid = os.fork()
    except OSError:
        ours.close()
        theirs.close()
        return None
    if pid == 0:
        try:
            lab.close()
            ours.close()
            wake_r = prepare(libc)
            _, fds = receive(theirs, 1, 2)
            theirs.close()
            if len(fds) == 2:
                keep(fds[0], fds[1], lifeline_fd, wake_r)
        except Stop:
            pass
        finally:
            os._exit(0)
    theirs.close()
    try:
        return pid, os.pidfd_open(pid), ours
    except OSError:
        ours.close()  # it exits on EOF
        return None


def once(status_fd: int, out_fd: int, lifeline_fd: int) -> int:
    """The fallback: this interpreter is the keeper (and dies with the lab's thread too)."""
    for fd in (status_fd, out_fd, lifeline_fd):
        os.set_inheritable(fd, False)  # the command holds none of the keeper's channels
    libc = ctypes.CDLL(None, use_errno=True)
    parent = os.getppid()
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # the lab died before the parent-death signal was set
        return 1
    try:
        wake_r = prepare(libc)
    except Stop:
        return 1
    keep(status_fd, out_fd, lifeline_fd, wake_r)
    return 0


def main() -> int:
    mode, fds = sys.argv[1], [int(arg) for arg in sys.argv[2:]]
    if mode == "serve":
        serve(*fds)
        return 0
    return once(*fds)


if __name__ == "__main__":
    sys.exit(main())
