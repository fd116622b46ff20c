"""Stage 1: read a ``scenario.toml`` and validate every key into a frozen :class:`Scenario`.

The file is parsed first and checked second, so that every problem is reported with the file,
the dotted key and the offending value, and a misspelt key comes with a did-you-mean.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Optional

from buglab import model
from buglab.errors import ScenarioError, UsageError
from buglab.spec.axes import read_axes
from buglab.spec.checks import (
    DIST_NAME,
    Checker,
    did_you_mean,
    env_name,
    package_name,
    python_version,
    show,
)
from buglab.spec.signature import compile_signature

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib

SCENARIO_FILE = "scenario.toml"
TOP_KEYS = (
    "title",
    "description",
    "links",
    "requirements",
    "command",
    "signature",
    "timeout",
    "python",
    "env",
    "passenv",
    "show",
    "project",
    "axes",
    "exclude",
    "expect",
    "upstream",
)
PROJECT_KEYS = ("name", "files")
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
DEFAULT_TIMEOUT = 120.0
#: checks a scenario's axis values further (that each version exists on the index), raising
#: a ScenarioError: asked before an exclusion or expectation naming no value is blamed, since
#: the typo may be the axis value's (injected by the caller: this module asks no index)
ValuesCheck = Optional[Callable[[model.Scenario], None]]


class UnknownLabel(ScenarioError):
    """An exclusion or expectation names a label its axis does not have."""


def load(path: Path, root: Path, values_check: ValuesCheck = None) -> model.Scenario:
    """Read ``path`` (a scenario.toml) inside repository ``root`` into a validated Scenario."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(path, "", "no such file") from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(path, "", f"not UTF-8 text ({exc.reason})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(path, "", f"invalid TOML: {exc}") from None
    except RecursionError:
        raise ScenarioError(path, "", "nested too deeply to read (arrays or tables)") from None
    try:
        return _validate(raw, path, root, values_check)
    except RecursionError:
        raise ScenarioError(path, "", "nested too deeply to read (arrays or tables)") from None


def _validate(
    raw: dict[str, Any], source: Path, root: Path, values_check: ValuesCheck = None
) -> model.Scenario:
    check = Checker(source)
    check.known_keys("", raw, TOP_KEYS)
    for required in ("title", "description", "command", "signature"):
        if required not in raw:
            raise check.fail(required, "is required")
    axes = read_axes(check, raw.get("axes", {}))
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
    scenario = model.Scenario(
        name=source.parent.name,
        source=source,
        title=_one_line(check, "title", raw["title"]),
        description=check.string("description", raw["description"]),
        links=tuple(
            _link(check, f"links[{i}]", link)
            for i, link in enumerate(check.strings("links", raw.get("links", [])))
        ),
        requirements=tuple(
            check.requirement(f"requirements[{i}]", r)
            for i, r in enumerate(
                check.typed("requirements", raw.get("requirements", []), list, "a list of strings")
            )
        ),
        command=command,
        signature=_signature(check, raw["signature"]),
        timeout=_timeout(check, raw.get("timeout", DEFAULT_TIMEOUT)),
        python=python_version(check, "python", raw["python"]) if "python" in raw else None,
        env=check.env_table("env", raw.get("env", {})),
        passenv=tuple(
            env_name(check, f"passenv[{i}]", n)
            for i, n in enumerate(check.strings("passenv", raw.get("passenv", [])))
        ),
        show=tuple(
            package_name(check, f"show[{i}]", n)
            for i, n in enumerate(check.strings("show", raw.get("show", [])))
        ),
        project=project,
        axes=axes,
        excludes=(),
        expects=(),
        upstream=_upstream(check, raw["upstream"]) if "upstream" in raw else None,
    )
    try:
        excludes = _rules(check, "exclude", raw.get("exclude", []), axes, expect=False)
        expects = _rules(check, "expect", raw.get("expect", []), axes, expect=True)
    except UnknownLabel:
        if values_check is not None:
            values_check(scenario)  # an axis value that does not exist is the typo to fix
        raise
    return replace(scenario, excludes=excludes, expects=expects)


def _upstream(check: Checker, value: object) -> model.IssueRef:
    """``upstream = "owner/repo#123"``: the issue ``watch`` reports to."""
    try:
        return model.IssueRef.parse(check.string("upstream", value))
    except ValueError as exc:
        raise check.fail("upstream", str(exc)) from None


def _link(check: Checker, key: str, text: str) -> str:
    """A link a reader can follow: http(s) only (a ``javascript:`` link would run in the page)."""
    if not re.match(r"https?://[^\s/?#]+\S*\Z", text.strip()):
        raise check.fail(key, f"{text!r} is not an http:// or https:// address")
    return text.strip()


def _one_line(check: Checker, key: str, value: object) -> str:
    text = check.string(key, value)
    if "\n" in text.strip():
        raise check.fail(key, "must be one line")
    return text.strip()


def _signature(check: Checker, value: object) -> model.Signature:
    return compile_signature(check, check.string("signature", value))


def _timeout(check: Checker, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise check.fail("timeout", f"expected a number of seconds, got {show(value)}")
    if not value > 0:
        raise check.fail("timeout", f"must be more than 0 seconds, got {value}")
    return float(value)


def _check_placeholders(
    check: Checker, command: tuple[str, ...], axes: tuple[model.Axis, ...]
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
    check: Checker, value: object, folder: Path, root: Path, *, installed_by: str | None
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
            _inside_repository(check, f"project.files[{i}]", e, folder, root)
            for i, e in enumerate(entries)
        )
    else:
        files = tuple(
            _inside_repository(check, "project.files", p.name, folder, root)
            for p in sorted(folder.iterdir())
            if p.name != SCENARIO_FILE
        )
    names = [f.name for f in files]
    check.unique("project.files", names)
    return model.Project(name=name, root=root, files=files)


def _inside_repository(check: Checker, key: str, entry: str, folder: Path, root: Path) -> Path:
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


# -- exclusions and expectations -------------------------------------------------------------


def _rules(
    check: Checker, section: str, value: object, axes: tuple[model.Axis, ...], *, expect: bool
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
                    raise UnknownLabel(
                        check.source,
                        f"{key}.{name}",
                        f"{shown!r} is not a value of axis {name!r} "
                        f"({', '.join(known)}){did_you_mean(shown, known)}",
                    )
            conditions.append((name, frozenset(labels)))
        reason = check.string(f"{key}.reason", table["reason"]) if "reason" in table else ""
        outcome = None
        if expect:
            outcome = _expected_outcome(check, key, table)
        elif not conditions:
            raise check.fail(key, "an exclusion with no axis would exclude every cell")
        rules.append(model.Rule(tuple(conditions), outcome, reason))
    defaults = [r for r in rules if r.is_default]
    if len(defaults) > 1:
        raise check.fail(section, "more than one default expectation (a rule with no axis keys)")
    return tuple(rules)


def _expected_outcome(check: Checker, key: str, table: Mapping[str, Any]) -> model.Outcome:
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


def load_scenarios(
    root: Path, names: Sequence[str], values_check: ValuesCheck = None
) -> tuple[model.Scenario, ...]:
    folder = root / "scenarios"
    found = {path.name: path for path in discover(folder)}
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise UsageError(f"scenario {twice[0]!r} is named twice")
    for name in names:
        if name not in found:
            raise UsageError(f"no scenario {name!r} in {folder}{did_you_mean(name, list(found))}")
    chosen = names or tuple(found)
    if not chosen:
        raise UsageError(f"no scenarios in {folder}")
    return tuple(load(found[name] / SCENARIO_FILE, root, values_check) for name in chosen)
