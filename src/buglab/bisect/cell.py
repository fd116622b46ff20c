"""Stages 1-4 of a bisection: the one cell it varies (every axis fixed but the bisected one),
and the candidates it searches (releases the cell could install, or days) with their ends. Bad
input stops here, before anything is built."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from buglab import model
from buglab.bisect import candidates
from buglab.bisect.options import BisectOptions
from buglab.bisect.probing import Subject
from buglab.bisect.search import Verdict
from buglab.env import (
    Failed,
    Resolution,
    cutoff_time,
    index,
)
from buglab.errors import UsageError
from buglab.spec import Selection, did_you_mean, expand, select

# -- stage 1-2: the cell ---------------------------------------------------------------------


def check_options(options: BisectOptions) -> None:
    """Flags that cannot work together, or values that cannot be read, before anything else."""
    if options.repeat < 1:
        raise UsageError(f"--repeat {options.repeat}: must be at least 1")
    if options.jobs < 1:
        raise UsageError(f"--jobs {options.jobs}: must be at least 1")
    if options.package is None:
        for flag, given in (
            ("--day", options.day),
            ("--pre", options.pre),
            ("--commits", options.commits),
            ("--then-commits", options.then_commits),
        ):
            if given:
                raise UsageError(f"{flag} belongs to a release bisect (--package NAME)")
    elif options.then_package:
        raise UsageError("--then-package belongs to a date bisect (--date)")
    _check_commit_options(options)
    if options.day == "latest":
        raise UsageError("--day latest: pick the cell's toolchain with --only instead")
    if options.day:
        candidates.parse_day("--day", options.day, options.today)
    for pin in options.hold:
        try:
            held = Requirement(pin)
        except InvalidRequirement:
            held = None
        if held is None or len(held.specifier) != 1 or next(iter(held.specifier)).operator != "==":
            raise UsageError(f"--hold {pin!r}: expected NAME==VERSION, e.g. pytest==8.0.0")
        if options.package and canonicalize_name(held.name) == canonicalize_name(options.package):
            raise UsageError(f"--hold {pin}: {held.name} is the package being bisected")


def _check_commit_options(options: BisectOptions) -> None:
    if options.repo is not None and not (options.commits or options.then_commits):
        raise UsageError("--repo belongs to a commit bisect (--commits or --then-commits)")
    if not options.commits:
        return
    if options.then_commits:
        raise UsageError("--then-commits continues a release bisect; --commits is one already")
    if options.pre:
        raise UsageError("--pre chooses releases; a commit bisect searches commits")
    missing = [
        flag for flag, given in (("--good", options.good), ("--bad", options.bad)) if not given
    ]
    if missing:
        raise UsageError(
            f"--commits: give {' and '.join(missing)} (a release, found as its tag, or a commit)"
        )


def choose_subject(scenario: model.Scenario, options: BisectOptions) -> Subject:
    """The one cell to vary; every axis but the bisected one must be fixed by ``--only``."""
    package = str(canonicalize_name(options.package)) if options.package else None
    free = free_axes(scenario, package, options)
    if package is not None and not free:
        _check_spelling(scenario, package, options.package or "")
    selection = Selection.parse(options.only)
    selection.validate([scenario])
    for name, _ in selection.wanted:
        if name in free and package is not None and options.day:
            raise UsageError(
                f"--only {name}=...: --day {options.day} takes the place of "
                f"{name}; leave one of them out"
            )
        if name in free:
            raise UsageError(
                f"--only {name}=...: {name} is what this bisect varies; leave it "
                "out and give the range with --good/--bad"
            )
    cells = select(expand(scenario), selection)
    if not cells:
        raise UsageError(f"no cell of {scenario.name} matches {' '.join(options.only)}")
    still = []
    for axis in scenario.axes:
        labels = list(dict.fromkeys(c.label_map[axis.name] for c in cells))
        if axis.name not in free and len(labels) > 1:
            still.append(f"{axis.name} ({', '.join(labels)})")
    if still:
        but = f" but {', '.join(free)}" if free else ""
        raise UsageError(
            f"a bisect varies one cell: fix every axis{but} with --only; still "
            f"free: {'; '.join(still)}"
        )
    cell = cells[0]
    dropped = tuple(
        value.payload.requirement
        for axis in scenario.axes
        if axis.name in free
        for value in axis.values
        if value.label == cell.label_map[axis.name] and isinstance(value.payload, model.Version)
    )
    return Subject(scenario, cell, free, package, dropped, options.day, options.hold)


def _check_spelling(scenario: model.Scenario, package: str, given: str) -> None:
    """A name close to, but not, one the scenario names is a typo, not a dependency to find
    in the venv (an unnamed dependency, like pluggy under pytest, is looked for later)."""
    named = [str(canonicalize_name(name)) for name in scenario.shown_packages]
    if package not in named:
        hint = did_you_mean(package, named)
        if hint:
            raise UsageError(f"--package {given!r}: the scenario names no such package{hint}")


def free_axes(
    scenario: model.Scenario, package: str | None, options: BisectOptions
) -> tuple[str, ...]:
    """The axes the bisection sets: the package's version axis, or the date axis."""
    free = []
    for axis in scenario.axes:
        if axis.kind is model.AxisKind.DATE and (package is None or options.day):
            free.append(axis.name)
        elif axis.kind is model.AxisKind.VERSION and package is not None:
            packages = {
                canonicalize_name(v.payload.package)
                for v in axis.values
                if isinstance(v.payload, model.Version)
            }
            if packages == {package}:
                free.append(axis.name)
    return tuple(free)


