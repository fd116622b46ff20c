"""Subcommands that read stored results and run nothing: report, export and diff."""

from __future__ import annotations

import argparse
import os
import shlex
from pathlib import Path

from buglab import (
    comment,
    diff,
    export,
    facts,
    history,
    html,
    model,
    pivot,
    plan,
    repro,
    store,
    templates,
    trigger,
    workflow,
)
from buglab.cli.base import Command, Context, add_only
from buglab.errors import UsageError


def _results_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--results", type=Path, help="results folder (default: ROOT/results)")


def _report_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", help="the scenario whose stored results to report")
    parser.add_argument("--rows", metavar="AXES", help="axes down the table, a,b")
    parser.add_argument("--cols", metavar="AXES", help="axes across the table, a,b")
    add_only(parser)
    parser.add_argument("--template", choices=templates.TEMPLATES, default="generic",
                        help="the bug-report form to fill (default: generic)")  # fmt: skip
    parser.add_argument("--out", type=Path, help="write the comment here (default: stdout)")
    parser.add_argument(
        "--html", type=Path, help="the page (default: beside --out, else results/NAME.html)"
    )
    _results_option(parser)


def gather(
    root: Path,
    name: str,
    results: Path,
    only: tuple[str, ...] = (),
    rows: str | None = None,
    cols: str | None = None,
) -> comment.Source:
    """Everything a report needs, read from the results file and the scenario's folder."""
    (scenario,) = workflow.load_scenarios(root, (name,))
    path = results / f"{name}.json"
    full = store.read(path)
    result = pivot.narrow(full, only) if only else full
    layout = pivot.choose(
        result, pivot.parse_axes(rows, result, "--rows"), pivot.parse_axes(cols, result, "--cols")
    )
    cells = {c.id: c for c in plan.expand(scenario)}
    runnable = [c.id for c in result.cells if c.id in cells and c.resolved]
    shown = facts.representative(result, model.Outcome.REPRODUCED, runnable)
    reproduction = contrast = None
    if shown is not None:
        files = export.read_files(scenario.project)
        reproduction = repro.make(scenario, cells[shown.id], shown, files)
        near = facts.counterpart(result, shown, cells.keys())
        if near is not None:
            contrast = comment.Contrast(
                near,
                tuple(facts.changed_axes(shown, near)),
                _command(cells[near.id], cells[shown.id]),
                cells[near.id].venv == cells[shown.id].venv,
            )
    return comment.Source(
        result=result,
        axes=scenario.axes,
        description=scenario.description,
        links=scenario.links,
        signature=scenario.signature.pattern,
        layout=layout,
        only=only,
        reproduction=reproduction,
        contrast=contrast,
        results_file=_shown_path(path, root),
        project=scenario.project.name,
        found=trigger.find(result),
    )


def _command(cell: model.Cell, beside: model.Cell) -> str:
    """The cell's command line, led by the variables it sets differently from ``beside``'s."""
    theirs = dict(beside.env)
    mine = dict(cell.env)
    changed = [f"{k}={shlex.quote(v)}" for k, v in cell.env if theirs.get(k) != v]
    changed += [f"-u {k}" for k in theirs if k not in mine]
    prefix = ("env " if any(c.startswith("-u") for c in changed) else "") + " ".join(changed)
    return f"{prefix} {shlex.join(cell.argv)}".strip()


def _shown_path(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _report(args: argparse.Namespace, ctx: Context) -> int:
    results = args.results or ctx.root / "results"
    source = gather(ctx.root, args.scenario, results, tuple(args.only), args.rows, args.cols)
    text = templates.render(source, args.template)
    if args.out is not None:
        store.write_atomic(args.out, text)
    else:
        print(text, end="")
    page = args.html or (
        args.out.with_suffix(".html") if args.out else results / f"{args.scenario}.html"
    )
    logs = os.path.relpath(results.resolve(), page.resolve().parent)
    store.write_atomic(page, html.page(source, "" if logs == "." else f"{logs}/"))
    where = f" -> {args.out}" if args.out else ""
    ctx.err.print(
        f"{args.scenario}: comment of {templates.size(text):,} characters (GitHub's limit: "
        f"{templates.LIMIT:,}){where}; page -> {page}",
        highlight=False,
        soft_wrap=True,
    )
    return 0


def _export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario")
    parser.add_argument("--cell", required=True, metavar="ID", help="the cell to export")
    parser.add_argument(
        "--to", type=Path, metavar="DIR", help="the folder (default: exports/SCENARIO/ID)"
    )
    _results_option(parser)


def _export(args: argparse.Namespace, ctx: Context) -> int:
    (scenario,) = workflow.load_scenarios(ctx.root, (args.scenario,))
    results = args.results or ctx.root / "results"
    result = store.read(results / f"{args.scenario}.json")
    reproduction = export.reproduction(scenario, result, args.cell)
    folder = args.to or export.default_folder(args.scenario, args.cell)
    export.write(reproduction, folder)
    ctx.err.print(
        f"{args.scenario}: cell {args.cell} ({reproduction.outcome.value}) -> {folder}; "
        f"run {folder}/setup.sh, then {folder}/run.sh",
        highlight=False,
        soft_wrap=True,
    )
    return 0


Baselines = dict[str, tuple[model.MatrixResult | None, str]]


def baselines(options: workflow.Options) -> Baselines:
    """``matrix --diff``: each scenario's results before the run (as committed, if tracked)."""
    if options.shard:
        raise UsageError("--diff compares whole results files; it does not go with --shard")
    names = [s.name for s in workflow.load_scenarios(options.root, options.names)]
    return {name: history.baseline(workflow.results_path(options, name)) for name in names}


def print_diffs(before: Baselines, options: workflow.Options) -> None:
    """What changed against the baselines, after the run wrote its results."""
    for name, (old, where) in before.items():
        path = workflow.results_path(options, name)
        if old is None:
            print(f"{name}: nothing to compare with: {where}")
        elif path.exists():
            print(f"Compared with {where}:")
            print(diff.markdown(diff.compare(old, store.read(path))), end="")


def _diff_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("old", type=Path, help="the earlier results file")
    parser.add_argument("new", type=Path, help="the later results file")


def _diff(args: argparse.Namespace, ctx: Context) -> int:
    comparison = diff.compare(store.read(args.old), store.read(args.new))
    print(diff.markdown(comparison), end="")
    return 1 if comparison.any else 0


REPORT_COMMANDS = (
    Command("report", "an issue comment (and an HTML page) from stored results",
            _report_arguments, _report),
    Command("export", "one cell as a folder that reproduces it without buglab",
            _export_arguments, _export),
    Command("diff", "the cells whose outcome changed between two results files (exit 1 if any)",
            _diff_arguments, _diff),
)  # fmt: skip
