"""What a bisection may probe: releases a cell could install, or days. Pure once the index
has answered (the caller passes the releases and the target interpreter's wheel tags).

A release is a candidate when one of its files, uploaded before the cell's toolchain cutoff,
is not yanked, admits the cell's Python (``requires-python``) and is an sdist or a wheel whose
tags the interpreter accepts. Everything else is set aside with the reason, so that the answer
can say what was not probed and why.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from packaging import tags
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from buglab.env import Dist, Release
from buglab.errors import UsageError
from buglab.spec import did_you_mean

NEAREST = 3  # candidates shown either side of a --good/--bad that is not one


@dataclass(frozen=True)
class Target:
    """The interpreter and toolchain date a release must suit."""

    python: Version  # e.g. 3.11.7
    tags: frozenset[tags.Tag]
    cutoff: dt.datetime | None = None  # files uploaded at or after it do not exist yet


def target_tags(python: Version) -> frozenset[tags.Tag]:
    """The wheel tags a CPython of that version accepts on this machine."""
    version = (python.major, python.minor)
    platforms = list(tags.platform_tags())
    found = [
        *tags.cpython_tags(version, platforms=platforms),
        *tags.compatible_tags(version, f"cp{python.major}{python.minor}", platforms),
    ]
    return frozenset(found)


@dataclass(frozen=True)
class SetAside:
    version: str
    reason: str


@dataclass(frozen=True)
class Releases:
    """Candidates oldest first, and the releases set aside, each with its reason."""

    versions: tuple[Version, ...]
    set_aside: tuple[SetAside, ...]

    def yanked(self) -> tuple[SetAside, ...]:
        return tuple(s for s in self.set_aside if s.reason.startswith("yanked"))


def unusable(dist: Dist, target: Target) -> str:
    """Why this file cannot serve the target; "" when it can."""
    if target.cutoff is not None and dist.uploaded is not None and dist.uploaded >= target.cutoff:
        return "released after the toolchain date"
    if dist.requires_python:
        try:
            if not SpecifierSet(dist.requires_python).contains(target.python, prereleases=True):
                return f"requires Python {dist.requires_python}"
        except InvalidSpecifier:
            pass  # installers ignore a broken requires-python too
    if dist.is_sdist:
        return ""
    try:
        _, _, _, wheel_tags = parse_wheel_filename(dist.filename)
    except (InvalidWheelFilename, InvalidVersion):
        return "no usable file"
    return "" if wheel_tags & target.tags else f"no wheel for Python {target.python} here"


def why_not(release: Release, target: Target) -> str:
    """Why a release is not a candidate; "" when it is."""
    if not release.files:
        return "no files on the index"
    why = {f: unusable(f, target) for f in release.files}
    live = [f for f, reason in why.items() if not reason]
    if live and all(f.yanked is not None for f in live):
        reason = live[0].yanked
        return f"yanked ({reason})" if reason else "yanked"
    if live:
        return ""
    reasons = set(why.values())
    return reasons.pop() if len(reasons) == 1 else f"no file installable on Python {target.python}"


def release_candidates(releases: Sequence[Release], target: Target, pre: bool) -> Releases:
    versions: list[Version] = []
    aside: list[SetAside] = []
    for release in sorted(releases, key=lambda r: r.version):
        if release.version.is_prerelease and not pre:
            aside.append(SetAside(str(release.version), "a pre-release (--pre takes them)"))
            continue
        reason = why_not(release, target)
        if reason:
            aside.append(SetAside(str(release.version), reason))
        else:
            versions.append(release.version)
    return Releases(tuple(versions), tuple(aside))


@dataclass(frozen=True)
class Ends:
    """The slice of candidates to search, and what its oldest end was called (None: unknown)."""

    first: int
    last: int
    oldest: str | None  # "good", "bad" or None


def choose_ends(
    labels: Sequence[str], good: str | None, bad: str | None, describe: dict[str, str]
) -> Ends:
    """Turn ``--good``/``--bad`` into candidate positions; either order; one line on bad input.

    ``labels`` are the candidates as the user writes them, oldest first; ``describe`` says why a
    value that is not a candidate was set aside (yanked, too new, no file for this Python).
    With neither, the whole list; with one, it and the newest candidate.
    """
    if not labels:
        raise UsageError("no candidates to bisect")
    if good is not None and good == bad:
        raise UsageError(f"--good and --bad are both {good!r}: give two different ends")
    positions = {label: i for i, label in enumerate(labels)}
    found = {}
    for flag, value in (("--good", good), ("--bad", bad)):
        if value is None:
            continue
        at = positions.get(value, _same_version(value, labels))
        if at is None:
            raise UsageError(_not_a_candidate(flag, value, labels, describe))
        found[flag] = at
    if len(found) == 2 and found["--good"] == found["--bad"]:
        raise UsageError(f"--good {good} and --bad {bad} are the same release")
    if not found:
        return Ends(0, len(labels) - 1, None)
    if len(found) == 1:
        flag, at = next(iter(found.items()))
        if at == len(labels) - 1:
            raise UsageError(
                f"{flag} {labels[at]}: it is the newest candidate; give the other end too"
            )
        named = "good" if flag == "--good" else "bad"
        return Ends(at, len(labels) - 1, named)
    g, b = found["--good"], found["--bad"]
    return Ends(min(g, b), max(g, b), "good" if g < b else "bad")


def _not_a_candidate(flag: str, value: str, labels: Sequence[str], describe: dict[str, str]) -> str:
    if value in describe:
        return f"{flag} {value}: not a candidate here: {describe[value]}"
    try:
        wanted: Version | None = Version(value)
    except InvalidVersion:
        wanted = None
    if wanted is not None and wanted.public in describe:
        return f"{flag} {value}: not a candidate here: {describe[wanted.public]}"
    if wanted is not None and all(_is_version(label) for label in labels):
        ordered = [Version(label) for label in labels]
        at = sum(v < wanted for v in ordered)
        near = [str(v) for v in ordered[max(0, at - NEAREST) : at + NEAREST]]
        return f"{flag} {value}: not a release here; nearest candidates: {', '.join(near)}"
    return f"{flag} {value}: not a candidate{did_you_mean(value, list(labels))}"


def _same_version(value: str, labels: Sequence[str]) -> int | None:
    """Where ``2.0`` finds ``2.0.0``: the same version, written another way."""
    if not _is_version(value):
        return None
    wanted = Version(value)
    return next(
        (i for i, label in enumerate(labels) if _is_version(label) and Version(label) == wanted),
        None,
    )


def _is_version(text: str) -> bool:
    try:
        Version(text)
    except InvalidVersion:
        return False
    return True


# -- days ------------------------------------------------------------------------------------


def parse_day(flag: str, text: str, today: dt.date) -> dt.date:
    """``YYYY-MM-DD`` or ``latest`` (today), never in the future."""
    if text == "latest":
        return today
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{flag} {text!r}: expected a day as YYYY-MM-DD, or latest") from None
    if day > today:
        raise UsageError(f"{flag} {text}: that day has not come yet (today is {today}, UTC)")
    return day


def days(first: dt.date, last: dt.date) -> tuple[str, ...]:
    """Every day from ``first`` to ``last``, both included, as ISO strings."""
    count = (last - first).days
    return tuple(str(first + dt.timedelta(days=n)) for n in range(count + 1))
