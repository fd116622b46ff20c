"""Processes the tree-kill tests start and look for."""

from __future__ import annotations

from pathlib import Path


def alive(pid: int) -> bool:
    """Running, not a zombie waiting for its parent (the name in ``stat`` may hold spaces)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def setsid_daemon(pid_file: Path) -> str:
    """Python that forks a daemon the way one hides: a new session, then ``execve`` with an empty
    environment, so that neither the process group nor an environment marker leads to it; it
    writes its pid to ``pid_file``, and the script returns once that file exists."""
    return (
        "import os, sys, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        f"        open({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
        "        os.execve(sys.executable, [sys.executable, '-c', 'import time; time.sleep(600)'],"
        " {})\n"
        "    os._exit(0)\n"
        f"while not os.path.exists({str(pid_file)!r}): time.sleep(0.01)\n"
    )
