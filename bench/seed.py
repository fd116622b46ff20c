"""The seed scenario's line: the lab warm and cold against the floor, and its overhead per cell.

- floor: every runnable cell's bare command, alone, in the venv the lab built, summed and
  divided by the CPU count (median over the passes): nothing runs the matrix faster here.
- warm: ``python3 -m nox -s matrix -- SEED`` with every venv built, once per pass, interleaved
  with that pass's floor; its ratio is the median of the passes' own ratios, so that a noisy
  minute (this machine's walls vary by ±6 % run to run) hits both sides of the one it spoils.
- cold: the same with an empty venv store; the installer's caches (uv's downloads, the lab's
  compiled bytecode and index answers) warm, as on any machine that has run the lab before:
  an untimed run in a throwaway store warms them first.
- for comparison: the same bare commands run ``cores`` at a time by a plain thread pool: how
  these cores scale when all are busy, which the floor assumes perfect.
- overhead per cell: one cell per venv, run bare and alone in the lab back to back (order
  flipped each pass); its ``seconds`` minus the bare run.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.harness import (
    Bare,
    LabRun,
    Setup,
    Target,
    lab,
    median,
    ratio,
    run_bare,
    runnable,
    say,
    warm_up,
)
from buglab import model
from buglab.spec import plan

WARM_VS_FLOOR = 1.1
COLD_VS_FLOOR = 1.5
OVERHEAD_MS = 50.0


def measure(setup: Setup, runs: int) -> dict[str, Any]:
    store = setup.tmp / "store"
    warm_up(setup.root, setup.tmp / "warm-up.log")
    say("seed: one untimed run in a throwaway store, so that the installer's caches are warm")
    lab(setup, setup.tmp / "caches-store", "caches")
    say(f"seed cold: {len(setup.cells)} cells, empty venv store, --jobs {setup.jobs}")
    cold = lab(setup, store, "cold")
    cells, venvs = runnable(cold, setup.cells, store)
    if not cells:
        raise SystemExit("bench: no cell ran in the lab; nothing to compare")
    sample = [group[0] for group in plan.venv_groups(cells)]
    warm: list[LabRun] = []
    bare: list[dict[str, Bare]] = []
    pairs: list[dict[str, tuple[float, float]]] = []
    fixed: list[float] = []
    spread: list[float] = []
    for n in range(runs):  # interleaved, so that a noisy minute hits every side
        say(f"seed pass {n + 1}/{runs}: lab warm, every cell bare, {len(sample)} cells paired")
        warm.append(lab(setup, store, f"warm-{n}", results_of="cold"))
        log = setup.tmp / f"floor-{n}.log"
        bare.append({c.id: run_bare(setup.scenario, c, venvs[c.id], setup.tmp, log) for c in cells})
        spread.append(_spread(setup, cells, venvs, bare[0], log))
        paired, cost = _pairs(setup, store, sample, venvs, n)
        pairs.append(paired)
        fixed.append(cost)
    floors = [sum(b[c.id].seconds for c in cells) / setup.cores for b in bare]
    process = [median([p[c.id][0] - p[c.id][1] for p in pairs]) * 1000 for c in sample]
    return {
        "cells": len(setup.cells),
        "runnable": len(cells),
        "runnable_ids": [c.id for c in cells],
        "venvs": len(plan.venv_groups(cells)),
        "floor": median(floors),
        "floor_runs": floors,
        "warm": median([w.seconds for w in warm]),
        "warm_runs": [w.seconds for w in warm],
        "warm_ratio": median([w.seconds / f for w, f in zip(warm, floors, strict=True)]),
        "cold": cold.seconds,
        "spread": median(spread),
        "overhead_ms": {"median": median(process), "worst": max(process)},
        "per_run_ms": median(fixed) * 1000,
        "agree": sum(
            all(b[c.id].outcome == cold.cells[c.id]["outcome"] for b in bare) for c in cells
        ),
    }


def _spread(
    setup: Setup,
    cells: Sequence[model.Cell],
    venvs: Mapping[str, Path],
    timed: Mapping[str, Bare],
    log: Path,
) -> float:
    """The bare commands alone, longest first, ``cores`` at a time by a plain thread pool: what
    these cores really give when all of them are busy, with no lab at all."""
    order = sorted(cells, key=lambda c: -timed[c.id].seconds)
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=setup.cores) as pool:
        list(pool.map(lambda c: run_bare(setup.scenario, c, venvs[c.id], setup.tmp, log), order))
    return time.perf_counter() - start


def _pairs(
    setup: Setup, store: Path, sample: Sequence[model.Cell], venvs: Mapping[str, Path], n: int
) -> tuple[dict[str, tuple[float, float]], float]:
    """Per cell (lab seconds, bare seconds), back to back; and the median fixed cost of a
    one-cell ``nox -s matrix`` beyond its cell."""
    out: dict[str, tuple[float, float]] = {}
    fixed = []
    log = setup.tmp / f"pairs-{n}.log"
    for i, cell in enumerate(sample):
        only = [f"{axis}={label}" for axis, label in cell.labels]
        if n % 2 == 0:
            alone = run_bare(setup.scenario, cell, venvs[cell.id], setup.tmp, log)
            run = lab(setup, store, f"single-{n}-{i}", jobs=1, only=only)
        else:
            run = lab(setup, store, f"single-{n}-{i}", jobs=1, only=only)
            alone = run_bare(setup.scenario, cell, venvs[cell.id], setup.tmp, log)
        seconds = float(run.cells[cell.id]["seconds"])
        out[cell.id] = (seconds, alone.seconds)
        fixed.append(run.seconds - seconds)
    return out, median(fixed)


def table(data: Mapping[str, Any], jobs: int, cores: int, runs: int) -> str:
    floor, n = data["floor"], data["runnable"]
    rows = [
        (f"floor: Σ bare command of {n} cells ÷ {cores} cores", floor, 1.0),
        (
            f"**lab warm**: `python3 -m nox -s matrix`, venvs built, `--jobs {jobs}` "
            f"(median of {runs} passes, each against its own floor)",
            data["warm"],
            data["warm_ratio"],
        ),
        (
            "**lab cold**: the same, empty venv store (installer caches warm)",
            data["cold"],
            data["cold"] / floor,
        ),
        (
            f"for comparison: the bare commands {cores} at a time, longest first, by a "
            "plain thread pool (no lab)",
            data["spread"],
            data["spread"] / floor,
        ),
    ]
    lines = ["| | × floor | seconds |", "|---|---|---|"]
    lines += [f"| {title} | {ratio(r)} | {s:.1f} |" for title, s, r in rows]
    o = data["overhead_ms"]
    lines += [
        "",
        "| lab overhead | median ms | worst ms |",
        "|---|---|---|",
        f"| per cell: its `seconds` − the bare command, back to back | {o['median']:.0f} "
        f"| {o['worst']:.0f} |",
        f"| per `nox -s matrix` run: wall − its one cell's `seconds` | {data['per_run_ms']:.0f} "
        "| – |",
    ]
    return "\n".join(lines)


def targets(data: Mapping[str, Any]) -> list[Target]:
    floor = data["floor"]
    return [
        Target(
            f"seed warm, through `nox -s matrix`, ≤ {WARM_VS_FLOOR} × floor (median of passes)",
            ratio(data["warm_ratio"]),
            data["warm_ratio"] <= WARM_VS_FLOOR,
        ),
        Target(
            f"seed cold ≤ {COLD_VS_FLOOR} × floor",
            ratio(data["cold"] / floor),
            data["cold"] <= COLD_VS_FLOOR * floor,
        ),
        Target(
            f"lab overhead per cell, median ≤ {OVERHEAD_MS:.0f} ms",
            f"{data['overhead_ms']['median']:.0f} ms",
            data["overhead_ms"]["median"] <= OVERHEAD_MS,
        ),
    ]