# -- stage 3-4: candidates and ends ----------------------------------------------------------


@dataclass(frozen=True)
class Range:
    labels: tuple[str, ...]  # the searched candidates, oldest first
    set_aside: tuple[candidates.SetAside, ...]
    oldest: Verdict | None


def release_range(
    subject: Subject, options: BisectOptions, python: Version, index_url: str | None
) -> Range:
    assert subject.package is not None
    found = index.releases(subject.package, index_url)
    if found is None:
        where = index_url or index.PYPI_SIMPLE
        raise UsageError(f"the index cannot be asked about {subject.package} ({where})")
    if not found:
        raise UsageError(f"the index has no release of {subject.package}")
    day = subject.day or subject.cell.venv.date
    cutoff = cutoff_time(day) if day else None
    target = candidates.Target(python, candidates.target_tags(python), cutoff)
    listed = candidates.release_candidates(found, target, options.pre)
    labels = tuple(str(v) for v in listed.versions)
    why = {s.version: s.reason for s in listed.set_aside}
    ends = candidates.choose_ends(labels, options.good, options.bad, why)
    low, high = listed.versions[ends.first], listed.versions[ends.last]
    aside = tuple(s for s in listed.set_aside if low < Version(s.version) < high)
    return Range(labels[ends.first : ends.last + 1], aside, _called(ends.oldest))


def day_range(subject: Subject, options: BisectOptions) -> Range:
    today = options.today
    good = candidates.parse_day("--good", options.good, today) if options.good else None
    bad = candidates.parse_day("--bad", options.bad, today) if options.bad else None
    if good is not None and good == bad:
        raise UsageError(f"--good and --bad are the same day ({good}): give two different days")
    if good is None and bad is None:
        axis_days = sorted(
            p.day
            for a in subject.scenario.axes
            for v in a.values
            if isinstance(p := v.payload, model.Date) and p.day
        )
        if not axis_days:
            raise UsageError("--date: give --good DAY (the scenario has no dated axis to start at)")
        return Range(candidates.days(dt.date.fromisoformat(axis_days[0]), today), (), None)
    given = [d for d in (good, bad) if d is not None]
    if len(given) == 1 and given[0] == today:
        raise UsageError(f"{given[0]} is today, the newest day; give the other end too")
    first, last = min(given), (max(given) if len(given) == 2 else today)
    oldest = "good" if first == good else "bad"
    return Range(candidates.days(first, last), (), _called(oldest))


def _called(word: str | None) -> Verdict | None:
    return Verdict(word) if word else None


def ensure_in_cell(
    subject: Subject, resolve: Callable[[model.VenvSpec], Resolution | Failed] | None
) -> None:
    """A package the cell does not install cannot be bisected: adding it would be another bug."""
    assert subject.package is not None
    spec = subject.cell.venv
    named = {canonicalize_name(Requirement(r).name) for r in spec.requirements}
    if subject.package in named or subject.dropped:
        return
    if resolve is None:
        raise UsageError(f"--package {subject.package}: not among the cell's requirements")
    base = replace(
        spec, date=subject.day or spec.date, requirements=(*spec.requirements, *subject.hold)
    )
    found = resolve(base)
    if isinstance(found, Failed):
        raise UsageError(
            f"cannot tell whether the cell installs {subject.package}: {found.message}"
        )
    if subject.package not in found.names():
        shown = ", ".join(sorted(found.names()))
        raise UsageError(f"--package {subject.package}: the cell does not install it ({shown})")
