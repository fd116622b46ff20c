"""The cost of a question: a release bisect and a date bisect of the seed, cold and again.

- release: ``bisect --package sqlalchemy`` between 2.0.0 (reproduces) and 2.1.9 (passes) on
  today's toolchain: every release in between that the cell's Python could install.
- date: ``bisect --date`` of the not-installed venv over the last three years.

Each runs twice through ``python3 -m nox -s bisect``: first with an empty venv store (the
installer's caches warm), then again over the same store, which must build nothing. The counts
of venvs built and reused come from the bisect's own JSON.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bench.harness import ROOT, SEED, Target, nox, say

DATE_SECONDS = 60.0
SEED_CELL = ("--only", "warnings=on", "--only", "coverage=on")
QUESTIONS = {
    "release": (
        "--package",
        "sqlalchemy",
        "--only",
        "install=editable",
        "--only",
        "toolchain=latest",
        *SEED_CELL,
        "--bad",
        "2.0.0",
        "--good",
        "2.1.9",
    ),
    "date": (
        "--date",
        "--only",
        "install=not-installed",
        "--only",
        "sqlalchemy=2.0",
        *SEED_CELL,
        "--good",
        "{three years ago}",
        "--bad",
        "latest",
    ),
}


def _args(name: str) -> list[str]:
    start = (dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=3 * 365)).isoformat()
    return [a.replace("{three years ago}", start) for a in QUESTIONS[name]]


def _bisect(tmp: Path, name: str, attempt: str) -> dict[str, Any]:
    results = tmp / "question" / name / attempt
    store = tmp / "question" / name / "store"
    where = ["--store", str(store), "--results", str(results)]
    log = tmp / f"bisect-{name}.log"
    seconds, code, output = nox(ROOT, "bisect", SEED, *_args(name), *where, log=log)
    found = sorted((results / SEED).glob("bisect-*.json"))
    if not found:
        tail = "\n".join(output.splitlines()[-10:])
        raise SystemExit(f"bench: the {name} bisect wrote no answer (exit {code}):\n{tail}")
    data = json.loads(found[0].read_text(encoding="utf-8"))
    return {
        "seconds": seconds,
        "exit": code,
        "line": data["line"],
        "candidates": len(data["candidates"]),
        "probes": len(data["probes"]),
        "built": data["venvs"]["built"],
        "reused": data["venvs"]["reused"],
    }


def measure(tmp: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in QUESTIONS:
        for attempt in ("cold", "again"):
            say(f"question: {name} bisect, {attempt}")
            out.setdefault(name, {})[attempt] = _bisect(tmp, name, attempt)
    return out


def _limit(candidates: int) -> int:
    return math.ceil(math.log2(max(candidates, 2))) + 3


def table(data: Mapping[str, Any]) -> str:
    lines = [
        "| question | answer | candidates | probes | venvs built / reused | seconds |",
        "|---|---|---|---|---|---|",
    ]
    titles = {
        "release": "release bisect: sqlalchemy 2.0.0 … 2.1.9, seed cell on today's toolchain",
        "date": "date bisect: three years of days, the seed's not-installed venv",
    }
    for name, runs in data.items():
        for attempt, r in runs.items():
            lines.append(
                f"| {titles[name]}, {'empty venv store' if attempt == 'cold' else 'asked again'} "
                f"| `{r['line']}` | {r['candidates']} | {r['probes']} | {r['built']} / "
                f"{r['reused']} | {r['seconds']:.1f} |"
            )
    return "\n".join(lines)


def targets(data: Mapping[str, Any]) -> list[Target]:
    out: list[Target] = []
    for name, runs in data.items():
        cold, again = runs["cold"], runs["again"]
        limit = _limit(cold["candidates"])
        out += [
            Target(
                f"{name} bisect: venvs built ≤ ⌈log2(candidates)⌉ + 3",
                f"{cold['built']} ≤ {limit}",
                cold["built"] <= limit,
            ),
            Target(
                f"{name} bisect asked again builds nothing",
                f"{again['built']} built",
                again["built"] == 0,
            ),
        ]
    date = data["date"]["cold"]
    out.append(
        Target(
            f"date bisect over three years, empty venv store, < {DATE_SECONDS:.0f} s",
            f"{date['seconds']:.1f} s",
            date["seconds"] < DATE_SECONDS,
        )
    )
    return out
