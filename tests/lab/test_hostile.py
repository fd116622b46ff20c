"""Hostile scenario text and hostile cells: a runaway signature, a long label, a daemon that
leaves every tree, signals at any point of the lab's own work.

Real venvs (tiny, no packages), real processes, real signals; marked slow.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from filelock import FileLock

from tests.conftest import make_repo
from tests.lab.test_faults import PROBE, lab, matrix_argv, outcomes, results, scenario_toml
from tests.processes import alive, setsid_daemon

pytestmark = pytest.mark.slow


def test_a_backtracking_signature_cannot_hang_the_lab(tmp_path: Path) -> None:
    """``(a+)+$`` against forty ``a`` and a ``!`` keeps Python's ``re`` busy for ever (and deaf
    to signals); the lab classifies the cell in its usual time."""
    toml = scenario_toml(["pass"]).replace('"BUG-SIGNATURE-42"', '"(a+)+$"')
    probe = "print('a' * 40 + '!')\n"
    repo = make_repo(tmp_path, "probe", toml, {"probe.py": probe})
    start = time.monotonic()
    done = lab(repo, timeout=90)
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - start < 60
    assert outcomes(repo) == {"mode=pass": "passed"}


@pytest.mark.parametrize(
    ("signature", "says"),
    [
        ("Error(?=: boom)", "lookaround"),
        (r"(ab)\\1", "backreferences"),
        ("(?>atomic)", "atomic groups"),
        (r"end\\Z", "write \\z"),
    ],
)
def test_a_signature_the_linear_engine_cannot_take_is_one_line(
    tmp_path: Path, signature: str, says: str
) -> None:
    toml = scenario_toml(["pass"]).replace('"BUG-SIGNATURE-42"', f'"{signature}"')
    repo = make_repo(tmp_path, "probe", toml, {"probe.py": PROBE})
    done = lab(repo)
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert line.startswith("buglab: error: ") and ": signature: " in line
    assert "linear time" in line and says in line
    assert not (repo / "results").exists() and not (repo / "store").exists()


def test_sigterm_while_waiting_for_a_lock_is_an_interrupt(tmp_path: Path) -> None:
    """SIGTERM outside the cells' wait loop (here: waiting for the results lock another run
    holds) takes Ctrl-C's path: one line, exit 130, nothing written."""
    repo = make_repo(tmp_path, "probe", scenario_toml(["pass"]), {"probe.py": PROBE})
    (repo / "results").mkdir()
    with FileLock(str(repo / "results" / "probe.lock")):
        process = subprocess.Popen(
            matrix_argv(repo), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        deadline = time.monotonic() + 60
        assert process.stderr is not None
        line = process.stderr.readline()
        assert "waiting for the results of probe" in line
        assert time.monotonic() < deadline
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert not (repo / "results" / "probe.json").exists()


def test_a_daemon_with_a_new_session_and_an_empty_environment_dies_with_its_cell(
    tmp_path: Path,
) -> None:
    """fork, setsid, execve with no environment at all: no process group and no marker lead
    to it, yet it does not outlive its cell."""
    pid_file = tmp_path / "daemon.pid"
    probe = setsid_daemon(pid_file) + "time.sleep(0.2)\nprint('started a daemon')\n"
    repo = make_repo(tmp_path, "probe", scenario_toml(["pass"]), {"probe.py": probe})
    done = lab(repo)
    assert done.returncode == 0, done.stderr
    assert outcomes(repo) == {"mode=pass": "passed"}
    pid = int(pid_file.read_text())
    try:
        assert not alive(pid), f"daemon {pid} outlived its cell"
    finally:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_a_long_label_runs_and_is_stored(tmp_path: Path) -> None:
    """A 300-character label passes validation; its cell id and log path stay within the
    filesystem's limits and the run writes every cell."""
    long = "x" * 300
    toml = scenario_toml(["pass", "bug"]).replace("bug = {", f"{long} = {{")
    repo = make_repo(tmp_path, "probe", toml, {"probe.py": PROBE})
    done = lab(repo)
    assert done.returncode == 0, done.stderr
    cells = {c["id"]: c for c in results(repo)["cells"]}
    assert len(cells) == 2
    (long_id,) = [i for i in cells if i != "mode=pass"]
    assert cells[long_id]["outcome"] == "reproduced"
    assert cells[long_id]["axes"] == {"mode": long}
    for cell in cells.values():
        log = repo / "results" / cell["log"]
        assert log.is_file() and len(log.name.encode()) <= 255
    plan = subprocess.run(
        [sys.executable, "-m", "buglab", "--root", str(repo), "plan", "probe"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert long_id in plan.stdout
    again = lab(repo, "--cell", long_id)
    assert again.returncode == 0, again.stderr


def test_an_index_that_never_answers_is_a_bounded_wait_that_names_it(tmp_path: Path) -> None:
    """An index that accepts connections and then says nothing: the lab waits a bounded time,
    says which index does not answer, and the venv it needed is an env-error naming it."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                held.append(listener.accept()[0])  # and never a byte back

    threading.Thread(target=accept, daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/simple"
    toml = scenario_toml(["pass"], requirements='["six==1.16.0"]')
    repo = make_repo(tmp_path, "probe", toml, {"probe.py": PROBE})
    env = {**os.environ, "BUGLAB_INDEX_URL": url, "UV_CACHE_DIR": str(tmp_path / "uv-cache")}
    env.pop("UV_HTTP_TIMEOUT", None)
    env.pop("UV_HTTP_RETRIES", None)
    start = time.monotonic()
    try:
        done = lab(repo, env=env, timeout=300)
    finally:
        stop.set()
        for connection in held:
            connection.close()
        listener.close()
    assert time.monotonic() - start < 120
    assert f"the index {url} did not answer within" in done.stderr
    (cell,) = results(repo)["cells"]
    assert cell["outcome"] == "env-error"
    assert url in cell["detail"] and "did not answer" in cell["detail"]
