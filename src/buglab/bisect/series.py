"""Backports: a release of an older series published after the boundary may carry the same
change. A bisect over versions sees ``0.21.1 … 0.23.8`` as one line and names 0.23.6, never
probing 0.21.2 (published later, in the 0.21 series, with the fix backported). So, once a
release boundary is found, each older series with a release uploaded after the boundary's is
probed there, and where that release behaves like the newer side, the series gets a boundary of
its own: "first good 0.23.6; in the 0.21 series, first good 0.21.2".

The search inside a series reuses every probe already made; new ones go through the same prober.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from packaging.version import InvalidVersion, Version

from buglab import model
from buglab.bisect.answer import SeriesAnswer, probe_line
from buglab.bisect.probing import Probe, Subject
from buglab.bisect.search import Found, Phase, Verdict, run_search
from buglab.env import index
from buglab.lab import Say

Probing = Callable[[str, model.Cell, Phase], Probe]


def series_of(label: str) -> tuple[int, ...]:
    """``0.21.2`` -> (0, 21): releases that share major and minor are one series."""
    try:
        release = Version(label).release
    except InvalidVersion:
        return ()
    return (*release, 0)[:2]


def series_name(series: tuple[int, ...]) -> str:
    return ".".join(str(part) for part in series)


def upload_times(package: str, index_url: str | None) -> dict[str, dt.datetime]:
    """When each release was first uploaded (the index was asked already: this is cached)."""
    found = index.releases(package, index_url) or ()
    times = {}
    for release in found:
        stamps = [f.uploaded for f in release.files if f.uploaded is not None]
        if stamps:
            times[str(release.version)] = min(stamps)
    return times


def backports(
    candidates: Sequence[str], found: Found, uploaded: Mapping[str, dt.datetime]
) -> dict[tuple[int, ...], list[int]]:
    """Each series older than the boundary's with a candidate uploaded after the boundary's
    release: the indices of that series' candidates, oldest first."""
    boundary = candidates[found.first_new]
    when = uploaded.get(boundary)
    mine = series_of(boundary)
    if when is None or not mine:
        return {}
    older: dict[tuple[int, ...], list[int]] = {}
    for i, label in enumerate(candidates):
        series = series_of(label)
        if series and series < mine:
            older.setdefault(series, []).append(i)
    return {
        series: indices
        for series, indices in older.items()
        if any(uploaded.get(candidates[i], when) > when for i in indices)
    }


def settle_series(
    subject: Subject,
    candidates: Sequence[str],
    found: Found,
    uploaded: Mapping[str, dt.datetime],
    done: Sequence[Probe],
    probe: Probing,
    say: Say,
) -> tuple[SeriesAnswer, ...]:
    """Probe the newest release of each older series published after the boundary (its
    backport, if any); where it behaves like the newer side, bisect that series alone."""
    old = found.looking_for.opposite
    known = {p.candidate: p for p in done if p.phase is not Phase.CONFIRM}
    when = uploaded.get(candidates[found.first_new])
    if when is None:
        return ()  # the index gives no upload time: no release can be said to come after it
    answers = []
    for series, indices in sorted(backports(candidates, found, uploaded).items(), reverse=True):
        newest = [i for i in indices if uploaded.get(candidates[i], when) > when][-1]
        span = [i for i in indices if i <= newest]

        def verdict(position: int, span: Sequence[int] = span) -> Verdict:
            label = candidates[span[position]]
            if label not in known:
                known[label] = probe(label, subject.release_cell(label), Phase.SEARCH)
                say(probe_line(known[label]))
            return known[label].verdict

        probed = SeriesAnswer(series_name(series), candidates[newest], verdict(len(span) - 1))
        if probed.verdict is not found.looking_for:
            answers.append(probed)  # the newer side never reached this series
        elif len(span) == 1:
            answers.append(replace(probed, boundary=probed.probed))
        else:
            _, result = run_search(len(span), verdict, old)
            if isinstance(result, Found) and result.exact:
                answers.append(
                    replace(
                        probed,
                        boundary=candidates[span[result.first_new]],
                        last_old=candidates[span[result.last_old]],
                    )
                )
            else:
                oldest = candidates[span[0]]
                answers.append(
                    replace(probed, note=f"no single boundary from {oldest} to {probed.probed}")
                )
    return tuple(answers)
