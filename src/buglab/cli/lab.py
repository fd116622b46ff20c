"""The lab's own subcommands: matrix, plan, merge and render."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from buglab import execute, history, plan, render, store, workflow
from buglab.cli.base import Command, Context, add_only, add_repeat, add_store


def _matrix_arguments(matrix: argparse.ArgumentParser) -> None:
    matrix.add_argument("scenarios", nargs="*", help="scenario names (default: all)")
    add_only(matrix)
    matrix.add_argument(
        "--cell", action="append", default=[], metavar="ID", help="keep this cell (repeat)"
    )
    add_store(matrix)
    add_repeat(matrix)
    matrix.add_argument("--shard", metavar="K/N", help="run only the K-th of N shards")
    matrix.add_argument(
        "--resume",
        action="store_true",
        help="keep finished cells of the last run whose inputs are unchanged",
    )
    matrix.add_argument("--rebuild", action="store_true", help="rebuild venvs even if current")
    matrix.add_argument("--keep", action="store_true", help="keep each cell's working folder")
    matrix.add_argument("--quiet", "-q", action="store_true", help="no progress and no table")
    matrix.add_argument(
        "--diff",
        action="store_true",
        help="at the end, the cells whose outcome changed against the committed results",
    )


def _plan_arguments(show: argparse.ArgumentParser) -> None:
    show.add_argument("scenarios", nargs="*")
    add_only(show)
    show.add_argument("--json", action="store_true", help="GitHub Actions strategy.matrix shape")
    show.add_argument(
        "--shards",
        type=int,
        default=0,
        metavar="N",
        help="with --json: list N shards instead of cells",
    )


def _merge_arguments(merge: argparse.ArgumentParser) -> None:
    merge.add_argument("files", nargs="+", type=Path)
    merge.add_argument("--results", type=Path, help="where to write (default: ROOT/results)")


def _render_arguments(render_: argparse.ArgumentParser) -> None:
    render_.add_argument("files", nargs="+", type=Path)
    render_.add_argument("--markdown", action="store_true")


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


def _matrix(args: argparse.Namespace, ctx: Context) -> int:
    err, out = ctx.err, ctx.out
    options = workflow.Options(
        root=ctx.root,
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
        repeat=args.repeat,
        results=args.results,
        store=args.store,
    )
    before = history.baselines(options) if args.diff else None
    with _progress(err, not args.quiet) as progress:
        report = workflow.run_matrix(options, ctx.caller, _say(err), progress)
    for result in report.results:
        if not args.quiet and any(cell.ran for cell in result.cells):
            out.print(render.terminal(result))
        path = workflow.results_path(options, result.scenario)
        _say(err)(f"{result.scenario}: {render.summary(result)} -> {path}")
    if before is not None:
        _print_diffs(before, options)
    if report.interrupted:
        _say(err)(
            "interrupted: cells that did not run are not-run here; the results files keep "
            "their earlier outcome (marked † with its date) or stay as they were"
        )
    return report.exit_code


def _plan(args: argparse.Namespace, ctx: Context) -> int:
    out = ctx.out
    scenarios = workflow.load_scenarios(ctx.root, tuple(args.scenarios))
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


def _merge(args: argparse.Namespace, ctx: Context) -> int:
    merged = store.merge(store.read(path) for path in args.files)
    folder = store.results_folder(ctx.root, args.results)
    for result in merged:
        path = folder / f"{result.scenario}.json"
        store.write(result, path, render.markdown(result))
        ctx.err.print(f"{result.scenario}: {render.summary(result)} -> {path}", soft_wrap=True)
    return 1 if any(r.contradictions for r in merged) else 0


def _render(args: argparse.Namespace, ctx: Context) -> int:
    out = ctx.out
    for path in args.files:
        result = store.read(path)
        if args.markdown:
            print(render.markdown(result))
        else:
            out.print(render.terminal(result))
    return 0


def _say(console: Console) -> Callable[[str], None]:
    """One line per message, never wrapped at the console's width (logs are read later)."""
    return lambda text: console.print(text, soft_wrap=True, highlight=False)


def _print_diffs(before: history.Baselines, options: workflow.Options) -> None:
    """``matrix --diff``: what changed against the results before the run."""
    from buglab import diff  # only when asked for

    for name, (old, where) in before.items():
        path = workflow.results_path(options, name)
        if old is None:
            print(f"{name}: nothing to compare with: {where}")
        elif path.exists():
            print(f"Compared with {where}:")
            print(diff.markdown(diff.compare(old, store.read(path))), end="")


LAB_COMMANDS = (
    Command("matrix", "build, run and classify every cell", _matrix_arguments, _matrix),
    Command("plan", "list the cells without running them", _plan_arguments, _plan),
    Command("merge", "join shard results into one file per scenario", _merge_arguments, _merge),
    Command("render", "print the table of a results file", _render_arguments, _render),
)
