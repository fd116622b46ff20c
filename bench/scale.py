"""How the pure stages scale: a synthetic 10,000-cell scenario, planned and rendered.

No venv is built and nothing is run: this measures only the engine's own bookkeeping (load,
expand, select, group, shard; and for a fake result of that size, markdown and the JSON
round trip), so that a big matrix never waits on the lab itself. Time is measured in one
pass, peak memory (tracemalloc: Python allocations of that stage) in a second, because
tracing slows the code down.

Run: ``PYTHONPATH=src python bench/scale.py [--cells-per-axis N] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from buglab import model
from buglab.lab import Plan, assemble, render, store
from buglab.spec import SCENARIO_FILE, plan
from buglab.spec import load as load_scenario

T = TypeVar("T")
TIME_LIMIT = 1.0  # seconds, per group of stages
MEMORY_LIMIT = 200.0  # MB, per group of stages
NAME = "synthetic-scale"


@dataclass(frozen=True)
class Stage:
    name: str
    seconds: float
    peak_mb: float


def scenario_toml(per_axis: int) -> str:
    """Four axes of ``per_axis`` values: a version axis (venv rows), flags, env, flags."""
    versions = ", ".join(f'"1.{i}"' for i in range(per_axis))
    flags_a = ", ".join(f'a{i} = ["-k", "a{i}"]' for i in range(per_axis))
    env = ", ".join(f'e{i} = {{ SCALE_E = "{i}" }}' for i in range(per_axis))
    flags_b = ", ".join(f'b{i} = ["--b{i}"]' for i in range(per_axis))
    return f"""\
title = "synthetic: {per_axis**4} cells"
description = "Made by bench/scale.py to time the engine's pure stages."
requirements = ["pytest"]
command = ["pytest", "{{flags}}", "test.py"]
signature = "AssertionError: synthetic"

[project]
files = ["test.py"]

[axes.pkg]
kind = "version"
values = [{versions}]

[axes.fa]
kind = "flags"
values = {{ {flags_a} }}

[axes.env]
kind = "env"
values = {{ {env} }}

[axes.fb]
kind = "flags"
values = {{ {flags_b} }}

[[expect]]
outcome = "passed"

[[expect]]
outcome = "reproduced"
pkg = "1.0"
fa = ["a0", "a1"]
reason = "synthetic"

