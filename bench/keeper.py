"""The price of a keeper, paid by every process the lab starts.

Each cell's command, each installer and build step runs under a keeper (``proc.run``): a child
subreaper that kills the command's whole tree when it ends. This line runs ``true`` through
``proc.run`` and, alternately, as a bare fork and exec (``subprocess.run``: stdin from
/dev/null, output on a pipe, its own session), many times: the difference of the medians is
what a keeper adds to every process. The first ``proc.run`` of a lab process also starts the
keeper server; it is reported apart.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.harness import Target, say
from buglab.env import proc

RUNS = 300  # of each
TARGET_MS = 2.0


def _timed(action: Callable[[], None]) -> float:
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) * 1000


def measure(tmp: Path) -> dict[str, Any]:
    folder = tmp / "keeper"
    folder.mkdir()
    env = {"PATH": os.environ.get("PATH", os.defpath)}
    log = folder / "log"
    outcomes: list[int | None] = []

    def kept() -> None:
        outcomes.append(proc.run(["true"], cwd=folder, env=env, timeout=60, log=log).returncode)

    def bare() -> None:
        subprocess.run(
            ["true"],
            cwd=folder,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            check=True,
        )

    say(f"keeper: `true` {RUNS} times under a keeper and {RUNS} times bare")
    first = _timed(kept)
    under, alone = [], []
    for _ in range(RUNS):
        under.append(_timed(kept))
        alone.append(_timed(bare))
    if set(outcomes) != {0}:
        raise SystemExit(f"bench: `true` under a keeper did not always exit 0: {set(outcomes)}")
    deciles = {
        name: statistics.quantiles(v, n=10) for name, v in (("kept", under), ("bare", alone))
    }
    return {
        "runs": RUNS,
        "first_ms": first,
        "kept_ms": statistics.median(under),
        "bare_ms": statistics.median(alone),
        "kept_p90_ms": deciles["kept"][-1],
        "bare_p90_ms": deciles["bare"][-1],
        "overhead_ms": statistics.median(under) - statistics.median(alone),
    }


def table(data: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"| a process (`true`, {data['runs']} runs of each, alternated) | median ms | p90 ms |",
            "|---|---|---|",
            f"| bare fork and exec (`subprocess.run`) | {data['bare_ms']:.2f} | "
            f"{data['bare_p90_ms']:.2f} |",
            f"| under a keeper (`proc.run`, as every cell and build step) | "
            f"{data['kept_ms']:.2f} | {data['kept_p90_ms']:.2f} |",
            f"| **a keeper's cost per process** | {data['overhead_ms']:.2f} | |",
            f"| the lab's first process (it also starts the keeper server) | "
            f"{data['first_ms']:.1f} | |",
        ]
    )


def targets(data: dict[str, Any]) -> list[Target]:
    return [
        Target(
            f"a keeper's cost per process, median ≤ {TARGET_MS:.0f} ms",
            f"{data['overhead_ms']:.2f} ms",
            data["overhead_ms"] <= TARGET_MS,
        )
    ]
