"""Processes: deadlines kill the whole tree, output is capped, nothing survives a cell."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

from buglab.env import proc
from tests.processes import alive, setsid_daemon

ENV = {"PATH": os.environ.get("PATH", os.defpath)}


def py(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def run(
    tmp_path: Path, argv: list[str], timeout: float = 30, cancel: threading.Event | None = None
) -> proc.Finished:
    """``proc.run`` in ``tmp_path``, logging to ``tmp_path/log``."""
    return proc.run(
        argv, cwd=tmp_path, env=ENV, timeout=timeout, log=tmp_path / "log", cancel=cancel
    )


def test_exit_status_and_output(tmp_path: Path) -> None:
    done = run(tmp_path, py("print('hi'); raise SystemExit(3)"), timeout=30)
    assert (done.returncode, done.timed_out, done.output.strip()) == (3, False, "hi")
    assert (tmp_path / "log").read_text().strip() == "hi"


def test_timeout_kills_children_and_setsid_daemons(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    code = (
        "import os, subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        "daemon = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'],"
        " start_new_session=True)\n"
        f"open({str(pids)!r}, 'w').write(f'{{child.pid}} {{daemon.pid}}')\n"
        "time.sleep(600)\n"
    )
    start = time.monotonic()
    done = run(tmp_path, py(code), timeout=3)
    assert done.timed_out and done.returncode is None
    assert time.monotonic() - start < 20
    for pid in map(int, pids.read_text().split()):
        assert not alive(pid), f"process {pid} survived the cell"


def test_daemon_left_behind_by_a_passing_command_is_killed(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    code = (
        "import subprocess, sys\n"
        "d = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'],"
        " start_new_session=True, stdout=subprocess.DEVNULL)\n"
        f"open({str(pid_file)!r}, 'w').write(str(d.pid))\n"
    )
    done = run(tmp_path, py(code), timeout=30)
    assert done.returncode == 0
    assert not alive(int(pid_file.read_text()))


def test_huge_output_is_capped_but_the_end_is_kept(tmp_path: Path) -> None:
    code = (
        "import sys\nchunk = 'x' * 1023 + '\\n'\n"
        "for _ in range(1_100_000): sys.stdout.write(chunk)\nprint('THE END')\n"
    )
    done = run(tmp_path, py(code), timeout=120)
    assert done.returncode == 0
    size = (tmp_path / "log").stat().st_size
    assert size < proc.HEAD_BYTES + proc.TAIL_BYTES + (1 << 16) + 1000
    assert "bytes of output dropped" in done.output
    assert done.output.rstrip().endswith("THE END")


def test_exit_by_signal(tmp_path: Path) -> None:
    done = run(tmp_path, py("import os, signal; os.kill(os.getpid(), signal.SIGKILL)"), timeout=30)
    assert done.returncode == -9


def test_missing_program_is_reported_not_raised(tmp_path: Path) -> None:
    done = run(tmp_path, ["no-such-program-here"], timeout=5)
    assert done.returncode is None and "could not start" in done.start_error


def test_cancel_stops_a_running_process(tmp_path: Path) -> None:
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    done = run(tmp_path, py("import time; time.sleep(600)"), timeout=60, cancel=cancel)
    assert done.cancelled and done.seconds < 10


def test_a_daemon_in_a_new_session_with_an_empty_environment_is_killed(tmp_path: Path) -> None:
    """Double fork, ``setsid``, ``execve`` with ``{}``: neither the process group nor the
    marker in the environment leads to it; the keeper (a child subreaper) still does."""
    pid_file = tmp_path / "pid"
    code = setsid_daemon(pid_file)
    done = run(tmp_path, py(code), timeout=30)
    assert done.returncode == 0
    pid = int(pid_file.read_text())
    assert not alive(pid), f"daemon {pid} survived the cell"
