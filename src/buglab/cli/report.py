"""Subcommands that read stored results and run nothing: report, export and diff."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from buglab.cli.base import Command, Context, add_only

#: the forms ``--template`` fills (buglab.templates.TEMPLATES; named here so that the parser
#: does not import the report engine for every other subcommand)
TEMPLATES = ("generic", "sqlalchemy", "coverage", "pytest")


def _results_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--results", type=Path, help="results folder (default: ROOT/results)")


def _report_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", help="the scenario whose stored results to report")
    parser.add_argument("--rows", metavar="AXES", help="axes down the table, a,b")
    parser.add_argument("--cols", metavar="AXES", help="axes across the table, a,b")
    add_only(parser)
    parser.add_argument("--template", choices=TEMPLATES, default="generic",
                        help="the bug-report form to fill (default: generic)")  # fmt: skip
    parser.add_argument("--out", type=Path, help="write the comment here (default: stdout)")
    parser.add_argument(
        "--html", type=Path, help="the page (default: beside --out, else results/NAME.html)"
    )
    _results_option(parser)


def _report(args: argparse.Namespace, ctx: Context) -> int:
    from buglab import html, store, templates
    from buglab.gather import gather

    results = store.results_folder(ctx.root, args.results)
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
    from buglab import export, store, workflow

    (scenario,) = workflow.load_scenarios(ctx.root, (args.scenario,))
    results = store.results_folder(ctx.root, args.results)
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


def _diff_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("old", type=Path, help="the earlier results file")
    parser.add_argument("new", type=Path, help="the later results file")


def _diff(args: argparse.Namespace, ctx: Context) -> int:
    from buglab import diff, store

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
