"""Nothing measured is lost: an edited scenario with a narrowed run, a ``kill -9`` mid-run, a
results file that cannot be read, a full disk.

Real runs of the lab in subprocesses, real venvs (tiny), a real SIGKILL; marked slow.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import make_repo
from tests.lab.test_faults import PROBE, lab, matrix_argv, outcomes, results, scenario_toml
from tests.processes import alive

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
    scenario.write_text(
        toml.replace(', b = { FLAVOUR = "b" }', "").replace("timeout = 60", "timeout = 61")
    )
    done = lab(repo, "--only", "mode=pass")
    assert done.returncode == 0, done.stderr
    kept = {c["id"]: c for c in results(repo)["cells"]}["mode=bug,flavour=a"]
    assert kept["outcome"] == "reproduced" and kept["inputs_changed"] is True
    assert "1 cell(s) kept from earlier runs were measured with inputs" in done.stderr
    markdown = (repo / "results" / "probe.md").read_text()
    assert "🐛‡" in markdown and "‡ marks 1 of them" in markdown


def test_a_killed_run_loses_no_finished_cell(tmp_path: Path) -> None:
    """``kill -9`` while a cell still runs: the cells already finished are in the journal, the
    next run puts them into the results and says so, and the killed run's cell died with it."""
    sleep, pids = tmp_path / "sleep", tmp_path / "pids"
    sleep.write_text("600")
    toml = scenario_toml(
        ["pass", "bug", "hang"], env=f'{{ SLEEP_FILE = "{sleep}", PIDS = "{pids}" }}'
    )
    repo = make_repo(tmp_path, "probe", toml, {"probe.py": PROBE})
    process = subprocess.Popen(
        matrix_argv(repo, "--jobs", "3"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    journal = repo / "results" / ".probe.journal"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if journal.exists() and journal.read_text().count('"cell"') == 2 and pids.exists():
            break
        time.sleep(0.1)
    else:
        pytest.fail("the two quick cells did not finish in time")
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert not (repo / "results" / "probe.json").exists()
    hung = [int(p.name) for p in pids.iterdir()]
    time.sleep(0.5)
    assert hung and not any(alive(pid) for pid in hung), "the killed run's cell lives on"

    time.sleep(1.1)  # the next run's start (to the second) differs from the killed run's
    done = lab(repo, "--only", "mode=pass")
    assert done.returncode == 0, done.stderr
    assert "recovered 2 cell(s) finished by the run of" in done.stderr
    assert outcomes(repo) == {"mode=pass": "passed", "mode=bug": "reproduced"}
    bug = {c["id"]: c for c in results(repo)["cells"]}["mode=bug"]
    killed_at = done.stderr.split("finished by the run of ")[1].split(",")[0]
    assert bug["measured"] == killed_at  # measured by the killed run
    assert not journal.exists()
    again = lab(repo, "--only", "mode=pass")
    assert "recovered" not in again.stderr
