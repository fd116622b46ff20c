"""What a bisection is asked, each option declared once (see :mod:`buglab.option`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from buglab.lab import RunOptions, only
from buglab.option import flag, positional


def _today() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()


@dataclass(frozen=True)
class BisectOptions(RunOptions):
    scenario: str = positional("the scenario's name", required=True)
    package: str | None = flag(
        "--package",
        metavar="NAME",
        exclusive="what",
        required=True,
        help="bisect this package's releases",
    )
    date: bool = flag(
        "--date",
        action="store_true",
        default=False,
        exclusive="what",
        help="bisect days: every package as of each day",
    )
    only: tuple[str, ...] = only()
    day: str | None = flag(
        "--day", metavar="DAY", help="release bisect: everything else as of this day"
    )
    good: str | None = flag("--good", metavar="X", help="a release (or day) that passes")
    bad: str | None = flag(
        "--bad", metavar="Y", help="a release (or day, or latest) that reproduces"
    )
    hold: tuple[str, ...] = flag(
        "--hold",
        action="append",
        metavar="NAME==VERSION",
        help="release bisect: keep this package at this version (repeat)",
    )
    pre: bool = flag(
        "--pre", action="store_true", default=False, help="pre-releases are candidates too"
    )
    then_package: bool = flag(
        "--then-package",
        action="store_true",
        default=False,
        help="date bisect: when several packages changed that day, bisect each one's releases",
    )
    commits: bool = flag(
        "--commits",
        action="store_true",
        default=False,
        help="bisect the package's commits between --good and --bad (tags of releases, or commits)",
    )
    repo: str | None = flag(
        "--repo",
        metavar="PATH|URL",
        help="commit bisect: the package's git repository (default: the one its index names)",
    )
    then_commits: bool = flag(
        "--then-commits",
        action="store_true",
        default=False,
        help="release bisect: then bisect the commits between the two releases it names",
    )
    today: dt.date = field(default_factory=_today)
