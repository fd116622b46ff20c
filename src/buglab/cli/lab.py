"""The lab's own subcommands: matrix, plan, merge and render."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from buglab.cli.base import Command, Context, printable
from buglab.lab import Located, MatrixOptions, make_plans, only, render, results_path, run_matrix
from buglab.lab import store as results_store
from buglab.option import flag, positional
from buglab.spec import Shard, load_scenarios, shard, venv_groups


@dataclass(frozen=True)
class PlanOptions:
    root: Path
    names: tuple[str, ...] = positional("scenario names (default: all)", nargs="*")
    only: tuple[str, ...] = only()
    json: bool = flag(
        "--json", action="store_true", default=False, help="GitHub Actions strategy.matrix shape"
    )
    shards: int = flag(
        "--shards",
        type=int,
        default=0,
        metavar="N",
        help="with --json: list N shards instead of cells",
    )


@dataclass(frozen=True)
class MergeOptions(Located):
    files: tuple[Path, ...] = positional("shard results files", nargs="+", type=Path)


@dataclass(frozen=True)
class RenderOptions:
    files: tuple[Path, ...] = positional("results files", nargs="+", type=Path)
    markdown: bool = flag(
        "--markdown", action="store_true", default=False, help="markdown instead of a table"
    )


@contextmanager
def _progress(console: Console, enabled: bool) -> Iterator[Callable[[int, int], None]]:
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


def _matrix(options: MatrixOptions, ctx: Context) -> int:
    before = None
    if options.diff:
        from buglab.report import history  # only when asked for

        before = history.baselines(options)
    with _progress(ctx.err, not options.quiet) as progress:
        report = run_matrix(options, ctx.caller, ctx.say, progress)
    for result in report.results:
        if not options.quiet and any(cell.ran for cell in result.cells):
            ctx.out.print(render.terminal(result))
        path = results_path(options, result.scenario)
        ctx.say(f"{result.scenario}: {render.summary(result)} -> {path}")
    if before is not None:
        from buglab.report import history

        for line in history.changes_since(before, options):
            print(printable(line), end="")
    if report.interrupted:
        ctx.say(
            "interrupted: cells that did not run are not-run here; the results files keep "
            "their earlier outcome (marked † with its date) or stay as they were"
        )
    return report.exit_code


def _plan(options: PlanOptions, ctx: Context) -> int:
    scenarios = load_scenarios(options.root, options.names)
    plans = make_plans(scenarios, options.only, None)
    if options.json:
        if options.shards:
            everything = [c for p in plans for c in p.cells]
            include = [
                {
                    "shard": f"{k}/{options.shards}",
                    "cells": len(shard(everything, Shard(k, options.shards))),
                }
                for k in range(1, options.shards + 1)
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
                for group in venv_groups(p.cells)
            ]
        print(json.dumps({"include": include}))
        return 0
    for p in plans:
        groups = venv_groups(p.cells)
        ctx.out.print(f"{p.scenario.name}: {len(p.cells)} cells in {len(groups)} venvs")
        for cell in p.cells:
            expected = cell.expected.value if cell.expected else "-"
            # never wrapped: an id is copied into --cell whole, however long its labels
            ctx.out.print(
                f"  {cell.id}  [dim]expect {expected}[/dim]", highlight=False, soft_wrap=True
            )
    return 0


def _merge(options: MergeOptions, ctx: Context) -> int:
    merged = results_store.merge(results_store.read(path) for path in options.files)
    for result in merged:
        path = options.results_dir / f"{result.scenario}.json"
        results_store.write(result, path, render.markdown(result))
        ctx.say(f"{result.scenario}: {render.summary(result)} -> {path}")
    return 1 if any(r.contradictions for r in merged) else 0


def _render(options: RenderOptions, ctx: Context) -> int:
    for path in options.files:
        result = results_store.read(path)
        if options.markdown:
            print(printable(render.markdown(result)))
        else:
            ctx.out.print(render.terminal(result))
    return 0


LAB_COMMANDS = (
    Command("matrix", "build, run and classify every cell", MatrixOptions, _matrix),
    Command("plan", "list the cells without running them", PlanOptions, _plan),
    Command("merge", "join shard results into one file per scenario", MergeOptions, _merge),
    Command("render", "print the table of a results file", RenderOptions, _render),
)
