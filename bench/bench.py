"""The README's benchmark: the lab against the floor, against doing it by hand, and against nox.

One run measures, on the seed scenario (or the cells ``--only`` keeps):

- ``floor``: every runnable cell's bare ``pytest``, run alone with ``subprocess`` in the venv
  the lab built, in a fresh copy of the project files; summed, then divided by the CPU count.
  Nothing can run the matrix faster than that on this machine.
- ``lab warm``: ``python -m buglab matrix`` with every venv already built (median of
  ``--runs``); ``lab cold``: the same with an empty venv store (uv's download cache warm).
- ``by hand``: the seed's way - per venv ``python -m venv`` and ``pip install``, then one
  ``pytest`` per cell, all in sequence.
- ``nox per cell``: one parametrized nox session per cell, virtualenv + pip, as a user would
  write it without the lab.
- the lab's overhead per cell, and ``scale.py``'s 10,000-cell planning and rendering.

Cells that cannot be installed (``unavailable``) are skipped by every baseline. The lab runs
with its own ``--store`` and ``--results`` in a temporary folder: the repository's results and
venvs are not touched. The tables are printed as markdown (for the README) and everything is
written to ``bench/latest.json``.

Run: ``python3 -m nox -s bench`` or ``PYTHONPATH=src python bench/bench.py [--quick]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import scale
from packaging.version import Version

import buglab
from buglab import backends, classify, model, plan, runner, scenario
from buglab.venv import GENERATED_PYPROJECT, Interpreters, copy_project

ROOT = Path(__file__).resolve().parent.parent
SEED = "warnings-coverage-editable"
QUICK_ONLY = ("sqlalchemy=2.0", "install=editable", "coverage=on")
#: outcomes of cells that never ran a command: no baseline can run them either
NOT_RUNNABLE = {"unavailable", "env-error", "not-run"}
#: TLS settings that an old pip (the one ``python -m venv`` seeds) reads instead of SSL_CERT_FILE
TLS_ALIASES = ("REQUESTS_CA_BUNDLE", "PIP_CERT")
PIP_WITH_UPLOAD_FILTER = Version("26.0")  # first pip with --uploaded-prior-to
TARGET_WARM_VS_FLOOR = 1.3
TARGET_WARM_VS_HAND = 25.0
TARGET_COLD_VS_HAND = 5.0
TARGET_OVERHEAD_MS = 50.0


def say(text: str) -> None:
    """Progress goes to stderr, so that stdout holds only the tables."""
    print(f"bench: {text}", file=sys.stderr, flush=True)


# -- setting up ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setup:
    root: Path
    scenario: model.Scenario
    cells: tuple[model.Cell, ...]
    only: tuple[str, ...]
    jobs: int
    cores: int
    tmp: Path

    def cell(self, cell_id: str) -> model.Cell:
        return next(c for c in self.cells if c.id == cell_id)


def load(root: Path, name: str, only: Sequence[str], jobs: int, tmp: Path) -> Setup:
    """The scenario and its selected cells, exactly as the lab plans them."""
    s = scenario.load(root / "scenarios" / name / scenario.SCENARIO_FILE, root)
    selection = plan.Selection.parse(only)
    selection.validate([s])
    cells = plan.select(plan.expand(s), selection)
    return Setup(root, s, cells, tuple(only), jobs, os.cpu_count() or 1, tmp)


def pip_env() -> dict[str, str]:
    """What pip (and nox) may see: network, TLS and cache settings, no machine-wide pip.conf."""
    env = backends.installer_env(os.environ)  # sets PIP_CONFIG_FILE=/dev/null
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
        sink.write(f"$ {' '.join(argv)}\n{output}\n# exit {done.returncode}, {seconds:.2f} s\n")
    if check and done.returncode != 0:
        tail = "\n".join(output.splitlines()[-15:])
        raise SystemExit(f"bench: {argv[0]} failed (exit {done.returncode}), see {log}:\n{tail}")
    return seconds, done.returncode, output


# -- the lab ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabRun:
    seconds: float  # wall time of the whole ``matrix`` process
    cells: dict[str, dict[str, Any]]  # cell id -> its entry in the results JSON


def lab(
    setup: Setup, store: Path, name: str, jobs: int, only: Sequence[str] | None = None
) -> LabRun:
    """One ``python -m buglab matrix`` in a subprocess, timed from start to exit."""
    results = setup.tmp / "results" / name
    env = dict(os.environ)
    source = str(Path(buglab.__file__).resolve().parent.parent)  # the buglab we imported
    env["PYTHONPATH"] = os.pathsep.join(p for p in (source, env.get("PYTHONPATH")) if p)
    argv = [
        sys.executable,
        "-m",
        "buglab",
        "--root",
        str(setup.root),
        "matrix",
        setup.scenario.name,
        "--store",
        str(store),
        "--results",
        str(results),
        "--quiet",
        "--jobs",
        str(jobs),
        *(f"--only={item}" for item in (setup.only if only is None else only)),
    ]
    seconds, code, _ = timed(
        argv, cwd=setup.root, env=env, log=setup.tmp / f"{name}.log", check=False
    )
    if code not in (0, 1):  # 1: a cell contradicts its expectation; still a complete run
        raise SystemExit(f"bench: the lab failed (exit {code}), see {setup.tmp / name}.log")
    data = json.loads((results / f"{setup.scenario.name}.json").read_text(encoding="utf-8"))
    return LabRun(seconds, {c["id"]: c for c in data["cells"]})


# -- the floor: bare pytest in the lab's venvs -----------------------------------------------


@dataclass(frozen=True)
class Bare:
    seconds: float
    outcome: str


def run_cell(setup: Setup, cell: model.Cell, venv: Path, log: Path) -> Bare:
    """The cell's command alone: a fresh copy of the project, the venv's bin first on PATH.

    The environment is the one the lab gives a cell, so both run the same thing; only the
    subprocess is timed, not the copy.
    """
    folder = Path(tempfile.mkdtemp(prefix="cell-", dir=setup.tmp))
    work, home = folder / "work", folder / "home"
    work.mkdir()
    home.mkdir()
    try:
        copy_project(setup.scenario.project, work)
        env = runner.cell_env(cell, venv, home, os.environ, setup.scenario.passenv)
        seconds, code, output = timed(
            cell.argv, cwd=work, env=env, log=log, check=False, timeout=setup.scenario.timeout
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    record = model.RunRecord(code, False, output, seconds, str(log))
    outcome, _ = classify.classify(record, setup.scenario.signature)
    return Bare(seconds, outcome.value)


@dataclass(frozen=True)
class Pair:
    """One cell run bare and by the lab alone, back to back: load from others hits both."""

    bare: Bare
    lab_seconds: float  # the cell's ``seconds`` in the results
    lab_wall: float  # the whole single-cell ``matrix`` process


def paired_pass(
    setup: Setup, store: Path, cells: Sequence[model.Cell], venvs: Mapping[str, Path], n: int
) -> dict[str, Pair]:
    """Every cell bare, then alone in the lab (``--only`` each of its labels); the order of
    the two flips from pass to pass, so that a steady drift in load favours neither."""
    log = setup.tmp / f"floor-{n}.log"
    out = {}
    for i, cell in enumerate(cells):
        only = [f"{axis}={label}" for axis, label in cell.labels]
        name = f"single-{n}-{i}"
        if n % 2 == 0:
            bare = run_cell(setup, cell, venvs[cell.id], log)
            alone = lab(setup, store, name, 1, only)
        else:
            alone = lab(setup, store, name, 1, only)
            bare = run_cell(setup, cell, venvs[cell.id], log)
        out[cell.id] = Pair(bare, float(alone.cells[cell.id]["seconds"]), alone.seconds)
    return out


# -- by hand: python -m venv, pip install, pytest --------------------------------------------


@dataclass
class Phases:
    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds


def interpreter(spec: model.VenvSpec) -> str:
    """The interpreter the lab would use for ``spec``."""
    found = Interpreters(os.environ).find(spec.python)
    if isinstance(found, str):
        raise SystemExit(f"bench: {found}")
    return found.executable


def project_copy(setup: Setup, dest: Path) -> Path:
    """The project files with a generated pyproject.toml, for ``pip install -e``."""
    dest.mkdir(parents=True)
    copy_project(setup.scenario.project, dest)
    if not (dest / "pyproject.toml").exists() and not (dest / "setup.py").exists():
        text = GENERATED_PYPROJECT.format(name=setup.scenario.project.name)
        (dest / "pyproject.toml").write_text(text, encoding="utf-8")
    return dest


def by_hand(setup: Setup, cells: Sequence[model.Cell]) -> dict[str, Any]:
    """Per venv: ``python -m venv``, pip (upgraded first when the date needs a newer one),
    ``pip install`` (with ``-e`` for editable venvs); then ``pytest`` per cell. In sequence."""
    base = setup.tmp / "by-hand"
    log = setup.tmp / "by-hand.log"
    env = pip_env()
    phases = Phases()
    outcomes: dict[str, Bare] = {}
    start = time.perf_counter()
    project = project_copy(setup, base / "project")
    for i, group in enumerate(plan.venv_groups(cells)):
        spec = group[0].venv
        venv = base / f"venv-{i}"
        python = str(venv / "bin" / "python")
        phases.add(
            "venv",
            timed([interpreter(spec), "-m", "venv", str(venv)], cwd=base, env=env, log=log)[0],
        )
        pip = [python, "-m", "pip"]
        install = [*pip, "install", "--disable-pip-version-check"]
        if spec.date:
            seconds, _, text = timed([*pip, "--version"], cwd=base, env=env, log=log)
            phases.add("pip upgrade", seconds)
            if Version(text.split()[1]) < PIP_WITH_UPLOAD_FILTER:
                phases.add(
                    "pip upgrade",
                    timed([*install, "--upgrade", "pip"], cwd=base, env=env, log=log)[0],
                )
            install += ["--uploaded-prior-to", backends.cutoff(spec.date)]
        install += list(spec.requirements)
        if spec.install is model.InstallMode.EDITABLE:
            install += ["-e", str(project)]
        elif spec.install is model.InstallMode.NON_EDITABLE:
            install.append(str(project))
        phases.add("pip install", timed(install, cwd=base, env=env, log=log)[0])
        for cell in group:
            outcomes[cell.id] = run_cell(setup, cell, venv, log)
            phases.add("pytest", outcomes[cell.id].seconds)
    seconds = time.perf_counter() - start
    shutil.rmtree(base, ignore_errors=True)
    return {
        "seconds": seconds,
        "phases": phases.seconds,
        "venvs": len(plan.venv_groups(cells)),
        "outcomes": {k: v.outcome for k, v in outcomes.items()},
    }


# -- nox: one session per cell ---------------------------------------------------------------


NOXFILE = '''\
"""One session per cell, as written without the lab (generated by bench/bench.py)."""

import json
from pathlib import Path

import nox

CELLS = json.loads({cells!r})
PROJECT = {project!r}
OUT = Path({out!r})


@nox.session
@nox.parametrize("index", list(range(len(CELLS))))
def cell(session, index):
    c = CELLS[index]
    args = ["--uploaded-prior-to", c["cutoff"]] if c["cutoff"] else []
    if c["install"] == "editable":
        args += ["-e", PROJECT]
    elif c["install"] == "non-editable":
        args.append(PROJECT)
    session.install(*args, *c["requirements"])
    output = session.run(*c["argv"], env=c["env"], silent=True, success_codes=range(256))
    (OUT / f"{{index}}.txt").write_text(output or "")
'''


def nox_per_cell(setup: Setup, cells: Sequence[model.Cell]) -> dict[str, Any]:
    """A generated noxfile with one parametrized session per cell, run with real venvs."""
    if any(c.venv.python for c in cells):
        raise SystemExit("bench: the nox baseline does not handle python axes")
    base = setup.tmp / "nox"
    work, out = base / "work", base / "out"
    work.mkdir(parents=True)
    out.mkdir()
    copy_project(setup.scenario.project, work)
    project = project_copy(setup, base / "project")
    described = [
        {
            "requirements": list(c.venv.requirements),
            "install": c.venv.install.value,
            "cutoff": backends.cutoff(c.venv.date) if c.venv.date else None,
            "argv": list(c.argv),
            "env": dict(c.env),
        }
        for c in cells
    ]
    noxfile = work / "noxfile.py"
    noxfile.write_text(
        NOXFILE.format(cells=json.dumps(described), project=str(project), out=str(out)),
        encoding="utf-8",
    )
    argv = [
        sys.executable,
        "-m",
        "nox",
        "-f",
        str(noxfile),
        "--force-venv-backend",
        "virtualenv",
        "--no-color",
    ]
    seconds, code, _ = timed(argv, cwd=work, env=pip_env(), log=setup.tmp / "nox.log", check=False)
    reproduced = {}
    for i, c in enumerate(cells):
        text = out / f"{i}.txt"
        if text.exists():
            found = setup.scenario.signature.search(text.read_text(encoding="utf-8"))
            reproduced[c.id] = found is not None
    shutil.rmtree(base, ignore_errors=True)
    return {
        "seconds": seconds,
        "exit": code,
        "sessions": len(cells),
        "finished": len(reproduced),
        "reproduced": reproduced,
    }


# -- putting it together ---------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def runnable(cold: LabRun, setup: Setup, store: Path) -> tuple[list[model.Cell], dict[str, Path]]:
    """The cells that ran a command in the lab, and the venv each ran in."""
    cells, venvs = [], {}
    for cell in setup.cells:
        entry = cold.cells[cell.id]
        if entry["outcome"] not in NOT_RUNNABLE and entry["venv"]:
            cells.append(cell)
            venvs[cell.id] = store / "venvs" / entry["venv"]
    return cells, venvs


def measure(setup: Setup, runs: int, baselines: bool) -> dict[str, Any]:
    """Every measurement; the JSON that the tables are printed from."""
    store = setup.tmp / "store"
    say(f"lab cold: {len(setup.cells)} cells, empty store, --jobs {setup.jobs}")
    cold = lab(setup, store, "cold", setup.jobs)
    cells, venvs = runnable(cold, setup, store)
    if not cells:
        raise SystemExit("bench: no cell ran in the lab; nothing to compare")
    warm: list[LabRun] = []
    pairs: list[dict[str, Pair]] = []
    for n in range(runs):  # interleaved, so that a noisy minute hits every side
        say(
            f"pass {n + 1}/{runs}: lab warm --jobs {setup.jobs}, then per cell bare pytest "
            "and the lab on that cell alone"
        )
        warm.append(lab(setup, store, f"warm-{n}", setup.jobs))
        pairs.append(paired_pass(setup, store, cells, venvs, n))
    per_cell: dict[str, dict[str, Any]] = {}
    for c in cells:
        per_cell[c.id] = {
            "bare": [p[c.id].bare.seconds for p in pairs],
            "lab_alone": [p[c.id].lab_seconds for p in pairs],
            "lab_alone_wall": [p[c.id].lab_wall for p in pairs],
            "lab_warm": [float(w.cells[c.id]["seconds"]) for w in warm],
            "outcome_lab": cold.cells[c.id]["outcome"],
            "outcome_bare": [p[c.id].bare.outcome for p in pairs],
        }
    total_bare = sum(median(p["bare"]) for p in per_cell.values())
    data: dict[str, Any] = {
        "cells": len(setup.cells),
        "runnable": len(cells),
        "venvs": len(plan.venv_groups(cells)),
        "floor": {"seconds": total_bare / setup.cores, "sum_bare": total_bare},
        "lab_cold": {"seconds": cold.seconds},
        "lab_warm": {
            "seconds": median([w.seconds for w in warm]),
            "runs": [w.seconds for w in warm],
        },
        "per_cell": per_cell,
    }
    data["overhead"] = overhead(data, setup)
    if baselines:
        # nox first: by hand then finds pip's cache warm, as a second run by hand would
        say(f"nox per cell: {len(cells)} sessions, virtualenv + pip")
        data["nox"] = nox_per_cell(setup, cells)
        say(f"by hand: {data['venvs']} venvs with python -m venv + pip, {len(cells)} pytest")
        data["by_hand"] = by_hand(setup, cells)
        for cell_id, outcome in data["by_hand"]["outcomes"].items():
            per_cell[cell_id]["outcome_by_hand"] = outcome
        for cell_id, found in data["nox"]["reproduced"].items():
            per_cell[cell_id]["nox_reproduced"] = found
    data["agreement"] = agreement(per_cell)
    return data


def agreement(per_cell: Mapping[str, Mapping[str, Any]]) -> dict[str, int]:
    """How many cells each way of running classified as the lab did (a sanity check)."""
    counts = {"bare": 0, "by_hand": 0, "nox": 0}
    for p in per_cell.values():
        lab_outcome = p["outcome_lab"]
        counts["bare"] += all(o == lab_outcome for o in p["outcome_bare"])
        counts["by_hand"] += p.get("outcome_by_hand") == lab_outcome
        counts["nox"] += p.get("nox_reproduced") == (lab_outcome == "reproduced")
    return counts


def overhead(data: Mapping[str, Any], setup: Setup) -> dict[str, Any]:
    """The lab's cost beyond its commands, in ms (see the table's note).

    Per cell: the median over the passes of (its ``seconds`` when the lab ran it alone - its
    bare pytest just before or after). Per run: the single-cell ``matrix`` process's wall
    time beyond that cell's ``seconds``. Whole run: the warm run beyond the floor, in
    core-time, per cell.
    """
    per_cell = data["per_cell"].values()
    process = [
        1000 * median([lab - bare for lab, bare in zip(p["lab_alone"], p["bare"])])
        for p in per_cell
    ]
    fixed = [
        1000 * median([wall - lab for wall, lab in zip(p["lab_alone_wall"], p["lab_alone"])])
        for p in per_cell
    ]
    beyond = data["lab_warm"]["seconds"] - data["floor"]["seconds"]
    return {
        "process": {"median": median(process), "worst": max(process)},
        "fixed_per_run": {"median": median(fixed), "worst": max(fixed)},
        "run_per_cell": 1000 * beyond * setup.cores / len(process),
    }


# -- the tables ------------------------------------------------------------------------------


def _ratio(value: float) -> str:
    return f"{value:.2f}×" if value < 10 else f"{value:.0f}×"


def tables(data: Mapping[str, Any], setup: Setup, runs: int) -> tuple[str, list[dict[str, Any]]]:
    """The markdown for the README, and the targets with their verdicts."""
    floor = data["floor"]["seconds"]
    hand = data["by_hand"]["seconds"] if "by_hand" in data else None
    cores, n = setup.cores, data["runnable"]
    rows = [
        (f"floor: Σ bare pytest of {n} cells ÷ {cores} cores", floor),
        (
            f"**lab warm**: `matrix`, venvs built, `--jobs {setup.jobs}` (median of {runs})",
            data["lab_warm"]["seconds"],
        ),
        ("**lab cold**: `matrix`, empty venv store", data["lab_cold"]["seconds"]),
    ]
    if hand is not None:
        rows.append(
            (
                f"by hand: {data['venvs']} × (`python -m venv` + `pip install`), "
                f"{n} × `pytest`, in sequence",
                hand,
            )
        )
        rows.append((f"nox per cell: {n} sessions, virtualenv + pip", data["nox"]["seconds"]))
    lines = ["| | × floor | by hand ÷ it | seconds |", "|---|---|---|---|"]
    for title, seconds in rows:
        faster = _ratio(hand / seconds) if hand is not None else "–"
        lines.append(f"| {title} | {_ratio(seconds / floor)} | {faster} | {seconds:.1f} |")
    o = data["overhead"]
    p1, fixed = o["process"], o["fixed_per_run"]
    lines += [
        "",
        "| lab overhead | median ms | worst ms |",
        "|---|---|---|",
        f"| per cell: its `seconds` − bare pytest, back to back | {round(p1['median']) + 0} "
        f"| {p1['worst']:.0f} |",
        f"| per `matrix` run: wall − its one cell's `seconds` | {fixed['median']:.0f} "
        f"| {fixed['worst']:.0f} |",
        f"| per cell, whole warm run: (lab warm − floor) × {cores} cores ÷ {n} cells "
        f"| {o['run_per_cell']:.0f} | – |",
    ]
    targets = [
        {
            "target": f"lab warm ≤ {TARGET_WARM_VS_FLOOR} × floor",
            "measured": _ratio(data["lab_warm"]["seconds"] / floor),
            "pass": data["lab_warm"]["seconds"] <= TARGET_WARM_VS_FLOOR * floor,
        },
        {
            "target": f"lab overhead per cell (its `seconds` − bare pytest), median ≤ "
            f"{TARGET_OVERHEAD_MS:.0f} ms",
            "measured": f"{round(p1['median']) + 0} ms",
            "pass": p1["median"] <= TARGET_OVERHEAD_MS,
        },
    ]
    if hand is not None:
        warm_x, cold_x = hand / data["lab_warm"]["seconds"], hand / data["lab_cold"]["seconds"]
        targets[1:1] = [
            {
                "target": f"lab warm ≥ {TARGET_WARM_VS_HAND:.0f}× faster than by hand",
                "measured": _ratio(warm_x),
                "pass": warm_x >= TARGET_WARM_VS_HAND,
            },
            {
                "target": f"lab cold ≥ {TARGET_COLD_VS_HAND:.0f}× faster than by hand",
                "measured": _ratio(cold_x),
                "pass": cold_x >= TARGET_COLD_VS_HAND,
            },
        ]
    lines += ["", "| target | measured | result |", "|---|---|---|"]
    lines += [
        f"| {t['target']} | {t['measured']} | {'PASS' if t['pass'] else 'FAIL'} |" for t in targets
    ]
    lines += ["", *notes(data, setup, runs)]
    return "\n".join(lines), targets


def notes(data: Mapping[str, Any], setup: Setup, runs: int) -> list[str]:
    """What the numbers mean and what they were measured on, as markdown bullets."""
    m, n = data["machine"], data["runnable"]
    skipped = data["cells"] - n
    only = f" with `--only {' '.join(setup.only)}`" if setup.only else ""
    agree = data["agreement"]
    out = [
        f"- Scenario `{setup.scenario.name}`{only}: {data['cells']} cells, {n} runnable in "
        f"{data['venvs']} venvs. {m['cpus']} CPUs, Python {m['python']}, {m['platform']}; "
        f"load average {m['load_before']:.1f} before, {m['load_after']:.1f} after (a shared "
        "machine: expect noise).",
        "- floor: each cell's bare `pytest` alone, with `subprocess`, in the lab's venv and "
        "environment, in a fresh copy of the project (median of the passes), summed, divided "
        f"by the CPU count. Passes: {runs}, interleaved with the lab's warm runs.",
        "- lab cold: an empty venv store; uv's download cache stays warm.",
    ]
    if skipped:
        out.append(
            f"- {skipped} cells are `unavailable` (nothing to install): every baseline "
            "skips them; the lab's runs include them (the cold run tries to build them once; "
            "warm runs know them from the store)."
        )
    if "by_hand" in data:
        out.append(
            "- by hand and nox: pip with `PIP_CONFIG_FILE=/dev/null` and only network, "
            "TLS and cache settings from the environment. By hand installs the "
            "requirements and `-e project` in one `pip install` and first upgrades the "
            "venv's pip (counted) when the toolchain date needs `--uploaded-prior-to`. "
            "pip's cache is shared: nox runs first, so by hand finds it warm."
        )
    out += [
        "- lab overhead: a cell's `seconds` in the results covers its process only (start, "
        "output, exit, reaping). Each pass runs every cell bare and then in the lab alone "
        "(`matrix --jobs 1 --only` its labels), or the other way round, back to back, so that "
        "other users' load hits both; per cell the median over the passes. The per-run line "
        "is what a `matrix` process costs beyond its cell (interpreter start, planning, venv "
        "check, copies, logs, results); the whole-run line spreads everything the warm run "
        "spends beyond the floor over the cells, in core-time.",
        f"- Outcomes agree with the lab's: bare pytest {agree['bare']}/{n}"
        + (
            f", by hand {agree['by_hand']}/{n}, nox (signature seen or not) {agree['nox']}/{n}"
            if "by_hand" in data
            else ""
        )
        + ".",
    ]
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Measure, print the tables, write the JSON; exit 1 if a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"only {' '.join(QUICK_ONLY)}, one pass (to try the script)",
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="AXIS=VALUE",
        help="cells to measure, as for matrix (default: all)",
    )
    parser.add_argument(
        "--skip-baselines",
        action="store_true",
        help="only the floor, the lab and the scale table (no by hand, no nox)",
    )
    parser.add_argument(
        "--runs", type=int, help="warm runs and floor passes (default: 3; --quick: 1)"
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="--jobs for the lab (default: the CPU count)",
    )
    parser.add_argument("--scenario", default=SEED)
    parser.add_argument(
        "--json",
        type=Path,
        help="default: bench/latest.json (bench/latest-quick.json with --quick or --only)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    runs = args.runs or (1 if args.quick else 3)
    if runs < 1:
        parser.error("--runs must be at least 1")
    only = tuple(args.only) or (QUICK_ONLY if args.quick else ())
    out = args.json or ROOT / "bench" / ("latest-quick.json" if only else "latest.json")
    tmp = Path(tempfile.mkdtemp(prefix="buglab-bench-"))
    try:
        setup = load(ROOT, args.scenario, only, args.jobs, tmp)
        before = os.getloadavg()[0]
        data = measure(setup, runs, not args.skip_baselines)
        say("scale: a synthetic 10,000-cell scenario")
        data["scale"] = scale.measure()
    finally:
        if args.keep:
            say(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    data["machine"] = {
        "cpus": setup.cores,
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "load_before": before,
        "load_after": os.getloadavg()[0],
    }
    data["when"] = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    data["command"] = ["bench/bench.py", *(argv if argv is not None else sys.argv[1:])]
    data["only"] = list(only)
    text, targets = tables(data, setup, runs)
    text = "\n".join(
        [
            "#### The seed scenario",
            "",
            text,
            "",
            "#### 10,000 cells",
            "",
            scale.table(data["scale"]),
        ]
    )
    data["targets"] = targets
    data["markdown"] = text
    out.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(text)
    say(f"wrote {out}")
    scale_ok = all(g["pass"] for g in data["scale"]["groups"].values())
    return 0 if scale_ok and all(t["pass"] for t in targets) else 1


if __name__ == "__main__":
    sys.exit(main())
