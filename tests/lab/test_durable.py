"""Nothing measured is lost: an edited scenario with a narrowed run, a ``kill -9`` mid-run, a
results file that cannot be read, a full disk.

Real runs of the lab in subprocesses, real venvs (tiny), a real SIGKILL; marked slow.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import make_repo
from tests.lab.test_faults import PROBE, lab, matrix_argv, outcomes, results, scenario_toml

pytestmark = pytest.mark.slow

FLAVOURS = """
[axes.flavour]
kind = "env"
values = { a = { FLAVOUR = "a" }, b = { FLAVOUR = "b" } }
"""


def test_an_edited_scenario_and_a_narrowed_run_touch_only_what_ran(tmp_path: Path) -> None:
    toml = scenario_toml(["pass", "bug"], extra=FLAVOURS)
    repo = make_repo(tmp_path, "probe", toml, {"probe.py": PROBE})
    scenario = repo / "scenarios" / "probe" / "scenario.toml"
    assert lab(repo).returncode == 0
    first = {c["id"]: c for c in results(repo)["cells"]}
    assert len(first) == 4

    # one value more on an axis, then a run narrowed to one old cell: the other three stay
    scenario.write_text(toml.replace('b = { FLAVOUR = "b" }', 'b = { FLAVOUR = "b" }, c = {}'))
    done = lab(repo, "--only", "mode=pass", "--only", "flavour=a")
    assert done.returncode == 0, done.stderr
    after = {c["id"]: c for c in results(repo)["cells"]}
    assert set(after) == set(first)
    for cell_id in set(first) - {"mode=pass,flavour=a"}:
        assert after[cell_id] == first[cell_id]
    assert "dropped" not in done.stderr

    # a value removed: its cells are dropped, and the run says how many and why
    scenario.write_text(toml.replace(', b = { FLAVOUR = "b" }', ""))
    done = lab(repo, "--only", "mode=pass")
    assert done.returncode == 0, done.stderr
    assert "2 measured cell(s)" in done.stderr and "no longer cells of the scenario" in done.stderr
    assert set(outcomes(repo)) == {"mode=pass,flavour=a", "mode=bug,flavour=a"}

    # the command changed: the cell not run now is kept, marked as measured with other inputs
    scenario.write_text(toml.replace(', b = { FLAVOUR = "b" }', "").replace("timeout = 60", "timeout = 61"))
    done = lab(repo, "--only", "mode=pass")
    assert done.returncode == 0, done.stderr
    kept = {c["id"]: c for c in results(repo)["cells"]}["mode=bug,flavour=a"]
    assert kept["outcome"] == "reproduced" and kept["inputs_changed"] is True
    assert "1 cell(s) kept from earlier runs were measured with inputs" in done.stderr
    markdown = (repo / "results" / "probe.md").read_text()
    assert "🐛‡" in markdown and "‡ marks 1 of them" in markdown
