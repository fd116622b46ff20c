"""Subcommands that read stored results and run nothing: report, export and diff."""

from __future__ import annotations

import os

from buglab.cli.base import Command, Context, printable
from buglab.errors import UsageError
from buglab.files import write_atomic
from buglab.lab import store
from buglab.report import (
    DiffOptions,
    ExportOptions,
    ReportOptions,
    diff,
    export,
    gather,
    html,
    templates,
)
from buglab.spec import load_scenarios


def _report(options: ReportOptions, ctx: Context) -> int:
    results = options.results_dir
    source = gather(
        options.root, options.scenario, results, options.only, options.rows, options.cols
    )
    text = templates.render(source, options.template)
    if options.out is not None:
        write_atomic(options.out, text)
    else:
        print(printable(text), end="")
    page = options.html or (
        options.out.with_suffix(".html") if options.out else results / f"{options.scenario}.html"
    )
    logs = os.path.relpath(results.resolve(), page.resolve().parent)
    write_atomic(page, html.page(source, "" if logs == "." else f"{logs}/"))
    where = f" -> {options.out}" if options.out else ""
    ctx.say(
        f"{options.scenario}: comment of {templates.size(text):,} characters (GitHub's limit: "
        f"{templates.LIMIT:,}){where}; page -> {page}"
    )
    return 0


def _export(options: ExportOptions, ctx: Context) -> int:
    (scenario,) = load_scenarios(options.root, (options.scenario,))
    result = store.read(options.results_dir / f"{options.scenario}.json")
    reproduction = export.reproduction(scenario, result, options.cell)
    folder = options.to or export.default_folder(options.scenario, options.cell)
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        what = "a symbolic link" if folder.is_symlink() else "a file"
        raise UsageError(f"--to {folder}: {what}, not a folder; name a new or an existing folder")
    export.write_folder(reproduction, folder)
    ctx.say(
        f"{options.scenario}: cell {options.cell} ({reproduction.outcome.value}) -> {folder}; "
        f"run {folder}/setup.sh, then {folder}/run.sh"
    )
    return 0


def _diff(options: DiffOptions, ctx: Context) -> int:
    comparison = diff.compare(store.read(options.old), store.read(options.new))
    print(printable(diff.changes_markdown(comparison)), end="")
    return 1 if comparison.any else 0


REPORT_COMMANDS = (
    Command(
        "report", "an issue comment (and an HTML page) from stored results", ReportOptions, _report
    ),
    Command(
        "export", "one cell as a folder that reproduces it without buglab", ExportOptions, _export
    ),
    Command(
        "diff",
        "the cells whose outcome changed between two results files (exit 1 if any)",
        DiffOptions,
        _diff,
    ),
)
