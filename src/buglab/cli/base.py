"""What every subcommand shares: its shape and the context it runs in.

A subcommand is its options class (fields declared once with :mod:`buglab.option`) and a
function that takes the options the command line gave; the parser is derived from the class.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from rich.console import Console

from buglab.errors import UsageError
from buglab.option import add_arguments, from_arguments


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
        self.err.print(text, soft_wrap=True, highlight=False)


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
