"""Stage 1, the axes: each kind of axis reads its values into frozen payloads."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any, Callable

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from buglab import model
from buglab.spec.checks import DIST_NAME, Checker, did_you_mean, python_version

AXIS_KEYS = ("kind", "values", "package", "description")
AXIS_NAME = re.compile(r"[a-z][a-z0-9_-]*\Z")
ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
INSTALL_MODES = tuple(mode.value for mode in model.InstallMode)


def read_axes(check: Checker, value: object) -> tuple[model.Axis, ...]:
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


ValuesReader = Callable[[Checker, str, object, Mapping[str, Any], str], tuple[model.AxisValue, ...]]


def _list_labels(check: Checker, key: str, value: object) -> list[str]:
    items = check.typed(key, value, list, "a list")
    return [check.label(f"{key}[{i}]", item) for i, item in enumerate(items)]


def _labelled(check: Checker, key: str, value: object) -> list[tuple[str, str, object]]:
    """A table of label -> payload; returns (label, key of the payload, payload)."""
    table = check.typed(key, value, dict, "a table of label = value")
    return [
        (check.label(f"{key}.{label}", label), f"{key}.{label}", item)
        for label, item in table.items()
    ]


def _install_values(
    check: Checker, key: str, value: object, _t: Mapping[str, Any], _n: str
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
    check: Checker, key: str, value: object, table: Mapping[str, Any], name: str
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


#: the one spelling of a version axis value that pins nothing: whatever the resolver picks
UNPINNED = "unpinned"


def _series(check: Checker, key: str, label: str) -> str:
    """'1.4' is the newest 1.4.x; '1.4.10' is exactly that release; 'unpinned' is no pin."""
    if label == UNPINNED:
        return ""
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
    check: Checker, key: str, value: object, _t: Mapping[str, Any], _n: str
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
    check: Checker, key: str, value: object, _t: Mapping[str, Any], _n: str
) -> tuple[model.AxisValue, ...]:
    return tuple(
        model.AxisValue(label, model.Python(python_version(check, f"{key}[{i}]", label)))
        for i, label in enumerate(_list_labels(check, key, value))
    )


def _requirements_values(
    check: Checker, key: str, value: object, _t: Mapping[str, Any], _n: str
) -> tuple[model.AxisValue, ...]:
    out = []
    for label, where, item in _labelled(check, key, value):
        items = check.typed(where, item, list, "a list of requirements")
        reqs = tuple(check.requirement(f"{where}[{i}]", r) for i, r in enumerate(items))
        out.append(model.AxisValue(label, model.Requirements(reqs)))
    return tuple(out)


def _flags_values(
    check: Checker, key: str, value: object, _t: Mapping[str, Any], _n: str
) -> tuple[model.AxisValue, ...]:
    return tuple(
        model.AxisValue(label, model.Flags(check.strings(where, item)))
        for label, where, item in _labelled(check, key, value)
    )


def _env_values(
    check: Checker, key: str, value: object, _t: Mapping[str, Any], _n: str
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
