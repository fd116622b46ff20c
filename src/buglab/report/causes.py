"""Cells of one outcome grouped by their reason: two failures with different exceptions are two
causes, and a maintainer must see both. Pure.

A cell's reason is buglab's one-line detail (the exception, for a failure), with what differs
from machine to machine and release to release taken out before cells are compared: paths,
numbers, memory addresses. Each group gets the smallest condition on the axes that covers it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from buglab import model
from buglab.lab import classify
from buglab.report import facts, trigger

#: ``exit 2: `` before a failure's reason: the same exception is one cause whatever the status
EXIT = re.compile(r"^exit -?\d+: ")
PATH = re.compile(r"(?:<\w+>|~|\.\.?|(?<![\w.]))(?:/[^\s:'\"(),]+)+")
ADDRESS = re.compile(r"\b0x[0-9a-fA-F]+\b")
NUMBER = re.compile(r"\d+(?:\.\d+)*")
#: uv's resolver conflict, in one clause: "pytest-asyncio==0.23.5 depends on pytest<9 and ..."
CONFLICT = re.compile(r"cause: Because (.*?)(?:, we can conclude| \||$)")


def reason(cell: model.CellResult) -> str:
    """The cell's reason as a reader sees it: ``AttributeError: ...``, ``exit 0``. A failure
    measured before buglab kept the exception as its detail still shows it, from its excerpt."""
    detail = cell.detail.strip()
    if cell.outcome is model.Outcome.FAILED:
        detail = EXIT.sub("", detail)
        if not classify.EXCEPTION.match(detail):
            detail = classify.exception(cell.excerpt) or detail
    if cell.outcome is model.Outcome.REPRODUCED and detail.startswith("E "):
        detail = detail[1:].strip()
    conflict = CONFLICT.search(detail)
    if cell.outcome is model.Outcome.ENV_ERROR and conflict:
        detail = f"no solution: {conflict.group(1)}"
    return " ".join(detail.split()) or cell.outcome.value


#: outcomes that are one cause each: the signature is the bug, exit 0 is a pass
ONE_CAUSE = (model.Outcome.REPRODUCED, model.Outcome.PASSED)


def key(cell: model.CellResult) -> str:
    """What two cells of one cause share: the reason without paths, addresses and numbers."""
    if cell.outcome in ONE_CAUSE:
        return ""
    text = PATH.sub("<path>", reason(cell))
    text = ADDRESS.sub("0x…", text)
    return " ".join(NUMBER.sub("N", text).split())


@dataclass(frozen=True)
class Cause:
    """The cells of one outcome that share a reason, and where they are."""

    outcome: model.Outcome
    reason: str  # the representative's reason, as measured
    cells: tuple[model.CellResult, ...]
    where: trigger.Cover  # the smallest condition covering them among the cells compared

    @property
    def count(self) -> int:
        return len(self.cells)

    def place(self) -> str:
        """``numpy = unpinned``, ``mostly numpy = unpinned (and 2 other cells)``, or "" when
        the cause is everywhere."""
        condition, others = self.where.condition, len(self.where.others)
        if not condition.terms:
            return "" if not others else f"among others ({others} other cells)"
        if self.where.exact:
            return str(condition)
        cells = f"{others} other cell{'s' if others != 1 else ''}"
        return f"{condition}, but not all of it: {cells} there ended otherwise"


def group(
    cells: Sequence[model.CellResult],
    among: Sequence[model.CellResult],
    axes: trigger.AxisLabels,
    result: model.MatrixResult,
) -> list[Cause]:
    """``cells`` by outcome and reason, largest cause first within each outcome (in the
    report's outcome order); each placed against the other cells of ``among``."""
    found: dict[tuple[model.Outcome, str], list[model.CellResult]] = {}
    for cell in cells:
        found.setdefault((cell.outcome, key(cell)), []).append(cell)
    order = {o: i for i, o in enumerate(facts.CLASS_ORDER)}
    ranked = sorted(found.items(), key=lambda item: (order[item[0][0]], -len(item[1])))
    causes = []
    for (outcome, _), members in ranked:
        ids = {c.id for c in members}
        shown = facts.representative(result, outcome, ids) or members[0]
        outside = [c for c in among if c.id not in ids]
        where = trigger.cover(members, outside, axes)
        causes.append(Cause(outcome, reason(shown), tuple(members), where))
    return causes


def of_result(result: model.MatrixResult) -> list[Cause]:
    """Every cause of the matrix, each placed against all its other cells."""
    return group(result.cells, result.cells, result.axis_labels, result)


#: how a cell that is evidence neither way ended, in the words of a trigger line
NEITHER = {
    model.Outcome.FAILED: ("failed otherwise", "failed otherwise"),
    model.Outcome.TIMEOUT: ("timed out", "timed out"),
    model.Outcome.FLAKY: ("was flaky", "were flaky"),
    model.Outcome.ENV_ERROR: ("could not be installed", "could not be installed"),
    model.Outcome.UNAVAILABLE: ("is unavailable", "are unavailable"),
}


def uncovered(found: trigger.Trigger, result: model.MatrixResult) -> list[tuple[Cause, str]]:
    """The cells under an exact trigger that neither reproduced nor passed, by cause, each
    with how they ended in a trigger line's words ("failed otherwise", "are unavailable")."""
    assert found.condition is not None
    fixed = dict(found.scope)
    under = [
        c
        for c in result.cells
        if all(c.label_map.get(a) == v for a, v in fixed.items())
        and found.condition.holds(c.label_map)
        and c.ran
    ]
    axes = [(name, labels) for name, labels in result.axis_labels if name not in fixed]
    wanted = set(found.uncovered)
    return [
        (cause, NEITHER[cause.outcome][cause.count != 1])
        for cause in group([c for c in under if c.id in wanted], under, axes, result)
    ]
