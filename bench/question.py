"""The cost of a question: bisections, cold and asked again, and what the cores buy.

- release: ``bisect --package sqlalchemy`` between 2.0.0 (reproduces) and 2.1.9 (passes) on
  today's toolchain: every release in between that the cell's Python could install.
- date: ``bisect --date`` of the not-installed venv over the last three years.
- commits: ``bisect --commits`` of MarkupSafe between 2.0.1 and 2.1.0 for the
  ``jinja2-soft-unicode`` scenario (Jinja2 2.11 fails to import once ``soft_unicode`` is gone):
  each probe builds a commit with MarkupSafe's own backend (a C extension included). The history
  is the repository MarkupSafe's index metadata names, or ``--markupsafe-repo`` (a local clone).
- jobs: the release bisect cold with ``--jobs 1`` and with ``--jobs 2``, side by side: rounds
  (batches of probes run at once), probes, venvs built and seconds.

Each runs through ``python3 -m nox -s bisect``, with its own empty venv store (the installer's
caches warm); "asked again" reuses that store and must build nothing. The counts come from the
bisect's own JSON.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bench.harness import ROOT, SEED, Target, nox, say

DATE_SECONDS = 60.0
SEED_CELL = ("--only", "warnings=on", "--only", "coverage=on")
RELEASE = (
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
)
QUESTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "release": (SEED, RELEASE),
    "date": (
        SEED,
        (
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
    ),
    "commits": (
        "jinja2-soft-unicode",
        (
            "--package",
            "markupsafe",
            "--commits",
            "--only",
            "jinja2=2.11",
            "--only",
            "toolchain=latest",
            "--good",
            "2.0.1",
            "--bad",
            "2.1.0",
            "--jobs",
            "1",
        ),
    ),
}
PARTS = ("release", "date", "commits", "jobs")
JOBS = (1, 2)


def _args(name: str, repo: str | None) -> list[str]:
    start = (dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=3 * 365)).isoformat()
    args = [a.replace("{three years ago}", start) for a in QUESTIONS[name][1]]
    return [*args, "--repo", repo] if name == "commits" and repo else args


def _bisect(tmp: Path, name: str, attempt: str, args: Sequence[str]) -> dict[str, Any]:
    scenario = QUESTIONS["release" if name.startswith("jobs") else name][0]
    results = tmp / "question" / name / attempt
    store = tmp / "question" / name / "store"
    where = ["--store", str(store), "--results", str(results)]
    log = tmp / f"bisect-{name}.log"
    seconds, code, output = nox(ROOT, "bisect", scenario, *args, *where, log=log)
    found = sorted((results / scenario).glob("bisect-*.json"))
    if not found:
        tail = "\n".join(output.splitlines()[-10:])
        raise SystemExit(f"bench: the {name} bisect wrote no answer (exit {code}):\n{tail}")
    # a --then-... bisect writes two files; the question's own is the one it asked
    data = json.loads(found[0].read_text(encoding="utf-8"))
    history = data.get("history") or {}
    return {
        "seconds": seconds,
        "exit": code,
        "line": data["line"],
        "candidates": history.get("total") or len(data["candidates"]),
        "probes": len(data["probes"]),
        "rounds": data.get("rounds", len(data["probes"])),
        "jobs": data.get("jobs", 1),
        "built": data["venvs"]["built"],
        "reused": data["venvs"]["reused"],
    }


def measure(
    tmp: Path, parts: Sequence[str] = PARTS, markupsafe_repo: str | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in (p for p in parts if p in QUESTIONS):
        for attempt in ("cold", "again"):
            say(f"question: {name} bisect, {attempt}")
            args = _args(name, markupsafe_repo)
            out.setdefault(name, {})[attempt] = _bisect(tmp, name, attempt, args)
    if "jobs" in parts:
        for jobs in JOBS:
            say(f"question: release bisect with --jobs {jobs}, cold")
            args = [*RELEASE, "--jobs", str(jobs)]
            out.setdefault("jobs", {})[str(jobs)] = _bisect(tmp, f"jobs-{jobs}", "cold", args)
    return out


def _limit(candidates: int) -> int:
    return math.ceil(math.log2(max(candidates, 2))) + 3


TITLES = {
    "release": "release bisect: sqlalchemy 2.0.0 … 2.1.9, seed cell on today's toolchain",
    "date": "date bisect: three years of days, the seed's not-installed venv",
    "commits": "commit bisect: MarkupSafe 2.0.1 … 2.1.0 (every commit, `jinja2-soft-unicode`)",
}


def table(data: Mapping[str, Any]) -> str:
    lines = [
        "| question | answer | candidates | probes | venvs built / reused | seconds |",
        "|---|---|---|---|---|---|",
    ]
    for name, runs in data.items():
        if name == "jobs":
            continue
        for attempt, r in runs.items():
            lines.append(
                f"| {TITLES[name]}, {'empty venv store' if attempt == 'cold' else 'asked again'} "
                f"| `{r['line']}` | {r['candidates']} | {r['probes']} | {r['built']} / "
                f"{r['reused']} | {r['seconds']:.1f} |"
            )
    if "jobs" in data:
        lines += [
            "",
            "| release bisect, empty venv store | answer | rounds | probes | venvs built | "
            "seconds |",
            "|---|---|---|---|---|---|",
        ]
        for jobs, r in data["jobs"].items():
            lines.append(
                f"| `--jobs {jobs}` | `{r['line']}` | {r['rounds']} | {r['probes']} | "
                f"{r['built']} | {r['seconds']:.1f} |"
            )
    return "\n".join(lines)


def targets(data: Mapping[str, Any]) -> list[Target]:
    out: list[Target] = []
    for name, runs in data.items():
        if name == "jobs":
            continue
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
    if "date" in data:
        date = data["date"]["cold"]
        out.append(
            Target(
                f"date bisect over three years, empty venv store, < {DATE_SECONDS:.0f} s",
                f"{date['seconds']:.1f} s",
                date["seconds"] < DATE_SECONDS,
            )
        )
    if "jobs" in data:
        one, two = data["jobs"]["1"], data["jobs"]["2"]
        out.append(
            Target(
                "release bisect: --jobs 2 same answer, fewer rounds, less wall time than --jobs 1",
                f"{two['rounds']} vs {one['rounds']} rounds, {two['seconds']:.1f} vs "
                f"{one['seconds']:.1f} s",
                two["line"] == one["line"]
                and two["rounds"] < one["rounds"]
                and two["seconds"] < one["seconds"],
            )
        )
    return out
