"""The cost of trusting no venv: the store's check of a venv against its listing.

The lab checks a venv's files against the listing written when it was published before it
reuses it, and again after every cell that ran in it (:mod:`buglab.env`, ``venv_changes``).
This line builds the seed's venvs for one SQLAlchemy series on today's toolchain (editable,
non-editable, not installed: the biggest venvs the seed has) through ``nox -s matrix``, then
times the check itself, many times per venv: the per-cell price of never running a cell in a
damaged venv.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from bench.harness import ROOT, SEED, Target, load, say
from bench.harness import lab as run_lab
from buglab.env import venv_changes

ONLY = ("sqlalchemy=2.0", "toolchain=latest")
CALLS = 50  # checks per venv
TARGET_MS = 20.0


def measure(tmp: Path, jobs: int) -> dict[str, Any]:
    setup = load(ROOT, SEED, ONLY, jobs, tmp / "store-check")
    setup.tmp.mkdir(parents=True)
    store = setup.tmp / "store"
    say(f"store: building the seed's venvs for --only {' '.join(ONLY)}")
    run_lab(setup, store, "store-check")
    venvs = sorted(p.resolve() for p in (store / "venvs").iterdir() if p.is_symlink())
    timings: list[float] = []
    files = []
    for venv in venvs:
        files.append(sum(1 for _ in venv.rglob("*")))
        for _ in range(CALLS):
            start = time.perf_counter()
            change = venv_changes(venv)
            timings.append((time.perf_counter() - start) * 1000)
            if change:
                raise SystemExit(f"bench: {venv} changed while it was measured: {change}")
    return {
        "venvs": len(venvs),
        "files": files,
        "calls": len(timings),
        "median_ms": statistics.median(timings),
        "worst_ms": max(timings),
    }


def table(data: dict[str, Any]) -> str:
    files = ", ".join(f"{n:,}" for n in data["files"])
    return "\n".join(
        [
            "| the store's check of a venv (before reuse, after every cell) | median ms | "
            "worst ms |",
            "|---|---|---|",
            f"| {data['venvs']} seed venvs ({files} files), {data['calls']} checks | "
            f"{data['median_ms']:.1f} | {data['worst_ms']:.1f} |",
        ]
    )


def targets(data: dict[str, Any]) -> list[Target]:
    return [
        Target(
            f"store check per cell, median ≤ {TARGET_MS:.0f} ms",
            f"{data['median_ms']:.1f} ms",
            data["median_ms"] <= TARGET_MS,
        )
    ]
