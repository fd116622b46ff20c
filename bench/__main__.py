"""The README's benchmark: every line measured in one run, each a ratio against the floor.

Lines (each in its own module):

- ``seed.py``: the seed scenario warm and cold through ``python3 -m nox -s matrix``, against
  the floor (its cells' bare commands spread over the cores); the lab's overhead per cell.
- ``whole.py``: the whole lab on a fresh clone against the sum of every scenario's floor, and
  the test suite's own time.
- ``question.py``: the cost of a question: a release bisect and a date bisect, cold and warm.
- ``scale.py``: the engine's pure stages on a synthetic 10,000-cell scenario.
- ``store.py``: the venv store's check of a venv against its listing, per cell.
- ``keeper.py``: what a keeper (the child subreaper every process runs under) adds to a process.
- ``baselines.py`` (``--baselines``): by hand the seed's way, and nox per cell.

The tables are printed as markdown (for the README); everything measured goes to
``bench/latest.json``. Exits 0 when every target holds, 1 otherwise.

Run: ``python3 -m nox -s bench`` (``-- --quick`` to try it in a few minutes).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import baselines, keeper, question, scale, seed, store, whole
from bench.harness import ROOT, SEED, Target, load, say

QUICK_ONLY = ("sqlalchemy=2.0", "install=editable", "coverage=on")
LINES = ("seed", "whole", "question", "scale", "store", "keeper")


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--quick", action="store_true", help=f"seed only, --only {' '.join(QUICK_ONLY)}, one pass"
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="AXIS=VALUE",
        help="seed cells to measure, as for matrix (default: all)",
    )
    parser.add_argument(
        "--lines",
        default=",".join(LINES),
        help=f"which lines, comma-separated (default: {','.join(LINES)})",
    )
    parser.add_argument(
        "--questions",
        default=",".join(question.PARTS),
        help=f"the question line's parts (default: {','.join(question.PARTS)})",
    )
    parser.add_argument(
        "--markupsafe-repo",
        metavar="PATH|URL",
        help="the commit bisect's MarkupSafe history (default: the repository its index names)",
    )
    parser.add_argument(
        "--baselines",
        action="store_true",
        help="also by hand and nox per cell (several times longer)",
    )
    parser.add_argument("--runs", type=int, help="seed warm runs and floor passes (default 5)")
    parser.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="--jobs for the lab (default: the CPU count)",
    )
    parser.add_argument("--json", type=Path, help="default: bench/latest.json")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    lines = ("seed",) if args.quick else tuple(x for x in args.lines.split(",") if x)
    unknown = sorted(set(lines) - set(LINES))
    if unknown:
        parser.error(f"--lines: unknown {', '.join(unknown)} (choose from {', '.join(LINES)})")
    args.lines = lines
    args.questions = tuple(x for x in args.questions.split(",") if x)
    wrong = sorted(set(args.questions) - set(question.PARTS))
    if wrong:
        parser.error(f"--questions: unknown {', '.join(wrong)} (choose from {question.PARTS})")
    args.runs = args.runs or (1 if args.quick else 5)
    args.only = tuple(args.only) or (QUICK_ONLY if args.quick else ())
    partial = args.quick or args.only or set(lines) != set(LINES)
    partial = partial or set(args.questions) != set(question.PARTS)
    args.json = args.json or ROOT / "bench" / ("latest-partial.json" if partial else "latest.json")
    return args


def measure(args: argparse.Namespace, tmp: Path) -> tuple[dict[str, Any], list[str], list[Target]]:
    """Every selected line: its data, its markdown and its targets."""
    data: dict[str, Any] = {}
    text: list[str] = []
    goals: list[Target] = []
    if "seed" in args.lines:
        setup = load(ROOT, SEED, args.only, args.jobs, tmp / "seed")
        setup.tmp.mkdir()
        data["seed"] = seed.measure(setup, args.runs)
        d = data["seed"]
        only = f", `--only {' '.join(args.only)}`" if args.only else ""
        text += [
            f"#### The seed scenario ({d['cells']} cells, {d['runnable']} runnable in "
            f"{d['venvs']} venvs{only}; {setup.cores} cores)",
            "",
            seed.table(d, args.jobs, setup.cores, args.runs),
        ]
        if args.baselines:
            cells = [c for c in setup.cells if c.id in d["runnable_ids"]]
            data["baselines"] = baselines.measure(setup, cells)
            text += baselines.rows(data["baselines"], d["floor"], d["warm"], len(cells))
        goals += seed.targets(d)
    if "whole" in args.lines:
        data["whole"] = whole.measure(tmp)
        text += ["", "#### The whole lab, and the test suite", "", whole.table(data["whole"])]
        goals += whole.targets(data["whole"])
    if "question" in args.lines:
        data["question"] = question.measure(tmp, args.questions, args.markupsafe_repo)
        text += ["", "#### The cost of a question: bisection", "", question.table(data["question"])]
        goals += question.targets(data["question"])
    if "scale" in args.lines:
        say("scale: a synthetic 10,000-cell scenario")
        data["scale"] = scale.measure()
        text += ["", "#### The engine at scale: 10,000 cells", "", scale.table(data["scale"])]
        goals += [
            Target(
                f"scale: {name} < 1 s and < 200 MB",
                f"{g['seconds']:.2f} s, {g['peak_mb']:.0f} MB",
                g["pass"],
            )
            for name, g in data["scale"]["groups"].items()
        ]
    if "store" in args.lines:
        data["store"] = store.measure(tmp, args.jobs)
        text += ["", "#### The store's check", "", store.table(data["store"])]
        goals += store.targets(data["store"])
    if "keeper" in args.lines:
        data["keeper"] = keeper.measure(tmp)
        text += ["", "#### The price of a keeper", "", keeper.table(data["keeper"])]
        goals += keeper.targets(data["keeper"])
    return data, text, goals


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(argv)
    tmp = Path(tempfile.mkdtemp(prefix="buglab-bench-"))
    before = os.getloadavg()[0]
    try:
        data, text, goals = measure(args, tmp)
    finally:
        if args.keep:
            say(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    data["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "load_before": before,
        "load_after": os.getloadavg()[0],
    }
    data["when"] = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    data["command"] = [
        "python3",
        "-m",
        "nox",
        "-s",
        "bench",
        "--",
        *(argv if argv is not None else sys.argv[1:]),
    ]
    m = data["machine"]
    text += [
        "",
        "| target | measured | result |",
        "|---|---|---|",
        *(g.row() for g in goals),
        "",
        f"Measured {data['when']} with `{' '.join(data['command'])}`: {m['cpus']} CPUs, "
        f"Python {m['python']}, {m['platform']}; load average {m['load_before']:.1f} before, "
        f"{m['load_after']:.1f} after (a shared machine: expect noise).",
    ]
    data["targets"] = [g.to_json() for g in goals]
    data["markdown"] = "\n".join(text)
    args.json.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(data["markdown"])
    say(f"wrote {args.json}")
    return 0 if all(g.passed for g in goals) else 1


if __name__ == "__main__":
    sys.exit(main())
