"""``buglab bisect``: the first release (or day) that reproduces a bug, or that fixes it."""

from __future__ import annotations

import argparse

from buglab.cli.base import Command, Context, add_only, add_repeat, add_store


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", help="the scenario's name")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--package", metavar="NAME", help="bisect this package's releases")
    what.add_argument(
        "--date", action="store_true", help="bisect days: every package as of each day"
    )
    add_only(parser)
    parser.add_argument("--good", metavar="X", help="a release (or day) that passes")
    parser.add_argument("--bad", metavar="Y", help="a release (or day, or latest) that reproduces")
    parser.add_argument("--pre", action="store_true", help="pre-releases are candidates too")
    parser.add_argument(
        "--day", metavar="DAY", help="release bisect: everything else as of this day"
    )
    parser.add_argument(
        "--hold",
        action="append",
        default=[],
        metavar="NAME==VERSION",
        help="release bisect: keep this package at this version (repeat)",
    )
    parser.add_argument(
        "--then-package",
        action="store_true",
        help="date bisect: when several packages changed that day, bisect each one's releases",
    )
    add_repeat(parser)
    add_store(parser)


def _bisect(args: argparse.Namespace, ctx: Context) -> int:
    # the engine is imported here, not with the parser: other subcommands never pay for it
    from buglab import answer, bisection
    from buglab.execute import Interrupted
    from buglab.search import Found

    options = bisection.Options(
        root=ctx.root,
        scenario=args.scenario,
        package=args.package,
        only=tuple(args.only),
        good=args.good,
        bad=args.bad,
        pre=args.pre,
        repeat=args.repeat,
        day=args.day,
        hold=tuple(args.hold),
        then_package=args.then_package,
        backend=args.backend,
        offline=args.offline,
        results=args.results,
        store=args.store,
    )

    def say(line: str) -> None:
        print(line, flush=True)

    try:
        result = bisection.run_bisect(options, ctx.caller, say)
    except Interrupted:
        ctx.err.print("interrupted: nothing written")
        return 130
    for line in answer.lines(result)[:-1]:
        say(line)
    say(f"results: {bisection.results_path(options, result.subject)}")
    say(answer.final_line(result))
    return 0 if isinstance(result.answer, Found) else 1


BISECT_COMMANDS = (
    Command(
        "bisect",
        "find the first release or day that reproduces (or fixes) a bug",
        _arguments,
        _bisect,
    ),
)
