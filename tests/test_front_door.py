"""The nox front door keeps the lab's promises: its exit statuses are the lab's own (2 for bad
input, never nox's 1 for every failure), and ``report -- NAME > issue.md`` holds exactly the
comment, the status line on stderr. A real nox, the repository's noxfile, a real venv."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.conftest import RESULTS, ROOT, SEED

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
