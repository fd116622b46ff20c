"""The tools every part of a scenario's validation shares: a checker that names the file, the
key and the bad value in every error, a did-you-mean, and the patterns of names and labels."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from packaging.requirements import InvalidRequirement, Requirement

from buglab.errors import ScenarioError

LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*\Z")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
DIST_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?\Z")
PYTHON_VERSION = re.compile(r"3\.\d{1,2}\Z")

T = TypeVar("T")


def _pairs(cell_id: str) -> dict[str, str]:
    return dict(part.partition("=")[::2] for part in cell_id.split(",") if part)


def which_cell(wanted: str, known: Sequence[str]) -> str:
    """After "no such cell": a hint that never changes a label the user gave.

    The same labels in another order name the cell as its id is written; a label that is no
    value of its axis (or an axis that does not exist) is named with the nearest value; labels
    that are all valid but not complete list the cells that have them all.
    """
    if not known:
        return ""
    given = _pairs(wanted) if all("=" in part for part in wanted.split(",")) else {}
    cells = {cell_id: _pairs(cell_id) for cell_id in known}
    values: dict[str, list[str]] = {}
    for labels in cells.values():
        for axis, label in labels.items():
            values.setdefault(axis, [])
            if label not in values[axis]:
                values[axis].append(label)
    for axis, label in given.items():
        if axis not in values:
            return f" (no axis {axis!r}{_or(did_you_mean(axis, list(values)))})"
        if label not in values[axis]:
            return (
                f" ({label!r} is not a value of {axis!r}: {', '.join(values[axis])}"
                f"{_or(did_you_mean(label, values[axis]))})"
            )
    having = [cell_id for cell_id, labels in cells.items() if given.items() <= labels.items()]
    if given and len(having) == 1 and len(given) == len(cells[having[0]]):
        return f" (did you mean {having[0]!r}? the same labels, in the order of the axes)"
    if given and having:
        shown = ", ".join(repr(c) for c in having[:3])
        more = f" and {len(having) - 3} more" if len(having) > 3 else ""
        return (
            f" (a cell id names every axis; cells with these labels: {shown}{more}; `plan` "
            "lists them)"
        )
    if given:
        return " (no cell has all these labels: the scenario or the selection leaves it out)"
    return f" (a cell id names every axis, like {known[0]!r}; `plan` lists them)"


def _or(hint: str) -> str:
    return f"; {hint[2:-1]}" if hint else ""


def did_you_mean(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


class Checker:
    """Carries the file being checked so that every error names it."""

    def __init__(self, source: Path) -> None:
        self.source = source

    def fail(self, key: str, problem: str) -> ScenarioError:
        return ScenarioError(self.source, key, problem)

    def typed(self, key: str, value: object, kind: type[T], what: str) -> T:
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            hint = quote_hint(key, value) if kind is str else ""
            raise self.fail(key, f"expected {what}, got {show(value)}{hint}")
        return value

    def string(self, key: str, value: object, *, empty: bool = False) -> str:
        text = self.typed(key, value, str, "a string")
        if not empty and not text.strip():
            raise self.fail(key, "must not be empty")
        return text

    def strings(self, key: str, value: object, *, empty: bool = True) -> tuple[str, ...]:
        items = self.typed(key, value, list, "a list of strings")
        if not empty and not items:
            raise self.fail(key, "must not be an empty list")
        return tuple(self.string(f"{key}[{i}]", item) for i, item in enumerate(items))

    def table(self, key: str, value: object) -> dict[str, Any]:
        return self.typed(key, value, dict, "a table")

    def known_keys(self, key: str, table: Mapping[str, object], known: Sequence[str]) -> None:
        for name in table:
            if name not in known:
                where = f"{key}.{name}" if key else name
                raise self.fail(where, f"unknown key{did_you_mean(name, known)}")

    def label(self, key: str, value: object) -> str:
        text = self.string(key, value)
        if not LABEL.match(text):
            raise self.fail(
                key, f"{text!r} is not a valid label (letters, digits and . _ + - only)"
            )
        return text

    def requirement(self, key: str, value: object) -> str:
        text = self.string(key, value)
        try:
            Requirement(text)
        except InvalidRequirement as exc:
            raise self.fail(key, f"invalid requirement {text!r}: {exc}") from None
        return text

    def env_table(self, key: str, value: object) -> tuple[tuple[str, str], ...]:
        variables = []
        for name, item in self.table(key, value).items():
            if not ENV_NAME.match(name):
                raise self.fail(f"{key}.{name}", "is not a valid environment variable name")
            variables.append((name, self.string(f"{key}.{name}", item, empty=True)))
        return tuple(variables)

    def unique(self, key: str, labels: Sequence[str]) -> None:
        seen: set[str] = set()
        for label in labels:
            if label in seen:
                raise self.fail(key, f"value {label!r} appears twice")
            seen.add(label)


def quote_hint(key: str, value: object) -> str:
    """A bare ``3.10`` is the number 3.1 to TOML: say what to write instead."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return ""
    text = repr(value)
    if "python" in key and isinstance(value, float) and text == "3.1":
        return '; quote it: "3.10" (TOML reads an unquoted 3.10 as the number 3.1)'
    if isinstance(value, float):
        return f'; quote it: "{text}" (TOML reads 1.10 as 1.1: always quote versions)'
    return f'; quote it: "{text}"'


def show(value: object) -> str:
    names = {
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        list: "a list",
        dict: "a table",
    }
    kind = names.get(type(value), type(value).__name__)
    text = repr(value)
    return f"{kind} {text if len(text) <= 40 else text[:37] + '...'}"


def python_version(check: Checker, key: str, value: object) -> str:
    text = check.string(key, value)
    if not PYTHON_VERSION.match(text):
        raise check.fail(key, f"{text!r} is not a Python version like '3.12'")
    return text


def package_name(check: Checker, key: str, name: str) -> str:
    if not DIST_NAME.match(name):
        raise check.fail(key, f"{name!r} is not a package name")
    return name


def env_name(check: Checker, key: str, name: str) -> str:
    if not ENV_NAME.match(name):
        raise check.fail(key, f"{name!r} is not a valid environment variable name")
    return name
