"""The keeper server: a keeper per process at a fork's cost, with every promise of a keeper.

Real processes and real signals: a cell runs under a keeper the server forked; a server killed
mid-run or frozen loses no cell and runs no command twice; many cells share the one server; a
daemon that leaves every tree dies with its cell; ``kill -9`` of the lab takes every cell with
it; a forked lab gets a server of its own. What a cell sees, and how a start fails, is checked
through the server and through the fallback (a keeper interpreter per process).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from buglab.env import keeper, proc
from tests.env.test_proc import ENV, py, run
from tests.processes import alive, setsid_daemon

CELLS = 8


@pytest.fixture(params=["server", "fallback"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Each test twice: keepers from the server, and a keeper interpreter per process."""
    if request.param == "fallback":
        monkeypatch.setattr(keeper.SERVER, "enabled", False)
    yield request.param


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def wait_until(done: Callable[[], bool], seconds: float = 30) -> None:
    """Poll ``done()`` (a bounded wait for another process, not a timing)."""
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.01)


#: prints the command's keeper (its parent) and the keeper's parent
ANCESTRY = (
    "import os\n"
    "keeper = os.getppid()\n"
    "stat = open(f'/proc/{keeper}/stat').read().rsplit(')', 1)[1].split()\n"
    "print(keeper, stat[1])\n"
)


def test_a_command_runs_under_a_keeper_the_server_forked(tmp_path: Path) -> None:
    done = run(tmp_path, py(ANCESTRY))
    assert done.returncode == 0, done.output
    keeper_pid, above = map(int, done.output.split())
    assert keeper.SERVER.pid is not None and above == keeper.SERVER.pid
    assert keeper_pid not in (os.getpid(), keeper.SERVER.pid)


def test_what_a_cell_sees(tmp_path: Path, mode: str) -> None:
    """Exactly the environment it is given (no LC_CTYPE from a keeper's interpreter), no
    signal ignored or blocked, stdin from /dev/null, no descriptor beyond 0-2, its folder."""
    env = run(tmp_path, ["env"]).output.splitlines()
    assert sorted(line.split("=", 1)[0] for line in env) == [proc.MARKER, "PATH"]
    signals = run(tmp_path, ["grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status"]).output
    assert signals.split() == ["SigBlk:", "0" * 16, "SigIgn:", "0" * 16]
    assert run(tmp_path, ["readlink", "/proc/self/fd/0"]).output == "/dev/null\n"
    assert run(tmp_path, ["sh", "-c", "ls /proc/$$/fd"]).output.split() == ["0", "1", "2"]
    assert run(tmp_path, ["sh", "-c", "pwd -P"]).output.strip() == str(tmp_path.resolve())
    session = "import os; print(os.getsid(0) == os.getpgid(0) == os.getppid() != os.getpid())"
    assert run(tmp_path, py(session)).output.strip() == "True"


def test_a_command_that_cannot_start_is_a_start_error(tmp_path: Path, mode: str) -> None:
    script = tmp_path / "script"
    script.write_text("#!/bin/sh\necho never\n")
    script.chmod(0o644)
    done = run(tmp_path, ["./script"])
    assert done.returncode is None
    assert done.start_error == "could not start './script': Permission denied"
    nowhere = proc.run(["true"], cwd=tmp_path / "gone", env=ENV, timeout=30, log=tmp_path / "log")
    assert nowhere.start_error == "could not start 'true': No such file or directory"
    assert "never" not in (tmp_path / "log").read_text()


def test_a_daemon_with_a_new_session_and_no_environment_dies_with_its_cell(
    tmp_path: Path, mode: str
) -> None:
    """fork, setsid, execve with ``{}``: through the server's keepers too, it dies."""
    pid_file = tmp_path / "pid"
    code = setsid_daemon(pid_file) + ANCESTRY
    done = run(tmp_path, py(code))
    assert done.returncode == 0, done.output
    if mode == "server":
        assert int(done.output.split()[1]) == keeper.SERVER.pid
    daemon = int(pid_file.read_text())
    assert not alive(daemon), f"daemon {daemon} survived the cell"


def test_a_server_killed_mid_run_loses_no_cell(tmp_path: Path) -> None:
    """The keeper answers to the lab, not to the server: the cell ends as it would have, and
    the next command gets a new server."""
    run(tmp_path, ["true"])
    server = keeper.SERVER.pid
    assert server is not None
    started, go = tmp_path / "started", tmp_path / "go"
    code = (
        "import os, time\n"
        f"open({str(started)!r}, 'w').close()\n"
        f"while not os.path.exists({str(go)!r}): time.sleep(0.01)\n"
        "print('finished')\n"
        "raise SystemExit(7)\n"
    )
    finished: list[proc.Finished] = []
    cell = threading.Thread(target=lambda: finished.append(run(tmp_path, py(code))))
    cell.start()
    wait_until(started.exists)
    os.kill(server, signal.SIGKILL)
    wait_until(lambda: not alive(server))
    go.touch()
    cell.join(60)
    (done,) = finished
    assert (done.returncode, done.output, done.timed_out) == (7, "finished\n", False)
    after = run(tmp_path, ["echo", "again"])
    assert (after.returncode, after.output) == (0, "again\n")
    assert keeper.SERVER.pid not in (None, server)


