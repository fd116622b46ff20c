"""What every subcommand shares: its shape and the context it runs in.

A subcommand is its options class (fields declared once with :mod:`buglab.option`) and a
function that takes the options the command line gave; the parser is derived from the class.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from rich.console import Console

from buglab.errors import UsageError
from buglab.option import add_arguments, from_arguments

#: C0 and C1 control characters but newline and tab: what a cell printed (ANSI escapes, a
#: carriage return, a bell) reaches the terminal as text, never as a command to it
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` for a terminal: control characters shown as ``?``."""
    return CONTROL.sub("?", text)


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


@dataclass(frozen=True)
class Context:
    given_root: Path | None  # --root
    out: Console
    err: Console
    caller: Mapping[str, str]  # the caller's environment

    @property
    def root(self) -> Path:
        return (self.given_root or find_root(Path.cwd())).resolve()

    def say(self, text: str) -> None:
        """One line on stderr, never wrapped at the console's width (logs are read later)."""
        self.err.print(printable(text), soft_wrap=True, highlight=False, markup=False)


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    options: type  # a dataclass whose fields declare the command's options
    run: Callable[[Any, Context], int]

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        add_arguments(parser, self.options)

    def __call__(self, args: argparse.Namespace, ctx: Context) -> int:
        fields = {f.name for f in dataclasses.fields(self.options)}
        given = {"root": ctx.root} if "root" in fields else {}
        return self.run(from_arguments(self.options, args, **given), ctx)


def find_root(start: Path) -> Path:
    for folder in (start, *start.parents):
        if (folder / "scenarios").is_dir():
            return folder
    raise UsageError(f"no scenarios/ folder in {start} or above; use --root")