[[expect]]
outcome = "failed"
pkg = "1.1"
env = "e0"
reason = "synthetic"
"""


def make_repo(folder: Path, per_axis: int) -> Path:
    """A throwaway repository with the synthetic scenario; returns its scenario.toml."""
    where = folder / "scenarios" / NAME
    where.mkdir(parents=True)
    (where / "test.py").write_text("def test_it():\n    pass\n", encoding="utf-8")
    path = where / SCENARIO_FILE
    path.write_text(scenario_toml(per_axis), encoding="utf-8")
    return path


def fake_result(s: model.Scenario, cells: Sequence[model.Cell]) -> model.MatrixResult:
    """A result as a run of ``cells`` would store it: outcomes cycle, every field filled."""
    outcomes = (model.Outcome.PASSED, model.Outcome.REPRODUCED, model.Outcome.FAILED)
    resolved = (("pkg", "1.0.3"), ("pytest", "8.3.4"), ("python", "3.11.7"))
    done = {
        (c.scenario, c.id): model.CellResult(
            c.id,
            c.labels,
            resolved,
            outcomes[i % 3],
            c.expected,
            i % 3,
            1.234,
            f"logs/{NAME}/{c.id}.log",
            "exit 0",
            f"{i:016x}",
            "k" * 24,
        )
        for i, c in enumerate(cells)
    }
    return assemble(Plan(s, tuple(cells)), done, {"buglab": "bench"})


def _measure(name: str, work: Callable[[], T]) -> tuple[T, Stage]:
    """Time ``work`` untraced, then run it again under tracemalloc for its peak."""
    start = time.perf_counter()
    value = work()
    seconds = time.perf_counter() - start
    tracemalloc.start()
    try:
        work()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return value, Stage(name, seconds, peak / 1e6)


def measure(per_axis: int = 10) -> dict[str, Any]:
    """Every stage on a ``per_axis ** 4``-cell scenario; the JSON that ``main`` prints from."""
    with tempfile.TemporaryDirectory(prefix="buglab-scale-") as tmp:
        path = make_repo(Path(tmp), per_axis)
        root = Path(tmp)
        s, load = _measure("load (TOML + validation)", lambda: load_scenario(path, root))
        cells, expand = _measure("expand", lambda: plan.expand(s))
        selection = plan.Selection.parse([f"pkg={','.join(s.axes[0].labels)}"])

        def select() -> tuple[model.Cell, ...]:
            selection.validate([s])
            return plan.select(cells, selection)

        chosen, select_ = _measure("select (--only, keeps all)", select)
        groups, group = _measure("group by venv", lambda: plan.venv_groups(chosen))
        _, shard = _measure("shard 1/4", lambda: plan.shard(chosen, plan.Shard(1, 4)))
        result = fake_result(s, chosen)
        text, markdown = _measure("render markdown", lambda: render.markdown(result))
        blob, dump = _measure("to_json + dumps", lambda: json.dumps(store.to_json(result)))
        back, load_back = _measure(
            "loads + from_json", lambda: store.from_json(json.loads(blob), path)
        )
        assert back == result, "the JSON round trip changed the result"
    planning = (load, expand, select_, group, shard)
    results = (markdown, dump, load_back)
    return {
        "cells": len(cells),
        "venvs": len(groups),
        "markdown_chars": len(text),
        "json_chars": len(blob),
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "groups": {
            "plan": _group(planning),
            "results": _group(results),
        },
    }


def _group(stages: Sequence[Stage]) -> dict[str, Any]:
    """Stages of one group; the group's time is their sum and its memory their largest peak."""
    seconds = sum(st.seconds for st in stages)
    peak = max(st.peak_mb for st in stages)
    return {
        "stages": [
            {"name": st.name, "seconds": st.seconds, "peak_mb": st.peak_mb} for st in stages
        ],
        "seconds": seconds,
        "peak_mb": peak,
        "pass": seconds < TIME_LIMIT and peak < MEMORY_LIMIT,
    }


def table(data: dict[str, Any]) -> str:
    """The markdown table for the README."""
    lines = [
        f"| {data['cells']:,} cells, {data['venvs']} venvs | seconds | peak MB | target | result |",
        "|---|---|---|---|---|",
    ]
    titles = {
        "plan": "load + expand + select + group + shard",
        "results": "markdown + JSON round trip",
    }
    for key, title in titles.items():
        g = data["groups"][key]
        verdict = "PASS" if g["pass"] else "FAIL"
        lines.append(
            f"| **{title}** | **{g['seconds']:.3f}** | **{g['peak_mb']:.1f}** "
            f"| < {TIME_LIMIT:g} s, < {MEMORY_LIMIT:g} MB | {verdict} |"
        )
        lines += [
            f"| &nbsp;&nbsp;{st['name']} | {st['seconds']:.3f} | {st['peak_mb']:.1f} | | |"
            for st in g["stages"]
        ]
    lines += [
        "",
        "Peak MB is tracemalloc's peak of Python allocations during the stage "
        "(measured in a second, traced pass); a group's peak is its largest stage's. "
        f"The whole process peaked at {data['max_rss_mb']:.0f} MB RSS "
        "(interpreter and imports included).",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Measure, print the table, optionally write JSON; returns the measurements."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--cells-per-axis",
        type=int,
        default=10,
        help="values per axis; four axes (default 10: 10,000 cells)",
    )
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    args = parser.parse_args(argv)
    data = measure(args.cells_per_axis)
    print(table(data))
    if args.json:
        args.json.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return data


if __name__ == "__main__":
    outcome = main()
    sys.exit(0 if all(g["pass"] for g in outcome["groups"].values()) else 1)
