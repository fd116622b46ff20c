"""What every benchmark line shares: running the lab as a user does, timing, the floor.

The lab is always measured from outside, as a user starts it: ``python3 -m nox -s matrix``
(nox's own start and its install check included), with its own ``--store`` and ``--results``
in a temporary folder, so the repository's venvs and results are never touched.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from buglab import model
from buglab.env import copy_project, installer_env
from buglab.lab import cell_env, classify
from buglab.spec import SCENARIO_FILE, plan
from buglab.spec import load as load_scenario

ROOT = Path(__file__).resolve().parent.parent
SEED = "warnings-coverage-editable"
#: outcomes of cells that never ran a command: no baseline can run them either
NOT_RUNNABLE = {"unavailable", "env-error", "not-run"}
#: TLS settings that an old pip (the one ``python -m venv`` seeds) reads instead of SSL_CERT_FILE
TLS_ALIASES = ("REQUESTS_CA_BUNDLE", "PIP_CERT")


def say(text: str) -> None:
    """Progress goes to stderr, so that stdout holds only the tables."""
    print(f"bench: {text}", file=sys.stderr, flush=True)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ratio(value: float) -> str:
    return f"{value:.2f}×" if value < 10 else f"{value:.0f}×"


@dataclass(frozen=True)
class Target:
    name: str
    measured: str
    passed: bool

    def row(self) -> str:
        return f"| {self.name} | {self.measured} | {'PASS' if self.passed else 'FAIL'} |"

    def to_json(self) -> dict[str, Any]:
        return {"target": self.name, "measured": self.measured, "pass": self.passed}


@dataclass(frozen=True)
class Setup:
    root: Path  # the repository the lab runs from (this one, or a fresh clone of it)
    scenario: model.Scenario
    cells: tuple[model.Cell, ...]
    only: tuple[str, ...]
    jobs: int
    cores: int
    tmp: Path


def load(root: Path, name: str, only: Sequence[str], jobs: int, tmp: Path) -> Setup:
    """The scenario and its selected cells, exactly as the lab plans them."""
    s = load_scenario(root / "scenarios" / name / SCENARIO_FILE, root)
    selection = plan.Selection.parse(only)
    selection.validate([s])
    cells = plan.select(plan.expand(s), selection)
    return Setup(root, s, cells, tuple(only), jobs, os.cpu_count() or 1, tmp)


def pip_env() -> dict[str, str]:
    """What pip (and nox) may see: network, TLS and cache settings, no machine-wide pip.conf."""
    env = installer_env(os.environ)  # sets PIP_CONFIG_FILE=/dev/null
    cert = os.environ.get("SSL_CERT_FILE")
    for name in TLS_ALIASES:
        value = os.environ.get(name) or cert
        if value:
            env[name] = value
    return env


def timed(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    log: Path,
    check: bool = True,
    timeout: float | None = None,
) -> tuple[float, int, str]:
    """Run ``argv`` to completion; (seconds, exit status, output). Output also goes to ``log``."""
    start = time.perf_counter()
    done = subprocess.run(
        list(argv),
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=timeout,
        check=False,
    )
    seconds = time.perf_counter() - start
    output = done.stdout.decode("utf-8", errors="replace")
    with log.open("a", encoding="utf-8") as sink:
        shown = " ".join(a if len(a) < 200 else "<long>" for a in argv)
        sink.write(f"$ {shown}\n{output}\n# exit {done.returncode}, {seconds:.2f} s\n")
    if check and done.returncode != 0:
        tail = "\n".join(output.splitlines()[-15:])
        raise SystemExit(f"bench: {argv[0]} failed (exit {done.returncode}), see {log}:\n{tail}")
    return seconds, done.returncode, output


# -- the lab, as a user runs it --------------------------------------------------------------


@dataclass(frozen=True)
class LabRun:
    seconds: float  # wall time of the whole command, nox included
    cells: dict[str, dict[str, Any]]  # cell id -> its entry in the results JSON


def nox_env() -> dict[str, str]:
    """The caller's environment without the bench session's own venv in the way."""
    env = dict(os.environ)
    for name in ("VIRTUAL_ENV", "PYTHONPATH", "NOX_CURRENT_SESSION"):
        env.pop(name, None)
    return env


def nox(root: Path, session: str, *args: str, log: Path) -> tuple[float, int, str]:
    """``python3 -m nox -s SESSION -- ARGS`` in ``root``, as a user types it."""
    argv = [sys.executable, "-m", "nox", "-f", str(root / "noxfile.py"), "-s", session]
    return timed(
        [*argv, "--", *args] if args else argv, cwd=root, env=nox_env(), log=log, check=False
    )


def lab(
    setup: Setup,
    store: Path,
    name: str,
    *,
    jobs: int | None = None,
    only: Sequence[str] | None = None,
    scenarios: Sequence[str] | None = None,
    results_of: str | None = None,
) -> LabRun:
    """``python3 -m nox -s matrix -- ...`` with its own store and results, timed whole;
    ``results_of`` names an earlier run whose results folder this one shares (a user's runs
    find the last results, and with them the timings that start the longest cells first)."""
    results = setup.tmp / "results" / (results_of or name)
    names = [setup.scenario.name] if scenarios is None else list(scenarios)
    args = [
        *names,
        "--store",
        str(store),
        "--results",
        str(results),
        "--quiet",
        "--jobs",
        str(jobs or setup.jobs),
        *(f"--only={item}" for item in (setup.only if only is None else only)),
    ]
    seconds, code, _ = nox(setup.root, "matrix", *args, log=setup.tmp / f"{name}.log")
    if code not in (0, 1):  # 1: a cell contradicts its expectation; still a complete run
        raise SystemExit(f"bench: the lab failed (exit {code}), see {setup.tmp / name}.log")
    cells = {}
    for scenario_name in names:
        path = results / f"{scenario_name}.json"
        data = json.loads(path.read_text(encoding="utf-8"))
        cells.update(
            {
                (c["id"] if scenarios is None else f"{scenario_name}/{c['id']}"): c
                for c in data["cells"]
            }
        )
    return LabRun(seconds, cells)


def warm_up(root: Path, log: Path) -> None:
    """Let nox make its matrix venv and install buglab once: not what a warm run waits for."""
    nox(root, "lab", "--version", log=log)
    nox(root, "matrix", "--help", log=log)


# -- the floor: bare commands in the lab's venvs ---------------------------------------------


@dataclass(frozen=True)
class Bare:
    seconds: float
    outcome: str


def run_bare(s: model.Scenario, cell: model.Cell, venv: Path, tmp: Path, log: Path) -> Bare:
    """The cell's command alone: a fresh copy of the project, the environment the lab gives a
    cell, the venv the lab built. Only the subprocess is timed, not the copy."""
    folder = Path(tempfile.mkdtemp(prefix="cell-", dir=tmp))
    work, home = folder / "work", folder / "home"
    work.mkdir()
    home.mkdir()
    try:
        copy_project(s.project, work)
        env = cell_env(cell, venv, home, os.environ, s.passenv)
        seconds, code, output = timed(
            cell.argv, cwd=work, env=env, log=log, check=False, timeout=s.timeout
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    record = model.RunRecord(code, False, output, seconds, str(log))
    outcome, _ = classify.classify(record, s.signature)
    return Bare(seconds, outcome.value)


def runnable(
    run: LabRun, cells: Sequence[model.Cell], store: Path, prefix: str = ""
) -> tuple[list[model.Cell], dict[str, Path]]:
    """The cells that ran a command in the lab, and the venv each ran in."""
    kept, venvs = [], {}
    for cell in cells:
        entry = run.cells[prefix + cell.id]
        if entry["outcome"] not in NOT_RUNNABLE and entry["venv"]:
            kept.append(cell)
            venvs[cell.id] = store / "venvs" / entry["venv"]
    return kept, venvs
