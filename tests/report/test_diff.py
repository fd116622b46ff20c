"""Comparing runs: exactly the cells whose outcome changed, with what changed in their venvs;
``matrix --diff`` against the results committed in git."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from buglab import model
from buglab.cli import main
from buglab.errors import UsageError
from buglab.lab import store
from buglab.report import diff, history
from tests.conftest import RESULTS, ROOT, SEED, make_repo

FIXED = "install=editable,sqlalchemy=2.0,toolchain=latest,warnings=on,coverage=on"
BROKEN = "install=editable,sqlalchemy=2.1,toolchain=latest,warnings=on,coverage=on"


def seed() -> model.MatrixResult:
    return store.read(RESULTS / f"{SEED}.json")


def later(old: model.MatrixResult) -> model.MatrixResult:
    """The seed as if SQLAlchemy 2.0.59 fixed it and 2.1.10 broke it again."""

    def bump(cell: model.CellResult, version: str, outcome: model.Outcome) -> model.CellResult:
        resolved = tuple((k, version if k == "sqlalchemy" else v) for k, v in cell.resolved)
        return replace(cell, outcome=outcome, resolved=resolved)

    changes = {
        FIXED: ("2.0.59", model.Outcome.PASSED),
        BROKEN: ("2.1.10", model.Outcome.REPRODUCED),
    }
    cells = [bump(c, *changes[c.id]) if c.id in changes else c for c in old.cells]
    meta = tuple((k, "2027-01-01T00:00:00Z" if k == "started" else v) for k, v in old.meta)
    return replace(old, cells=tuple(cells), meta=meta)


def test_only_the_cells_whose_outcome_changed_with_their_versions() -> None:
    old = seed()
    comparison = diff.compare(old, later(old))
    assert [c.id for c in comparison.changed] == [FIXED, BROKEN]
    assert comparison.changed[0].versions == (("sqlalchemy", "2.0.58", "2.0.59"),)
    assert comparison.compared == len(old.cells) and not comparison.added
    text = diff.changes_markdown(comparison)
    assert "2 of 72 cells changed outcome" in text
    assert f"| {FIXED} | 🐛 reproduced | ✅ passed | sqlalchemy 2.0.58 → 2.0.59 |" in text
    assert f"| {BROKEN} | ✅ passed | 🐛 reproduced | sqlalchemy 2.1.9 → 2.1.10 |" in text


def test_the_same_results_differ_in_nothing() -> None:
    old = seed()
    comparison = diff.compare(old, old)
    assert not comparison.any
    assert "0 of 72 cells changed outcome." in diff.changes_markdown(comparison)


def test_cells_new_and_gone_are_listed_apart() -> None:
    old = seed()
    new = replace(old, cells=old.cells[1:])
    comparison = diff.compare(new, old)
    assert [c.id for c in comparison.added] == [old.cells[0].id] and not comparison.changed
    assert "New cells:" in diff.changes_markdown(comparison)
    with pytest.raises(UsageError, match="two scenarios"):
        diff.compare(old, replace(old, scenario="other"))


def test_the_command_exits_1_when_anything_changed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = seed()
    store.write(old, tmp_path / "old.json")
    store.write(later(old), tmp_path / "new.json")
    assert (
        main(["--root", str(ROOT), "diff", str(tmp_path / "old.json"), str(tmp_path / "new.json")])
        == 1
    )
    assert "2 of 72 cells changed outcome" in capsys.readouterr().out
    assert (
        main(["--root", str(ROOT), "diff", str(tmp_path / "old.json"), str(tmp_path / "old.json")])
        == 0
    )
    assert (
        main(["--root", str(ROOT), "diff", str(tmp_path / "nope.json"), str(tmp_path / "old.json")])
        == 2
    )
    assert "no such results file" in capsys.readouterr().err


def git(repo: Path, *argv: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    subprocess.run(["git", "-C", str(repo), *argv], check=True, capture_output=True, env=env)


def test_the_baseline_is_the_committed_file_else_the_one_on_disk(tmp_path: Path) -> None:
    old = seed()
    path = tmp_path / "results" / f"{SEED}.json"
    store.write(old, path)
    found, where = history.baseline(path)
    assert found == old and "as it was before this run" in where  # no git here
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "results")
    git(tmp_path, "commit", "-qm", "results")
    store.write(later(old), path)  # changed on disk, not committed
    found, where = history.baseline(path)
    assert found == old and "as committed in git HEAD" in where
    missing, why = history.baseline(tmp_path / "results" / "other.json")
    assert missing is None and "did not exist" in why


PROBE = """\
import os, pathlib
if os.environ["MODE"] == "bug" or pathlib.Path("broken").exists():
    print("BUG-SIGNATURE-42")
"""
TOML = """
title = "probe"
description = "a throwaway scenario"
command = ["python", "probe.py"]
signature = "BUG-SIGNATURE-42"

[project]
files = ["probe.py"]

[axes.mode]
kind = "env"
values = { pass = { MODE = "pass" }, bug = { MODE = "bug" } }
"""


@pytest.mark.slow
def test_matrix_diff_lists_what_changed_against_the_committed_results(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, "probe", TOML, {"probe.py": PROBE})
    argv = [
        sys.executable,
        "-m",
        "buglab",
        "--root",
        str(repo),
        "matrix",
        "probe",
        "--quiet",
        "--store",
        str(repo / "store"),
    ]

    def run(*more: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*argv, *more], capture_output=True, text=True, timeout=600, check=False
        )

    first = run("--diff")
    assert first.returncode == 0, first.stderr
    assert "nothing to compare with" in first.stdout
    git(repo, "init", "-q")
    git(repo, "add", "results/probe.json")
    git(repo, "commit", "-qm", "baseline")
    (repo / "scenarios" / "probe" / "broken").write_text("")
    toml = repo / "scenarios" / "probe" / "scenario.toml"
    toml.write_text(TOML.replace('files = ["probe.py"]', 'files = ["probe.py", "broken"]'))
    second = run("--diff")
    assert second.returncode == 0, second.stderr
    assert "as committed in git HEAD" in second.stdout
    assert "1 of 2 cells changed outcome" in second.stdout
    assert "| mode=pass | ✅ passed | 🐛 reproduced | same versions |" in second.stdout
    data = json.loads((repo / "results" / "probe.json").read_text())
    assert {c["outcome"] for c in data["cells"]} == {"reproduced"}
