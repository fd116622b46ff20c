"""``buglab bisect``: the first release (or day) that reproduces a bug, or that fixes it."""

from __future__ import annotations

from buglab.bisect import BisectOptions, answer, answer_path, run_bisect
from buglab.cli.base import Command, Context, printable
from buglab.lab import Interrupted


def _bisect(options: BisectOptions, ctx: Context) -> int:
    def say(line: str) -> None:
        print(printable(line), flush=True)

    try:
        result = run_bisect(options, ctx.caller, say)
    except Interrupted:
        ctx.err.print("interrupted: nothing written")
        return 130
    for line in answer.lines(result)[:-1]:
        say(line)
    say(f"results: {answer_path(options, result.subject)}")
    say(answer.final_line(result))
    return 0 if result.settled else 1


BISECT_COMMANDS = (
    Command(
        "bisect",
        "find the first release or day that reproduces (or fixes) a bug",
        BisectOptions,
        _bisect,
    ),
)
