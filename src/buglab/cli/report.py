"""Subcommands that read stored results and run nothing: report, export and diff."""

from __future__ import annotations

import os

from buglab import model
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
    post,
    templates,
)
from buglab.spec import load_scenarios


def _report(options: ReportOptions, ctx: Context) -> int:
    issue = post.parse_issue(options.post) if options.post else None
    if issue is None and (options.dry_run or options.api_url):
        raise UsageError("--dry-run and --api-url go with --post OWNER/REPO#N")
    api = post.api_url(options.api_url, ctx.caller) if issue else ""
    token = None  # looked for before anything is written: no token is one line
    if issue is not None:
        find = post.find_token if options.dry_run else post.need_token
        token = find(ctx.caller, api)
    results = options.results_dir
    source = gather(
        options.root, options.scenario, results, options.only, options.rows, options.cols
    )
    reserve = len(post.marker(options.scenario)) + 1 if issue else 0
    text = templates.render(source, options.template, reserve)
    if options.out is not None:
        write_atomic(options.out, text)
    elif issue is None:
        print(text, end="")  # plain text already (templates): on a pipe, what --out would hold
    page = options.html or (
        options.out.with_suffix(".html") if options.out else results / f"{options.scenario}.html"
    )
    logs = os.path.relpath(results.resolve(), page.resolve().parent)
    write_atomic(page, html.page(source, "" if logs == "." else f"{logs}/"))
    where = f" -> {options.out}" if options.out else ""
    # what GitHub counts: the body as sent, its hidden marker line included
    sent = post.with_marker(options.scenario, text) if issue else text
    marked = " with its marker" if issue else ""
    ctx.say(
        f"{options.scenario}: comment of {templates.size(sent):,} characters{marked} (GitHub's "
        f"limit: {templates.LIMIT:,}){where}; page -> {page}"
    )
    if issue is not None:
        _post(issue, options.scenario, text, api, token, options.dry_run, ctx)
    return 0


def _post(
    issue: model.IssueRef,
    scenario: str,
    text: str,
    api: str,
    token: post.Token | None,
    dry_run: bool,
    ctx: Context,
) -> post.Posted | None:
    """The comment to ``issue`` (or, with ``dry_run``, the requests that would post it)."""
    if dry_run:
        print(post.dry_run(issue, scenario, text, api, token))
        return None
    assert token is not None
    posted = post.post(issue, scenario, text, api, token)
    said = {"created": "posted", "updated": "updated", "unchanged": "already up to date"}
    ctx.say(f"{scenario}: comment {said[posted.action]} on {issue}: {posted.url}")
    return posted


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
