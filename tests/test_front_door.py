"""The nox front door keeps the lab's promises: its exit statuses are the lab's own (2 for bad
input, never nox's 1 for every failure), and ``report -- NAME > issue.md`` holds exactly the
comment, the status line on stderr. A real nox, the repository's noxfile, a real venv."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.conftest import RESULTS, ROOT, SEED, make_repo

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def envdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("nox")


def nox(envdir: Path, session: str, *posargs: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BUGLAB_", "NOX"))}
    argv: Sequence[str] = [sys.executable, "-m", "nox", "-f", str(ROOT / "noxfile.py")]
    argv = [*argv, "--envdir", str(envdir), "-s", session, "--", *posargs]
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600, check=False)


def test_bad_input_through_nox_is_exit_2_with_one_line(envdir: Path) -> None:
    typo = nox(envdir, "matrix", "warnings-coverage-editabel")
    assert typo.returncode == 2, typo.stderr
    assert "buglab: error: no scenario 'warnings-coverage-editabel'" in typo.stderr
    assert "did you mean 'warnings-coverage-editable'?" in typo.stderr
    assert typo.stdout == ""
    flag = nox(envdir, "bisect", SEED, "--package", "sqlalchemy", "--only", "instal=editable")
    assert flag.returncode == 2, flag.stderr


def test_report_to_a_pipe_holds_exactly_the_comment(envdir: Path, tmp_path: Path) -> None:
    out = tmp_path / "comment.md"
    page = str(tmp_path / "page.html")
    piped = nox(envdir, "report", SEED, "--results", str(RESULTS), "--html", page)
    assert piped.returncode == 0, piped.stderr
    written = nox(
        envdir, "report", SEED, "--results", str(RESULTS), "--html", page, "--out", str(out)
    )
    assert written.returncode == 0, written.stderr
    assert piped.stdout == out.read_text(encoding="utf-8")
    assert piped.stdout.startswith("## ") and "nox >" not in piped.stdout
    assert "comment of" in piped.stderr and "comment of" not in piped.stdout


def test_ctrl_c_through_nox_is_exit_130(envdir: Path, tmp_path: Path) -> None:
    """Ctrl-C reaches the lab itself (the session became it), which ends the run as documented."""
    marker = tmp_path / "started"
    toml = f"""
title = "sleeps"
description = "a cell that runs until interrupted"
command = ["python", "-c", "open({str(marker)!r}, 'w').close(); import time; time.sleep(120)"]
signature = "BUG"
timeout = 300
"""
    repo = make_repo(tmp_path / "repo", "sleeps", toml, {"x.txt": ""})
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BUGLAB_", "NOX"))}
    argv = [sys.executable, "-m", "nox", "-f", str(ROOT / "noxfile.py"), "--envdir", str(envdir)]
    argv += ["-s", "lab", "--", "--root", str(repo), "matrix", "sleeps", "--quiet"]
    argv += ["--store", str(tmp_path / "store")]
    running = subprocess.Popen(argv, env=env, start_new_session=True, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while not marker.exists() and running.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert marker.exists(), "the cell never started"
    os.killpg(running.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    _, err = running.communicate(timeout=120)
    assert running.returncode == 130, err.decode()
