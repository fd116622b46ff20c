"""Is it fixed yet? What a run on today's toolchain says against what the scenario records: the
cells that flipped, the date bisect that can explain each (which cell, from which day), and the
comment that says so above the new report. Pure: running, bisecting and posting are the
caller's (``buglab watch``).

A cell flips when it ran now and its outcome is not the one recorded for it: its expectation,
or, for a cell without one, its outcome in the last results. The bug *went away* (reproduced,
now passed), *came back* (now reproduced) or the cell *broke differently* (any other change).
A cell whose venv could not be built now (env-error, unavailable) is not a flip: it says
something about this run's machine or index, not about the bug, and is never posted upstream.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from buglab import model
from buglab.lab import render
from buglab.report import facts
from buglab.report.comment import code

UNMEASURED = (model.Outcome.ENV_ERROR, model.Outcome.UNAVAILABLE)
JUDGED = (model.Outcome.REPRODUCED, model.Outcome.PASSED)  # what a bisect tells apart


class Kind(str, enum.Enum):
    WENT_AWAY = "went away"
    CAME_BACK = "came back"
    CHANGED = "broke differently"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Flip:
    cell: model.CellResult  # as measured now
    before: model.Outcome  # recorded: the expectation, else the last measured outcome
    expected: bool  # ``before`` is the scenario's expectation (not only the last results)

    @property
    def kind(self) -> Kind:
        now = self.cell.outcome
        if self.before is model.Outcome.REPRODUCED and now is model.Outcome.PASSED:
            return Kind.WENT_AWAY
        if now is model.Outcome.REPRODUCED:
            return Kind.CAME_BACK
        return Kind.CHANGED


@dataclass(frozen=True)
class Watched:
    """One scenario's run against what was recorded."""

    result: model.MatrixResult
    flips: tuple[Flip, ...]
    unmeasured: tuple[Flip, ...]  # cells whose venv could not be built now

    @property
    def changed(self) -> bool:
        return bool(self.flips or self.unmeasured)


def compare(now: model.MatrixResult, last: model.MatrixResult | None) -> Watched:
    """The cells of this run that no longer behave as recorded."""
    # a cell whose venv could not be built last time is no record of how it behaves
    before = {c.id: c for c in last.cells if c.ran and c.outcome not in UNMEASURED} if last else {}
    found = []
    for cell in now.cells:
        if not cell.ran or (cell.measured and cell.measured != now.started):
            continue  # not measured by this run
        earlier = before.get(cell.id)
        recorded = cell.expected or (earlier.outcome if earlier else None)
        if recorded is not None and recorded is not cell.outcome:
            found.append(Flip(cell, recorded, cell.expected is not None))
    return Watched(
        now,
        tuple(f for f in found if f.cell.outcome not in UNMEASURED),
        tuple(f for f in found if f.cell.outcome in UNMEASURED),
    )


# -- which flips a date bisect can explain, and over which days ------------------------------


@dataclass(frozen=True)
class DateRange:
    """A date bisect of one cell: every axis fixed but the date, from a day it behaved as
    recorded to today."""

    cell: str
    only: tuple[str, ...]  # AXIS=VALUE for every axis but the date axes
    good: str | None  # the day it last passed (a fix came back) ...
    bad: str | None  # ... or last reproduced (the bug went away)
    evidence: str  # where that day comes from, in words


@dataclass(frozen=True)
class NotBisected:
    cell: str
    reason: str


def date_range(
    flip: Flip, now: model.MatrixResult, last: model.MatrixResult | None, today: str
) -> DateRange | NotBisected:
    """The newest day on which the lab saw this cell behave as recorded: the last results'
    measurement of it, or a sibling cell pinned to an older toolchain date (this run's or the
    last results')."""
    cell = flip.cell
    if flip.before not in JUDGED or cell.outcome not in JUDGED:
        return NotBisected(
            cell.id,
            f"a bisect tells reproduced from passed, and {flip.before} → {cell.outcome} is not "
            "that change",
        )
    dates = set(now.axes_of_kind(model.AxisKind.DATE))
    fixed = [(a, v) for a, v in cell.labels if a in dates and v != "latest"]
    if fixed:
        return NotBisected(
            cell.id,
            f"its toolchain is pinned ({facts.label_text(fixed)}), so no release since then "
            "reaches it",
        )
    rest = [(a, v) for a, v in cell.labels if a not in dates]
    seen: list[tuple[str, str]] = []  # (day, where)
    for source, result in (("this run", now), ("the last results", last)):
        for other in result.cells if result else ():
            if other.outcome is not flip.before or not other.ran:
                continue
            if [(a, v) for a, v in other.labels if a not in dates] != rest:
                continue
            days = [v for a, v in other.labels if a in dates and v != "latest"]
            if days:
                seen.append((max(days), f"{facts.label_text(other.labels)} in {source}"))
            elif other.measured and source == "the last results":
                seen.append((other.measured[:10], f"measured on {other.measured[:10]}"))
    if not seen:
        return NotBisected(
            cell.id,
            f"the lab has no day on which this cell {_verb(flip.before)}, to bisect from",
        )
    day, where = max(seen)
    if day >= today:
        return NotBisected(
            cell.id, f"it last {_verb(flip.before)} today ({where}); a day cannot be split"
        )
    only = tuple(f"{a}={v}" for a, v in rest)
    bad = flip.before is model.Outcome.REPRODUCED
    return DateRange(
        cell.id,
        only,
        None if bad else day,
        day if bad else None,
        f"it {_verb(flip.before)} on {day} ({where})",
    )


