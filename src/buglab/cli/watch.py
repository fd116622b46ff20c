"""``buglab watch``: is it fixed yet? Every scenario that names its upstream issue is run again on
today's toolchain; when a cell flips against what was recorded, the date bisect that explains
it runs on its own, and the lab's comment on the issue is posted or updated with the flip, the
bisect's answer and the new table.

This command strings together the matrix (lab), the bisect and the report: the one place that
uses both bisect and report, through their faces. Exit status: 0 nothing changed, 1 flipped and
reported, 2 could not report (or bad input), 130 interrupted.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shlex
from dataclasses import dataclass
from typing import Any

from buglab import model
from buglab.bisect import BisectOptions, answer, answer_path, run_bisect
from buglab.cli.base import Command, Context
from buglab.cli.lab import _progress
from buglab.errors import BuglabError, UsageError
from buglab.lab import Interrupted, MatrixOptions, RunOptions, run_matrix
from buglab.option import flag, positional
from buglab.report import Posting, gather, history, post, templates, watch
from buglab.spec import load_scenarios

NOTHING_CHANGED, REPORTED, NOT_REPORTED, INTERRUPTED = 0, 1, 2, 130
#: the lines of a bisect's answer that say what changed, for the comment
TOLD = ("changed between", "culprit:", "then ", "to settle ")


@dataclass(frozen=True)
class WatchOptions(RunOptions, Posting):
    names: tuple[str, ...] = positional(
        "scenarios to watch (default: every one that names its upstream issue)", nargs="*"
    )
    no_bisect: bool = flag(
        "--no-bisect",
        action="store_true",
        default=False,
        help="report a flip without bisecting it",
    )
    quiet: bool = flag("--quiet", "-q", action="store_true", default=False, help="no progress")


def _watched(options: WatchOptions) -> tuple[model.Scenario, ...]:
    scenarios = load_scenarios(options.root, options.names)
    if options.names:
        for scenario in scenarios:
            if scenario.upstream is None:
                raise UsageError(
                    f"{scenario.name} names no upstream issue: add upstream = "
                    f'"OWNER/REPO#N" to {scenario.source}'
                )
    return tuple(s for s in scenarios if s.upstream is not None)


def _watch(options: WatchOptions, ctx: Context) -> int:
    watched = _watched(options)
    if not watched:
        ctx.say(
            'watch: no scenario names its upstream issue (upstream = "OWNER/REPO#N" in its '
            "scenario.toml); nothing to watch"
        )
        return NOTHING_CHANGED
    api = post.api_url(options.api_url, ctx.caller)
    token = None
    if not options.dry_run:
        # a token that does not work, or an issue it cannot see, is one line now, not after
        # minutes of runs
        token = post.need_token(ctx.caller, api)
        github = post.GitHub(api, token)
        for scenario in watched:
            assert scenario.upstream is not None
            github.find(scenario.upstream, post.marker(scenario.name))
    before = {s.name: history.baseline(options.results_dir / f"{s.name}.json")[0] for s in watched}
    matrix = MatrixOptions(**_shared(options, RunOptions), names=tuple(s.name for s in watched))
    try:
        with _progress(ctx.err, not options.quiet) as progress:
            ran = run_matrix(matrix, ctx.caller, ctx.say, progress)
    except Interrupted:
        ran = None
    if ran is None or ran.interrupted:
        ctx.say("interrupted: nothing reported")
        return INTERRUPTED
    status = NOTHING_CHANGED
    for result in ran.results:
        found = watch.compare(result, before[result.scenario])
        ctx.say(watch.summary(found))
        if found.unmeasured:
            status = NOT_REPORTED
        if not found.flips:
            continue
        (scenario,) = (s for s in watched if s.name == result.scenario)
        try:
            explained = _explain(found, before[result.scenario], options, ctx)
        except Interrupted:
            ctx.say("interrupted: nothing reported")
            return INTERRUPTED
        if _report(scenario, found, explained, api, token, options, ctx):
            status = max(status, REPORTED)
        else:
            status = NOT_REPORTED
    return status


def _shared(options: object, cls: type) -> dict[str, Any]:
    """The fields of ``cls`` (a base of ``options``' class) as ``options`` has them."""
    return {f.name: getattr(options, f.name) for f in dataclasses.fields(cls)}


def _explain(
    found: watch.Watched,
    last: model.MatrixResult | None,
    options: WatchOptions,
    ctx: Context,
) -> tuple[watch.Explanation, ...]:
    """A date bisect for one cell of each kind of flip, and, when several packages changed on
    the day it names, the release bisects that tell which one it was."""
    if options.no_bisect:
        return ()
    explained = []
    today = dt.datetime.now(dt.timezone.utc).date()
    for flip in watch.to_bisect(found.flips):
        days = watch.date_range(flip, found.result, last, today.isoformat())
        if isinstance(days, watch.NotBisected):
            ctx.say(f"{found.result.scenario}: {flip.cell.id}: not bisected: {days.reason}")
            explained.append(watch.Explanation(flip.cell.id, reason=days.reason))
            continue
        explained.append(_bisect(found.result.scenario, days, today, options, ctx))
    return tuple(explained)


def _bisect(
    scenario: str, days: watch.DateRange, today: dt.date, options: WatchOptions, ctx: Context
) -> watch.Explanation:
    asked = BisectOptions(
        **_shared(options, RunOptions),
        scenario=scenario,
        date=True,
        only=days.only,
        good=days.good,
        bad=days.bad,
        then_package=True,
        today=today,
    )
    ctx.say(f"{scenario}: bisecting {days.cell}: {days.evidence}, today it does not")
    try:
        done = run_bisect(asked, ctx.caller, ctx.say)
    except BuglabError as exc:
        ctx.say(f"{scenario}: the bisect of {days.cell} could not run: {exc}")
        return watch.Explanation(days.cell, reason=f"the bisect could not run: {exc}")
    lines = answer.lines(done)
    ctx.say(f"{scenario}: {days.cell}: {lines[-1]}")
    paragraph = answer_path(asked, done.subject).with_suffix(".md")
    return watch.Explanation(
        days.cell,
        command=shlex.join(done.argv),
        answer=lines[-1],
        details=tuple(line for line in lines[:-1] if line.startswith(TOLD)),
        paragraph=paragraph.read_text(encoding="utf-8") if paragraph.is_file() else "",
    )


def _report(
    scenario: model.Scenario,
    found: watch.Watched,
    explained: tuple[watch.Explanation, ...],
    api: str,
    token: post.Token | None,
    options: WatchOptions,
    ctx: Context,
) -> bool:
    """The watch's findings above the new report, on the scenario's issue; False when it could
    not be posted (said in one line)."""
    assert scenario.upstream is not None
    top = watch.section(found, explained)
    source = gather(options.root, scenario.name, options.results_dir)
    reserve = templates.size(top) + len(post.marker(scenario.name)) + 1
    text = top + templates.render(source, "generic", reserve)
    if options.dry_run:
        print(post.dry_run(scenario.upstream, scenario.name, text, api, token))
        return True
    assert token is not None
    try:
        posted = post.post(scenario.upstream, scenario.name, text, api, token)
    except post.PostError as exc:
        ctx.say(f"{scenario.name}: could not report to {scenario.upstream}: {exc}")
        return False
    said = {"created": "posted", "updated": "updated", "unchanged": "already up to date"}
    ctx.say(f"{scenario.name}: comment {said[posted.action]} on {scenario.upstream}: {posted.url}")
    return True


WATCH_COMMANDS = (
    Command(
        "watch",
        "run the scenarios that name an upstream issue again; report a flip there "
        "(exit 0 nothing changed, 1 flipped and reported, 2 could not report)",
        WatchOptions,
        _watch,
    ),
)
