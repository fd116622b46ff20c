"""A toolchain date as installers and the index see it: everything uploaded by the end of that
day, in UTC."""

from __future__ import annotations

import datetime as dt


def cutoff(day: str) -> str:
    """Everything uploaded on or before ``day``: the start of the next day, in UTC."""
    return f"{cutoff_time(day):%Y-%m-%dT%H:%M:%SZ}"


def cutoff_time(day: str) -> dt.datetime:
    """:func:`cutoff` as a time, to compare with the index's upload times."""
    start = dt.datetime.combine(dt.date.fromisoformat(day), dt.time(), dt.timezone.utc)
    return start + dt.timedelta(days=1)
