"""The whole lab on a fresh clone, and the test suite's own time.

- whole lab: ``git clone`` of this repository's HEAD, then ``python3 -m nox -s matrix`` in it:
  every scenario, nox's venv made and buglab installed, an empty venv store, the installer's
  caches warm (an untimed run in a throwaway store warms them first). Against the sum of every
  scenario's floor (each runnable cell's bare command in the venv that run built, summed,
  divided by the CPU count).
- test suite: ``python3 -m nox -s tests`` in the same clone, as CI runs it.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bench.harness import NOT_RUNNABLE, ROOT, Target, nox, ratio, run_bare, say
from buglab.spec import SCENARIO_FILE, discover, load, plan

WHOLE_VS_FLOOR = 1.5
SUITE_SECONDS = 180.0


def clone(tmp: Path) -> Path:
    target = tmp / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(target)], check=True)
    return target


def measure(tmp: Path) -> dict[str, Any]:
    say("whole lab: one untimed run of every scenario in a throwaway store (warm caches)")
    nox(
        ROOT,
        "matrix",
        "--store",
        str(tmp / "caches-store"),
        "--results",
        str(tmp / "caches-results"),
        "--quiet",
        log=tmp / "caches.log",
    )
    repo = clone(tmp)
    say("whole lab: python3 -m nox -s matrix on a fresh clone, every scenario")
    seconds, code, _ = nox(repo, "matrix", log=tmp / "whole.log")
    cores = os.cpu_count() or 1
    floors: dict[str, float] = {}
    cells = 0
    for folder in discover(repo / "scenarios"):
        s = load(folder / SCENARIO_FILE, repo)
        found = json.loads((repo / "results" / f"{s.name}.json").read_text(encoding="utf-8"))
        entries = {c["id"]: c for c in found["cells"]}
        say(f"whole lab floor: {s.name}")
        total = 0.0
        for cell in plan.expand(s):
            entry = entries[cell.id]
            if entry["outcome"] in NOT_RUNNABLE or not entry["venv"]:
                continue
            venv = repo / ".buglab" / "venvs" / entry["venv"]
            total += run_bare(s, cell, venv, tmp, tmp / "whole-floor.log").seconds
            cells += 1
        floors[s.name] = total / cores
    say("test suite: python3 -m nox -s tests in the clone")
    suite, suite_code, output = nox(repo, "tests", log=tmp / "suite.log")
    summary = next((ln for ln in reversed(output.splitlines()) if " passed" in ln), "")
    return {
        "seconds": seconds,
        "exit": code,
        "floor": sum(floors.values()),
        "floors": floors,
        "runnable": cells,
        "suite": {"seconds": suite, "exit": suite_code, "summary": summary.strip(" =")},
    }


def table(data: Mapping[str, Any]) -> str:
    floor = data["floor"]
    suite = data["suite"]
    return "\n".join(
        [
            "| | × floor | seconds |",
            "|---|---|---|",
            f"| floor: Σ over the scenarios of (Σ bare command ÷ cores), {data['runnable']} "
            f"cells | 1.00× | {floor:.1f} |",
            "| **whole lab**: `python3 -m nox -s matrix` on a fresh clone (nox venv made, "
            f"empty venv store, installer caches warm) | {ratio(data['seconds'] / floor)} "
            f"| {data['seconds']:.1f} |",
            f"| **test suite**: `python3 -m nox -s tests` in that clone ({suite['summary']}) "
            f"| – | {suite['seconds']:.1f} |",
        ]
    )


def targets(data: Mapping[str, Any]) -> list[Target]:
    suite = data["suite"]
    return [
        Target(
            f"whole lab on a fresh clone ≤ {WHOLE_VS_FLOOR} × Σ floors, every cell as expected",
            ratio(data["seconds"] / data["floor"]) + ("" if data["exit"] == 0 else ", exit 1"),
            data["seconds"] <= WHOLE_VS_FLOOR * data["floor"] and data["exit"] == 0,
        ),
        Target(
            f"test suite (`nox -s tests`) < {SUITE_SECONDS:.0f} s, all passing",
            f"{suite['seconds']:.0f} s" + ("" if suite["exit"] == 0 else ", failing"),
            suite["seconds"] < SUITE_SECONDS and suite["exit"] == 0,
        ),
    ]
