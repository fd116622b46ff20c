"""Stage 1: read a ``scenario.toml`` and validate every key into a frozen :class:`Scenario`.

The file is parsed first and checked second, so that every problem is reported with the file,
the dotted key and the offending value, and a misspelt key comes with a did-you-mean.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Callable, TypeVar

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from buglab import model
from buglab.errors import ScenarioError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib

SCENARIO_FILE = "scenario.toml"
TOP_KEYS = (
    "title", "description", "links", "requirements", "command", "signature", "timeout",
    "python", "env", "passenv", "show", "project", "axes", "exclude", "expect",
)  # fmt: skip
PROJECT_KEYS = ("name", "files")
AXIS_KEYS = ("kind", "values", "package", "description")
LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*\Z")
AXIS_NAME = re.compile(r"[a-z][a-z0-9_-]*\Z")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
DIST_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?\Z")
PYTHON_VERSION = re.compile(r"3\.\d{1,2}\Z")
ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
INSTALL_MODES = tuple(mode.value for mode in model.InstallMode)
DEFAULT_TIMEOUT = 120.0

T = TypeVar("T")


def did_you_mean(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


class _Checker:
    """Carries the file being checked so that every error names it."""

    def __init__(self, source: Path) -> None:
        self.source = source

    def fail(self, key: str, problem: str) -> ScenarioError:
        return ScenarioError(self.source, key, problem)

    def typed(self, key: str, value: object, kind: type[T], what: str) -> T:
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            hint = _quote_hint(key, value) if kind is str else ""
            raise self.fail(key, f"expected {what}, got {_show(value)}{hint}")
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


def _quote_hint(key: str, value: object) -> str:
    """A bare ``3.10`` is the number 3.1 to TOML: say what to write instead."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return ""
    text = repr(value)
    if "python" in key and isinstance(value, float) and text == "3.1":
        return '; quote it: "3.10" (TOML reads an unquoted 3.10 as the number 3.1)'
    if isinstance(value, float):
        return f'; quote it: "{text}" (TOML reads 1.10 as 1.1: always quote versions)'
    return f'; quote it: "{text}"'


def _show(value: object) -> str:
    names = {str: "a string", bool: "a boolean", int: "an integer", float: "a number",
             list: "a list", dict: "a table"}  # fmt: skip
    kind = names.get(type(value), type(value).__name__)
    text = repr(value)
    return f"{kind} {text if len(text) <= 40 else text[:37] + '...'}"


