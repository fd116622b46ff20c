"""A release bisect without ends starts where the cell can be built at all.

Without ``--good``/``--bad`` the oldest candidate is an end; but werkzeug 0.1 cannot be
installed beside a cell that pins Flask 2.2, so that end is an ``env-error``, says nothing about
the bug and leaves "no boundary: name the ends". So the range is first narrowed to the releases
that resolve beside the cell's other requirements (``uv pip compile``, a fraction of a second
each, no venv built): from one that resolves, a binary search each way finds the oldest and
newest that do. Resolution is assumed to hold on a contiguous run of releases; the ends found
are each checked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from buglab import model
from buglab.bisect.candidates import SetAside
from buglab.bisect.cell import Range
from buglab.bisect.probing import Subject
from buglab.env import Failed, Resolution
from buglab.lab import Say

Resolve = Callable[[model.VenvSpec], "Resolution | Failed"]
#: tried in this order to find one release that resolves: the newest, the oldest, then halves
ANCHOR_TRIES = 8


@dataclass(frozen=True)
class Installable:
    first: int
    last: int
    why_not: str  # why the release before ``first`` (or after ``last``) does not resolve


def span(size: int, works: Callable[[int], str]) -> Installable | None:
    """The run of indices whose ``works(i)`` is "" (else the reason), around one that works."""
    seen: dict[int, str] = {}

    def why(i: int) -> str:
        if i not in seen:
            seen[i] = works(i)
        return seen[i]

    tries = [size - 1, 0, *(size * k // 8 for k in (4, 2, 6, 1, 3, 5, 7))][:ANCHOR_TRIES]
    anchor = next((i for i in dict.fromkeys(tries) if not why(i)), None)
    if anchor is None:
        return None
    lo, hi = 0, anchor  # the first that works is in (lo - 1, hi]
    if why(0):
        bad, good = 0, anchor
        while good - bad > 1:
            middle = (bad + good) // 2
            bad, good = (bad, middle) if not why(middle) else (middle, good)
        lo = good
    hi = size - 1
    if why(size - 1):
        good, bad = anchor, size - 1
        while bad - good > 1:
            middle = (good + bad) // 2
            good, bad = (middle, bad) if not why(middle) else (good, middle)
        hi = good
    reasons = [seen[i] for i in (lo - 1, hi + 1) if seen.get(i)]
    return Installable(lo, hi, reasons[0] if reasons else "")


def narrow(
    subject: Subject, labels: Sequence[str], resolve: Resolve
) -> tuple[Installable | None, tuple[SetAside, ...]]:
    """The candidates that resolve beside the cell's other requirements, and those set aside."""

    def works(i: int) -> str:
        spec = replace(subject.release_cell(labels[i]).venv, project=None)
        found = resolve(spec)
        return found.message if isinstance(found, Failed) else ""

    found = span(len(labels), works)
    if found is None:
        return None, ()
    reason = "cannot be installed beside the cell's other requirements"
    aside = tuple(
        SetAside(label, reason)
        for i, label in enumerate(labels)
        if i < found.first or i > found.last
    )
    return found, aside


def within(found: Range, subject: Subject, resolve: Resolve, say: Say) -> Range:
    """A range without ends, narrowed to what can be installed; said in one line."""
    labels = found.labels
    ok, aside = narrow(subject, labels, resolve)
    if ok is None or (ok.first == 0 and ok.last == len(labels) - 1):
        return found
    why = f" ({_cause(ok.why_not)})" if ok.why_not else ""
    say(
        f"ends: {ok.first} older and {len(labels) - 1 - ok.last} newer releases cannot be "
        f"installed beside the cell's other requirements{why}; searching "
        f"{labels[ok.first]} … {labels[ok.last]}"
    )
    return replace(
        found, labels=labels[ok.first : ok.last + 1], set_aside=(*found.set_aside, *aside)
    )


def _cause(message: str) -> str:
    """uv's conflict in one clause: "pytest-asyncio==1.4.0 depends on pytest>=8.4,<10 and you
    require pytest==8.2.*"."""
    found = re.search(r"cause: Because (.*?)(?:, we can conclude|$)", message)
    return found.group(1).strip() if found else message
