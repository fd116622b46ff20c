"""What every subcommand shares: its shape, the context it runs in, common options."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NoReturn

from rich.console import Console

from buglab.errors import UsageError


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


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, Context], int]


def find_root(start: Path) -> Path:
    for folder in (start, *start.parents):
        if (folder / "scenarios").is_dir():
            return folder
    raise UsageError(f"no scenarios/ folder in {start} or above; use --root")


def add_only(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="AXIS=VALUE",
        help="keep cells with this value (repeat; a,b for either)",
    )


def add_store(parser: argparse.ArgumentParser) -> None:
    """Where venvs and results live, and how venvs are built."""
    parser.add_argument(
        "--backend",
        choices=["uv", "virtualenv"],
        help="how venvs are built (default: uv when installed)",
    )
    parser.add_argument("--offline", action="store_true", help="install from the cache only")
    parser.add_argument("--results", type=Path, help="results folder (default: ROOT/results)")
    parser.add_argument("--store", type=Path, help="venv store (default: ROOT/.buglab)")
    parser.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=os.cpu_count() or 1,
        help="processes at once (default: the CPU count)",
    )


def add_repeat(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help="run each cell N times; runs that disagree make it flaky",
    )