def load(path: Path, root: Path) -> model.Scenario:
    """Read ``path`` (a scenario.toml) inside repository ``root`` into a validated Scenario."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(path, "", "no such file") from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(path, "", f"not UTF-8 text ({exc.reason})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(path, "", f"invalid TOML: {exc}") from None
    return _validate(raw, path, root)


def _validate(raw: dict[str, Any], source: Path, root: Path) -> model.Scenario:
    check = _Checker(source)
    check.known_keys("", raw, TOP_KEYS)
    for required in ("title", "description", "command", "signature"):
        if required not in raw:
            raise check.fail(required, "is required")
    axes = _axes(check, raw.get("axes", {}))
    command = check.strings("command", raw["command"], empty=False)
    _check_placeholders(check, command, axes)
    install = [a for a in axes if a.kind is model.AxisKind.INSTALL]
    project = _project(
        check,
        raw.get("project", {}),
        source.parent,
        root,
        installed_by=next(
            (
                v.label
                for axis in install
                for v in axis.values
                if isinstance(v.payload, model.Install) and v.payload.mode.installs_project
            ),
            None,
        ),
    )
    return model.Scenario(
        name=source.parent.name,
        source=source,
        title=_one_line(check, "title", raw["title"]),
        description=check.string("description", raw["description"]),
        links=check.strings("links", raw.get("links", [])),
        requirements=tuple(
            check.requirement(f"requirements[{i}]", r)
            for i, r in enumerate(
                check.typed("requirements", raw.get("requirements", []), list, "a list of strings")
            )
        ),
        command=command,
        signature=_signature(check, raw["signature"]),
        timeout=_timeout(check, raw.get("timeout", DEFAULT_TIMEOUT)),
        python=_python(check, "python", raw["python"]) if "python" in raw else None,
        env=check.env_table("env", raw.get("env", {})),
        passenv=tuple(
            _env_name(check, f"passenv[{i}]", n)
            for i, n in enumerate(check.strings("passenv", raw.get("passenv", [])))
        ),
        show=tuple(
            _package(check, f"show[{i}]", n)
            for i, n in enumerate(check.strings("show", raw.get("show", [])))
        ),
        project=project,
        axes=axes,
        excludes=_rules(check, "exclude", raw.get("exclude", []), axes, expect=False),
        expects=_rules(check, "expect", raw.get("expect", []), axes, expect=True),
    )


def _one_line(check: _Checker, key: str, value: object) -> str:
    text = check.string(key, value)
    if "\n" in text.strip():
        raise check.fail(key, "must be one line")
    return text.strip()


def _signature(check: _Checker, value: object) -> re.Pattern[str]:
    text = check.string("signature", value)
    try:
        pattern = re.compile(text, re.MULTILINE)
    except re.error as exc:
        raise check.fail("signature", f"invalid regular expression {text!r}: {exc}") from None
    if pattern.search(""):
        raise check.fail("signature", f"{text!r} matches the empty string, so it matches anything")
    return pattern


def _timeout(check: _Checker, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise check.fail("timeout", f"expected a number of seconds, got {_show(value)}")
    if not value > 0:
        raise check.fail("timeout", f"must be more than 0 seconds, got {value}")
    return float(value)


def _python(check: _Checker, key: str, value: object) -> str:
    text = check.string(key, value)
    if not PYTHON_VERSION.match(text):
        raise check.fail(key, f"{text!r} is not a Python version like '3.12'")
    return text


def _package(check: _Checker, key: str, name: str) -> str:
    if not DIST_NAME.match(name):
        raise check.fail(key, f"{name!r} is not a package name")
    return name


def _env_name(check: _Checker, key: str, name: str) -> str:
    if not ENV_NAME.match(name):
        raise check.fail(key, f"{name!r} is not a valid environment variable name")
    return name


def _check_placeholders(
    check: _Checker, command: tuple[str, ...], axes: tuple[model.Axis, ...]
) -> None:
    flag_axes = [a.name for a in axes if a.kind is model.AxisKind.FLAGS]
    for i, arg in enumerate(command):
        for name in PLACEHOLDER.findall(arg):
            if arg != "{" + name + "}":
                raise check.fail(f"command[{i}]", f"placeholder {arg!r} must be a whole argument")
            if name != "flags" and name not in flag_axes:
                raise check.fail(
                    f"command[{i}]",
                    f"{arg!r} names no flags axis{did_you_mean(name, ['flags', *flag_axes])}",
                )


def _project(
    check: _Checker, value: object, folder: Path, root: Path, *, installed_by: str | None
) -> model.Project:
    table = check.table("project", value)
    check.known_keys("project", table, PROJECT_KEYS)
    name = ""
    if "name" in table:
        name = check.string("project.name", table["name"])
        if not DIST_NAME.match(name):
            raise check.fail("project.name", f"{name!r} is not a valid distribution name")
    elif installed_by is not None:
        raise check.fail("project.name", f"is required when the install axis has {installed_by!r}")
    if "files" in table:
        entries = check.strings("project.files", table["files"], empty=False)
        files = tuple(
            _inside(check, f"project.files[{i}]", e, folder, root) for i, e in enumerate(entries)
        )
    else:
        files = tuple(
            _inside(check, "project.files", p.name, folder, root)
            for p in sorted(folder.iterdir())
            if p.name != SCENARIO_FILE
        )
    names = [f.name for f in files]
    check.unique("project.files", names)
    return model.Project(name=name, root=root, files=files)


def _inside(check: _Checker, key: str, entry: str, folder: Path, root: Path) -> Path:
    """A project file must exist and stay inside the repository, symlinks followed."""
    if Path(entry).is_absolute():
        raise check.fail(key, f"{entry!r} is an absolute path; use a path relative to the scenario")
    path = folder / entry
    real, real_root = path.resolve(), root.resolve()
    if real != real_root and real_root not in real.parents:
        raise check.fail(key, f"{entry!r} leads outside the repository (to {real})")
    if real == real_root:
        raise check.fail(key, f"{entry!r} is the whole repository")
    if not path.exists():
        raise check.fail(key, f"{entry!r} does not exist")
    if path.is_dir():
        for inner in path.rglob("*"):
            if inner.is_symlink() and real_root not in inner.resolve().parents:
                raise check.fail(
                    key, f"{entry!r} holds {inner.name!r}, a link out of the repository"
                )
    return path.resolve() if not path.is_symlink() else real


# -- axes ------------------------------------------------------------------------------------


def _axes(check: _Checker, value: object) -> tuple[model.Axis, ...]:
    axes = []
    kinds = [k.value for k in model.AxisKind]
    for name, body in check.table("axes", value).items():
        key = f"axes.{name}"
        if not AXIS_NAME.match(name):
            raise check.fail(key, "axis names are lower-case letters, digits, '-' and '_'")
        if name == "flags":
            raise check.fail(key, "'flags' is reserved for the {flags} placeholder")
        table = check.table(key, body)
        check.known_keys(key, table, AXIS_KEYS)
        if "kind" not in table:
            raise check.fail(f"{key}.kind", f"is required (one of {', '.join(kinds)})")
        kind_text = check.string(f"{key}.kind", table["kind"])
        if kind_text not in kinds:
            raise check.fail(
                f"{key}.kind", f"unknown kind {kind_text!r}{did_you_mean(kind_text, kinds)}"
            )
        kind = model.AxisKind(kind_text)
        if "description" in table:
            check.string(f"{key}.description", table["description"])
        if "package" in table and kind is not model.AxisKind.VERSION:
            raise check.fail(f"{key}.package", "only a version axis names a package")
        if "values" not in table:
            raise check.fail(f"{key}.values", "is required")
        values = _AXIS_READERS[kind](check, f"{key}.values", table["values"], table, name)
        if not values:
            raise check.fail(f"{key}.values", "an axis needs at least one value")
        check.unique(f"{key}.values", [v.label for v in values])
        axes.append(model.Axis(name=name, kind=kind, values=values))
    for kind in (model.AxisKind.INSTALL, model.AxisKind.DATE, model.AxisKind.PYTHON):
        same = [a.name for a in axes if a.kind is kind]
        if len(same) > 1:
            raise check.fail(f"axes.{same[1]}", f"a second {kind} axis (first: {same[0]!r})")
    packages: dict[str, str] = {}
    for axis in axes:
        for item in axis.values:
            if isinstance(item.payload, model.Version):
                other = packages.setdefault(canonicalize_name(item.payload.package), axis.name)
                if other != axis.name:
                    raise check.fail(
                        f"axes.{axis.name}.package",
                        f"{item.payload.package!r} already has the axis {other!r}",
                    )
    return tuple(axes)


ValuesReader = Callable[
    [_Checker, str, object, Mapping[str, Any], str], tuple[model.AxisValue, ...]
]


def _list_labels(check: _Checker, key: str, value: object) -> list[str]:
    items = check.typed(key, value, list, "a list")
    return [check.label(f"{key}[{i}]", item) for i, item in enumerate(items)]


def _labelled(check: _Checker, key: str, value: object) -> list[tuple[str, str, object]]:
    """A table of label -> payload; returns (label, key of the payload, payload)."""
    table = check.typed(key, value, dict, "a table of label = value")
    return [
        (check.label(f"{key}.{label}", label), f"{key}.{label}", item)
        for label, item in table.items()
    ]


def _install_values(
    check: _Checker, key: str, value: object, _t: Mapping[str, Any], _n: str
) -> tuple[model.AxisValue, ...]:
    out = []
    for i, label in enumerate(_list_labels(check, key, value)):
        if label not in INSTALL_MODES:
            raise check.fail(
                f"{key}[{i}]",
                f"{label!r} is not an install mode "
                f"({', '.join(INSTALL_MODES)}){did_you_mean(label, INSTALL_MODES)}",
            )
        out.append(model.AxisValue(label, model.Install(model.InstallMode(label))))
    return tuple(out)


def _version_values(
    check: _Checker, key: str, value: object, table: Mapping[str, Any], name: str
) -> tuple[model.AxisValue, ...]:
    package = check.string(key.rsplit(".", 1)[0] + ".package", table.get("package", name))
    if not DIST_NAME.match(package):
        raise check.fail(key.rsplit(".", 1)[0] + ".package", f"{package!r} is not a package name")
    if isinstance(value, list):
        pairs = [
            (label, f"{key}[{i}]", _series(check, f"{key}[{i}]", label))
            for i, label in enumerate(_list_labels(check, key, value))
        ]
    else:
        pairs = [
            (label, where, check.string(where, spec))
            for label, where, spec in _labelled(check, key, value)
        ]
    out = []
    for label, where, spec in pairs:
        try:
            SpecifierSet(spec)
        except InvalidSpecifier:
            raise check.fail(where, f"invalid version specifier {spec!r}") from None
        out.append(model.AxisValue(label, model.Version(package, spec)))
    return tuple(out)


def _series(check: _Checker, key: str, label: str) -> str:
    """'1.4' is the newest 1.4.x; '1.4.10' is exactly that release."""
    try:
        version = Version(label)
    except InvalidVersion:
        raise check.fail(
            key, f"{label!r} is not a version; use a table of label = specifier for anything else"
        ) from None
    series = len(version.release) <= 2 and not (
        version.pre or version.post or version.dev or version.local
    )
    return f"=={label}.*" if series else f"=={label}"


def _date_values(
    check: _Checker, key: str, value: object, _t: Mapping[str, Any], _n: str
) -> tuple[model.AxisValue, ...]:
    out = []
    for i, label in enumerate(_list_labels(check, key, value)):
        if label == "latest":
            out.append(model.AxisValue(label, model.Date(None)))
            continue
        try:
            if not ISO_DAY.match(label):
                raise ValueError(label)
            day = dt.date.fromisoformat(label)
        except ValueError:
            raise check.fail(
                f"{key}[{i}]", f"{label!r} is not a date like 2023-12-10 or 'latest'"
            ) from None
        today = dt.datetime.now(dt.timezone.utc).date()
        if day > today:
            raise check.fail(
                f"{key}[{i}]",
                f"{label!r} is in the future (today is {today}, UTC); use 'latest' for today's "
                "toolchain",
            )
        out.append(model.AxisValue(label, model.Date(day.isoformat())))
    return tuple(out)


def _python_values(
    check: _Checker, key: str, value: object, _t: Mapping[str, Any], _n: str
) -> tuple[model.AxisValue, ...]:
    return tuple(
        model.AxisValue(label, model.Python(_python(check, f"{key}[{i}]", label)))
        for i, label in enumerate(_list_labels(check, key, value))
    )


def _requirements_values(
    check: _Checker, key: str, value: object, _t: Mapping[str, Any], _n: str
) -> tuple[model.AxisValue, ...]:
    out = []
    for label, where, item in _labelled(check, key, value):
        items = check.typed(where, item, list, "a list of requirements")
        reqs = tuple(check.requirement(f"{where}[{i}]", r) for i, r in enumerate(items))
        out.append(model.AxisValue(label, model.Requirements(reqs)))
    return tuple(out)


def _flags_values(
    check: _Checker, key: str, value: object, _t: Mapping[str, Any], _n: str
) -> tuple[model.AxisValue, ...]:
    return tuple(
        model.AxisValue(label, model.Flags(check.strings(where, item)))
        for label, where, item in _labelled(check, key, value)
    )


def _env_values(
    check: _Checker, key: str, value: object, _t: Mapping[str, Any], _n: str
) -> tuple[model.AxisValue, ...]:
    return tuple(
        model.AxisValue(label, model.Env(check.env_table(where, item)))
        for label, where, item in _labelled(check, key, value)
    )


_AXIS_READERS: dict[model.AxisKind, ValuesReader] = {
    model.AxisKind.INSTALL: _install_values,
    model.AxisKind.VERSION: _version_values,
    model.AxisKind.DATE: _date_values,
    model.AxisKind.PYTHON: _python_values,
    model.AxisKind.REQUIREMENTS: _requirements_values,
    model.AxisKind.FLAGS: _flags_values,
    model.AxisKind.ENV: _env_values,
}


# -- exclusions and expectations -------------------------------------------------------------


def _rules(
    check: _Checker, section: str, value: object, axes: tuple[model.Axis, ...], *, expect: bool
) -> tuple[model.Rule, ...]:
    items = check.typed(section, value, list, f"an array of tables ([[{section}]])")
    by_name = {a.name: a for a in axes}
    rules = []
    for i, item in enumerate(items):
        key = f"{section}[{i}]"
        table = check.table(key, item)
        extra = ("outcome", "reason") if expect else ("reason",)
        conditions = []
        for name, allowed in table.items():
            if name in extra:
                continue
            if name not in by_name:
                raise check.fail(
                    f"{key}.{name}", f"names no axis{did_you_mean(name, [*by_name, *extra])}"
                )
            labels = [allowed] if isinstance(allowed, str) else allowed
            labels = check.typed(f"{key}.{name}", labels, list, "a label or a list of labels")
            if not labels:
                raise check.fail(f"{key}.{name}", "an empty list matches no cell")
            known = by_name[name].labels
            for label in labels:
                if label not in known:
                    shown = check.string(f"{key}.{name}", label)
                    raise check.fail(
                        f"{key}.{name}",
                        f"{shown!r} is not a value of axis {name!r} "
                        f"({', '.join(known)}){did_you_mean(shown, known)}",
                    )
            conditions.append((name, frozenset(labels)))
        reason = check.string(f"{key}.reason", table["reason"]) if "reason" in table else ""
        outcome = None
        if expect:
            outcome = _outcome(check, key, table)
        elif not conditions:
            raise check.fail(key, "an exclusion with no axis would exclude every cell")
        rules.append(model.Rule(tuple(conditions), outcome, reason))
    defaults = [r for r in rules if r.is_default]
    if len(defaults) > 1:
        raise check.fail(section, "more than one default expectation (a rule with no axis keys)")
    return tuple(rules)


def _outcome(check: _Checker, key: str, table: Mapping[str, Any]) -> model.Outcome:
    if "outcome" not in table:
        raise check.fail(f"{key}.outcome", "is required")
    text = check.string(f"{key}.outcome", table["outcome"])
    names = [o.value for o in model.EXPECTABLE]
    if text not in names:
        raise check.fail(
            f"{key}.outcome",
            f"unknown outcome {text!r} (one of {', '.join(names)}){did_you_mean(text, names)}",
        )
    return model.Outcome(text)


def discover(scenarios_dir: Path) -> tuple[Path, ...]:
    """Every scenario folder, in name order so that runs do not depend on the filesystem."""
    if not scenarios_dir.is_dir():
        return ()
    return tuple(sorted(p for p in scenarios_dir.iterdir() if (p / SCENARIO_FILE).is_file()))
