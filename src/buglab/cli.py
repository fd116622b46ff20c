"""``buglab`` / ``python -m buglab``: bad input is one line on stderr and exit status 2."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from buglab import __version__, execute, plan, render, store, workflow
from buglab.errors import BuglabError, UsageError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="buglab", description="A reproducible bug lab for Python.")
    parser.add_argument("--version", action="version", version=f"buglab {__version__}")
    parser.add_argument("--root", type=Path, help="the repository (default: found from here)")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    matrix = commands.add_parser("matrix", help="build, run and classify every cell")
    matrix.add_argument("scenarios", nargs="*", help="scenario names (default: all)")
    matrix.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="AXIS=VALUE",
        help="keep cells with this value (repeat; a,b for either)",
    )
    matrix.add_argument(
        "--cell", action="append", default=[], metavar="ID", help="keep this cell (repeat)"
    )
    matrix.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=os.cpu_count() or 1,
        help="cells run at once (default: the CPU count)",
    )
    matrix.add_argument(
        "--backend",
        choices=["uv", "virtualenv"],
        help="how venvs are built (default: uv when installed)",
    )
    matrix.add_argument("--shard", metavar="K/N", help="run only the K-th of N shards")
    matrix.add_argument(
        "--resume",
        action="store_true",
        help="keep finished cells of the last run whose inputs are unchanged",
    )
    matrix.add_argument("--rebuild", action="store_true", help="rebuild venvs even if current")
    matrix.add_argument("--offline", action="store_true", help="install from the cache only")
    matrix.add_argument("--keep", action="store_true", help="keep each cell's working folder")
    matrix.add_argument("--results", type=Path, help="results folder (default: ROOT/results)")
    matrix.add_argument("--store", type=Path, help="venv store (default: ROOT/.buglab)")
    matrix.add_argument("--quiet", "-q", action="store_true", help="no progress and no table")

    show = commands.add_parser("plan", help="list the cells without running them")
    show.add_argument("scenarios", nargs="*")
    show.add_argument("--only", action="append", default=[], metavar="AXIS=VALUE")
    show.add_argument("--json", action="store_true", help="GitHub Actions strategy.matrix shape")
    show.add_argument(
        "--shards",
        type=int,
        default=0,
        metavar="N",
        help="with --json: list N shards instead of cells",
    )

    merge = commands.add_parser("merge", help="join shard results into one file per scenario")
    merge.add_argument("files", nargs="+", type=Path)
    merge.add_argument("--results", type=Path, help="where to write (default: ROOT/results)")

    render_ = commands.add_parser("render", help="print the table of a results file")
    render_.add_argument("files", nargs="+", type=Path)
    render_.add_argument("--markdown", action="store_true")
    return parser


def find_root(start: Path) -> Path:
    for folder in (start, *start.parents):
        if (folder / "scenarios").is_dir():
            return folder
    raise UsageError(f"no scenarios/ folder in {start} or above; use --root")


@contextmanager
def _progress(console: Console, enabled: bool) -> Iterator[execute.Progress]:
    """A bar that appears with the first finished cell, so that bad input prints one line."""
    bar = Progress(
        TextColumn("cells"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    task = bar.add_task("cells", total=None)

    def update(done: int, total: int) -> None:
        if enabled and not bar.live.is_started:
            bar.start()
        bar.update(task, completed=done, total=total)

    try:
        yield update
    finally:
        if bar.live.is_started:
            bar.stop()


def _matrix(args: argparse.Namespace, root: Path, err: Console, out: Console) -> int:
    options = workflow.Options(
        root=root,
        names=tuple(args.scenarios),
        only=tuple(args.only),
        cells=tuple(args.cell),
        jobs=args.jobs,
        backend=args.backend,
        shard=args.shard,
        resume=args.resume,
        rebuild=args.rebuild,
        offline=args.offline,
        keep=args.keep,
        results=args.results,
        store=args.store,
    )
    with _progress(err, not args.quiet) as progress:
        report = workflow.run_matrix(options, dict(os.environ), err.print, progress)
    for result in report.results:
        if not args.quiet:
            out.print(render.terminal(result))
        path = workflow.results_path(options, result.scenario)
        err.print(f"{result.scenario}: {render.summary(result)} -> {path}")
    if report.interrupted:
        err.print("interrupted: unfinished cells are marked not-run")
    return report.exit_code


def _plan(args: argparse.Namespace, root: Path, out: Console) -> int:
    scenarios = workflow.load_scenarios(root, tuple(args.scenarios))
    plans = workflow.make_plans(scenarios, tuple(args.only), None)
    if args.json:
        if args.shards:
            include = [
                {
                    "shard": f"{k}/{args.shards}",
                    "cells": len(
                        plan.shard([c for p in plans for c in p.cells], plan.Shard(k, args.shards))
                    ),
                }
                for k in range(1, args.shards + 1)
            ]
        else:
            include = [
                {
                    "scenario": p.scenario.name,
                    "only": [
                        f"{a}={v}"
                        for a, v in group[0].labels
                        if p.scenario.axis(a).kind.shapes_venv
                    ],
                    "cells": len(group),
                }
                for p in plans
                for group in plan.venv_groups(p.cells)
            ]
        print(json.dumps({"include": include}))
        return 0
    for p in plans:
        groups = plan.venv_groups(p.cells)
        out.print(f"{p.scenario.name}: {len(p.cells)} cells in {len(groups)} venvs")
        for cell in p.cells:
            expected = cell.expected.value if cell.expected else "-"
            out.print(f"  {cell.id}  [dim]expect {expected}[/dim]", highlight=False)
    return 0


def _merge(args: argparse.Namespace, root: Path, err: Console) -> int:
    merged = store.merge(store.read(path) for path in args.files)
    folder = args.results or root / "results"
    for result in merged:
        path = folder / f"{result.scenario}.json"
        store.write(result, path, render.markdown(result))
        err.print(f"{result.scenario}: {render.summary(result)} -> {path}")
    return 1 if any(r.contradictions for r in merged) else 0


def _render(args: argparse.Namespace, out: Console) -> int:
    for path in args.files:
        result = store.read(path)
        if args.markdown:
            print(render.markdown(result))
        else:
            out.print(render.terminal(result))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    err = Console(stderr=True)
    out = Console(width=max(Console().width, 160) if not sys.stdout.isatty() else None)
    try:
        args = _parser().parse_args(argv)
        if args.command == "render":
            return _render(args, out)
        root = (args.root or find_root(Path.cwd())).resolve()
        if args.command == "matrix":
            return _matrix(args, root, err, out)
        if args.command == "plan":
            return _plan(args, root, out)
        return _merge(args, root, err)
    except BuglabError as exc:
        print(f"buglab: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("buglab: interrupted", file=sys.stderr)
        return 130
