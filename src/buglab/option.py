"""Each command-line option declared once: a dataclass field that carries its flag and help.

A wing declares the options it consumes as fields of a frozen dataclass (``flag(...)`` or
``positional(...)``); the command line is derived from them: the parser (:func:`add_arguments`),
the value (:func:`from_arguments`) and the way back to a command line (:func:`to_argv`), which
is how a follow-up command is printed in the form the user ran. Adding an option touches one
place. Fields without a flag (the repository root, today's date) are given by the caller.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

KEY = "buglab.option"
T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Spec:
    """What a field says about itself on the command line."""

    flags: tuple[str, ...]  # () for a positional argument
    help: str
    argparse: dict[str, Any]
    forward: bool  # written back by to_argv
    exclusive: str = ""  # options of one exclusive group: at most one, exactly one if required
    required: bool = False

    @property
    def repeated(self) -> bool:
        return self.argparse.get("action") == "append" or self.argparse.get("nargs") in ("*", "+")


def flag(
    *flags: str,
    help: str,
    default: Any = None,
    forward: bool = True,
    exclusive: str = "",
    required: bool = False,
    **kw: Any,
) -> Any:
    """An option: ``--name VALUE``, ``--name`` (``action="store_true"``) or repeated
    (``action="append"``, read as a tuple). Options that name the same ``exclusive`` group
    exclude each other; with ``required``, one of them must be given."""
    spec = Spec(flags, help, kw, forward, exclusive, required)
    return dataclasses.field(default=() if spec.repeated else default, metadata={KEY: spec})


def positional(help: str, default: Any = "", required: bool = False, **kw: Any) -> Any:
    """An argument by position; ``required`` ones still need a default in the dataclass (they
    follow fields with defaults), which the command line never leaves them at."""
    spec = Spec((), help, kw, True, required=required)
    return dataclasses.field(default=() if spec.repeated else default, metadata={KEY: spec})


def _specs(cls: type) -> list[tuple[dataclasses.Field[Any], Spec]]:
    """The options of ``cls``, its own first (a command's options before the shared ones), each
    class's in the order they are declared."""

    def depth(f: dataclasses.Field[Any]) -> int:
        return next(
            i for i, c in enumerate(cls.__mro__) if f.name in vars(c).get("__annotations__", {})
        )

    found = [f for f in dataclasses.fields(cls) if KEY in f.metadata]
    return [(f, f.metadata[KEY]) for f in sorted(found, key=depth)]


def add_arguments(parser: argparse.ArgumentParser, cls: type) -> None:
    """Positionals first, then the flags, each once, in the order the fields are declared."""
    specs = _specs(cls)
    groups: dict[str, Any] = {}
    for f, spec in sorted(specs, key=lambda item: bool(item[1].flags)):
        kw = dict(spec.argparse)
        if spec.flags:
            kw.setdefault("default", None if spec.repeated else f.default)
            where: Any = parser
            if spec.exclusive and spec.exclusive not in groups:
                required = any(s.required for _, s in specs if s.exclusive == spec.exclusive)
                groups[spec.exclusive] = parser.add_mutually_exclusive_group(required=required)
            if spec.exclusive:
                where = groups[spec.exclusive]
            where.add_argument(*spec.flags, dest=f.name, help=spec.help, **kw)
        else:
            if not spec.repeated and not spec.required:
                kw.setdefault("nargs", "?")
            parser.add_argument(f.name, help=spec.help, **kw)


def from_arguments(cls: type[T], namespace: argparse.Namespace, **given: Any) -> T:
    """The options the command line gave; lists become tuples, an unused repeat its default."""
    values = dict(given)
    for f, spec in _specs(cls):
        value = getattr(namespace, f.name, None)
        if spec.repeated:
            value = tuple(value) if value else ()
        elif value is None and f.default is not dataclasses.MISSING:
            value = f.default
        values[f.name] = value
    return cls(**values)


def to_argv(options: object) -> list[str]:
    """The command line that gives ``options``: every option that differs from its default."""
    assert dataclasses.is_dataclass(options)
    argv: list[str] = []
    flags: list[str] = []
    for f, spec in _specs(type(options)):
        value = getattr(options, f.name)
        if not spec.forward or value == f.default:
            continue
        if not spec.flags:
            argv += [str(v) for v in value] if spec.repeated else [str(value)]
        elif spec.argparse.get("action") == "store_true":
            flags.append(spec.flags[0])
        elif spec.repeated:
            flags += [part for item in value for part in (spec.flags[0], _text(item))]
        else:
            flags += [spec.flags[0], _text(value)]
    return argv + flags


def _text(value: object) -> str:
    return value.as_posix() if isinstance(value, Path) else str(value)


#: set by the noxfile to the session that started the lab (``os.environ``)
FRONT_DOOR = "BUGLAB_FRONT_DOOR"
#: subcommands with a nox session of their own; the others go through ``-s lab``
SESSIONS = ("matrix", "bisect", "report")


def command_line(
    subcommand: str, argv: Sequence[str], caller: Mapping[str, str], program: str = ""
) -> tuple[str, ...]:
    """A follow-up command in the form the user ran: the nox front door when a nox session
    started the lab, ``buglab ...`` when the ``buglab`` script did, else ``python -m buglab``."""
    if caller.get(FRONT_DOOR):
        if subcommand in SESSIONS:
            return ("python3", "-m", "nox", "-s", subcommand, "--", *argv)
        return ("python3", "-m", "nox", "-s", "lab", "--", subcommand, *argv)
    if Path(program or sys.argv[0]).name == "buglab":
        return ("buglab", subcommand, *argv)
    return ("python", "-m", "buglab", subcommand, *argv)
