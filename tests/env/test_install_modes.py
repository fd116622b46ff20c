"""The three install modes for real: what each venv can import from outside the project folder,
and from where. One tiny project with no requirements, so each venv costs a second or two."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import make_repo

pytestmark = pytest.mark.slow

# `python -I` leaves the working folder (which holds the project's files) off sys.path, so the
# package is found only where the install put it
SCENARIO = """
title = "where is tinypkg imported from"
description = "each install mode, seen from outside the project folder"
command = ["python", "-I", "-c", "import tinypkg; print('FROM', tinypkg.__file__)"]
signature = "ModuleNotFoundError: No module named 'tinypkg'"

[project]
name = "tinypkg"
files = ["tinypkg"]

[axes.install]
kind = "install"
values = ["editable", "non-editable", "not-installed"]

[[expect]]
outcome = "passed"

[[expect]]
outcome = "reproduced"
install = "not-installed"
"""


def test_each_mode_is_importable_from_where_its_install_command_puts_it(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, "modes", SCENARIO, {"tinypkg/__init__.py": "VALUE = 1\n"})
    store = repo / "store"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "buglab",
            "--root",
            str(repo),
            "matrix",
            "modes",
            "--quiet",
            "--store",
            str(store),
        ],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    # setuptools' "Editable installation" banner belongs in the build log, not the terminal
    assert "BuildBackendWarning" not in done.stderr
    assert "Editable installation" in "".join(
        p.read_text() for p in (repo / "results" / "logs" / "venvs").glob("*.log")
    )
    data = json.loads((repo / "results" / "modes.json").read_text())
    cells = {c["axes"]["install"]: c for c in data["cells"]}
    assert {mode: c["outcome"] for mode, c in cells.items()} == {
        "editable": "passed",
        "non-editable": "passed",
        "not-installed": "reproduced",
    }
    where = {mode: c["excerpt"].split("FROM ")[-1].strip() for mode, c in cells.items()}
    # pip install -e: the project's own folder (the store's content-addressed copy of it)
    assert where["editable"].startswith(str(store / "projects"))
    assert where["editable"].endswith("tinypkg/__init__.py")
    # pip install .: a copy inside the venv's site-packages
    assert where["non-editable"].startswith("<venv>/lib/python")
    assert where["non-editable"].endswith("site-packages/tinypkg/__init__.py")
    # not installed: nowhere but the cell's folder, which python -I does not look in
    assert "No module named 'tinypkg'" in cells["not-installed"]["excerpt"]
    # the table's resolved versions show the project exactly where it is installed
    assert cells["editable"]["resolved"]["tinypkg"] == "0"
    assert cells["non-editable"]["resolved"]["tinypkg"] == "0"
    assert "tinypkg" not in cells["not-installed"]["resolved"]
