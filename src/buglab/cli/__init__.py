"""``buglab`` / ``python -m buglab``: bad input is one line on stderr and exit status 2.

Each subcommand is a :class:`Command` in the module of its group (``lab``: matrix, plan, merge,
render; ``bisect``; ``report``: report, export, diff); this module only parses, finds the
repository and turns errors into one line.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from rich.console import Console

from buglab import __version__
from buglab.cli.base import Command, Context, Parser, printable
from buglab.cli.bisect import BISECT_COMMANDS
from buglab.cli.lab import LAB_COMMANDS
from buglab.cli.report import REPORT_COMMANDS
from buglab.cli.watch import WATCH_COMMANDS
from buglab.errors import BuglabError

COMMANDS: tuple[Command, ...] = (
    *LAB_COMMANDS,
    *BISECT_COMMANDS,
    *REPORT_COMMANDS,
    *WATCH_COMMANDS,
)


def _parser() -> argparse.ArgumentParser:
    parser = Parser(prog="buglab", description="A reproducible bug lab for Python.")
    parser.add_argument("--version", action="version", version=f"buglab {__version__}")
    parser.add_argument(
        "--root",
        type=Path,
        help="the repository holding scenarios/ (default: the nearest one from here upwards)",
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for command in COMMANDS:
        command.arguments(commands.add_parser(command.name, help=command.help))
    return parser


class _Output(Console):
    """Standard output that a reader may leave (``| head``): the rest goes nowhere and the
    command still ends as it would have, with its own exit status."""

    def on_broken_pipe(self) -> None:
        _discard_stdout()


def _discard_stdout() -> None:
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


@contextmanager
def _terminate_as_ctrl_c() -> Iterator[None]:
    """SIGTERM takes Ctrl-C's path at every point of the lab's own work (loading, waiting for a
    lock, writing results), not only while cells run: children killed, exit 130."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: the caller owns the signals
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # an ASCII terminal gets '?' for a symbol, not a crash
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(errors="replace")  # type: ignore[union-attr]
    err = Console(stderr=True)
    out = _Output(width=max(Console().width, 160) if not sys.stdout.isatty() else None)
    try:
        with _terminate_as_ctrl_c():
            args = _parser().parse_args(argv)
            command = next(c for c in COMMANDS if c.name == args.command)
            return command(args, Context(args.root, out, err, dict(os.environ)))
    except BuglabError as exc:
        print(f"buglab: error: {printable(str(exc))}", file=sys.stderr)
        return 2
    except OSError as exc:  # a full disk, a read-only folder, a file where a folder should be
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"buglab: error: {printable(where + (exc.strerror or str(exc)))}", file=sys.stderr)
        return 2
    except RecursionError:
        print("buglab: error: an input nested too deeply to read", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("buglab: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader of a plain print went away (``| head``): not an error of the command's
        _discard_stdout()
        return 0
