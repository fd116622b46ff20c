"""The cost of trusting no venv: the store's check of a venv against its listing.

The lab checks a venv's files against the listing written when it was published before it
reuses it (:mod:`buglab.env`, ``venv_changes``); after every cell it asks the kernel first
(``Sentry``: inotify watches on every file and folder, set once per venv per run) and lists the
venv again only when something was reported, or where it cannot watch. This line builds the
seed's venvs for one SQLAlchemy series on today's toolchain (editable, non-editable, not
installed: the biggest venvs the seed has) through ``nox -s matrix``, then times each, many
times per venv: the per-cell price of never running a cell in a damaged venv. The target holds
for the full listing, the price where no watch can be set.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from bench.harness import ROOT, SEED, Target, load, say
from bench.harness import lab as run_lab
from buglab.env import Sentry, venv_changes

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
    listing: list[float] = []
    asked: list[float] = []
    watching: list[float] = []
    files = []
    sentry = Sentry()
    for venv in venvs:
        files.append(sum(1 for _ in venv.rglob("*")))
        start = time.perf_counter()
        sentry.watch(venv)
        watching.append(_since(start))
        for _ in range(CALLS):
            start = time.perf_counter()
            change = venv_changes(venv)
            listing.append(_since(start))
            if change:
                raise SystemExit(f"bench: {venv} changed while it was measured: {change}")
            start = time.perf_counter()
            quiet = sentry.unchanged(venv)
            asked.append(_since(start))
            if not quiet:
                raise SystemExit(f"bench: no inotify watch could be set on {venv}")
    return {
        "venvs": len(venvs),
        "files": files,
        "calls": len(listing),
        **_summary("", listing),
        **_summary("sentry_", asked),
        **_summary("watch_", watching),
    }


def _since(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def _summary(prefix: str, timings: list[float]) -> dict[str, float]:
    return {f"{prefix}median_ms": statistics.median(timings), f"{prefix}worst_ms": max(timings)}


def table(data: dict[str, Any]) -> str:
    files = ", ".join(f"{n:,}" for n in data["files"])
    return "\n".join(
        [
            f"| the store's check of a venv ({data['venvs']} seed venvs: {files} files) "
            "| median ms | worst ms |",
            "|---|---|---|",
            f"| the full listing (before reuse; after a cell when something was reported), "
            f"{data['calls']} checks | {data['median_ms']:.1f} | {data['worst_ms']:.1f} |",
            f"| the kernel's word (after every cell), {data['calls']} checks | "
            f"{data['sentry_median_ms']:.3f} | {data['sentry_worst_ms']:.3f} |",
            f"| setting the watches (once per venv per run), {data['venvs']} venvs | "
            f"{data['watch_median_ms']:.1f} | {data['watch_worst_ms']:.1f} |",
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