def test_a_frozen_server_is_replaced_and_the_command_runs_once(tmp_path: Path) -> None:
    """A server that takes the request and never answers (here: stopped) is killed and
    replaced; the keeper it may have readied never had the command, so nothing ran twice."""
    run(tmp_path, ["true"])
    server = keeper.SERVER.pid
    assert server is not None and keeper.SERVER.channel is not None
    keeper.SERVER.channel.settimeout(0.5)
    os.kill(server, signal.SIGSTOP)
    try:
        tally = tmp_path / "tally"
        done = run(tmp_path, ["sh", "-c", f"echo ran >> '{tally}'"])
    finally:
        if alive(server):
            os.kill(server, signal.SIGKILL)
    assert done.returncode == 0
    assert tally.read_text() == "ran\n"
    assert not alive(server)
    assert keeper.SERVER.pid not in (None, server)


def test_many_cells_at_once_share_the_one_server(tmp_path: Path) -> None:
    """Each command waits until all of them have started: they ran at the same time (a lab
    that served them one after another would never finish them), each under its own keeper,
    all forked by the same server."""
    code = (
        "import os, sys, time\n"
        f"folder = {str(tmp_path)!r}\n"
        "open(os.path.join(folder, f'started-{sys.argv[1]}'), 'w').close()\n"
        "deadline = time.monotonic() + 60\n"
        f"while sum(n.startswith('started-') for n in os.listdir(folder)) < {CELLS}:\n"
        "    assert time.monotonic() < deadline\n"
        "    time.sleep(0.01)\n"
        "print(sys.argv[1])\n" + ANCESTRY
    )
    results: dict[int, proc.Finished] = {}

    def cell(index: int) -> None:
        log = tmp_path / f"log-{index}"
        argv = [*py(code), str(index)]
        results[index] = proc.run(argv, cwd=tmp_path, env=ENV, timeout=90, log=log)

    threads = [threading.Thread(target=cell, args=(i,)) for i in range(CELLS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    keepers, servers = set(), set()
    for index, done in results.items():
        assert done.returncode == 0, done.output
        mine, keeper_pid, above = done.output.split()
        assert int(mine) == index
        keepers.add(int(keeper_pid))
        servers.add(int(above))
    assert len(results) == CELLS and len(keepers) == CELLS
    assert servers == {keeper.SERVER.pid}


#: a lab in a process of its own: one cell, which starts a daemon that leaves every tree
LAB = """
import os, sys
from pathlib import Path
from buglab.env import keeper, proc
keeper.SERVER.enabled = sys.argv[1] == "server"
folder = Path(sys.argv[2])
proc.run([sys.executable, str(folder / "cell.py")], cwd=folder, env={"PATH": os.defpath},
         timeout=600, log=folder / "log")
"""
CELL = """
import os, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        sleep = "import os, time; open('daemon.tmp', 'w').write(str(os.getpid()));"
        sleep += " os.rename('daemon.tmp', 'daemon'); time.sleep(600)"
        os.execve(sys.executable, [sys.executable, "-c", sleep], {})
    os._exit(0)
open("cell.tmp", "w").write(str(os.getpid()))
os.rename("cell.tmp", "cell")
time.sleep(600)
"""


def test_kill_9_of_the_lab_takes_every_cell_with_it(tmp_path: Path, mode: str) -> None:
    """The lab's lifeline reads EOF in every keeper: the cell and its escaped daemon die at
    once, and the server exits."""
    (tmp_path / "cell.py").write_text(CELL)
    lab = subprocess.Popen([sys.executable, "-c", LAB, mode, str(tmp_path)])
    try:
        wait_until(lambda: (tmp_path / "cell").exists() and (tmp_path / "daemon").exists())
        cell, daemon = (int((tmp_path / name).read_text()) for name in ("cell", "daemon"))
        server = [pid for pid in _children(lab.pid) if pid != parent_of(cell)]
        os.kill(lab.pid, signal.SIGKILL)
        lab.wait(30)
        wait_until(lambda: not alive(cell) and not alive(daemon))
        wait_until(lambda: not any(alive(pid) for pid in server))
    finally:
        if lab.poll() is None:
            lab.kill()
            lab.wait()
    assert len(server) == (1 if mode == "server" else 0)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if parent_of(int(entry.name)) == pid and alive(int(entry.name)):
                    found.append(int(entry.name))
            except (OSError, IndexError):
                continue
    return found


FORKED = """
import os, sys
from pathlib import Path
from buglab.env import keeper, proc
env = {"PATH": os.defpath}
def true() -> int | None:
    return proc.run(["true"], cwd=Path("/"), env=env, timeout=30, log=Path(sys.argv[1])).returncode
assert true() == 0
parent_server = keeper.SERVER.pid
child = os.fork()
if child == 0:
    ok = true() == 0 and keeper.SERVER.pid not in (None, parent_server)
    os._exit(0 if ok else 1)
_, status = os.waitpid(child, 0)
assert os.waitstatus_to_exitcode(status) == 0, "the forked child had no server of its own"
assert true() == 0 and keeper.SERVER.pid == parent_server
"""


def test_a_forked_lab_gets_a_server_of_its_own(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", FORKED, str(tmp_path / "log")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