def _verb(outcome: model.Outcome) -> str:
    return {"reproduced": "reproduced", "passed": "passed"}.get(outcome.value, f"gave {outcome}")


def to_bisect(flips: Sequence[Flip]) -> tuple[Flip, ...]:
    """One cell per kind of change (the first in table order): cells that flipped the same
    way share their cause far more often than not, and each bisect costs venvs."""
    chosen: dict[tuple[model.Outcome, model.Outcome], Flip] = {}
    for flip in flips:
        chosen.setdefault((flip.before, flip.cell.outcome), flip)
    return tuple(chosen.values())


# -- the comment -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Explanation:
    """What the bisect of one flipped cell answered, as the bisect wrote it."""

    cell: str
    command: str = ""  # the bisect's command line ("" when it was not run)
    answer: str = ""  # its final line: "first good: 2026-02-03", "no boundary: ..."
    details: tuple[str, ...] = ()  # what changed that day, the culprit
    paragraph: str = ""  # its markdown paragraph, probes and all
    reason: str = ""  # why it was not run, or why it could not finish


def heading(watched: Watched) -> str:
    kinds: dict[Kind, int] = {}
    for flip in watched.flips:
        kinds[flip.kind] = kinds.get(flip.kind, 0) + 1
    said = {
        Kind.WENT_AWAY: "the bug went away in {n}",
        Kind.CAME_BACK: "the bug came back in {n}",
        Kind.CHANGED: "{n} broke differently",
    }
    parts = [said[k].format(n=_cells(n)) for k, n in kinds.items()]
    return "; ".join(parts)


def _cells(n: int) -> str:
    return f"{n} cell{'s' if n != 1 else ''}"


def section(watched: Watched, explanations: Sequence[Explanation]) -> str:
    """What the watch found, for the top of the comment: the flips, then each bisect's answer;
    the report with the new table follows it."""
    result = watched.result
    day = result.started[:10]
    dated = result.axes_of_kind(model.AxisKind.DATE)
    where = f" in the cells whose {' and '.join(dated)} is `latest`" if dated else ""
    lines = [
        f"### Watch, {day}: {heading(watched)}",
        "",
        f"buglab ran this scenario again on {day}, with every package resolved as of that "
        f"day{where}. {_cells(len(watched.flips))} no longer "
        f"behave{'s' if len(watched.flips) == 1 else ''} as recorded (the scenario's "
        "expectation, or the last results where it records none):",
        "",
        "| cell | recorded | now | versions now |",
        "|---|---|---|---|",
    ]
    grid = render.Grid(result)
    for flip in watched.flips:
        recorded = f"{_outcome(flip.before)}{'' if flip.expected else ' (last run)'}"
        row = tuple((axis, flip.cell.label_map[axis]) for axis in result.venv_axes)
        lines.append(
            f"| {facts.label_text(flip.cell.labels)} | {recorded} | {_outcome(flip.cell.outcome)} "
            f"| {grid.resolved(row) or 'no venv'} |"
        )
    by_id = {flip.cell.id: flip for flip in watched.flips}
    for found in explanations:
        flip = by_id[found.cell]
        lines += ["", f"**Since when** ({facts.label_text(flip.cell.labels)}):"]
        if found.reason and not found.answer:
            lines[-1] += f" not bisected: {found.reason}."
            continue
        lines[-1] += f" **{found.answer}**" + ("" if found.answer.endswith(".") else ".")
        lines += [f"- {detail}" for detail in found.details]
        lines.append(f"- asked with {code(found.command)}")
        if found.paragraph:
            lines += [
                "",
                "<details><summary>The bisection, probe by probe</summary>",
                "",
                found.paragraph.strip(),
                "",
                "</details>",
            ]
    others = len(watched.flips) - len(explanations)
    if others:
        lines += [
            "",
            f"{_cells(others)} that flipped the same way as a bisected one "
            f"{'was' if others == 1 else 'were'} not bisected separately.",
        ]
    lines += ["", "---", ""]
    return "\n".join(lines) + "\n"


def _outcome(outcome: model.Outcome) -> str:
    return f"{render.SYMBOLS[outcome]} {outcome.value}"


def summary(watched: Watched) -> str:
    """One line for the terminal."""
    name = watched.result.scenario
    if not watched.changed:
        return f"{name}: nothing changed ({render.summary(watched.result).rstrip('.')})"
    parts = []
    if watched.flips:
        parts.append(heading(watched))
    if watched.unmeasured:
        cells = ", ".join(f.cell.id for f in watched.unmeasured)
        parts.append(
            f"{_cells(len(watched.unmeasured))} could not be measured ({cells}: "
            f"{watched.unmeasured[0].cell.outcome}); not reported upstream"
        )
    return f"{name}: {'; '.join(parts)}"
