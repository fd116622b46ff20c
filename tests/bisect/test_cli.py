"""Bad input to ``buglab bisect``: one line, exit 2, nothing built and nothing written.

The index is a local server speaking PEP 691 JSON (releases, files, a yank), so the answers
are fixed and no request leaves the machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, SEED, fake_index

WHEEL = "py3-none-any.whl"
FILES: list[dict[str, Any]] = [
    {"filename": f"sqlalchemy-{v}-{WHEEL}", "upload-time": "2026-01-01T00:00:00Z"}
    for v in ("2.0.56", "2.0.58", "2.1.0b1", "2.1.0", "2.1.1")
] + [
    {
        "filename": f"sqlalchemy-2.0.57-{WHEEL}",
        "upload-time": "2026-01-01T00:00:00Z",
        "yanked": "broken wheel",
    },
    {"filename": "sqlalchemy-2.0.55-cp27-cp27m-win32.whl", "upload-time": "2026-01-01T00:00:00Z"},
]


@pytest.fixture(scope="module")
def index_url() -> Iterator[str]:
    with fake_index({"sqlalchemy": {"versions": [], "files": FILES}}) as index:
        yield index.url


EDITABLE = [
    "--only",
    "install=editable",
    "--only",
    "toolchain=latest",
    "--only",
    "warnings=on",
    "--only",
    "coverage=on",
]
DATED = [
    "--date",
    "--only",
    "install=not-installed",
    "--only",
    "sqlalchemy=2.0",
    "--only",
    "warnings=on",
    "--only",
    "coverage=on",
]
RELEASE = ["--package", "sqlalchemy", *EDITABLE]

CASES = {
    "free axes": (
        ["--package", "sqlalchemy", "--only", "install=editable"],
        "a bisect varies one cell: fix every axis but sqlalchemy with --only; still "
        "free: toolchain (2023-12-10, latest); warnings (on, off); coverage (on, off)",
    ),
    "not a release": (
        [*RELEASE, "--good", "2.0.60", "--bad", "2.0.56"],
        "--good 2.0.60: not a release here; nearest candidates: 2.0.56, 2.0.58, 2.1.0, 2.1.1",
    ),
    "yanked": (
        [*RELEASE, "--good", "2.0.57"],
        "--good 2.0.57: not a candidate here: yanked (broken wheel)",
    ),
    "no file for this python": (
        [*RELEASE, "--bad", "2.0.55"],
        "--bad 2.0.55: not a candidate here: no wheel for Python",
    ),
    "pre-release": (
        [*RELEASE, "--good", "2.1.0b1"],
        "--good 2.1.0b1: not a candidate here: a pre-release (--pre takes them)",
    ),
    "same twice": (
        [*RELEASE, "--good", "2.0.58", "--bad", "2.0.58"],
        "--good and --bad are both '2.0.58': give two different ends",
    ),
    "unknown axis": (
        [*RELEASE, "--only", "warning=on"],
        "--only warning=...: no axis 'warning' in warnings-coverage-editable "
        "(did you mean 'warnings'?)",
    ),
    "unknown value": (
        [*RELEASE, "--only", "coverage=of"],
        "--only coverage=of: 'of' is not a value of axis 'coverage'",
    ),
    "not a day": (
        [*DATED, "--good", "2024-02-30"],
        "--good '2024-02-30': expected a day as YYYY-MM-DD, or latest",
    ),
    "the same day": (
        [*DATED, "--good", "2024-02-03", "--bad", "2024-02-03"],
        "--good and --bad are the same day (2024-02-03)",
    ),
    "a future day": ([*DATED, "--bad", "2999-01-01"], "--bad 2999-01-01: that day has not come"),
    "package and date": ([*RELEASE, "--date"], "argument --date: not allowed with argument"),
    "unknown scenario": (["--package", "x"], "no scenario"),
    "a misspelt package": (
        ["--package", "sqlalchemi", *EDITABLE],
        "--package 'sqlalchemi': the scenario names no such package (did you mean 'sqlalchemy'?)",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_one_line_and_builds_nothing(
    case: str, index_url: str, tmp_path: Path
) -> None:
    argv, message = CASES[case]
    name = "no-such-scenario" if case == "unknown scenario" else SEED
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "buglab",
            "--root",
            str(ROOT),
            "bisect",
            name,
            *argv,
            "--store",
            str(tmp_path / "store"),
            "--results",
            str(tmp_path / "results"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "BUGLAB_INDEX_URL": index_url},
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert lines[0].startswith("buglab: error: ")
    assert message in lines[0], lines[0]
    assert not (tmp_path / "store" / "venvs").exists()
    assert not (tmp_path / "results").exists()
